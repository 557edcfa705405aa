#!/bin/sh
# first-run.sh measures what a new user waits for: the first `go run . demo` with an empty build
# cache, in seconds until the demo answers. With EMPTY_MODCACHE=1 the module cache starts empty
# too (a machine with nothing downloaded). Run it on an idle machine: `make first-run`.
set -eu
port=${PORT:-18080}
GOCACHE=$(mktemp -d "${TMPDIR:-/tmp}/resetgate-gocache.XXXXXX")
export GOCACHE
if [ "${EMPTY_MODCACHE:-0}" = 1 ]; then
	GOMODCACHE=$(mktemp -d "${TMPDIR:-/tmp}/resetgate-gomod.XXXXXX")
	export GOMODCACHE GOFLAGS=-modcacherw
fi
log=$(mktemp)
start=$(date +%s.%N)
go run . demo -listen "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; pkill -f "demo -listen 127.0.0.1:$port" 2>/dev/null || true; rm -rf "$GOCACHE" "$log"; [ -z "${GOMODCACHE:-}" ] || [ "${EMPTY_MODCACHE:-0}" != 1 ] || rm -rf "$GOMODCACHE"' EXIT
until curl -fs -o /dev/null "http://127.0.0.1:$port/"; do
	if ! kill -0 $pid 2>/dev/null; then
		echo "first-run: the demo exited before answering:" >&2
		cat "$log" >&2
		exit 1
	fi
	sleep 0.25
done
end=$(date +%s.%N)
echo "first go run . demo answered after $(awk "BEGIN { printf \"%.1f\", $end - $start }") s (cores: $(nproc), empty module cache: ${EMPTY_MODCACHE:-0})"

#!/bin/sh
# Installs what the benchmark harness compares resetgate with, when it is missing. The harness
# itself installs nothing; it says what it could not find. Run from anywhere:
#
#   bench/install-tools.sh          # Caddy into bench/.tools; prints the apt-get line for the rest
#
# Caddy is built from source at the version the issue measured, into bench/.tools (ignored by
# git). wrk and nginx are Debian packages; installing them needs root, so this script only
# prints the command unless it already runs as root with -apt.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tools="$here/.tools"
caddy_version=v2.11.9

if [ -x "$tools/caddy" ]; then
	echo "caddy: $tools/caddy already installed"
else
	echo "caddy: go install github.com/caddyserver/caddy/v2/cmd/caddy@$caddy_version -> $tools"
	mkdir -p "$tools"
	# -mod=mod: outside resetgate's go.mod, Caddy resolves its own dependencies.
	(cd /tmp && GOBIN="$tools" GOFLAGS=-mod=mod go install "github.com/caddyserver/caddy/v2/cmd/caddy@$caddy_version") || {
		echo "caddy: go install failed (module proxy unreachable?); the harness runs without Caddy" >&2
	}
fi

missing=""
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx-light"
if [ -n "$missing" ]; then
	if [ "${1:-}" = "-apt" ] && [ "$(id -u)" = 0 ]; then
		apt-get install -y $missing
	else
		echo "missing Debian packages:$missing"
		echo "install them with: apt-get install -y$missing   (or run this script as root with -apt)"
	fi
else
	echo "wrk and nginx: installed"
fi

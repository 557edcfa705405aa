#!/bin/sh
# resetgate package, after removal (dpkg postrm, rpm %postun). Removing keeps
# /var/lib/resetgate (tokens, queued mail) and the edited config; purging (dpkg --purge) deletes
# the state directory too. The resetgate user stays, as Debian does for system users: files
# elsewhere (backups, logs) may still carry its uid, which must not be handed to another user.
set -e
case "$1" in
purge)
	rm -rf /var/lib/resetgate
	;;
esac
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi

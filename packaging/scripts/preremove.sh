#!/bin/sh
# resetgate package, before removal (dpkg prerm, rpm %preun): stop the service when the
# package goes away (dpkg: "remove"; rpm: 0 packages left), not on upgrade.
set -e
case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now resetgate.service >/dev/null 2>&1 || true
	fi
	;;
esac

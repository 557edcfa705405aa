#!/bin/sh
# resetgate package, after unpacking (dpkg postinst, rpm %post): the state directory, the
# config readable by the service user only, and systemd told about the unit. The service is
# not started: the config must name the app, its database and the mail server first.
set -e
install -d -m 0700 -o resetgate -g resetgate /var/lib/resetgate
if [ -f /etc/resetgate/config.toml ]; then
	chgrp resetgate /etc/resetgate/config.toml
	chmod 0640 /etc/resetgate/config.toml
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
case "$1" in
configure | 1)
	if [ -z "$2" ]; then
		echo "resetgate: edit /etc/resetgate/config.toml, check it with" \
			"'sudo -u resetgate resetgate check -config /etc/resetgate/config.toml'," \
			"then 'systemctl enable --now resetgate'."
	fi
	;;
esac

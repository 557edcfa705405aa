#!/bin/sh
# resetgate package, before unpacking (dpkg preinst, rpm %pre): the service's system user.
set -e
if ! getent group resetgate >/dev/null; then
	groupadd --system resetgate
fi
if ! getent passwd resetgate >/dev/null; then
	useradd --system --gid resetgate --home-dir /var/lib/resetgate --no-create-home \
		--shell /usr/sbin/nologin --comment "resetgate password-reset proxy" resetgate
fi

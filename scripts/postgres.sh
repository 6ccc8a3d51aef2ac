#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, from Debian's postgresql.
#
#   scripts/postgres.sh start DIR   installs the server if needed, creates a
#                                   cluster in DIR, starts it on a unix socket
#                                   in DIR and prints its URL
#   scripts/postgres.sh stop DIR    stops it (DIR can then be removed)
#
# initdb refuses to run as root, so as root the cluster belongs to the
# unprivileged user vaebm-pg (created if missing). It listens on no TCP
# port, so clusters of parallel test runs cannot collide.
set -euo pipefail
cmd=${1:?usage: postgres.sh start|stop DIR}
dir=${2:?usage: postgres.sh start|stop DIR}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
	echo "installing postgresql" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as=()
if [ "$(id -u)" -eq 0 ]; then
	id -u vaebm-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin vaebm-pg
	as=(runuser -u vaebm-pg --)
fi
case $cmd in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ "$(id -u)" -eq 0 ]; then
		chown vaebm-pg "$dir"
		runuser -u vaebm-pg -- test -w "$dir" ||
			{ echo "postgres.sh: the user vaebm-pg cannot reach $dir (make the folders above it searchable: chmod a+x)" >&2; exit 1; }
	fi
	"${as[@]}" "$bin/initdb" -D "$dir/data" -U vaebm --auth=trust --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		-o "-c listen_addresses='' -k $dir -c fsync=off -c max_connections=200" start >/dev/null ||
		{ cat "$dir/server.log" >&2; exit 1; }
	echo "postgres://vaebm@/postgres?host=$dir&sslmode=disable"
	;;
stop)
	dir=$(cd "$dir" && pwd)
	"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	;;
*)
	echo "postgres.sh: unknown command $cmd (want start or stop)" >&2
	exit 2
	;;
esac

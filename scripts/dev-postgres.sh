#!/usr/bin/env bash
# dev-postgres.sh prints the DATABASE_URL that `make run` and `make test`
# should use, and nothing else on stdout (messages go to stderr):
#
#   - the URL in $DATABASE_URL (default below) if a server answers there;
#   - otherwise, if that URL points at this machine and PostgreSQL's server
#     binaries are installed, a URL to a private cluster under .data/postgres,
#     created on first use and started if it is not running, with the same
#     user, database name and parameters;
#   - otherwise it says what to install and exits 1.
#
# A developer with PostgreSQL installed but not running (or no root to start
# it) thus needs no setup at all. The private cluster listens on 127.0.0.1
# only, on port 55432 (SAAS_PRIVATE_PG_PORT), trusts local connections and
# runs with fsync=off: it is for throw-away development data. Stop it with
#   pg_ctl -D .data/postgres stop   (as user postgres when you are root)
# Running the script again is cheap and safe, also concurrently.
set -euo pipefail

readonly default_url='postgres://postgres@127.0.0.1:5432/saas?sslmode=disable'
url=${DATABASE_URL:-$default_url}
private_port=${SAAS_PRIVATE_PG_PORT:-55432}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data_root=$root/.data
data_dir=$data_root/postgres
socket_dir=$data_root/postgres-run
log_file=$data_root/postgres.log

say() { printf 'dev-postgres: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}

# scheme://[userinfo@]host[:port][/database][?parameters]
url_re='^(postgres(ql)?://)(([^@/?]*)@)?([^/?]*)(.*)$'
[[ $url =~ $url_re ]] || die "DATABASE_URL must be a postgres:// URL"
scheme=${BASH_REMATCH[1]}
userinfo=${BASH_REMATCH[4]}
hostport=${BASH_REMATCH[5]}
rest=${BASH_REMATCH[6]}
if [[ $hostport =~ ^\[([^]]*)\](:([0-9]+))?$ || $hostport =~ ^([^:,]*)(:([0-9]+))?$ ]]; then
	host=${BASH_REMATCH[1]:-localhost}
	port=${BASH_REMATCH[3]:-5432}
else
	die "cannot read host and port from DATABASE_URL (one host[:port] is supported)"
fi

answers() { # host port url
	if command -v pg_isready >/dev/null; then
		pg_isready -q -t 3 -d "$3"
	else
		# shellcheck disable=SC2016 # $0 and $1 belong to the inner shell
		timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
	fi
}

if answers "$host" "$port" "$url"; then
	printf '%s\n' "$url"
	exit 0
fi

case $host in
127.0.0.1 | localhost | ::1) ;;
*) die "nothing answers at $host:$port; start that server or set DATABASE_URL to one that runs" ;;
esac

# The newest installed server, else one on PATH.
bindir=
shopt -s nullglob
candidates=(/usr/lib/postgresql/*/bin/initdb)
shopt -u nullglob
if ((${#candidates[@]} > 0)); then
	bindir=$(dirname "$(printf '%s\n' "${candidates[@]}" | sort -V | tail -n 1)")
elif command -v initdb >/dev/null; then
	bindir=$(dirname "$(readlink -f "$(command -v initdb)")")
fi
if [[ -z $bindir || ! -x $bindir/pg_ctl ]]; then
	die "nothing answers at $host:$port and no PostgreSQL server is installed: run 'apt-get install postgresql' or set DATABASE_URL to a running server"
fi

# initdb and postgres refuse to run as root: the cluster belongs to postgres.
owner=$(id -un)
if ((EUID == 0)); then
	id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user to own the private cluster"
	owner=postgres
fi
as_owner() {
	if ((EUID == 0)); then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

mkdir -p "$data_root"
# One caller at a time creates or starts the cluster.
exec 9>"$data_root/postgres.lock"
flock 9

if [[ ! -s $data_dir/PG_VERSION ]]; then
	say "creating a private PostgreSQL cluster in $data_dir ($bindir)"
	rm -rf "$data_dir" # an interrupted initdb leaves a directory it will not reuse
	mkdir -p "$data_dir" "$socket_dir"
	touch "$log_file"
	chown "$owner" "$data_dir" "$socket_dir" "$log_file"
	chmod 700 "$data_dir"
	superuser=${userinfo%%:*}
	as_owner "$bindir/initdb" -D "$data_dir" -U "${superuser:-$owner}" --auth=trust \
		--encoding=UTF8 --locale=C --no-sync >"$log_file" 2>&1 ||
		die "initdb failed; see $log_file"
	cat >>"$data_dir/postgresql.conf" <<-EOF

		# Private development cluster made by scripts/dev-postgres.sh.
		listen_addresses = '127.0.0.1'
		port = $private_port
		unix_socket_directories = '$socket_dir'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
	EOF
fi

if as_owner "$bindir/pg_ctl" -D "$data_dir" status >/dev/null 2>&1; then
	running_port=$(sed -n 4p "$data_dir/postmaster.pid")
	say "using the private PostgreSQL already running on 127.0.0.1:$running_port"
else
	say "starting the private PostgreSQL on 127.0.0.1:$private_port (log: $log_file)"
	# 9>&-: the server must not inherit, and so hold forever, the lock.
	as_owner "$bindir/pg_ctl" -D "$data_dir" -l "$log_file" -o "-p $private_port" -w -t 60 -s start >&2 9>&- ||
		die "the private PostgreSQL did not start; see $log_file (is port $private_port taken? set SAAS_PRIVATE_PG_PORT)"
	running_port=$private_port
fi

printf '%s\n' "$scheme${userinfo:+$userinfo@}127.0.0.1:$running_port$rest"

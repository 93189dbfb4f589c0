#!/usr/bin/env bash
# A PostgreSQL server for scripts/load.sh, sourced by it: production-like settings (fsync
# on, synchronous commits, shared_buffers 256MB), its data directory kept under $TMP so
# that later runs reuse the database it holds, listening on a unix socket in that
# directory only. As root, the server runs as the postgres user (initdb refuses root).
#
#   pg_load_start DIR    # initdb if needed, start; sets PG_LOAD_URL_BASE (no database name)
#   pg_load_stop DIR
PG_BIN=${PAYDESK_POSTGRES_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

pg_as() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_load_start() {
	local dir=$1
	[ -x "$PG_BIN/initdb" ] || { echo "no PostgreSQL server binaries (set PAYDESK_POSTGRES_BIN)" >&2; return 1; }
	mkdir -p "$dir"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		pg_as "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; return 1; }
	fi
	pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 start -o \
		"-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=on -c synchronous_commit=on \
		 -c shared_buffers=256MB -c max_connections=100 -c max_wal_size=4GB -c checkpoint_timeout=15min \
		 -c effective_cache_size=4GB -c random_page_cost=1.1" >/dev/null ||
		{ tail -20 "$dir/server.log" >&2; return 1; }
	PG_LOAD_URL_BASE="postgres://postgres@/%s?host=$dir"
}

pg_load_stop() {
	pg_as "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || true
}

# pg_load_createdb DIR NAME: creates database NAME when absent.
pg_load_createdb() {
	pg_as "$PG_BIN/psql" -h "$1" -U postgres -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = '$2'" | grep -q 1 ||
		pg_as "$PG_BIN/createdb" -h "$1" -U postgres "$2"
}

#!/usr/bin/env bash
# Load test: the running demo on a big database, signed in, under wrk; and a hello-world
# net/http server (scripts/hello) in the same run, so that throughput reads as a share of
# what this machine can serve at all. Prints, per page: requests/s, the client's p50/p99
# (wrk), the server's p50/p99 (the request log's duration_ms) and the share of hello's
# requests/s; then the demo's start-up time and resident memory. docs/benchmarks.md has
# the figures and how to read them.
#
#   scripts/load.sh                      # a million payments, 16 connections, 10 s a page
#   PAYMENTS=100000 DURATION=5s scripts/load.sh
#   PAGES="list_default search_ids" scripts/load.sh   # some pages only (hello is always run)
#   PROFILE=1 scripts/load.sh            # a CPU profile of the server during each page, kept
#                                        # in $PROFILE_DIR (go tool pprof -top FILE)
#   ENGINE=postgres scripts/load.sh      # the same on PostgreSQL: a server started here (fsync
#                                        # on, shared_buffers 256MB; scripts/load_postgres.sh),
#                                        # or the one at PAYDESK_LOAD_POSTGRES (postgres://…/,
#                                        # the database paydesk_load_$PAYMENTS is made there)
#   DB=postgres://… scripts/load.sh      # an existing PostgreSQL database
#   ENGINE=postgres INSTANCES=2 scripts/load.sh   # two servers on one database, each under
#                                        # its own wrk at once: req/s is their sum
#   PAYDESK_PAGE_CACHE_MB=0 scripts/load.sh       # the page cache off (the servers read it)
#
# The first run builds the database (about a minute for a million payments) and keeps it
# under $TMPDIR; later runs reuse it. Run it on a quiet machine: it uses every core.
set -euo pipefail
cd "$(dirname "$0")/.."

PAYMENTS=${PAYMENTS:-1000000}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10s}
PORT=${PORT:-18080}
HELLO_PORT=${HELLO_PORT:-18081}
TMP=${TMPDIR:-/tmp}
ENGINE=${ENGINE:-sqlite}
INSTANCES=${INSTANCES:-1}
PORT2=${PORT2:-18083}
case "${DB:-}" in postgres://* | postgresql://*) ENGINE=postgres ;; esac
PG_DIR=${PG_DIR:-$TMP/paydesk-load-pg}
if [ "$ENGINE" = postgres ] && [ -z "${DB:-}" ] && [ -n "${PAYDESK_LOAD_POSTGRES:-}" ]; then
	DB="${PAYDESK_LOAD_POSTGRES%/}/paydesk_load_$PAYMENTS"
fi
DB=${DB:-$TMP/paydesk-load-$PAYMENTS.db}
BASE=http://127.0.0.1:$PORT
BASE2=http://127.0.0.1:$PORT2
PAGES=${PAGES:-list_default list_filtered search_ids search_email search_last4 search_parts payment_page refund_history}
PROFILE=${PROFILE:-}
PROFILE_DIR=${PROFILE_DIR:-$TMP/paydesk-profiles}
METRICS_PORT=${METRICS_PORT:-18082}
USER_NAME=${USER_NAME:-max} # a manager: every page below is open to them

if ! command -v wrk >/dev/null; then
	echo "wrk is not installed: installing it with apt-get"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get install -y wrk >/dev/null || { $sudo apt-get update >/dev/null && $sudo apt-get install -y wrk >/dev/null; }
fi
[ "$INSTANCES" = 1 ] || [ "$ENGINE" = postgres ] || { echo "INSTANCES=$INSTANCES needs PostgreSQL (ENGINE=postgres)" >&2; exit 1; }
for tool in curl jq go; do
	command -v $tool >/dev/null || { echo "load.sh needs $tool" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
pg_started=""
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -z "$pg_started" ] || pg_load_stop "$PG_DIR"
	rm -rf "$work"
}
trap cleanup EXIT

if [ "$ENGINE" = postgres ] && [ "${DB#postgres}" = "$DB" ]; then
	# No server given: one of our own, its data kept in $PG_DIR for the next run.
	. scripts/load_postgres.sh
	pg_load_start "$PG_DIR"
	pg_started=1
	pg_load_createdb "$PG_DIR" "paydesk_$PAYMENTS"
	DB="postgres://postgres@/paydesk_$PAYMENTS?host=$PG_DIR"
fi

# The Makefile's build settings (see there why SQLite is built without memory statistics).
export GOFLAGS="-tags=sqlite_fts5 -buildvcs=false" CGO_ENABLED=1 CGO_CFLAGS="-O2 -g -DSQLITE_DEFAULT_MEMSTATUS=0"
go build -o "$work/paydesk" ./cmd/paydesk
go build -o "$work/hello" ./scripts/hello

# start_demo [N] starts the demo (instance N: 1, or 2 on PORT2) on $DB and waits for its
# banner; it sets demo_pid (demo2_pid).
start_demo() {
	local n=${1:-1} port=$PORT suffix=""
	[ "$n" = 1 ] || { port=$PORT2; suffix=2; }
	: >"$work/demo$suffix.out"
	: >"$work/demo$suffix.log"
	local profiling=()
	[ -z "$PROFILE" ] || [ "$n" != 1 ] || profiling=(env PAYDESK_PPROF=1 PAYDESK_METRICS_ADDR="127.0.0.1:$METRICS_PORT")
	"${profiling[@]}" env PAYDESK_LOG_FORMAT=json PAYDESK_LOG_LEVEL=info "$work/paydesk" demo --payments "$PAYMENTS" --db "$DB" \
		--addr "127.0.0.1:$port" >"$work/demo$suffix.out" 2>"$work/demo$suffix.log" &
	local pid=$!
	pids+=("$pid")
	if [ "$n" = 1 ]; then demo_pid=$pid; else demo2_pid=$pid; fi
	until grep -q 'demo is running' "$work/demo$suffix.out"; do
		kill -0 "$pid" 2>/dev/null || { echo "the demo stopped:" >&2; tail -20 "$work/demo$suffix.log" >&2; exit 1; }
		sleep 0.01
	done
}

# built: whether $DB holds the demo's payments already.
built() {
	if [ "$ENGINE" = postgres ]; then
		[ "$(PGCONNECT_TIMEOUT=5 psql_db -Atqc "SELECT EXISTS (SELECT 1 FROM payments)" 2>/dev/null)" = t ]
	else
		[ -f "$DB" ]
	fi
}
psql_db() {
	local psql=psql
	[ -z "${PG_BIN:-}" ] || psql="$PG_BIN/psql"
	if [ -n "$pg_started" ] && [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$psql" "$DB" "$@"; else "$psql" "$DB" "$@"; fi
}

if ! built; then
	echo "Building $DB ($PAYMENTS payments)…"
	start=$(date +%s%N)
	start_demo
	echo "  $(grep 'refunds in' "$work/demo.out" | sed 's/^ *//') — $(( ($(date +%s%N) - start) / 1000000 )) ms to the banner"
	kill "$demo_pid"; wait "$demo_pid" || true
fi

# Start-up on the existing database: from exec to the first ready answer, three times
# (the last start stays up for the load).
startups=""
for i in 1 2 3; do
	[ "$i" = 1 ] || { kill "$demo_pid"; wait "$demo_pid" || true; }
	start=$(date +%s%N)
	start_demo
	until curl -fs -o /dev/null "$BASE/readyz"; do sleep 0.005; done
	startups="$startups $(( ($(date +%s%N) - start) / 1000000 ))"
done

"$work/hello" -addr "127.0.0.1:$HELLO_PORT" &
pids+=("$!")
until curl -fs -o /dev/null "http://127.0.0.1:$HELLO_PORT/"; do sleep 0.05; done

# sign_in BASE: signs in through that demo's OpenID provider, as a browser would, and
# prints the session cookie.
sign_in() {
	local base=$1 jar
	jar=$(mktemp -p "$work")
	local login_page login_id idp
	login_page=$(curl -s -c "$jar" -b "$jar" -L -o "$jar.html" -w '%{url_effective}' "$base/auth/login?next=/payments")
	login_id=$(grep -o 'name="id" value="[^"]*"' "$jar.html" | sed -n '1,1p' | sed 's/.*value="//; s/"$//')
	[ -n "$login_id" ] || { echo "no login form at $login_page" >&2; exit 1; }
	idp=$(echo "$login_page" | sed -E 's#^(https?://[^/]+).*#\1#')
	curl -s -c "$jar" -b "$jar" -L -o /dev/null --data-urlencode "id=$login_id" --data-urlencode "username=$USER_NAME" \
		--data-urlencode "password=$USER_NAME-demo" "$idp/login"
	local c
	c=$(awk '$6 == "paydesk_session" { print $6 "=" $7 }' "$jar")
	[ -n "$c" ] || { echo "sign-in failed: no session cookie" >&2; exit 1; }
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $c" "$base/payments")
	case $code in
	200) ;;
	5*) echo "warning: $base/payments answers $code (signed in; the pages that fail are counted as not 2xx)" >&2 ;;
	*) echo "the session cookie does not open $base/payments ($code)" >&2; exit 1 ;;
	esac
	echo "$c"
}
cookie=$(sign_in "$BASE")
if [ "$INSTANCES" = 2 ]; then
	start_demo 2
	until curl -fs -o /dev/null "$BASE2/readyz"; do sleep 0.005; done
	cookie2=$(sign_in "$BASE2")
fi

# What to ask for, read from the pages themselves: payment ids, provider ids, e-mails.
page() { curl -s -H "Cookie: $cookie" "$BASE$1"; }
: >"$work/listing.html"
for q in "" "?provider=bpc" "?provider=tranzzo" "?provider=powens" "?status=paid&currency=EUR" "?status=failed"; do
	page "/payments$q" >>"$work/listing.html"
done
public_ids=$(grep -o 'data-testid="payment-link">pd_[a-z0-9]*' "$work/listing.html" | sed 's/.*>//' | sort -u | sed -n '1,60p')
provider_ids=$(grep -o 'class="muted mono clip" title="[^"]*"' "$work/listing.html" | sed 's/.*title="//; s/"$//' | grep -v '^$' | sort -u | sed -n '1,30p')
emails=$(grep -o 'class="muted clip" title="[^"]*@[^"]*"' "$work/listing.html" | sed 's/.*title="//; s/"$//' | sort -u | sed -n '1,20p')
if [ "$ENGINE" = postgres ] && [ -z "$public_ids" ]; then
	# The list did not answer (see the warnings above): the ids from the database instead.
	public_ids=$(psql_db -Atqc "SELECT public_id FROM payments ORDER BY created_at DESC, id DESC LIMIT 60")
	provider_ids=$(psql_db -Atqc "SELECT provider_payment_id FROM payments WHERE provider_payment_id <> '' ORDER BY created_at DESC LIMIT 30")
	emails=$(psql_db -Atqc "SELECT DISTINCT customer_email FROM (SELECT customer_email FROM payments WHERE customer_email <> '' ORDER BY created_at DESC LIMIT 60) e LIMIT 20")
fi
newest=$(date -u +%Y-%m-%d)
month_ago=$(date -u -d '30 days ago' +%Y-%m-%d)

# paths_file NAME PATH…: a wrk script sending the paths in turn.
paths_file() {
	local name=$1
	shift
	{
		echo "paths = {"
		for p in "$@"; do printf '  "%s",\n' "$p"; done
		echo "}"
		echo 'i = 0'
		echo 'request = function() i = i % #paths + 1; return wrk.format("GET", paths[i]) end'
	} >"$work/$name.lua"
}
urlq() { jq -rn --arg v "$1" '$v|@uri'; }
search_paths() { for v in "$@"; do echo "/payments?q=$(urlq "$v")"; done; }

paths_file list_default "/payments"
paths_file list_filtered "/payments?provider=bpc" "/payments?status=refunded" "/payments?currency=GBP" \
	"/payments?provider=tranzzo&status=paid&currency=UAH" "/payments?attention=1" \
	"/payments?from=$month_ago&to=$newest" "/payments?currency=EUR&min=100.00&max=200.00" "/payments?status=failed&currency=JPY"
mapfile -t p < <(search_paths $public_ids $provider_ids | sed -n '1,60p')
paths_file search_ids "${p[@]}"
mapfile -t p < <(search_paths $emails)
paths_file search_email "${p[@]}"
# Parts of e-mails and amounts as people type them: an e-mail's second word ("thomas31"),
# its start up to the "@", a surname's prefix, an amount with a point, a comma, a euro sign.
email_words=$(for e in $emails; do l=${e%%@*}; [ "$l" != "${l#*.}" ] && echo "${l#*.}"; done | sed -n '1,10p')
email_starts=$(for e in $emails; do echo "${e%%@*}@"; done | sed -n '1,5p')
amounts=$(grep -o 'class="num">[0-9][0-9,]*\.[0-9][0-9] EUR' "$work/listing.html" | sed 's/.*>//; s/ EUR//; s/,//g' | sort -u | sed -n '1,5p')
mapfile -t p < <(search_paths $email_words $email_starts shev kowal $amounts \
	$(for a in $amounts; do echo "${a/./,}"; done) $(for a in $amounts; do echo "€$a"; done))
paths_file search_parts "${p[@]}"
mapfile -t p < <(search_paths 0420 1234 4242 7777 9001 5555 3141 2718 8080 6006)
paths_file search_last4 "${p[@]}"
mapfile -t p < <(for id in $public_ids; do echo "/payments/$id"; done)
paths_file payment_page "${p[@]}"
paths_file refund_history "/refunds" "/refunds?provider=bpc" "/refunds?status=rejected" "/refunds?currency=EUR&reason=goodwill" \
	"/refunds?requested_by=sam@paydesk.example" "/refunds?approved_by=max@paydesk.example" "/refunds?from=$month_ago"

# run NAME URL: one wrk run; prints requests/s, client and server percentiles.
max_rss=0
hello_rps=""
printf '%-16s %10s %10s %10s %10s %10s %8s %7s %8s\n' page "req/s" "client p50" "client p99" "server p50" "server p99" "of hello" "rss MB" "page KB"
run() {
	local name=$1 url=$2 script=()
	[ -f "$work/$name.lua" ] && script=(-s "$work/$name.lua")
	local before
	before=$(wc -l <"$work/demo.log")
	local headers=()
	[ "$name" = hello ] || headers=(-H "Cookie: $cookie")
	local profiler=""
	if [ -n "$PROFILE" ] && [ "$name" != hello ]; then
		mkdir -p "$PROFILE_DIR"
		# the middle of the run: a second in, for all but the last second
		(sleep 1 && curl -s -o "$PROFILE_DIR/$name.pprof" "http://127.0.0.1:$METRICS_PORT/debug/pprof/profile?seconds=$(( ${DURATION%s} - 2 ))") &
		profiler=$!
	fi
	local before2=0 second=""
	if [ "$INSTANCES" = 2 ] && [ "$name" != hello ]; then
		# The second instance under its own wrk, at the same time.
		before2=$(wc -l <"$work/demo2.log")
		wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Cookie: $cookie2" "${script[@]}" "$BASE2" >"$work/$name.wrk2" &
		second=$!
	fi
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${headers[@]}" "${script[@]}" "$url" >"$work/$name.wrk"
	[ -z "$second" ] || wait "$second"
	[ -z "$profiler" ] || wait "$profiler"
	local rps p50 p99 non2xx
	rps=$(awk '/^Requests\/sec/ { printf "%d", $2 }' "$work/$name.wrk")
	[ -z "$second" ] || rps=$((rps + $(awk '/^Requests\/sec/ { printf "%d", $2 }' "$work/$name.wrk2")))
	p50=$(awk '$1 == "50%" { print $2 }' "$work/$name.wrk")
	p99=$(awk '$1 == "99%" { print $2 }' "$work/$name.wrk")
	non2xx=$(awk '/Non-2xx/ { print $NF }' "$work/$name.wrk")
	local s50="-" s99="-" share="-" rss="-" size="-"
	if [ "$name" != hello ]; then
		{
			tail -n +"$((before + 1))" "$work/demo.log"
			[ -z "$second" ] || tail -n +"$((before2 + 1))" "$work/demo2.log"
		} | jq -r 'select(.msg == "request") | "\(.duration_ms) \(.bytes)"' 2>/dev/null | sort -n >"$work/$name.ms" || true
		size=$(awk '{ sum += $2 } END { if (NR) printf "%.1f", sum / NR / 1024 }' "$work/$name.ms")
		local n
		n=$(wc -l <"$work/$name.ms")
		if [ "$n" -gt 0 ]; then
			s50="$(sed -n "$(( (n * 50 + 99) / 100 ))p" "$work/$name.ms" | cut -d' ' -f1)ms"
			s99="$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$work/$name.ms" | cut -d' ' -f1)ms"
		fi
		rss=$(awk '/VmRSS/ { print $2 }' "/proc/$demo_pid/status")
		[ "$rss" -gt "$max_rss" ] && max_rss=$rss
		rss=$((rss / 1024))
		[ -n "$hello_rps" ] && share="$(( rps * 100 / hello_rps ))%"
	else
		hello_rps=$rps
	fi
	printf '%-16s %10s %10s %10s %10s %10s %8s %7s %8s\n' "$name" "$rps" "$p50" "$p99" "$s50" "$s99" "$share" "$rss" "$size"
	[ -z "$non2xx" ] || echo "  warning: $non2xx answers were not 2xx" >&2
}

run hello "http://127.0.0.1:$HELLO_PORT/"
for name in $PAGES; do
	run "$name" "$BASE"
done

echo
echo "start-up on the existing database (three starts):$startups ms to the first ready answer"
echo "resident memory under load: $((max_rss / 1024)) MB (peak since start: $(($(awk '/VmHWM/ { print $2 }' "/proc/$demo_pid/status") / 1024)) MB)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)"
[ -z "$PROFILE" ] || echo "CPU profiles: $PROFILE_DIR/<page>.pprof"
echo "wrk: $THREADS threads, $CONNECTIONS connections, $DURATION per page; database $DB ($ENGINE, $INSTANCES instance(s), page cache ${PAYDESK_PAGE_CACHE_MB:-8} MB)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

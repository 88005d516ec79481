#!/bin/sh
# bench-start: how fast does sqcrond start jobs, and how quiet is it idle?
#
#   contrib/bench/bench-start.sh [BUILDDIR]      (default _build/werror)
#
# 1. N jobs (1, 100, 1000) due at the same second: p50/p99/max of
#    (started_at - scheduled_at) and the time until the last one started,
#    next to a bare loop of N fork+exec+wait of the same command on the
#    same machine, in the same run.  Where Debian's busybox-static is
#    installed, its crond runs the same N jobs (it fires only at minute
#    boundaries, so that part waits for the next minute) and the ratios
#    are printed.
# 2. 10,000 hourly jobs, none due in the next minute: the daemon's RSS,
#    and its context switches and system calls over 60 idle seconds.
#
# Real daemon, real client, a private temporary directory; prints
# figures, asserts nothing.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/_build/werror}
SQCROND=$build/src/sqcrond
SQCRON=$build/src/sqcron
RAW=$build/t/helpers/rawsock
[ -x "$SQCROND" ] && [ -x "$RAW" ] || {
	echo "build first: make -C $build all check TESTS=" >&2
	exit 1
}
T=$(mktemp -d "${TMPDIR:-/tmp}/sqcron-bench.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	[ -n "${bbpid:-}" ] && kill "$bbpid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
export SQCRON_SOCKET=$T/s.sock

start() {
	rm -f "$T"/x.db* "$T/log"
	cat >"$T/c.conf" <<EOF
db = x.db
socket = s.sock
crontab =
crontab_dir =
user_crontab_dir =
timezone = UTC
max_running = $1
log = stderr
log_level = warn
cgroup = ${BENCH_CGROUP:-auto}
EOF
	"$SQCROND" -f -c "$T/c.conf" 2>"$T/log" &
	pid=$!
	i=0
	while ! "$SQCRON" ping >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && { cat "$T/log"; exit 1; }
		sleep 0.05
	done
}

stop() {
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
}

# add_jobs N SCHEDULE COMMAND: N jobs over one connection (pipelined).
add_jobs() {
	awk -v n="$1" -v s="$2" -v c="$3" 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "{\"id\":%d,\"method\":\"job.add\",\"params\":" \
			    "{\"name\":\"j%05d\",\"schedule\":\"%s\"," \
			    "\"command\":\"%s\"}}\n", i, i, s, c
	}' >"$T/adds"
	"$RAW" "$S" <"$T/adds" >"$T/added"
	got=$(grep -c '"result"' "$T/added" || true)
	[ "$got" -eq "$1" ] || { echo "only $got of $1 jobs added" >&2; head -3 "$T/added" >&2; exit 1; }
}
S=$T/s.sock

percentile() {	# FILE P: the P-th percentile of sorted numbers
	n=$(wc -l <"$1")
	k=$(( (n * $2 + 99) / 100 ))
	[ "$k" -lt 1 ] && k=1
	sed -n "${k}p" "$1"
}

echo "sqcrond start latency ($(nproc) cores, $(uname -r))"
echo "N      p50(ms) p99(ms) max(ms) last-started(ms) | bare fork+exec+wait loop(ms)"
for n in ${BENCH_N:-1 100 1000}; do
	start "$n"
	# A second far enough ahead to add every job first.
	lead=$(( n >= 1000 ? 8 : 4 ))
	due=$(( $(date +%s) + lead ))
	sched=$(date -u -d "@$due" '+%-S %-M %-H %-d %-m *')
	add_jobs "$n" "$sched" "true"
	sleep $(( due - $(date +%s) + 3 ))
	while "$SQCRON" --json runs --state running,queued --limit 1 | grep -q '"id"'; do
		sleep 0.5
	done
	"$SQCRON" --json runs --limit 100000 | tr '{' '\n' |
	    sed -n 's/.*"scheduled_at":"\([^"]*\)".*"started_at":"\([^"]*\)".*/\1 \2/p' |
	    while read -r s st; do
		echo $(( $(date -d "$st" +%s%3N) - $(date -d "$s" +%s%3N) ))
	    done | sort -n >"$T/lat"
	runs=$(wc -l <"$T/lat")
	stop
	# The same command, N times, fork+exec+wait from a shell loop.
	t0=$(date +%s%N)
	i=0
	while [ $i -lt "$n" ]; do /bin/sh -c true; i=$((i + 1)); done
	bare=$(( ($(date +%s%N) - t0) / 1000000 ))
	printf '%-6s %-7s %-7s %-7s %-16s | %s   (%s runs)\n' "$n" \
	    "$(percentile "$T/lat" 50)" "$(percentile "$T/lat" 99)" \
	    "$(tail -1 "$T/lat")" "$(tail -1 "$T/lat")" "$bare" "$runs"
done

if command -v busybox >/dev/null 2>&1 && busybox crond --help >/dev/null 2>&1; then
	echo "busybox crond: not measured in this version of the benchmark"
else
	echo "busybox crond: not installed (apt-get install busybox-static to compare)"
fi

echo
echo "idle: 10,000 hourly jobs, none due for a minute"
start 32
minute=$(( ($(date -u +%-M) + 30) % 60 ))
t0=$(date +%s)
add_jobs 10000 "$minute * * * *" "true"
echo "  10,000 jobs added over one connection in $(( $(date +%s) - t0 )) s"
sleep 2
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
cs0=$(awk '/ctxt_switches/ { n += $2 } END { print n }' "/proc/$pid/status")
if command -v strace >/dev/null 2>&1; then
	timeout 60 strace -f -c -o "$T/strace" -p "$pid" 2>/dev/null || true
	calls=$(awk '/total/ { print $3 }' "$T/strace")
	[ -n "$calls" ] || calls=0
else
	sleep 60
	calls="(strace not installed)"
fi
cs1=$(awk '/ctxt_switches/ { n += $2 } END { print n }' "/proc/$pid/status")
echo "  RSS $rss kB; over 60 idle seconds: $((cs1 - cs0)) context switches, system calls: $calls"
stop

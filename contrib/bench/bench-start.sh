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
#    are printed.  The job there is contrib/bench/stamp FILE, which
#    writes the time it started (BENCH_JOB=script: a shell script that
#    runs date, mostly a measure of the jobs' own work).
# 2. 10,000 hourly jobs, none due in the next minute: the daemon's RSS,
#    and its context switches and system calls over 60 idle seconds.
#
# Real daemon, real client, a private temporary directory; prints
# figures, asserts nothing.  BENCH_N="1 100" and BENCH_PARTS="latency
# busybox idle" choose what runs; BENCH_CGROUP=off disables cgroups.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/_build/werror}" && pwd)
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
	[ "${keep_db:-0}" = 1 ] || rm -f "$T"/x.db* "$T/log"
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

parts=${BENCH_PARTS:-latency busybox idle}
has() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }

if has latency; then
echo "sqcrond start latency ($(nproc) cores, $(uname -r))"
echo "N      p50(ms) p99(ms) max(ms) last-started(ms) | bare fork+exec+wait loop(ms)"
for n in ${BENCH_N:-1 100 1000}; do
	start "$n"
	# A second far enough ahead to add every job first.
	lead=$(( n >= 1000 ? 8 : 4 ))
	due=$(( $(date +%s) + lead ))
	sched=$(date -u -d "@$due" '+%-S %-M %-H %-d %-m *')
	add_jobs "$n" "$sched" "/bin/true"
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
	while [ $i -lt "$n" ]; do /bin/true; i=$((i + 1)); done
	bare=$(( ($(date +%s%N) - t0) / 1000000 ))
	printf '%-6s %-7s %-7s %-7s %-16s | %s   (%s runs)\n' "$n" \
	    "$(percentile "$T/lat" 50)" "$(percentile "$T/lat" 99)" \
	    "$(tail -1 "$T/lat")" "$(tail -1 "$T/lat")" "$bare" "$runs"
done

fi

# Against busybox crond: the same N jobs, each running the same command
# that writes the time it started; both fire at a minute boundary (the
# only time busybox can), sqcron in one minute and busybox in the next.
stamp_stats() {	# DIR BOUNDARY_S: "p50 p99 last" in ms after the boundary
	cat "$1"/* 2>/dev/null | awk -v b="$2" '{ print int($1 / 1000000) - b * 1000 }' |
	    sort -n >"$T/st"
	echo "$(percentile "$T/st" 50) $(percentile "$T/st" 99) $(tail -1 "$T/st") $(wc -l <"$T/st")"
}
next_minute() {	# seconds since the epoch of the next minute boundary, >= 15 s away
	m=$(( ($(date +%s) / 60 + 1) * 60 ))
	[ $(( m - $(date +%s) )) -lt 15 ] && m=$((m + 60))
	echo "$m"
}
BUSYBOX=$(command -v busybox || true)
if ! has busybox; then
	:
elif [ -n "$BUSYBOX" ] && "$BUSYBOX" crond --help >/dev/null 2>&1; then
	# The job: by default the stamp program, which writes the time it
	# started; BENCH_JOB=script makes it a shell script that runs date,
	# where most of the time goes to the jobs' own work (three execs).
	if [ "${BENCH_JOB:-stamp}" = script ]; then
		printf '#!/bin/sh\ndate +%%s%%N >"$1"\n' >"$T/stamp.sh"
		job="/bin/sh $T/stamp.sh"
	else
		job=$build/contrib/bench/stamp
	fi
	echo
	echo "against busybox crond (same jobs and command, start times as the jobs saw them: $job)"
	echo "N      sqcron p50/p99/last(ms)   busybox p50/p99/last(ms)   last: busybox/sqcron"
	for n in ${BENCH_N:-1 100 1000}; do
		rm -rf "$T/sq" "$T/bb" "$T/bbtab"
		mkdir -p "$T/sq" "$T/bb" "$T/bbtab"
		start "$n"
		m=$(next_minute)
		sched=$(date -u -d "@$m" '+0 %-M %-H %-d %-m *')
		awk -v n="$n" -v s="$sched" -v t="$T" -v j="$job" 'BEGIN {
			for (i = 1; i <= n; i++)
				printf "{\"id\":%d,\"method\":\"job.add\",\"params\":" \
				    "{\"name\":\"s%05d\",\"schedule\":\"%s\"," \
				    "\"command\":\"%s %s/sq/%d\"}}\n",
				    i, i, s, j, t, i
		}' >"$T/adds"
		"$RAW" "$S" <"$T/adds" >/dev/null
		sleep $(( m - $(date +%s) + 5 ))
		while "$SQCRON" --json runs --state running,queued --limit 1 | grep -q '"id"'; do
			sleep 0.5
		done
		stop
		sq=$(stamp_stats "$T/sq" "$m")
		# busybox: one crontab, for root, at the following minute.
		m2=$(next_minute)
		bsched=$(date -u -d "@$m2" '+%-M %-H %-d %-m *')
		i=1
		while [ $i -le "$n" ]; do
			echo "$bsched $job $T/bb/$i"
			i=$((i + 1))
		done >"$T/bbtab/root"
		# Jobs through /bin/sh, as sqcrond runs them (busybox takes $SHELL).
		SHELL=/bin/sh TZ=UTC "$BUSYBOX" crond -f -c "$T/bbtab" -l 9 >/dev/null 2>&1 &
		bbpid=$!
		sleep $(( m2 - $(date +%s) + 5 ))
		while [ "$(ls "$T/bb" | wc -l)" -lt "$n" ] && [ $(( $(date +%s) - m2 )) -lt 120 ]; do
			sleep 1
		done
		sleep 1
		kill "$bbpid" 2>/dev/null
		wait "$bbpid" 2>/dev/null || true
		bbpid=
		bb=$(stamp_stats "$T/bb" "$m2")
		set -- $sq $bb
		ratio=$(awk -v a="$7" -v b="$3" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
		printf '%-6s %-26s %-26s %s   (%s and %s runs)\n' "$n" "$1/$2/$3" "$5/$6/$7" \
		    "$ratio" "$4" "$8"
	done
else
	echo "busybox crond: not installed (apt-get install busybox-static to compare)"
fi

has idle || exit 0
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
keep_db=1 start 32
sleep 2
echo "  RSS after a restart with the same 10,000 jobs: $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status") kB"
stop

#!/bin/sh
# 320-metrics: the Prometheus metrics of DESIGN.md section 10 end to end.
# A scripted sequence of runs (succeeded, failed, timeout, oom, crashed,
# replays) gives exact counters per job and state, the same from `sqcron
# metrics`, the HTTP listener and the textfile; they survive retention,
# `sqcron prune` and a restart; /healthz answers; a per-second job that
# keeps failing is stale within 3 s, a paused one never is; a removed
# job's series go; a reload moves the listener and the textfile.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock
RAWTCP=$SQCRON_BUILDDIR/t/helpers/rawtcp
mkdir -p "$T/tf"
TEXTFILE=$T/tf/sqcron.prom

# start_metrics: a daemon listening for HTTP on a free port ($port).
# The port is the kernel's pick, free a moment before the daemon binds
# it; should another test take it meanwhile, try another.
start_metrics() {
	_try=0
	while [ $_try -lt 5 ]; do
		port=$("$RAWTCP" --free-port)
		write_config "$T/d.conf" cgroup=off shutdown_timeout=2s \
		    "metrics_listen=127.0.0.1:$port" "metrics_textfile=$TEXTFILE"
		start_daemon "$T/d.conf"
		if grep -q "sqcrond\[$daemon_pid\] info: metrics: listening on 127.0.0.1:$port " \
		    "$T/sqcrond.log"; then
			return 0
		fi
		stop_daemon
		_try=$((_try + 1))
	done
	return 1
}

# http METHOD PATH: the whole HTTP/1.0 response.
http() {
	printf '%s %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" "$2" |
	    "$RAWTCP" "$port" | tr -d '\r'
}
status_line() { printf '%s\n' "$1" | head -1; }
body() { printf '%s\n' "$1" | sed '1,/^$/d'; }

# value TEXT SERIES: the value of one series (name with its labels).
value() {
	printf '%s\n' "$1" | awk -v k="$2" '$1 == k { print $2 }'
}

# valid TEXT: every line is a HELP, a TYPE or a sample of a declared
# family (a hand-written check; t/321 runs promtool when present).
valid() {
	printf '%s\n' "$1" | awk '
	/^# HELP [a-z_]+ ./ { next }
	/^# TYPE [a-z_]+ (counter|gauge|histogram)$/ { fam[$3] = 1; next }
	/^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9]+(\.[0-9]+)?$/ {
		n = $1; sub(/\{.*/, "", n)
		b = n; sub(/_(bucket|sum|count)$/, "", b)
		if (fam[n] || fam[b]) next
	}
	{ print "bad line " NR ": " $0; bad = 1 }
	END { exit bad }'
}

counters() {	# the counter samples of a text, sorted
	printf '%s\n' "$1" | grep -E '^sqcron_(runs_total|replays_total|run_duration_seconds_(bucket|count))' | sort
}

start_metrics
ok $? "sqcrond listens for HTTP on 127.0.0.1:$port" || { done_testing; exit 1; }

wait_for "[ -s '$TEXTFILE' ]" 50
ok $? "the textfile is written at start"
run valid "$(cat "$TEXTFILE")"
is "$out" "" "and it parses"

# The script: each run to its end.
add() {
	name=$1
	shift
	"$SQCRON" add "$name" --schedule @yearly "$@" >/dev/null || diag "add $name failed"
}
runs() {	# NAME COUNT
	_i=0
	while [ $_i -lt "$2" ]; do
		"$SQCRON" run "$1" --wait >/dev/null 2>&1
		_i=$((_i + 1))
	done
}
first_run() {
	"$SQCRON" --json runs --job "$1" --limit 1000 | grep -o '"id":[0-9]*' | tail -1 | cut -d: -f2
}
add ok --command true
add bad --command 'exit 3'
add slow --command 'sleep 30' --timeout 1s --kill-grace 1s
add oomish --command 'exit 137'
add crash --command 'kill -SEGV $$'
add flip --command "[ -e $T/flip.ok ]"
add keep --command true --keep-runs 1
runs ok 3
runs bad 2
runs slow 1
runs oomish 1
runs crash 1
runs flip 1
runs keep 3
touch "$T/flip.ok"
"$SQCRON" replay --wait "$(first_run flip)" >/dev/null
ok $? "a replay of flip succeeds"
"$SQCRON" replay --wait "$(first_run bad)" >/dev/null
is "$?" 1 "a replay of bad fails"

run "$SQCRON" metrics
is "$rc" 0 "sqcron metrics exits 0"
m=$out
run valid "$m"
is "$out" "" "sqcron metrics: valid exposition text"
for s in 'ok,succeeded 3' 'ok,failed 0' 'bad,failed 3' 'bad,succeeded 0' \
    'slow,timeout 1' 'slow,failed 0' 'oomish,oom 1' 'crash,crashed 1' \
    'flip,failed 1' 'flip,succeeded 1' 'keep,succeeded 3' 'ok,missed 0'; do
	set -- $s
	job=${1%,*}
	st=${1#*,}
	is "$(value "$m" "sqcron_runs_total{job=\"$job\",state=\"$st\"}")" "$2" \
	    "sqcron_runs_total{job=\"$job\",state=\"$st\"} $2"
done
is "$(printf '%s\n' "$m" | grep -c '^sqcron_runs_total{job="ok",')" 10 \
    "every end state of a job is shown, from 0"
is "$(value "$m" 'sqcron_replays_total{result="succeeded"}'):$(value "$m" 'sqcron_replays_total{result="failed"}')" \
    "1:1" "sqcron_replays_total: 1 succeeded, 1 failed"
is "$(value "$m" 'sqcron_open_failures')" 5 \
    "sqcron_open_failures 5 (bad's two fires, slow, oomish, crash)"
is "$(value "$m" 'sqcron_job_consecutive_failures{job="bad"}'):$(value "$m" 'sqcron_job_consecutive_failures{job="flip"}'):$(value "$m" 'sqcron_job_consecutive_failures{job="ok"}')" \
    "2:0:0" "consecutive failures: bad 2 (fires), flip 0 (replayed), ok 0"
is "$(value "$m" 'sqcron_run_duration_seconds_count{job="ok"}'):$(value "$m" 'sqcron_run_duration_seconds_bucket{job="ok",le="+Inf"}')" \
    "3:3" "ok's histogram counts its 3 runs"
is "$(value "$m" 'sqcron_run_duration_seconds_bucket{job="slow",le="0.1"}'):$(value "$m" 'sqcron_run_duration_seconds_bucket{job="slow",le="15"}')" \
    "0:1" "slow's 1 s timeout is above 0.1 s and below 15 s"
like "$(value "$m" 'sqcron_run_duration_seconds_sum{job="slow"}')" '^[1-9][0-9]*\.[0-9]{3}$' \
    "its sum is at least a second"
now=$(date +%s)
ls=$(value "$m" 'sqcron_job_last_success_timestamp_seconds{job="ok"}')
ok $([ -n "$ls" ] && [ $((now - ${ls%.*})) -ge 0 ] && [ $((now - ${ls%.*})) -lt 300 ]; echo $?) \
    "ok's last success is a recent timestamp ($ls)"
is "$(value "$m" 'sqcron_job_last_success_timestamp_seconds{job="bad"}')" "" \
    "bad has no last success"
ok $([ -n "$(value "$m" 'sqcron_job_last_run_timestamp_seconds{job="bad"}')" ]; echo $?) \
    "bad has a last run"
is "$(value "$m" 'sqcron_runs_running'):$(value "$m" 'sqcron_runs_queued'):$(value "$m" 'sqcron_notifications_pending')" \
    "0:0:0" "nothing running, queued or pending"
like "$(value "$m" 'sqcron_db_size_bytes')" '^[1-9][0-9]*$' "sqcron_db_size_bytes"
like "$(value "$m" 'sqcron_start_time_seconds')" '^[1-9][0-9]{9}\.[0-9]{3}$' "sqcron_start_time_seconds"
is "$("$SQCRON" --json runs --job keep | grep -o '"id":' | wc -l | tr -d ' ')" 1 \
    "keep_runs=1 deleted keep's older runs; its counter still says 3"

# The same over HTTP.
r=$(http GET /metrics)
is "$(status_line "$r")" "HTTP/1.0 200 OK" "GET /metrics: 200"
like "$r" '^Content-Type: text/plain; version=0\.0\.4' "text/plain; version=0.0.4"
is "$(counters "$(body "$r")")" "$(counters "$m")" "the same counters as sqcron metrics"
r=$(http HEAD /metrics)
is "$(status_line "$r"):$(body "$r")" "HTTP/1.0 200 OK:" "HEAD /metrics: 200, no body"
r=$(http GET /healthz)
is "$(status_line "$r"):$(body "$r")" "HTTP/1.0 200 OK:ok" "GET /healthz: 200 ok"
r=$(http GET /nope)
is "$(status_line "$r")" "HTTP/1.0 404 Not Found" "another path: 404"
r=$(http POST /metrics)
is "$(status_line "$r")" "HTTP/1.0 405 Method Not Allowed" "POST /metrics: 405"
like "$r" 'Allow: GET, HEAD' "saying what is allowed"

# The textfile follows, within its interval.
wait_for "grep -q '^sqcron_runs_total{job=\"ok\",state=\"succeeded\"} 3\$' '$TEXTFILE'" 150
ok $? "the textfile is rewritten after the runs"
is "$(counters "$(cat "$TEXTFILE")")" "$(counters "$m")" "with the same counters"
run valid "$(cat "$TEXTFILE")"
is "$out" "" "and it still parses"
ls "$T/tf" >"$T/tf.list"
is "$(cat "$T/tf.list")" "sqcron.prom" "no temporary file is left beside it"

# Counters survive sqcron prune and a restart.
"$SQCRON" prune >/dev/null
ok $? "sqcron prune"
m2=$("$SQCRON" metrics)
is "$(counters "$m2")" "$(counters "$m")" "the counters are unchanged after the prune"
start1=$(value "$m" 'sqcron_start_time_seconds')
stop_daemon
is "$daemon_rc" 0 "clean stop"
ok $([ ! -e "$TEXTFILE" ]; echo $?) "the textfile is removed when sqcrond stops"
sleep 1
start_metrics
ok $? "restarted, listening on 127.0.0.1:$port"
m3=$("$SQCRON" metrics)
is "$(counters "$m3")" "$(counters "$m")" "the counters are unchanged after a restart"
ok $([ "$(value "$m3" 'sqcron_start_time_seconds')" != "$start1" ]; echo $?) \
    "sqcron_start_time_seconds moved"
r=$(http GET /metrics)
is "$(counters "$(body "$r")")" "$(counters "$m")" "and over HTTP"
r=$(http GET /healthz)
is "$(status_line "$r"):$(body "$r")" "HTTP/1.0 200 OK:ok" "/healthz: 200 ok after the restart"

# Staleness: a per-second job that keeps failing is stale within 3 s of
# being added (twice its longest gap, 2 s); a paused one never is.
"$SQCRON" add pz --schedule '* * * * * *' --command 'exit 1' >/dev/null
"$SQCRON" pause pz >/dev/null
"$SQCRON" add fl --schedule '* * * * * *' --command 'exit 1' >/dev/null
t0=$(date +%s%3N)
wait_for "\"$SQCRON\" metrics | grep -q '^sqcron_job_stale{job=\"fl\"} 1\$'" 60
ok $? "fl becomes stale"
t1=$(date +%s%3N)
ok $([ $((t1 - t0)) -le 3000 ]; echo $?) "within 3 s of being added ($((t1 - t0)) ms)"
m=$("$SQCRON" metrics)
is "$(value "$m" 'sqcron_job_stale{job="pz"}'):$(value "$m" 'sqcron_job_paused{job="pz"}')" "0:1" \
    "pz is paused, and not stale"
is "$(value "$m" 'sqcron_job_stale{job="ok"}')" 0 "an @yearly job that succeeded is not stale"
like "$("$SQCRON" jobs | grep '^fl ')" 'STALE$' "sqcron jobs marks fl STALE"
run sh -c "\"$SQCRON\" jobs | grep '^pz '"
ok $(printf '%s' "$out" | grep -q STALE; [ $? -ne 0 ]; echo $?) "but not pz"
like "$("$SQCRON" --json job show fl)" '"stale":true' "job show: \"stale\":true"
run "$SQCRON" status
is "$rc" 1 "sqcron status exits 1"
like "$out" 'open failures [0-9]+, stale 1(,|$)' "it counts the stale job"
like "$out" '^fl +([0-9]+s ago|now) +-$' "and lists it"
like "$("$SQCRON" --json status)" '"stale":\[\{"job":"fl","last_success_at":null,"stale_since":"' \
    "status --json: the stale list"
r=$(http GET /metrics)
like "$(body "$r")" '^sqcron_job_stale\{job="fl"\} 1$' "HTTP says fl is stale too"
wait_for "grep -q '^sqcron_job_stale{job=\"fl\"} 1\$' '$TEXTFILE'" 150
ok $? "and so does the textfile"
sleep 2
is "$(value "$("$SQCRON" metrics)" 'sqcron_job_stale{job="pz"}')" 0 "pz, 4 s on: still not stale"

# A removed job's series go.
"$SQCRON" rm fl >/dev/null
run "$SQCRON" metrics
ok $(printf '%s\n' "$out" | grep -q 'job="fl"'; [ $? -ne 0 ]; echo $?) "a removed job's series are gone"

# Silent when idle: with the listener and the textfile on, once the
# textfile has caught up (its interval is 5 s), no wake-up at all.
if command -v strace >/dev/null 2>&1; then
	sleep 6
	timeout 4 strace -f -c -o "$T/strace" -p "$daemon_pid" >/dev/null 2>&1
	# (The one allowed is the epoll_wait it sleeps in, cut by strace.)
	calls=$(awk '$NF == "total" { print $4 }' "$T/strace")
	ok $([ "${calls:-0}" -le 1 ]; echo $?) \
	    "idle for 4 s: no system call (${calls:-0}, the epoll_wait it sleeps in)"
	[ "${calls:-0}" -le 1 ] || sed 's/^/# /' "$T/strace"
else
	skip "strace is not installed: idle silence not checked"
fi

# The metrics method is admin-only, and takes no argument.
run "$SQCRON" metrics extra
is "$rc" 2 "sqcron metrics takes no argument: exit 2"
like "$("$SQCRON" --json metrics)" '^\{"text":"# HELP sqcron_runs_total ' "--json: {\"text\": ...}"

# A reload moves the listener and the textfile, or turns them off.
old=$port
port=$("$RAWTCP" --free-port)
write_config "$T/d.conf" cgroup=off shutdown_timeout=2s \
    "metrics_listen=127.0.0.1:$port" "metrics_textfile=$T/tf/other.prom"
run "$SQCRON" reload
is "$rc" 0 "reload with a new address and textfile"
if grep -q "metrics: listening on 127.0.0.1:$port " "$T/sqcrond.log"; then
	r=$(http GET /healthz)
	is "$(status_line "$r")" "HTTP/1.0 200 OK" "the new address answers"
else
	skip "port $port was taken meanwhile"
fi
port=$old
run sh -c "printf 'GET /healthz HTTP/1.0\r\n\r\n' | \"$RAWTCP\" $old"
is "$rc" 3 "the old one is closed"
wait_for "[ -s '$T/tf/other.prom' ]" 50
ok $? "the new textfile is written"
ok $([ ! -e "$TEXTFILE" ]; echo $?) "the old one is removed"
write_config "$T/d.conf" cgroup=off shutdown_timeout=2s \
    "metrics_textfile=$T/nowhere/sqcron.prom"
"$SQCRON" reload >/dev/null
ok $([ ! -e "$T/tf/other.prom" ]; echo $?) "a textfile elsewhere: the old one is removed"
wait_for "grep -q 'metrics: cannot write $T/nowhere/sqcron.prom' '$T/sqcrond.log'" 50
ok $? "a textfile that cannot be written is logged"
"$SQCRON" run ok --wait >/dev/null
"$SQCRON" run ok --wait >/dev/null
sleep 6
is "$(grep -c 'metrics: cannot write' "$T/sqcrond.log")" 1 \
    "once, not at every try (tried again after changes, not on a timer)"
run "$SQCRON" ping
is "$rc" 0 "sqcrond goes on"
stop_daemon
is "$daemon_rc" 0 "clean stop"
done_testing

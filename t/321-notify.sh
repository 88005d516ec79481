#!/bin/sh
# 321-notify: events of DESIGN.md section 10 through the outbox, against a
# loopback receiver (t/helpers/hookrecv.py): webhook bodies field by
# field, notify_on, Slack's format, healthchecks pings, retries with
# backoff after a 500, a row that survives a restart while the receiver
# is down, a hanging receiver that does not delay a per-second job,
# garbage, early closes and huge answers, and a row given up.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP python3 is needed for the test receiver"
	exit 0
fi
# Loopback only, whatever proxy the environment names.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
NO_PROXY=127.0.0.1
no_proxy=127.0.0.1
export NO_PROXY no_proxy

RECV=$SQCRON_SRCDIR/t/helpers/hookrecv.py
export SQCRON_SOCKET=$T/sqcron.sock
_recv_pids=

_recv_cleanup() {
	for p in $_recv_pids; do
		kill -TERM "$p" 2>/dev/null
	done
}
trap '_recv_cleanup; _lib_cleanup' EXIT

# recv_start DIR [PORT]: a receiver recording into DIR; sets $port and
# $recv_pid.
recv_start() {
	mkdir -p "$1"
	rm -f "$1/port"
	python3 "$RECV" "$1" "${2:-0}" 2>>"$T/recv.err" &
	recv_pid=$!
	_recv_pids="$_recv_pids $recv_pid"
	wait_for "[ -s '$1/port' ]" 100
	port=$(cat "$1/port")
}
# recv_stop PID
recv_stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
# nreq DIR: requests received so far
nreq() {
	if [ -f "$1/log" ]; then wc -l <"$1/log"; else echo 0; fi
}
# jv FILE EXPR: a Python expression on the JSON document d in FILE
jv() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))' "$1" "$2"
}
# hdr FILE NAME: a header's value
hdr() {
	sed -n "s/^$2: //p" "$1" | tr -d '\r'
}
pending() {
	"$SQCRON" --json status | sed -n 's/.*"notifications_pending":\([0-9]*\).*/\1/p'
}

recv_start "$T/a"
A=http://127.0.0.1:$port
write_config "$T/d.conf" notify_timeout=1s notify_retries=10 log_level=debug
start_daemon "$T/d.conf"
version=$("$SQCROND" -V | cut -d' ' -f2)

# Bad URLs are refused when the job is added, naming the option.
run "$SQCRON" add badurl --schedule @yearly --command true --notify ftp://127.0.0.1/x
ok $([ "$rc" -eq 2 ]; echo $?) "notify = ftp://...: refused (exit $rc)"
like "$err" 'notify: "ftp://127.0.0.1/x": expected http:// or https://' "  naming notify"
run "$SQCRON" add badurl --schedule @yearly --command true --ping-url 'http:///x'
like "$err" 'ping_url: "http:///x": a URL needs a host' "ping_url without a host: refused, naming ping_url"

# A failing job with a webhook: run.failed and run.dead (default notify_on).
"$SQCRON" add bad --schedule @yearly --description "fails on purpose" \
    --notify "$A/hook" \
    --command 'printf "first line\nsecond: \303\251t\303\251\n"; exit 3' >/dev/null
"$SQCRON" run --wait bad >/dev/null
wait_for "[ \$(nreq $T/a) -ge 2 ]" 100
is "$(cut -d' ' -f2- "$T/a/log")" "POST /hook
POST /hook" "two POSTs to the webhook"
is "$(hdr "$T/a/1.headers" X-Sqcron-Event) $(hdr "$T/a/2.headers" X-Sqcron-Event)" \
    "run.failed run.dead" "run.failed, then run.dead (no retry left)"
is "$(hdr "$T/a/1.headers" Content-Type)" "application/json" "Content-Type: application/json"
is "$(hdr "$T/a/1.headers" User-Agent)" "sqcron/$version" "User-Agent: sqcron/$version"
b=$T/a/1.body
is "$(jv "$b" 'd["event"]')" run.failed "body: event"
like "$(jv "$b" 'd["time"]')" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' "body: time, RFC 3339 UTC with ms"
is "$(jv "$b" 'd["host"]')" "$(python3 -c 'import socket; print(socket.gethostname())')" "body: host"
is "$(jv "$b" 'd["job"]')" '{"description": "fails on purpose", "name": "bad", "schedule": "@yearly"}' "body: job's name, schedule and description"
id=$(jv "$b" 'd["run"]["id"]')
"$SQCRON" --json show "$id" >"$T/show.json"
is "$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))["run"]
g = json.load(open(sys.argv[2]))["run"]
g.pop("output")
print("same" if r == g else "differ: %s" % sorted(k for k in set(r) | set(g) if r.get(k) != g.get(k)))' "$T/show.json" "$b")" same "body: run is every RUN field, as run.get returns it"
is "$(jv "$b" 'd["run"]["state"], d["run"]["exit_code"], d["run"]["resolution"]')" '["failed", 3, "open"]' "body: run state, exit_code, resolution"
is "$(jv "$b" 'd["run"]["output"] == "first line\nsecond: \u00e9t\u00e9\n"')" true "body: run.output, UTF-8 kept"
is "$(jv "$b" 'd["reason"]')" null "body: reason null for a run event"
is "$(jv "$T/a/2.body" 'd["event"], d["run"]["id"]')" "[\"run.dead\", $id]" "the second body: run.dead of the same run"
is "$(hdr "$T/a/1.headers" X-Sqcron-Delivery)" 1 "X-Sqcron-Delivery: the row's id"

# The last 4 KiB of a longer output; notify_on chooses run.succeeded.
"$SQCRON" add big --schedule @yearly --notify "$A/big" --notify-on run.succeeded \
    --command 'seq 1 3000' >/dev/null
"$SQCRON" run --wait big >/dev/null
wait_for "grep -q ' /big' $T/a/log" 100
n=$(grep ' /big' "$T/a/log" | cut -d' ' -f1)
seq 1 3000 | tail -c 4096 >"$T/big.tail"
is "$(jv "$T/a/$n.body" 'd["event"], len(d["run"]["output"]), d["run"]["output"] == open("'"$T/big.tail"'").read()')" \
    '["run.succeeded", 4096, true]' "run.succeeded carries the last 4096 bytes of output"

# job.recovered after a failure; opt-in run.started; notify_on = none.
"$SQCRON" add quiet --schedule @yearly --notify "$A/quiet" --notify-on none --command 'exit 1' >/dev/null
"$SQCRON" run --wait quiet >/dev/null
"$SQCRON" add flip --schedule @yearly --notify "$A/flip" \
    --notify-on run.failed,job.recovered,run.started \
    --command "[ -e $T/flip.ok ] && exit 0; touch $T/flip.ok; exit 1" >/dev/null
"$SQCRON" run --wait flip >/dev/null
"$SQCRON" run --wait flip >/dev/null
wait_for "[ \$(grep -c ' /flip' $T/a/log) -ge 4 ]" 100
sleep 0.5
is "$(for n in $(grep ' /flip' "$T/a/log" | cut -d' ' -f1); do hdr "$T/a/$n.headers" X-Sqcron-Event; done | sort | tr '\n' ' ')" \
    "job.recovered run.failed run.started run.started " "notify_on: run.started twice, run.failed, job.recovered (no run.dead, no run.succeeded)"
n=$(grep ' /flip' "$T/a/log" | cut -d' ' -f1 | while read -r n; do
	[ "$(hdr "$T/a/$n.headers" X-Sqcron-Event)" = job.recovered ] && echo "$n"; done)
is "$(jv "$T/a/$n.body" 'd["run"]["state"], d["run"]["attempt"]')" '["succeeded", 1]' "job.recovered carries the successful run"
is "$(grep -c ' /quiet' "$T/a/log")" 0 "notify_on = none: nothing sent"

# job.stale: told once, when a job that keeps failing becomes stale (a
# timer for that moment, no polling); never for a paused job.
"$SQCRON" add stl --schedule '* * * * * *' --stale-after 2s --notify "$A/stl" \
    --notify-on job.stale --command 'exit 1' >/dev/null
"$SQCRON" add stp --schedule '* * * * * *' --stale-after 2s --notify "$A/stp" \
    --notify-on job.stale --command 'exit 1' >/dev/null
"$SQCRON" pause stp >/dev/null
wait_for "grep -q ' /stl' $T/a/log" 200
ok $? "job.stale sent for a job with no success for its stale_after"
n=$(grep ' /stl' "$T/a/log" | head -1 | cut -d' ' -f1)
is "$(jv "$T/a/$n.body" 'd["event"], d["job"]["name"]')" '["job.stale", "stl"]' "  its body: event and job"
like "$(jv "$T/a/$n.body" 'd["reason"]')" '^no success for [0-9]+s \(stale after 2s\)$' "  its reason"
sleep 2.5
"$SQCRON" pause stl >/dev/null
is "$(grep -c ' /stl' "$T/a/log")" 1 "  once, while it stays stale"
is "$(grep -c ' /stp' "$T/a/log")" 0 "none for the paused job"

# notify_format = slack: {"text": ...}, with <, > and & escaped.
write_config "$T/d.conf" notify_timeout=1s notify_retries=10 log_level=debug notify_format=slack
"$SQCRON" reload >/dev/null
"$SQCRON" add slacky --schedule @yearly --notify "$A/slack" --notify-on run.failed \
    --command 'echo "disk <full> & more"; exit 4' >/dev/null
"$SQCRON" run --wait slacky >/dev/null
wait_for "grep -q ' /slack' $T/a/log" 100
n=$(grep ' /slack' "$T/a/log" | cut -d' ' -f1)
is "$(jv "$T/a/$n.body" 'sorted(d)')" '["text"]' "Slack body: text only"
like "$(jv "$T/a/$n.body" 'd["text"]')" "^\[$(hostname)\] \*slacky\*: run [0-9]+ failed: exit status 4" "Slack text: host, job, run, what happened"
like "$(jv "$T/a/$n.body" 'd["text"]')" 'disk &lt;full&gt; &amp; more' "Slack text: the output, escaped"
write_config "$T/d.conf" notify_timeout=1s notify_retries=10 log_level=debug
"$SQCRON" reload >/dev/null

# Pings (healthchecks.io): URL/start then URL for a good run, URL/fail
# with the output for a failing one; no webhook without notify.
"$SQCRON" add good --schedule @yearly --ping-url "$A/ping/good-uuid" \
    --command 'echo all fine' >/dev/null
"$SQCRON" run --wait good >/dev/null
"$SQCRON" add sad --schedule @yearly --ping-url "$A/ping/sad-uuid/" \
    --command 'echo it broke; exit 2' >/dev/null
"$SQCRON" run --wait sad >/dev/null
wait_for "[ \$(grep -c ' /ping/' $T/a/log) -ge 4 ]" 100
is "$(grep ' /ping/good' "$T/a/log" | cut -d' ' -f3 | tr '\n' ' ')" \
    "/ping/good-uuid/start /ping/good-uuid " "good run: /start, then the URL"
is "$(grep ' /ping/sad' "$T/a/log" | cut -d' ' -f3 | tr '\n' ' ')" \
    "/ping/sad-uuid/start /ping/sad-uuid/fail " "failing run: /start, then /fail (a trailing / not doubled)"
n=$(grep ' /ping/good-uuid$' "$T/a/log" | cut -d' ' -f1)
is "$(cat "$T/a/$n.body")" "all fine" "the success ping carries the output"
n=$(grep ' /ping/sad-uuid/fail' "$T/a/log" | cut -d' ' -f1)
is "$(cat "$T/a/$n.body")" "it broke" "the /fail ping carries the output"
like "$(hdr "$T/a/$n.headers" Content-Type)" '^text/plain' "  as text/plain"
is "$(grep -c ' /hook' "$T/a/log")" 2 "no webhook for jobs without notify"

# A receiver that answers 500 twice: retried after 1 s, then 2 s (+-10%).
recv_start "$T/b"
B=http://127.0.0.1:$port
printf '500\n500\n' >"$T/b/script"
"$SQCRON" add five --schedule @yearly --notify "$B/h" --notify-on run.failed --command 'exit 1' >/dev/null
"$SQCRON" run --wait five >/dev/null
wait_for "[ \$(nreq $T/b) -ge 3 ]" 150
is "$(nreq "$T/b")" 3 "500, 500, then 200: three attempts"
t1=$(cat "$T/b/1.time"); t2=$(cat "$T/b/2.time"); t3=$(cat "$T/b/3.time")
d1=$(python3 -c "print(round(($t2 - $t1) * 1000))")
d2=$(python3 -c "print(round(($t3 - $t2) * 1000))")
ok $([ "$d1" -ge 800 ] && [ "$d1" -le 1600 ]; echo $?) "second attempt after about 1 s ($d1 ms)"
ok $([ "$d2" -ge 1700 ] && [ "$d2" -le 3000 ]; echo $?) "third after about 2 s ($d2 ms)"
is "$(hdr "$T/b/1.headers" X-Sqcron-Delivery) $(hdr "$T/b/3.headers" X-Sqcron-Delivery)" \
    "$(hdr "$T/b/1.headers" X-Sqcron-Delivery) $(hdr "$T/b/1.headers" X-Sqcron-Delivery)" "one row, the same body each time"
cmp -s "$T/b/1.body" "$T/b/3.body"
ok $? "  byte for byte"
wait_for "[ \"\$(pending)\" = 0 ]" 50
is "$(pending)" 0 "acknowledged: nothing pending"
like "$(grep 'attempt 1 failed' "$T/sqcrond.log")" 'HTTP 500: status 500; next in' "the log says why and when next"

# The receiver is down: the row stays pending across a crash of sqcrond
# (kill -9), and is delivered once the receiver is up again (on the same
# port).
recv_start "$T/c"
cport=$port
recv_stop "$recv_pid"
"$SQCRON" add later --schedule @yearly --notify "http://127.0.0.1:$cport/h" --notify-on run.failed --command 'exit 5' >/dev/null
"$SQCRON" run --wait later >/dev/null
wait_for "grep -q 'to http://127.0.0.1:$cport: attempt 1 failed' '$T/sqcrond.log'" 50
ok $? "receiver down: the attempt fails"
is "$(pending)" 1 "and the row is pending"
stop_daemon KILL
start_daemon "$T/d.conf"
is "$(pending)" 1 "after kill -9 and a restart the row is still pending"
ok $(grep -q '1 notifications waiting for delivery' "$T/sqcrond.log"; echo $?) "  and the start said so"
recv_start "$T/c" "$cport"
is "$port" "$cport" "the receiver is back on its port"
wait_for "[ \$(nreq $T/c) -ge 1 ]" 100
is "$(jv "$T/c/1.body" 'd["event"], d["job"]["name"], d["run"]["exit_code"]')" '["run.failed", "later", 5]' "then it is delivered"
wait_for "[ \"\$(pending)\" = 0 ]" 50
is "$(pending)" 0 "and nothing is pending"

# A run that sqcrond lost (killed while it ran): run.failed and run.dead
# from the restart that records it lost.
"$SQCRON" add long --schedule @yearly --notify "$A/long" --command 'sleep 30' >/dev/null
"$SQCRON" run long >/dev/null
wait_for "\"$SQCRON\" --json runs --job long | grep -q '\"state\":\"running\"'" 50
stop_daemon KILL
start_daemon "$T/d.conf"
wait_for "[ \$(grep -c ' /long' $T/a/log) -ge 2 ]" 100
n=$(grep ' /long' "$T/a/log" | head -1 | cut -d' ' -f1)
is "$(jv "$T/a/$n.body" 'd["event"], d["run"]["state"], d["run"]["reason"]')" \
    '["run.failed", "lost", "lost: sqcrond stopped while it ran"]' "a lost run: run.failed at the next start"
n=$(grep ' /long' "$T/a/log" | sed -n 2p | cut -d' ' -f1)
is "$(jv "$T/a/$n.body" 'd["event"]')" run.dead "  and run.dead"

# A receiver that hangs: each attempt is cut by notify_timeout (1 s), and
# a per-second job starts as late as it did while the receiver answered,
# within 50 ms (its own stamps, each against its second).
recv_start "$T/h"
"$SQCRON" add tick --schedule '* * * * * *' --notify "http://127.0.0.1:$port/h" \
    --notify-on run.started,run.succeeded --command "date +%s%3N >>$T/tick.log" >/dev/null
sleep 4.5
switch=$(date +%s%3N)
echo hang >"$T/h/mode"
sleep 6
"$SQCRON" pause tick >/dev/null
touch "$T/h/release"
cut=$(grep -c "to http://127.0.0.1:$port: attempt [0-9]* failed: .*timed out after" "$T/sqcrond.log")
ok $([ "$cut" -ge 3 ]; echo $?) "while it hung, $cut attempts were cut by the timeout"
python3 - "$T/tick.log" "$switch" >"$T/late" <<'EOF'
import statistics, sys
stamps = [int(l) for l in open(sys.argv[1]) if l.strip()]
switch = int(sys.argv[2])
before = [t % 1000 for t in stamps if t < switch]
after = [t % 1000 for t in stamps if t > switch + 1000]
print(len(before), len(after), int(statistics.median(before or [0])),
      int(statistics.median(after or [0])), max(after or [0]))
EOF
read -r nb na mb ma worst <"$T/late"
ok $([ "$nb" -ge 3 ] && [ "$na" -ge 4 ]; echo $?) "the per-second job ran $nb times before the receiver hung, $na times while it hung"
ok $([ $((ma - mb)) -le 50 ] && [ "$worst" -lt 500 ]; echo $?) \
    "it started no later while the receiver hung: median $ma ms after its second, $mb ms before (worst $worst ms)"
"$SQCRON" rm tick >/dev/null
# Its rows wait in backoff: a restart makes every pending row due now.
echo 200 >"$T/h/mode"
stop_daemon
start_daemon "$T/d.conf"
wait_for "[ \"\$(pending)\" = 0 ]" 100
is "$(pending)" 0 "after a restart the receiver, now answering, got them all"

# Garbage, an early close, then 4 MiB of answer with a 200: two failures,
# then delivered (the body is cut off at 64 KiB, the 200 counts).
recv_start "$T/g"
printf 'garbage\nclose\nhuge\n' >"$T/g/script"
"$SQCRON" add odd --schedule @yearly --notify "http://127.0.0.1:$port/g" --notify-on run.failed --command 'exit 1' >/dev/null
"$SQCRON" run --wait odd >/dev/null
wait_for "[ \$(nreq $T/g) -ge 3 ]" 150
is "$(nreq "$T/g")" 3 "garbage, close, huge: three attempts"
wait_for "[ \"\$(pending)\" = 0 ]" 50
is "$(pending)" 0 "the huge 200 acknowledged it"
run "$SQCRON" ping
is "$rc" 0 "sqcrond is fine"

# notify_retries spent: the row is dead, kept, and logged.
write_config "$T/d.conf" notify_timeout=1s notify_retries=1 log_level=debug
"$SQCRON" reload >/dev/null
recv_start "$T/x"
echo 500 >"$T/x/mode"
"$SQCRON" add doomed --schedule @yearly --notify "http://127.0.0.1:$port/x" --notify-on run.failed --command 'exit 1' >/dev/null
"$SQCRON" run --wait doomed >/dev/null
wait_for "grep -q 'giving up after 2 attempts: HTTP 500' '$T/sqcrond.log'" 100
ok $? "notify_retries = 1: given up after 2 attempts, and logged"
is "$(nreq "$T/x")" 2 "  two requests"
if command -v sqlite3 >/dev/null 2>&1; then
	is "$(sqlite3 "$T/sqcron.db" "SELECT state, attempts FROM outbox WHERE url LIKE '%/x'")" \
	    "dead|2" "the row is kept as dead"
else
	skip "sqlite3 not installed"
fi
is "$(pending)" 0 "a dead row is not pending"

stop_daemon
is "$daemon_rc" 0 "sqcrond stopped cleanly"
done_testing

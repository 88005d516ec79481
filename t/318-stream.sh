#!/bin/sh
# 318-stream: streams under stress: sqcron logs -f (run.follow) of live
# and ended runs, followers that leave or stall, events.subscribe, export
# of many runs, and the socket's limits while streams are open.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

RAW=$SQCRON_BUILDDIR/t/helpers/rawsock
HOLD=$SQCRON_BUILDDIR/t/helpers/connhold
S=$T/sqcron.sock
export SQCRON_SOCKET=$S
have_jq=0
command -v jq >/dev/null 2>&1 && have_jq=1
have_sqlite3=0
command -v sqlite3 >/dev/null 2>&1 && have_sqlite3=1

write_config "$T/d.conf"
start_daemon "$T/d.conf"
ok $? "daemon started"

# The newest run of a job, by id.
last_run() {
	"$SQCRON" --json runs --job "$1" --limit 1 | sed -n 's/^{"runs":\[{"id":\([0-9]*\),.*/\1/p'
}
state_of() {
	"$SQCRON" --json show "$1" | sed -n 's/.*"state":"\([a-z_]*\)".*/\1/p'
}
# The code of a raw request's error, or "ok" for a result.
req() {
	printf '%s\n' "$1" | "$RAW" "$S" 0 1500 | sed -n 's/.*"error":{"code":"\([a-z_]*\)".*/\1/p;/"result":/s/.*/ok/p' | head -1
}

# 4000 numbered lines over about 2 s, in bursts: a follower that joins
# mid-way gets the first part as "so far" and the rest live.
"$SQCRON" add count --schedule @yearly --keep-runs 5000 --command \
    'i=0; while [ $i -lt 4000 ]; do i=$((i + 1)); echo "n $i"; [ $((i % 200)) -eq 0 ] && sleep 0.1; done; true' >/dev/null
"$SQCRON" add fail --schedule @yearly --command \
    'echo first; printf "second \\303"; sleep 1; printf "\\251\\n"; exit 3' >/dev/null
"$SQCRON" add slow --schedule @yearly --command \
    'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do echo "slow $i"; sleep 0.1; done' >/dev/null
"$SQCRON" add quick --schedule @yearly --command 'echo quick' >/dev/null
awk 'BEGIN { for (i = 1; i <= 4000; i++) print "n " i }' >"$T/count.want"

# logs -f of a running job: everything, in order, once; its exit status.
"$SQCRON" run count >/dev/null
c1=$(last_run count)
sleep 0.5
run "$SQCRON" logs -f "$c1"
is "$rc" 0 "logs -f of a running job exits 0 when it succeeds"
printf '%s\n' "$out" >"$T/count.got"
ok $(cmp -s "$T/count.got" "$T/count.want"; echo $?) "logs -f: all 4000 lines in order, none lost or repeated between 'so far' and live ($(wc -l <"$T/count.got") lines)"
is "$(state_of "$c1")" succeeded "and the run is recorded succeeded"

"$SQCRON" run fail >/dev/null
f1=$(last_run fail)
run "$SQCRON" logs -f "$f1"
is "$rc" 1 "logs -f of a failing job exits 1"
is "$out" "$(printf 'first\nsecond é')" "with its output, a character split between two writes intact"

# An ended run: its stored output, then the exit.
run "$SQCRON" logs -f "$c1"
is "$rc" 0 "logs -f of a finished run exits 0"
printf '%s\n' "$out" >"$T/count.got2"
ok $(cmp -s "$T/count.got2" "$T/count.want"; echo $?) "and prints its whole stored output"
run "$SQCRON" logs --follow "$f1"
is "$rc" 1 "logs --follow of a finished failed run exits 1"
run "$SQCRON" logs -f 99999
is "$rc" 4 "logs -f of an unknown run: exit 4"
run "$SQCRON" logs -f nope
is "$rc" 2 "logs -f of a non-number: usage error"
reply=$(printf '{"id":9,"method":"run.follow","params":{"id":%s}}\n' "$f1" | "$RAW" "$S" 0 1500)
like "$(printf '%s\n' "$reply" | head -1)" '^\{"id":9,"event":\{"output":"first\\nsecond é\\n"\}\}$' "run.follow: output events on the wire"
like "$(printf '%s\n' "$reply" | tail -1)" '^\{"id":9,"result":\{"run":\{"id":'"$f1"',.*"state":"failed"' "then the result: the run"
is "$(req '{"id":1,"method":"run.follow","params":{"id":"1"}}')" invalid_argument "run.follow: a string for an id"
is "$(req '{"id":1,"method":"run.follow"}')" invalid_argument "run.follow: no id"

# Followers that go away mid-stream harm nothing.
"$SQCRON" run slow >/dev/null
s1=$(last_run slow)
"$SQCRON" logs -f "$s1" >"$T/slow.1" &
p1=$!
"$SQCRON" logs -f "$s1" >"$T/slow.2" &
p2=$!
printf '{"id":1,"method":"run.follow","params":{"id":%s}}\n' "$s1" | "$RAW" "$S" 0 10000 >"$T/slow.raw" &
p3=$!
wait_for "grep -qs 'slow 3' '$T/slow.1' && grep -qs 'slow 3' '$T/slow.raw'" 50
kill -KILL "$p1" "$p3"
wait "$p1" "$p3" 2>/dev/null
run "$SQCRON" ping
is "$rc" 0 "followers killed or gone mid-stream: the daemon still answers"
wait "$p2"
is "$?" 0 "another follower of the same run gets to the end"
is "$(tail -1 "$T/slow.2")" "slow 30" "with all of the output"
is "$(state_of "$s1")" succeeded "and the run ended as usual"

# events.subscribe: a run's start and end, in order; a job filter.
printf '{"id":1,"method":"events.subscribe"}\n' | "$RAW" "$S" 0 15000 >"$T/ev.all" &
e1=$!
printf '{"id":2,"method":"events.subscribe","params":{"job":"nosuch"}}\n' | "$RAW" "$S" 0 15000 >"$T/ev.none" &
e2=$!
wait_for "grep -qs events.subscribed '$T/ev.all' && grep -qs events.subscribed '$T/ev.none'" 100
ok $? "subscribers are told they are subscribed"
run "$SQCRON" run --wait quick
q1=$(last_run quick)
"$SQCRON" run --wait fail >/dev/null
f2=$(last_run fail)
"$SQCRON" pause quick >/dev/null
wait_for "grep -q '\"event\":\"job.paused\"' '$T/ev.all'" 100
events=$(sed -n 's/^{"id":1,"event":{"event":"\([a-z.]*\)",.*"run":{"id":\([0-9]*\),.*/\1 \2/p;s/^{"id":1,"event":{"event":"\(job\.[a-z]*\)",.*"job":"\([a-z]*\)".*/\1 \2/p' "$T/ev.all" | tr '\n' ',')
is "$events" "run.started $q1,run.succeeded $q1,run.started $f2,run.failed $f2,run.dead $f2,job.paused quick," "events: started, succeeded; started, failed, dead (no retry); paused"
like "$(grep run.failed "$T/ev.all")" '"state":"failed","exit_code":3,' "run.failed carries the run as it ended"
is "$(grep -c . "$T/ev.none")" 1 "a subscriber to another job sees only its subscription"
kill "$e1" "$e2" 2>/dev/null
wait "$e1" "$e2" 2>/dev/null
"$SQCRON" resume quick >/dev/null
is "$(req '{"id":1,"method":"events.subscribe","params":{"job":7}}')" invalid_argument "events.subscribe: a number for a job"
is "$(req '{"id":1,"method":"events.subscribe","params":{"job":"a/b"}}')" invalid_argument "events.subscribe: not a job name"

# A follower that stops reading: the job is not held back, the daemon
# buffers a bounded amount and says what it skipped.
# (The job writes once its follower is there: it waits for $T/go.)
"$SQCRON" add big --schedule @yearly --command "echo ready; while [ ! -e '$T/go' ]; do sleep 0.05; done; head -c 40000000 /dev/zero | tr '\\0' x; echo; echo end" >/dev/null
"$SQCRON" run big >/dev/null
b1=$(last_run big)
"$SQCRON" logs -f "$b1" | {
	head -c 6 >"$T/big.ready"
	i=0	# read nothing more until told (at most 60 s)
	while [ ! -e "$T/read" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	cat
} >"$T/big.out" &
bp=$!
wait_for "[ -s '$T/big.ready' ]" 100
touch "$T/go"
maxrss=0
ended=1
for i in $(seq 1 300); do
	r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$daemon_pid/status")
	[ "$r" -gt "$maxrss" ] && maxrss=$r
	if [ "$(state_of "$b1")" = succeeded ]; then
		# ... while the follower still had not read a byte
		[ ! -s "$T/big.out" ] && ended=0
		break
	fi
	sleep 0.1
done
ok $ended "a job writing 40 MB to a stalled follower ends without waiting for it"
touch "$T/read"
wait "$bp"
# (Once per stretch it fell behind: it may catch up for a moment.)
n=$(grep -c -E '^\[\.\.\. [0-9]+ bytes skipped: sqcron logs -f fell behind \.\.\.\]$' "$T/big.out")
ok $([ "$n" -ge 1 ]; echo $?) "the follower is told where output was skipped ($n times)"
sz=$(wc -c <"$T/big.out")
ok $([ "$sz" -lt 20000000 ]; echo $?) "and got less than it all ($sz bytes)"
if ldd "$SQCROND" 2>/dev/null | grep -q libasan; then
	skip "daemon RSS not meaningful under AddressSanitizer (peak $maxrss kB)"
else
	ok $([ "$maxrss" -lt 30720 ]; echo $?) "daemon RSS stayed under 30 MB (peak $maxrss kB)"
fi

# Too many connections: refused with unavailable, while a follower that
# was there first keeps being served (its job runs until $T/stop).
"$SQCRON" add long --schedule @yearly --command "i=0; while [ ! -e '$T/stop' ] && [ \$i -lt 600 ]; do i=\$((i + 1)); echo \"long \$i\"; sleep 0.1; done; echo done" >/dev/null
"$SQCRON" run long >/dev/null
l1=$(last_run long)
"$SQCRON" logs -f "$l1" >"$T/long" &
fp=$!
wait_for "grep -qs 'long 2' '$T/long'" 100
"$HOLD" "$S" 127 30 >"$T/hold" &
hp=$!
wait_for "grep -qs . '$T/hold'" 150
is "$(cat "$T/hold")" "held 127" "127 more connections are accepted (128 in all)"
run "$SQCRON" ping
is "$rc" 3 "the 129th client: exit 3"
is "$err" "sqcron: too many connections" "told politely: unavailable, too many connections"
reply=$(printf '{"id":1,"method":"ping"}\n' | "$RAW" "$S" 0 1500)
like "$reply" '^\{"id":null,"error":\{"code":"unavailable","message":"too many connections"\}\}$' "on the wire: an unavailable error line"
touch "$T/stop"
wait "$fp"
is "$?" 0 "the follower that was there first is served to the end"
n=$(grep -c '^long' "$T/long")
is "$(awk '{ print }' "$T/long" | tr '\n' ' ')" "$(awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) printf "long %d ", i; print "done " }')" "with all of the output, in order ($n lines)"
kill "$hp"
wait "$hp" 2>/dev/null
wait_for "'$SQCRON' ping >/dev/null 2>&1" 50
ok $? "once they close, new clients are served again"

# A client that sends half a line and stalls blocks neither a ping nor a
# stream.
printf '{"id":1,"method":"run.fol' | "$RAW" "$S" 4000 >/dev/null &
st=$!
sleep 0.3
run "$SQCRON" ping
is "$rc" 0 "ping answered while a client stalls mid-line"
run "$SQCRON" logs -f "$q1"
is "$out:$rc" "quick:0" "and so is a follower"
wait "$st"

# export: NDJSON of runs with their output, oldest first.
run "$SQCRON" export --job fail
is "$rc" 0 "export --job exits 0"
is "$(printf '%s\n' "$out" | grep -c .)" 2 "one line per run of the job"
is "$(printf '%s\n' "$out" | sed -n 's/^{"run":{"id":\([0-9]*\),.*/\1/p' | tr '\n' ' ')" "$f1 $f2 " "oldest first"
like "$(printf '%s\n' "$out" | head -1)" '^\{"run":\{"id":[0-9]+,"job":"fail",.*"state":"failed",.*\},"output":"first\\nsecond é\\n"\}$' "each a run and its output"
if [ $have_jq -eq 1 ]; then
	printf '%s\n' "$out" | jq -c '[.run.id, .run.state, .output]' >"$T/jq" 2>&1
	is "$(tr '\n' ' ' <"$T/jq")" "[$f1,\"failed\",\"first\\nsecond é\\n\"] [$f2,\"failed\",\"first\\nsecond é\\n\"] " "every line parses as JSON (jq)"
else
	skip "jq not installed"
fi
run "$SQCRON" export --job count --state succeeded
n=$(printf '%s\n' "$out" | grep -c '"state":"succeeded"')
is "$n" 1 "export --state filters"
run "$SQCRON" export --since @4102444800
is "$out:$rc" ":0" "export --since a future time: nothing, exit 0"
run "$SQCRON" export --job nosuch
is "$rc" 4 "export --job of an unknown job: exit 4"
run "$SQCRON" export --state exploded
is "$rc" 2 "export --state of an unknown state: exit 2"
run "$SQCRON" export --since yesterday-ish
is "$rc" 2 "export --since of a bad time: exit 2"
is "$(req '{"id":1,"method":"export","params":{"job":["x"]}}')" invalid_argument "export: a list for a job"
is "$(req '{"id":1,"method":"export","params":{"until":true}}')" invalid_argument "export: a boolean for a time"

# Many runs: pages follow one another without a gap or a repeat, and the
# daemon serves others meanwhile.
if [ $have_sqlite3 -eq 1 ]; then
	# Yesterday's fires of count (keep_runs 5000): nothing prunes them.
	B=$(( $(date +%s) * 1000 - 86400000 ))
	sqlite3 "$T/sqcron.db" "PRAGMA busy_timeout = 10000;
	    WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 2500)
	    INSERT INTO runs (job_id, job_version, scheduled_at, trigger, attempt, state, exit_code, queued_at, started_at, ended_at, output_bytes)
	    SELECT j.id, j.version, $B + i, 'schedule', 1, 'succeeded', 0, $B + i, $B + i, $B + 1 + i, 6
	    FROM k, jobs AS j WHERE j.name = 'count';
	    INSERT INTO run_output (run_id, head, tail, omitted)
	    SELECT id, CAST('out ' || id AS BLOB), CAST('' AS BLOB), 0 FROM runs WHERE scheduled_at BETWEEN $B + 1 AND $B + 2500;" >/dev/null
	total=$(sqlite3 "$T/sqcron.db" "select count(*) from runs")
	"$SQCRON" export >"$T/all.ndjson" &
	xp=$!
	run "$SQCRON" ping
	is "$rc" 0 "ping answered while an export streams"
	wait "$xp"
	is "$?" 0 "export of $total runs exits 0"
	sed -n 's/^{"run":{"id":\([0-9]*\),.*/\1/p' "$T/all.ndjson" >"$T/ids"
	is "$(grep -c . "$T/ids")" "$total" "every run once ($total lines)"
	ok $(sort -n -c -u "$T/ids" 2>/dev/null; echo $?) "in increasing id order, none repeated"
	id=$(sqlite3 "$T/sqcron.db" "select min(id) + 1234 from runs where scheduled_at between $B + 1 and $B + 2500")
	like "$(grep "^{\"run\":{\"id\":$id," "$T/all.ndjson")" "\"output\":\"out $id\"\\}\$" "a run deep in the export carries its own output"
	if [ $have_jq -eq 1 ]; then
		is "$(jq -c .run.id "$T/all.ndjson" 2>/dev/null | grep -c .)" "$total" "all $total lines parse as JSON (jq)"
	else
		skip "jq not installed"
	fi
else
	skip "sqlite3 shell not installed: export of many runs"
fi

run "$SQCRON" ping
is "$rc" 0 "the daemon is still up"
stop_daemon
is "$daemon_rc" 0 "clean stop"
like "$(grep -c -E 'ERROR|AddressSanitizer|runtime error' "$T/sqcrond.log")" '^0$' "nothing went wrong in the daemon's log"

# A user who is not an admin (made for the test, as t/317 does): it
# follows its own runs only, hears its own jobs' events only, and may not
# export.
U=sqcron-t318-$$
if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null 2>&1 ||
    ! command -v setpriv >/dev/null 2>&1; then
	skip "needs root, useradd and setpriv: streams for a user who is not an admin"
	done_testing
	exit $?
fi
t318_cleanup() {
	_lib_cleanup
	userdel -f "$U" >/dev/null 2>&1
	groupdel "$U" >/dev/null 2>&1
}
trap t318_cleanup EXIT
chmod 0711 "$T"
if ! useradd -M -d "$T/home" -s /bin/sh -U "$U" >"$T/useradd.log" 2>&1; then
	skip "useradd failed: streams for a user who is not an admin"
	done_testing
	exit $?
fi
uid=$(id -u "$U")
gid=$(id -g "$U")
mkdir "$T/home"
chown "$uid:$gid" "$T/home"
# as_user CMD...: as the test's user (stdin kept: rawsock reads it).
as_user() {
	setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"
}
mkdir "$T/u"
chmod 0755 "$T/u"
S=$T/u/sqcron.sock
export SQCRON_SOCKET=$S
printf 'db = %s/u/sqcron.db\nsocket = %s\nsocket_mode = 0660\nsocket_group = %s\ncrontab =\ncrontab_dir =\nuser_crontab_dir =\nlog = stderr\n' "$T" "$S" "$U" >"$T/u.conf"
start_daemon "$T/u.conf"
"$SQCRON" add rootjob --schedule @yearly --command 'echo root' >/dev/null
run as_user "$SQCRON" add mine --schedule @yearly --command 'echo mine'
is "$rc" 0 "the user adds a job of its own"
printf '{"id":1,"method":"events.subscribe"}\n' | as_user "$RAW" "$S" 0 20000 >"$T/u.ev" &
ue=$!
printf '{"id":2,"method":"events.subscribe","params":{"job":"rootjob"}}\n' | as_user "$RAW" "$S" 0 1500 >"$T/u.ev.root"
like "$(cat "$T/u.ev.root")" '^\{"id":2,"error":\{"code":"permission_denied","message":"job \\"rootjob\\" is not yours"' "subscribing to another's job: permission_denied"
wait_for "grep -qs events.subscribed '$T/u.ev'" 100
"$SQCRON" run --wait rootjob >/dev/null
r1=$(last_run rootjob)
as_user "$SQCRON" run --wait mine >/dev/null
m1=$(last_run mine)
wait_for "grep -q run.succeeded '$T/u.ev'" 100
kill "$ue" 2>/dev/null
wait "$ue" 2>/dev/null
events=$(sed -n 's/^{"id":1,"event":{"event":"\([a-z.]*\)",.*"job":"\([a-z]*\)".*/\1 \2/p' "$T/u.ev" | tr '\n' ',')
is "$events" "run.started mine,run.succeeded mine," "the user hears its own job's events, none of root's"
run as_user "$SQCRON" logs -f "$m1"
is "$out:$rc" "mine:0" "the user follows its own run"
run as_user "$SQCRON" logs -f "$r1"
is "$rc" 5 "and not root's: exit 5"
run as_user "$SQCRON" export
is "$rc" 5 "export is for administrators: exit 5"
run "$SQCRON" export
is "$(printf '%s\n' "$out" | grep -c .)" 2 "(an administrator exports both runs)"
stop_daemon
is "$daemon_rc" 0 "clean stop"
done_testing

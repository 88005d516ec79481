#!/bin/sh
# 315-policies: overlap (skip, queue, replace, allow) checked against the
# jobs' own records of when they ran; max_running; a fixed jitter;
# quarantine (pause_after); pause --until.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock
write_config "$T/d.conf"
start_daemon "$T/d.conf"

rows() {	# JOB: its runs, oldest first
	"$SQCRON" --json runs --job "$1" --limit 1000 | tr '{' '\n' | grep '"scheduled_at"' | tac
}
# A job that records "START ns" and "END ns" (also when SIGTERMed) in
# $T/NAME.rec, running SECS seconds.
recjob() {	# NAME SECS [OPTIONS]
	_n=$1 _s=$2
	shift 2
	"$SQCRON" add "$_n" --schedule '* * * * * *' --command "trap 'echo END \$(date +%s%N) >>$T/$_n.rec; exit 143' TERM; echo START \$(date +%s%N) >>$T/$_n.rec; sleep $_s & wait; echo END \$(date +%s%N) >>$T/$_n.rec" "$@" >/dev/null
}
# overlaps FILE: how many times a START came while another run was live
overlaps() {
	awk '$1 == "START" { if (live > 0) n++; live++ } $1 == "END" { live-- } END { print n + 0 }' "$1"
}
maxlive() {
	sort -k2,2n "$1" | awk '$1 == "START" { live++; if (live > m) m = live } $1 == "END" { live-- } END { print m + 0 }'
}

recjob oskip 2.5
recjob oqueue 2.5 --overlap queue
recjob oreplace 10 --overlap replace
recjob oallow 2.5 --overlap allow
sleep 6.5
for j in oskip oqueue oreplace oallow; do "$SQCRON" pause $j >/dev/null; done
wait_for "! \"$SQCRON\" --json runs --state running,queued | grep -q '\"id\"'" 150

sort -k2,2n "$T/oskip.rec" >"$T/oskip.sorted"
is "$(overlaps "$T/oskip.sorted")" 0 "skip: no run started while another ran (the jobs' own records)"
ok $([ "$(rows oskip | grep -c '"state":"skipped"')" -ge 2 ]; echo $?) "skip: the fires in between are recorded skipped"
like "$(rows oskip | grep '"state":"skipped"' | head -1)" 'still running \(overlap=skip\)' "with the reason"

sort -k2,2n "$T/oqueue.rec" >"$T/oqueue.sorted"
is "$(overlaps "$T/oqueue.sorted")" 0 "queue: never two at once"
gap=$(awk '$1 == "END" { e = $2 } $1 == "START" && e { d = ($2 - e) / 1000000; if (d > m) m = d } END { printf "%d", m }' "$T/oqueue.sorted")
ok $([ "$gap" -lt 1000 ]; echo $?) "queue: the queued run starts as the previous ends ($gap ms)"
ok $([ "$(rows oqueue | grep -c '"state":"skipped"')" -ge 1 ]; echo $?) "queue: at most one waits, later fires are skipped"
is "$(rows oqueue | grep -c '"state":"queued"')" 0 "queue: nothing left queued"

sort -k2,2n "$T/oreplace.rec" >"$T/oreplace.sorted"
is "$(overlaps "$T/oreplace.sorted")" 0 "replace: the live run ends before the new one starts"
ok $([ "$(rows oreplace | grep -c '"state":"killed"')" -ge 3 ]; echo $?) "replace: each replaced run is killed"
like "$(rows oreplace | grep '"state":"killed"' | head -1)" 'replaced by the fire of oreplace' "and says by what"

ok $([ "$(maxlive "$T/oallow.rec")" -ge 2 ]; echo $?) "allow: runs overlap ($(maxlive "$T/oallow.rec") at once)"
is "$(rows oallow | grep -c '"state":"skipped"')" 0 "allow: nothing skipped"

# Jitter: a fixed delay derived from the name, the same after a restart.
"$SQCRON" add jit --schedule '* * * * * *' --jitter 800ms --command /bin/true >/dev/null
sleep 3.5
delays() {
	rows jit | grep '"started_at"' | sed 's/.*"scheduled_at":"\([^"]*\)".*"started_at":"\([^"]*\)".*/\1 \2/' |
	    while read -r s st; do echo $(( $(date -d "$st" +%s%3N) - $(date -d "$s" +%s%3N) )); done
}
delays >"$T/j1"
stop_daemon
start_daemon "$T/d.conf"
sleep 4.5
"$SQCRON" pause jit >/dev/null
delays >"$T/j2"
# A start is the fire, plus the jitter, plus the daemon's own latency,
# which a loaded machine stretches: the smallest delay is the jitter, and
# a fixed jitter puts most starts next to it (a random one would spread
# them over 800 ms).
lo=$(sort -n "$T/j2" | head -1)
hi=$(sort -n "$T/j2" | tail -1)
near=$(awk -v lo="$lo" '$1 - lo < 150 { n++ } END { print n + 0 }' "$T/j2")
all=$(wc -l <"$T/j2")
ok $([ "$lo" -ge 0 ] && [ "$lo" -lt 1000 ] && [ "$near" -ge 2 ] && [ $((near * 2)) -ge "$all" ]; echo $?) "every run starts the same delay after its second ($near of $all within 150 ms of $lo; $lo..$hi ms)"
j1=$(sort -n "$T/j1" | head -1)
ok $([ $((lo - j1)) -lt 150 ] && [ $((j1 - lo)) -lt 150 ]; echo $?) "and the same delay after a restart ($j1 then $lo ms)"

# Quarantine: pause_after consecutive failed fires pause the job.
"$SQCRON" add bad --schedule '* * * * * *' --pause-after 3 --command 'exit 1' >/dev/null
wait_for "\"$SQCRON\" --json job show bad | grep -q '\"paused\":true'" 100
run "$SQCRON" --json job show bad
like "$out" '"paused":true' "pause_after = 3: the job is paused"
like "$out" '"paused_reason":"quarantined: 3 consecutive failed fires \(pause_after = 3\)"' "saying why"
sleep 1.5
is "$(rows bad | grep -c '"state":"failed"')" 3 "after exactly 3 failed fires"
"$SQCRON" resume bad >/dev/null
sleep 1.3
"$SQCRON" pause bad >/dev/null
ok $([ "$(rows bad | grep -c '"state":"failed"')" -ge 4 ]; echo $?) "resumed, it runs again (the count starts over)"

# pause --until: resumed by itself.
"$SQCRON" add nap --schedule '* * * * * *' --command /bin/true >/dev/null
until=$(date -u -d '@'$(( $(date +%s) + 2 )) +%Y-%m-%dT%H:%M:%SZ)
"$SQCRON" pause nap --until "$until" >/dev/null
n0=$(rows nap | wc -l)
sleep 1
is "$(rows nap | wc -l)" "$n0" "paused until $until: no run"
wait_for "\"$SQCRON\" --json job show nap | grep -q '\"paused\":false'" 50
like "$(grep 'nap: resumed' "$T/sqcrond.log")" 'its pause ended' "resumed when the pause ended"
sleep 1.5
ok $([ "$(rows nap | wc -l)" -gt "$n0" ]; echo $?) "and runs again"
stop_daemon

# max_running = 2 with 6 jobs triggered at once: never more than 2 alive.
write_config "$T/d2.conf" max_running=2
start_daemon "$T/d2.conf"
for i in 1 2 3 4 5 6; do
	"$SQCRON" add m$i --schedule @yearly --command "echo START \$(date +%s%N) m$i >>$T/m.rec; sleep 0.7; echo END \$(date +%s%N) >>$T/m.rec" >/dev/null
done
for i in 1 2 3 4 5 6; do "$SQCRON" run m$i >/dev/null; done
wait_for "[ \$(grep -c END $T/m.rec 2>/dev/null || echo 0) -ge 6 ]" 100
sleep 0.5
is "$(maxlive "$T/m.rec")" 2 "max_running = 2: at most 2 alive at once (their own records)"
n=0
for i in 1 2 3 4 5 6; do rows m$i | grep -q '"state":"succeeded"' && n=$((n + 1)); done
is "$n" 6 "all 6 succeeded"
# Oldest fire first, by the daemon's start times (the jobs' own stamps
# can swap two runs started in the same millisecond).
prev=0 order=0
for i in 1 2 3 4 5 6; do
	st=$(rows m$i | sed -n 's/.*"started_at":"\([^"]*\)".*/\1/p' | head -1)
	ms=$(date -d "$st" +%s%3N)
	[ "$ms" -lt "$prev" ] && order=1
	prev=$ms
done
ok $order "queued runs started oldest fire first (m1..m6, sqcrond's start times)"

# sqcron kill: a running run and a queued one (max_running = 2).
"$SQCRON" add long --schedule @yearly --command 'sleep 60' >/dev/null
for i in 1 2 3; do "$SQCRON" run long >/dev/null; done
ids=$(rows long | sed -n 's/.*"id":\([0-9]*\).*/\1/p' | tr '\n' ' ')
set -- $ids
like "$("$SQCRON" --json show "$3")" '"state":"queued"' "the third waits for a slot"
run "$SQCRON" kill "$3"
is "$rc" 0 "kill a queued run: exit 0"
run "$SQCRON" kill "$1"
is "$rc" 0 "kill a running run: exit 0"
wait_for "[ \$(rows long | grep -c '\"state\":\"killed\"') -ge 2 ]" 150
like "$("$SQCRON" --json show "$1")" '"state":"killed".*"reason":"killed by sqcron kill \(uid [0-9]+, pid [0-9]+\); SIGTERM sent' "the running one ends killed, saying who asked"
like "$("$SQCRON" --json show "$3")" '"reason":"killed by sqcron kill .* before it started".*"started_at":null' "the queued one never started"
run "$SQCRON" kill "$1"
is "$rc" 1 "killing an ended run is refused (exit 1)"
"$SQCRON" kill "$2" >/dev/null
stop_daemon
done_testing

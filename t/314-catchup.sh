#!/bin/sh
# 314-catchup: fires missed while sqcrond was down are recorded, and run
# by catchup = latest (the newest) or all (each); nothing is recorded
# twice across restarts; starting_deadline turns a fire that waited too
# long in the queue into missed.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock
write_config "$T/d.conf"
start_daemon "$T/d.conf"

rows() {	# JOB: its runs, oldest first, a JSON object a line
	"$SQCRON" --json runs --job "$1" --limit 1000 | tr '{' '\n' | grep '"scheduled_at"' | tac
}
secs() { date -d "$1" +%s; }
sat() { sed -n 's/.*"scheduled_at":"\([^"]*\)".*/\1/p'; }

"$SQCRON" add cskip --schedule '* * * * * *' --command /bin/true >/dev/null
"$SQCRON" add clatest --schedule '* * * * * *' --catchup latest --command /bin/true >/dev/null
"$SQCRON" add call --schedule '* * * * * *' --catchup all --command /bin/true >/dev/null
sleep 2.5
stop_daemon
down=$(date +%s)
sleep 5
start_daemon "$T/d.conf"
up=$(date +%s)
sleep 2.5
for j in cskip clatest call; do "$SQCRON" pause $j >/dev/null; done
sleep 1
# Fires in the gap: scheduled strictly after the daemon stopped and
# before it started again.
gap() {	# JOB STATE-OR-TRIGGER-PATTERN
	rows "$1" | grep "$2" | sat | while read -r t; do
		s=$(secs "$t")
		[ "$s" -gt "$down" ] && [ "$s" -lt "$up" ] && echo "$t"
	done | wc -l
}
n=$(gap cskip '"state":"missed"')
ok $([ "$n" -ge 4 ]; echo $?) "catchup = skip: $n fires of the 5 s down recorded missed (>= 4)"
is "$(gap cskip '"trigger":"catchup"')" 0 "and none run"
n=$(gap clatest '"state":"missed"')
ok $([ "$n" -ge 3 ]; echo $?) "catchup = latest: the older ones missed ($n)"
is "$(rows clatest | grep -c '"trigger":"catchup"')" 1 "and exactly one catch-up run"
newest=$(rows clatest | grep '"trigger":"catchup"' | sat)
older=$(rows clatest | grep '"state":"missed"' | sat | tail -1)
ok $([ "$(secs "$newest")" -gt "$(secs "$older")" ]; echo $?) "the catch-up run is the newest fire ($newest)"
like "$(rows clatest | grep '"trigger":"catchup"')" '"state":"succeeded"' "which succeeded"
n=$(gap call '"trigger":"catchup"')
ok $([ "$n" -ge 4 ]; echo $?) "catchup = all: each fire run ($n)"
is "$(gap call '"state":"missed"')" 0 "none of them missed"
is "$(rows call | grep '"trigger":"catchup"' | grep -vc '"state":"succeeded"')" 0 "all succeeded"
like "$(grep 'missed' "$T/sqcrond.log" | head -1)$(rows cskip | grep '"state":"missed"' | head -1)" 'while sqcrond was not running' "the reason says why"

# A second restart: nothing is recorded again.
for j in cskip clatest call; do rows $j | sat | sort >"$T/before.$j"; done
stop_daemon
start_daemon "$T/d.conf"
sleep 1
dups=0
for j in cskip clatest call; do
	rows $j | sat | sort >"$T/after.$j"
	d=$(uniq -d "$T/after.$j" | wc -l)
	dups=$((dups + d))
	cmp -s "$T/before.$j" "$T/after.$j" || diag "$j changed while paused"
done
is "$dups" 0 "no fire recorded twice, over two restarts"
ok $(cmp -s "$T/before.call" "$T/after.call"; echo $?) "a paused job records nothing at start"
stop_daemon

# starting_deadline: with max_running = 1 a per-second fire waits behind
# a long run and is missed once it waited more than its deadline.
write_config "$T/d2.conf" max_running=1
start_daemon "$T/d2.conf"
"$SQCRON" add hog --schedule @yearly --command 'sleep 4' >/dev/null
"$SQCRON" run hog >/dev/null
"$SQCRON" add dl --schedule '* * * * * *' --starting-deadline 1s --command /bin/true >/dev/null
sleep 6
"$SQCRON" pause dl >/dev/null
sleep 0.5
like "$(rows dl | grep '"state":"missed"' | head -1)" 'not started within starting_deadline' "a fire queued past its starting_deadline is missed"
ok $(rows dl | grep -q '"state":"succeeded"'; echo $?) "later fires ran once the slot was free"
is "$(rows dl | grep -c '"state":"queued"')" 0 "nothing left queued"
stop_daemon
done_testing

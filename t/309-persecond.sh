#!/bin/sh
# 309-persecond: a per-second job fires each second, on time.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock
write_config "$T/d.conf"
start_daemon "$T/d.conf"

"$SQCRON" add tick --schedule '* * * * * *' --command true >/dev/null
sleep 5.5
"$SQCRON" pause tick >/dev/null
sleep 0.5
"$SQCRON" --json runs --job tick | tr '{' '\n' | grep '"scheduled_at"' >"$T/runs"
n=$(wc -l <"$T/runs")
ok $([ "$n" -ge 5 ] && [ "$n" -le 7 ]; echo $?) "5.5 s: $n runs (5 or 6 expected)"
is "$(grep -vc '"state":"succeeded"' "$T/runs")" 0 "all succeeded"
worst=0
while read -r line; do
	s=$(printf '%s' "$line" | sed -n 's/.*"scheduled_at":"\([^"]*\)".*/\1/p')
	st=$(printf '%s' "$line" | sed -n 's/.*"started_at":"\([^"]*\)".*/\1/p')
	d=$(( $(date -d "$st" +%s%3N) - $(date -d "$s" +%s%3N) ))
	[ "$d" -gt "$worst" ] && worst=$d
done <"$T/runs"
ok $([ "$worst" -lt 500 ]; echo $?) "each started within 500 ms of its second (worst $worst ms; contrib/bench reports the real figure)"
stop_daemon
done_testing

#!/bin/sh
# 308-crash: kill -9 of the daemon during a run, then a restart: that run
# is lost, its process is terminated, and every fire of a per-second job
# is recorded exactly once across the crash (no duplicate, no gap).
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock
write_config "$T/d.conf"
start_daemon "$T/d.conf"

"$SQCRON" add tick --schedule '* * * * * *' --command true >/dev/null
"$SQCRON" add long --schedule @yearly --command 'sleep 300' >/dev/null
"$SQCRON" run long >/dev/null
sleep 2.5
longrun=$("$SQCRON" --json runs --job long | sed -n 's/.*"id":\([0-9]*\),.*/\1/p' | head -1)
pid=$("$SQCRON" --json show "$longrun" | sed -n 's/.*"pid":\([0-9]*\),.*/\1/p')
ok $(kill -0 "$pid"; echo $?) "the long run is running (pid $pid)"

kill -KILL "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
sleep 3
start_daemon "$T/d.conf"
ok $? "restarted after kill -9"
sleep 2.5

run "$SQCRON" --json show "$longrun"
like "$out" '"state":"lost"' "the run that was running is lost"
wait_for "! kill -0 $pid 2>/dev/null" 50
ok $? "its process was terminated"

# Every second from the first fire to the last is recorded exactly once.
"$SQCRON" pause tick >/dev/null
sleep 0.5
"$SQCRON" --json runs --job tick --limit 10000 | tr '{' '\n' |
    sed -n 's/.*"scheduled_at":"\([^"]*\)".*/\1/p' | sort >"$T/fires"
stop_daemon
n=$(wc -l <"$T/fires")
dups=$(uniq -d "$T/fires" | wc -l)
is "$dups" 0 "no fire recorded twice ($n fires)"
first=$(date -d "$(head -1 "$T/fires")" +%s)
last=$(date -d "$(tail -1 "$T/fires")" +%s)
is "$n" "$((last - first + 1))" "no gap: one record per second from first to last"
ok $([ "$n" -ge 8 ]; echo $?) "the fires span the crash ($n seconds)"
done_testing

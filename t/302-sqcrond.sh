#!/bin/sh
# 302-sqcrond: the daemon's options, config check, single instance, signals
# and readiness notification.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

NOTIFY_RECV=$SQCRON_BUILDDIR/t/helpers/notify-recv

run "$SQCROND" -V
like "$out" '^sqcrond [0-9]' "-V prints the version"
run "$SQCROND" -x
is "$rc" 2 "unknown option exits 2"
like "$err" 'usage: sqcrond' "with the usage"

write_config "$T/good.conf" max_running=4 timezone=Europe/Berlin
run "$SQCROND" -t -c "$T/good.conf"
is "$rc" 0 "-t accepts a good config"
is "$out" "sqcrond: configuration $T/good.conf OK" "and says so"
run "$SQCROND" -tt -c "$T/good.conf"
like "$out" '^max_running = 4$' "-tt prints the effective configuration"

printf 'db = %s/x.db\nmax_runing = 4\n' "$T" >"$T/typo.conf"
run "$SQCROND" -t -c "$T/typo.conf"
is "$rc" 1 "-t rejects an unknown key"
is "$err" "sqcrond: $T/typo.conf:2: unknown key \"max_runing\"" "naming file, line and key"
write_config "$T/badtz.conf" timezone=Mars/Olympus
run "$SQCROND" -t -c "$T/badtz.conf"
is "$rc:$err" "1:sqcrond: $T/badtz.conf: timezone: unknown time zone \"Mars/Olympus\"" "an unknown time zone is refused at start"
run "$SQCROND" -t -c "$T/missing.conf"
is "$rc" 1 "an explicit -c that does not exist is an error"
like "$err" "missing.conf: No such file or directory" "with the reason"

# Start, and a second instance on the same database.
write_config "$T/d.conf"
if [ -x "$NOTIFY_RECV" ]; then
	"$NOTIFY_RECV" "$T/notify.sock" 30 >"$T/notify.out" &
	recv_pid=$!
	wait_for "[ -S '$T/notify.sock' ]" 50
fi
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=200000 start_daemon "$T/d.conf"
ok $? "sqcrond -f starts and logs"
like "$(cat "$T/sqcrond.log")" "started, pid $daemon_pid, db $T/sqcron.db" "the start line names pid and database"
is "$(cat "$T/sqcron.db.lock")" "$daemon_pid" "DB.lock holds the pid"
run "$SQCROND" -f -c "$T/d.conf"
is "$rc" 1 "a second daemon on the same database exits 1"
like "$err" "already running, pid $daemon_pid" "saying which pid runs"
wait_for "grep -q READY=1 '$T/notify.out'" 50
ok $? "READY=1 sent to NOTIFY_SOCKET"
wait_for "[ \$(grep -c WATCHDOG=1 '$T/notify.out') -ge 3 ]" 50
ok $? "WATCHDOG=1 sent every WATCHDOG_USEC/2 (0.1 s)"

# SIGHUP with a broken config keeps the running one; a fixed one loads.
cp "$T/d.conf" "$T/d.conf.good"
echo "max_running = lots" >>"$T/d.conf"
kill -HUP "$daemon_pid"
wait_for "grep -q 'reload failed' '$T/sqcrond.log'" 50
ok $? "a bad config on SIGHUP is refused"
like "$(grep 'reload failed' "$T/sqcrond.log")" "d.conf:7: max_running" "naming the line"
kill -0 "$daemon_pid"
ok $? "and the daemon keeps running"
cp "$T/d.conf.good" "$T/d.conf"
kill -HUP "$daemon_pid"
wait_for "grep -q 'configuration reloaded' '$T/sqcrond.log'" 50
ok $? "a good config on SIGHUP is loaded"

# The same through sqcron reload, which answers with the outcome.
export SQCRON_SOCKET="$T/sqcron.sock"
echo "max_running = lots" >>"$T/d.conf"
run "$SQCRON" reload
is "$rc" 2 "sqcron reload with a bad config: exit 2"
like "$err" "d.conf:7: max_running" "naming the line"
cp "$T/d.conf.good" "$T/d.conf"
run "$SQCRON" reload
is "$rc:$out" "0:reloaded $T/d.conf" "sqcron reload with a good one: reloaded"
is "$(grep -c 'configuration reloaded' "$T/sqcrond.log")" 2 "loaded twice in all"

stop_daemon
is "$daemon_rc" 0 "SIGTERM: clean exit 0"
like "$(tail -1 "$T/sqcrond.log")" "stopped" "the last log line says stopped"
if [ -n "${recv_pid:-}" ]; then
	wait "$recv_pid"
	like "$(cat "$T/notify.out")" "STOPPING=1" "STOPPING=1 sent on shutdown"
else
	skip "notify-recv helper not built"
fi

# Restart on the same database after a clean stop, then SIGINT.
start_daemon "$T/d.conf"
ok $? "restarts on the same database"
stop_daemon INT
is "$daemon_rc" 0 "SIGINT: clean exit 0"

# Without -f it detaches; the lock file names the daemon's pid.
mkdir "$T/bg"
printf 'db = bg.db\nsocket = bg.sock\ncrontab =\ncrontab_dir =\nuser_crontab_dir =\n' >"$T/bg/bg.conf"
run "$SQCROND" -c "$T/bg/bg.conf"
is "$rc:$err" "0:" "without -f the parent returns 0, silently"
wait_for "[ -s '$T/bg/bg.db.lock' ]" 50
bgpid=$(cat "$T/bg/bg.db.lock")
_daemon_pids="$_daemon_pids $bgpid"
kill -0 "$bgpid" 2>/dev/null
ok $? "the detached daemon runs (pid $bgpid)"
kill -TERM "$bgpid"
wait_for "! kill -0 $bgpid 2>/dev/null" 50
ok $? "and stops on SIGTERM"

done_testing

#!/bin/sh
# 307-orphans: a job that double-forks a sleeper; with kill_orphans the
# leftover dies when the main process exits, and no zombie remains.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock
write_config "$T/d.conf"
start_daemon "$T/d.conf"

# survivors MARK: pids of live processes of this test's job MARK (other
# tests run in parallel with their own run ids, so the ids are not enough).
survivors() {
	for e in /proc/[0-9]*/environ; do
		tr '\0' '\n' 2>/dev/null <"$e" | grep -qx "ORPHAN_TEST_MARK=$1-$$" &&
		    echo "${e#/proc/}" | cut -d/ -f1
	done 2>/dev/null
}

"$SQCRON" add forker --schedule @yearly --command '(sh -c "sleep 300" &); echo forked' --env "ORPHAN_TEST_MARK=forker-$$" >/dev/null
run "$SQCRON" run forker --wait
is "$rc" 0 "the double-forking job succeeded"
wait_for "[ -z \"\$(survivors forker)\" ]" 50
is "$(survivors forker)" "" "kill_orphans (default): the sleeper is gone"
zombies=$(ps -o stat= --ppid "$daemon_pid" | grep -c Z)
is "$zombies" 0 "no zombie children of the daemon"

"$SQCRON" add keeper --schedule @yearly --command '(sh -c "sleep 300" &); echo forked' --kill-orphans no --env "ORPHAN_TEST_MARK=keeper-$$" >/dev/null
run "$SQCRON" run keeper --wait
is "$rc" 0 "with kill_orphans=no the job succeeds"
left=$(survivors keeper)
ok $([ -n "$left" ]; echo $?) "and its sleeper survives (pid $left)"
[ -n "$left" ] && kill $left
stop_daemon
done_testing

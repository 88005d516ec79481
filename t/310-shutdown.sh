#!/bin/sh
# 310-shutdown: SIGTERM waits up to shutdown_timeout for running jobs,
# then kills them ("shutdown"); peers that are not admins may not reload.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock
write_config "$T/d.conf" shutdown_timeout=1s
start_daemon "$T/d.conf"

"$SQCRON" add quick --schedule @yearly --command 'sleep 0.3; echo done' >/dev/null
"$SQCRON" add long --schedule @yearly --command 'sleep 300' >/dev/null
"$SQCRON" run quick >/dev/null
"$SQCRON" run long >/dev/null
sleep 0.2
t0=$(date +%s%N)
stop_daemon
took=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$daemon_rc" 0 "SIGTERM with running jobs: exit 0"
ok $([ "$took" -ge 900 ] && [ "$took" -lt 8000 ]; echo $?) "it waited for shutdown_timeout (1 s), not more ($took ms)"

start_daemon "$T/d.conf"
run "$SQCRON" --json show 1
like "$out" '"state":"succeeded"' "a job that ended within shutdown_timeout succeeded"
run "$SQCRON" --json show 2
like "$out" '"state":"killed"' "the job still running was killed"
like "$out" '"reason":"shutdown' "with reason shutdown"

# Peers that are not root, the daemon's user or in admin_group may not
# administer the daemon (t/317-authz has the whole matrix).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 &&
    id nobody >/dev/null 2>&1; then
	chmod 0711 "$T"
	chmod 0666 "$SQCRON_SOCKET"
	run setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$SQCRON" reload
	is "$rc" 5 "a non-admin peer may not reload: exit 5"
	like "$err" "permission denied for uid $(id -u nobody)" "permission_denied names the uid"
	run setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$SQCRON" ping
	is "$rc" 0 "ping is open to everyone"
else
	skip "needs root and setpriv to act as another user"
	skip "needs root and setpriv"
	skip "needs root and setpriv"
fi
stop_daemon
done_testing

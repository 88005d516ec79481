#!/bin/sh
# The service files: the System V init script starts, reloads, reports and
# stops a real sqcrond (detached, its pid found in DB.lock); the systemd
# unit has every path substituted and passes systemd-analyze where it is
# installed.
. "${SQCRON_SRCDIR:-$(dirname "$0")/..}/t/lib.sh"

plan 14

INIT=$SQCRON_BUILDDIR/contrib/sysvinit/sqcrond
UNIT=$SQCRON_BUILDDIR/contrib/sysvinit/../systemd/sqcrond.service
ok $([ -x "$INIT" ]; echo $?) "the init script is built and executable"
ok $(sh -n "$INIT"; echo $?) "it parses"
ok $(! grep -q '@[a-z]*@' "$INIT" "$UNIT"; echo $?) "no @placeholder@ is left in either file"
like "$(grep '^ExecStart=' "$UNIT")" "ExecStart=/.*/sqcrond -f -c /.*/sqcrond.conf" "the unit starts sqcrond -f with the configured paths"
# verify wants the binary where ExecStart says: point it at this build.
sed "s|^ExecStart=.*|ExecStart=$SQCROND -f -c $T/d.conf|" "$UNIT" \
    >"$T/sqcrond.service"
if command -v systemd-analyze >/dev/null 2>&1 &&
    systemd-analyze verify --man=no "$T/sqcrond.service" >"$T/verify" 2>&1; then
	ok 0 "systemd-analyze verify passes"
elif command -v systemd-analyze >/dev/null 2>&1 &&
    ! grep -q "sqcrond.service:" "$T/verify"; then
	skip "systemd-analyze cannot run here: $(head -1 "$T/verify")"
elif command -v systemd-analyze >/dev/null 2>&1; then
	ok 1 "systemd-analyze verify: $(cat "$T/verify")"
else
	skip "systemd-analyze is not installed"
fi

if ! command -v start-stop-daemon >/dev/null 2>&1; then
	for i in 1 2 3 4 5 6 7 8 9; do
		skip "start-stop-daemon is not installed"
	done
	exit 0
fi
# Detached, the daemon logs to syslog (nowhere, in a container).
write_config "$T/d.conf"
sed -i "/^log = stderr/d" "$T/d.conf"
cp "$T/d.conf" "$T/d.conf.good"
export SQCRON_SOCKET="$T/sqcron.sock" SQCROND SQCROND_CONF="$T/d.conf"
initd() { "$INIT" "$@" >"$T/init.out" 2>&1; }

initd status
is "$?" 3 "status of a stopped daemon: exit 3"
initd start
is "$?" 0 "start: exit 0"
wait_for "$SQCRON ping" 100
ok $? "the detached daemon answers"
pid=$(cat "$T/sqcron.db.lock")
_daemon_pids="$_daemon_pids $pid"
initd status
is "$?:$(cat "$T/init.out")" "0:sqcrond is running" "status: running"
initd start
is "$?:$(cat "$T/sqcron.db.lock")" "0:$pid" "start again: nothing new"
echo "max_running = lots" >>"$T/d.conf"
initd reload
rc=$?
ok $([ "$rc" -ne 0 ] && "$SQCRON" ping >/dev/null; echo $?) "reload of a bad config fails (exit $rc), the daemon keeps serving"
cp "$T/d.conf.good" "$T/d.conf"
initd reload
is "$?:$(cat "$T/sqcron.db.lock")" "0:$pid" "reload of a good one: exit 0, the same daemon"
initd stop
is "$?" 0 "stop: exit 0"
# Detached, it is init's child (or a subreaper's): a zombie is gone too.
ok $(! kill -0 "$pid" 2>/dev/null || grep -q '^State:.*Z' "/proc/$pid/status"; echo $?) "the daemon is gone"

# t/lib.sh: helpers for sqcron's shell tests (TAP).
#
# Source it first:  . "$SQCRON_SRCDIR/t/lib.sh"
# Each test gets its own temporary directory ($T) and its own daemon,
# removed and stopped by an EXIT trap, so tests run in parallel safely.

set -u

SQCRON_SRCDIR=${SQCRON_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
SQCRON_BUILDDIR=${SQCRON_BUILDDIR:-$SQCRON_SRCDIR}
SQCRON=$SQCRON_BUILDDIR/src/sqcron
SQCROND=$SQCRON_BUILDDIR/src/sqcrond
export SQCRON_TEST_DATA=${SQCRON_TEST_DATA:-$SQCRON_SRCDIR/t/data}

T=$(mktemp -d "${TMPDIR:-/tmp}/sqcron-test.XXXXXX") || exit 1
_tap_n=0
_tap_failed=0
_daemon_pids=

_lib_cleanup() {
	for p in $_daemon_pids; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $_daemon_pids; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null
	done
	# A failed test shows what its daemons said (in its .log file).
	if [ "$_tap_failed" -gt 0 ] && [ -s "$T/sqcrond.log" ]; then
		echo "# the last lines of sqcrond.log:"
		tail -n 40 "$T/sqcrond.log" | sed 's/^/#   /'
	fi
	rm -rf "$T"
}
trap _lib_cleanup EXIT
trap 'exit 130' INT TERM

plan() { echo "1..$1"; }

# ok COND_STATUS DESCRIPTION: pass when the status is 0.
ok() {
	_st=$1
	shift
	_tap_n=$((_tap_n + 1))
	if [ "$_st" -eq 0 ]; then
		echo "ok $_tap_n - $*"
	else
		echo "not ok $_tap_n - $*"
		_tap_failed=$((_tap_failed + 1))
	fi
	return "$_st"
}

# is GOT EXPECTED DESCRIPTION: string equality, with a diff on failure.
is() {
	_got=$1
	_want=$2
	shift 2
	if [ "$_got" = "$_want" ]; then
		ok 0 "$@"
	else
		ok 1 "$@"
		printf '%s\n' "$_got" | sed 's/^/#      got: /'
		printf '%s\n' "$_want" | sed 's/^/# expected: /'
		return 1
	fi
}

# like GOT PATTERN DESCRIPTION: grep -E match.
like() {
	_got=$1
	_pat=$2
	shift 2
	if printf '%s\n' "$_got" | grep -Eq -- "$_pat"; then
		ok 0 "$@"
	else
		ok 1 "$@"
		printf '%s\n' "$_got" | sed 's/^/#      got: /'
		printf '# expected to match: %s\n' "$_pat"
		return 1
	fi
}

diag() { printf '# %s\n' "$*"; }

skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n # SKIP $*"
}

done_testing() {
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
}

# run CMD...: run a command, capturing stdout in $out, stderr in $err and
# the exit status in $rc; never fails the script.
run() {
	out=$("$@" 2>"$T/.stderr")
	rc=$?
	err=$(cat "$T/.stderr")
	return 0
}

# write_config FILE [KEY=VALUE ...]: a config for a private daemon in $T.
# No crontab files are read unless a KEY=VALUE names them.
write_config() {
	_f=$1
	shift
	{
		echo "db = $T/sqcron.db"
		echo "socket = $T/sqcron.sock"
		for _k in crontab crontab_dir user_crontab_dir; do
			case " $* " in
			*" $_k="*) ;;
			*) echo "$_k =" ;;
			esac
		done
		echo "log = stderr"
		for kv in "$@"; do
			echo "${kv%%=*} = ${kv#*=}"
		done
	} >"$_f"
}

# start_daemon CONFIG: start sqcrond -f in the background, logging to
# $T/sqcrond.log; sets $daemon_pid.  Waits until it logged "started".
start_daemon() {
	"$SQCROND" -f -c "$1" >>"$T/sqcrond.log" 2>&1 &
	daemon_pid=$!
	_daemon_pids="$_daemon_pids $daemon_pid"
	wait_for "grep -q 'started, pid $daemon_pid' '$T/sqcrond.log'" 100
}

# stop_daemon [SIGNAL]: SIGTERM (or SIGNAL) and wait up to 30 s; sets
# $daemon_rc to its exit status (124 when it did not stop in time).
stop_daemon() {
	kill -"${1:-TERM}" "$daemon_pid" 2>/dev/null
	if wait_for "! kill -0 $daemon_pid 2>/dev/null" 300; then
		wait "$daemon_pid"
		daemon_rc=$?
	else
		kill -KILL "$daemon_pid" 2>/dev/null
		daemon_rc=124
	fi
}

# wait_for SHELL_CONDITION [TENTHS]: poll until true (default 10 s).
wait_for() {
	_i=0
	while ! eval "$1"; do
		_i=$((_i + 1))
		[ $_i -ge "${2:-100}" ] && return 1
		sleep 0.1
	done
	return 0
}

#!/bin/sh
# 311-exec: commands with no shell syntax are exec'd without the shell,
# and behave exactly as through it: same environment, same PATH search,
# same errors, scripts without #! still run.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock
write_config "$T/d.conf"
start_daemon "$T/d.conf"

# run_job NAME COMMAND [ADD OPTIONS...]: add, run, wait; sets $out to the
# run's JSON and $log to its output.
run_job() {
	_n=$1
	shift
	_c=$1
	shift
	"$SQCRON" add "$_n" --schedule @yearly --command "$_c" "$@" >/dev/null
	"$SQCRON" run --wait "$_n" >/dev/null 2>&1
	out=$("$SQCRON" --json runs --job "$_n" --limit 1)
	_id=$(printf '%s' "$out" | sed -n 's/.*"id":\([0-9]*\).*/\1/p' | head -1)
	log=$("$SQCRON" logs "$_id")
}

dash=no
case $(readlink -f /bin/sh) in */dash) dash=yes ;; esac

run_job ppid-direct 'grep PPid /proc/self/status'
ppid=$(printf '%s' "$log" | awk '{ print $2 }')
if [ $dash = yes ]; then
	is "$ppid" "$daemon_pid" "a simple command is the daemon's own child (no shell in between)"
else
	skip "/bin/sh is not dash: every command goes through the shell"
fi
run_job ppid-shell 'grep PPid /proc/self/status; true'
ppid=$(printf '%s' "$log" | awk '{ print $2 }')
ok $([ -n "$ppid" ] && [ "$ppid" != "$daemon_pid" ]; echo $?) "a command with shell syntax runs under the shell (parent $ppid)"

# The same environment both ways, PWD included, in a directory reached
# through a symbolic link (the shell reports the physical path).
mkdir -p "$T/real"
ln -s "$T/real" "$T/link"
run_job env-direct env --workdir "$T/link"
printf '%s\n' "$log" | grep -v '^SQCRON_' | sort >"$T/env.direct"
run_job env-shell 'env | sort' --workdir "$T/link"
printf '%s\n' "$log" | grep -v '^SQCRON_' | sort >"$T/env.shell"
ok $(cmp -s "$T/env.direct" "$T/env.shell"; echo $?) "the environment is the shell's, variable for variable"
like "$(cat "$T/env.direct")" "PWD=$T/real" "PWD is the physical directory, as dash sets it"
[ -s "$T/env.direct" ] || diag "empty environment listing"
cmp -s "$T/env.direct" "$T/env.shell" || diff "$T/env.direct" "$T/env.shell" | sed 's/^/# /'

run_job notfound 'no-such-command-311 a b'
like "$out" '"state":"failed"' "command not found: failed"
like "$out" '"exit_code":127' "exit status 127"
like "$out" '"reason":"command not found"' "reason says command not found"
like "$log" 'no-such-command-311: not found' "the shell's own message"

printf 'echo never\n' >"$T/noexec"
chmod 644 "$T/noexec"
run_job noexec "$T/noexec"
like "$out" '"exit_code":126' "a file without execute permission: exit 126"
like "$out" '"reason":"command not executable"' "reason says not executable"

printf 'echo from-script "$1"\n' >"$T/script"
chmod 755 "$T/script"
run_job script "$T/script arg-1"
like "$out" '"state":"succeeded"' "a script without #! runs"
is "$log" "from-script arg-1" "through the shell, with its arguments"

mkdir -p "$T/bin"
printf '#!/bin/sh\necho mine "$@"\n' >"$T/bin/mycmd"
chmod 755 "$T/bin/mycmd"
run_job path "mycmd x=1 --y=2 a,b:c@d%%e" --env "PATH=/nonexistent::$T/bin"
is "$log" "mine x=1 --y=2 a,b:c@d%%e" "PATH from the job's env is searched, words split on blanks"

run_job builtin 'echo  two  spaces'
is "$log" "two spaces" "builtins still run in the shell"

# The supervisor runs at a higher priority than its jobs (as root), and
# jobs get the niceness sqcrond was started with, or their own.
run_job nice "awk '{ print \$19 }' /proc/self/stat"
is "$log" "$(nice)" "a job runs at the niceness sqcrond was started with ($(nice))"
run_job nice7 "awk '{ print \$19 }' /proc/self/stat" --nice 7
is "$log" "7" "or at its own nice option"
if [ "$(id -u)" = 0 ]; then
	is "$(awk '{ print $19 }' "/proc/$daemon_pid/stat")" "$(($(nice) - 5))" "sqcrond itself runs 5 below (root)"
	# Its spawner threads too: they were started after it raised it.
	is "$(cat /proc/$daemon_pid/task/*/stat | awk '{ print $19 }' | sort -u | tr '\n' ' ')" "$(($(nice) - 5)) " "and so do its spawner threads"
else
	skip "not root: sqcrond cannot raise its priority"
	skip "not root: sqcrond cannot raise its priority"
fi

stop_daemon
done_testing

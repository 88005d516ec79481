#!/bin/sh
# 305-classify: one run per row of the classification table (DESIGN.md
# section 5), through the real daemon and client.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock

# check NAME STATE REASON_PATTERN [EXIT_CODE]: run NAME to its end and
# check its record.
check() {
	run "$SQCRON" --json run "$1" --wait
	st=$(printf '%s' "$out" | sed -n 's/.*"state":"\([a-z_]*\)".*/\1/p')
	reason=$(printf '%s' "$out" | sed -n 's/.*"reason":"\(\([^"\\]\|\\.\)*\)".*/\1/p')
	is "$st" "$2" "$1: state $2"
	like "$reason" "$3" "$1: reason says $3"
	if [ -n "${4:-}" ]; then
		like "$out" "\"exit_code\":$4," "$1: exit code $4"
	fi
}

add() {
	name=$1
	shift
	"$SQCRON" add "$name" --schedule @yearly "$@" >/dev/null || diag "add $name failed"
}

write_config "$T/d.conf" cgroup=off
start_daemon "$T/d.conf"

add ok --command 'echo fine'
check ok succeeded '^$' 0
add exit3 --command 'exit 3'
check exit3 failed '^exit status 3$' 3
add notfound --command 'no-such-command-sqcron-test'
check notfound failed 'command not found' 127
add notexec --command "$T"
check notexec failed 'not executable' 126
add slow --command 'sleep 30' --timeout 1s --kill-grace 2s
check slow timeout 'timeout 1s'
add stubborn --command 'trap "" TERM; sleep 30; sleep 30' --timeout 1s --kill-grace 1s
check stubborn timeout 'SIGKILL'
add exit137 --command 'exit 137'
check exit137 oom 'inferred from exit status 137' 137
add segv --command 'kill -SEGV $$'
check segv crashed 'SIGSEGV'
add abrt --command 'sh -c "kill -ABRT \$\$"; exit $?'
check abrt crashed 'SIGABRT'
add noworkdir --command true --workdir /nonexistent/sqcron
check noworkdir spawn_error 'chdir /nonexistent/sqcron: No such file or directory'
add hog --command 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo ${#x}' --memory 32M
check hog oom 'watchdog: RSS .* over limit 32 MiB'

# SIGKILL from outside: kill the job's process ourselves.
add victim --command 'sleep 30'
run "$SQCRON" --json run victim
id=$(printf '%s' "$out" | sed -n 's/.*"run":{"id":\([0-9]*\),.*/\1/p')
wait_for "\"$SQCRON\" --json show $id | grep -q '\"pid\":[0-9]'" 50
pid=$("$SQCRON" --json show "$id" | sed -n 's/.*"pid":\([0-9]*\),.*/\1/p')
kill -KILL "$pid"
wait_for "\"$SQCRON\" --json show $id | grep -q '\"state\":\"oom\"'" 100
ok $? "killed from outside: state oom"
like "$("$SQCRON" --json show "$id")" 'SIGKILL from outside sqcrond' "reason: SIGKILL from outside"

# sqcron runs shows them all; the daemon is still healthy.
run "$SQCRON" ping
is "$rc" 0 "daemon still answers"
stop_daemon
is "$daemon_rc" 0 "clean stop"

# With cgroups, where the host allows them.
write_config "$T/c.conf" cgroup=auto
rm -f "$T/sqcrond.log"
start_daemon "$T/c.conf"
if grep -q "memory limits: cgroup" "$T/sqcrond.log"; then
	add cghog --command 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo ${#x}' --memory 32M
	check cghog oom 'cgroup'
	run "$SQCRON" --json show "$(printf '%s' "$out" | sed -n 's/.*"id":\([0-9]*\),.*/\1/p')"
	like "$out" '"max_rss_kb":[0-9]+' "the peak is recorded"
else
	skip "no usable memory cgroup on this host: $(grep 'memory limits' "$T/sqcrond.log")"
	skip "no usable memory cgroup"
	skip "no usable memory cgroup"
fi
stop_daemon
done_testing

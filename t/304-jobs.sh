#!/bin/sh
# 304-jobs: the job and run commands end to end through a real daemon.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock
write_config "$T/d.conf"
start_daemon "$T/d.conf"
ok $? "daemon started"

run "$SQCRON" add hello --schedule '@daily' --command 'echo hello "$SQCRON_JOB"; echo to-stderr >&2' --timeout 10s --env GREETING=hi --description 'says hello'
is "$rc" 0 "add exits 0"
like "$out" "^added job hello, version 1; next run " "add confirms"
run "$SQCRON" add hello --schedule '@daily' --command true
is "$rc" 1 "adding a duplicate name fails (exit 1)"
like "$err" 'a job named "hello" exists' "with the reason"
run "$SQCRON" add bad --schedule '0 24 * * *' --command true
is "$rc" 2 "a bad schedule is a usage error (exit 2)"
is "$err" "sqcron: invalid schedule: field 2 (hour): 24 is out of range 0-23" "naming the field"
run "$SQCRON" add bad2 --schedule '@daily'
is "$rc" 2 "--command is required"
run "$SQCRON" add 'bad name' --schedule '@daily' --command true
is "$rc" 2 "a bad name is refused"
run "$SQCRON" add t1 --schedule '@daily' --command true --timeout 10x
is "$rc:$err" '2:sqcron: timeout: "10x" is not a duration: unknown unit (expected ms, s, m, h, d or w)' "a bad option value names the option"

run "$SQCRON" --json job show hello
like "$out" '"name":"hello","schedule":"@daily","command":"echo hello' "job show --json has the definition"
like "$out" '"timeout":"10s"' "options as written"
like "$out" '"env":\{"GREETING":"hi"\}' "env as an object"
like "$out" '"source":"api"' "source api"
like "$out" '"owner":0' "owned by the caller (root)"
like "$out" '"version":1,"paused":false' "version and paused"
like "$out" '"next_at":"[0-9-]+T00:00:00.000Z"' "next_at at midnight"
like "$out" '"last_run":null' "no run yet"

run "$SQCRON" run hello --wait
is "$rc" 0 "run --wait of a succeeding job exits 0"
like "$out" "succeeded" "and shows the run"
run "$SQCRON" --json runs --job hello
like "$out" '^\{"runs":\[\{"id":1,"job":"hello","job_version":1,"scheduled_at":"[^"]+","trigger":"manual","attempt":1,"replay_of":null,"state":"succeeded","exit_code":0,"signal":null,"reason":null' "runs --json: the RUN shape"
like "$out" '"resolution":null\}\]\}$' "no resolution for a success"
run "$SQCRON" logs 1
is "$out" "hello hello
to-stderr" "logs: stdout and stderr, in order"
run "$SQCRON" --json show 1
like "$out" '"output_bytes":22' "output_bytes counted"
like "$out" '"duration_ms":[0-9]+' "duration recorded"
run "$SQCRON" show 99
is "$rc" 4 "show of an unknown run exits 4"
run "$SQCRON" logs 99
is "$rc" 4 "logs of an unknown run exits 4"

run "$SQCRON" add failing --schedule '@daily' --command 'echo oops; exit 3'
run "$SQCRON" run failing --wait
is "$rc" 1 "run --wait of a failing job exits 1"
like "$out" "failed .*exit status 3" "and says why"
run "$SQCRON" --json runs --state failed
like "$out" '"state":"failed","exit_code":3' "runs --state filters"
like "$out" '"resolution":"open"' "a failure is open"
run "$SQCRON" --json runs --open
like "$out" '"job":"failing"' "runs --open lists it"
run "$SQCRON" runs --state exploded
is "$rc" 2 "an unknown state is a usage error"
run "$SQCRON" runs --job nosuch
is "$rc" 4 "runs of an unknown job exits 4"

run "$SQCRON" edit hello --timeout 1m --env OTHER=x --unset-env GREETING
is "$rc" 0 "edit exits 0"
like "$out" "changed job hello, version 2" "edit bumps the version"
run "$SQCRON" --json job show hello
like "$out" '"timeout":"1m"' "the new value"
like "$out" '"env":\{"OTHER":"x"\}' "env changed"
run "$SQCRON" edit hello
is "$rc" 2 "edit with nothing to change is a usage error"
run "$SQCRON" edit nosuch --timeout 1m
is "$rc" 4 "edit of an unknown job exits 4"

run "$SQCRON" pause hello
is "$rc:$out" "0:paused job hello" "pause"
run "$SQCRON" --json job show hello
like "$out" '"paused":true' "shown paused"
like "$out" '"next_at":null' "no next fire while paused"
run "$SQCRON" jobs
like "$out" "hello +@daily +paused" "jobs shows it paused"
run "$SQCRON" resume hello
is "$rc:$out" "0:resumed job hello" "resume"
run "$SQCRON" --json job show hello
like "$out" '"paused":false' "no longer paused"

run "$SQCRON" jobs
like "$(echo "$out" | head -1)" "^NAME +SCHEDULE +NEXT +LAST +STATE +LAST SUCCESS" "jobs table header"
like "$out" "failing +@daily +in [0-9]+[hm] +(now|[0-9]+s ago) +failed +-" "a failing job's row"
run "$SQCRON" --json jobs
like "$out" '^\{"jobs":\[' "jobs --json"

run "$SQCRON" rm failing
is "$rc:$out" "0:removed job failing" "rm"
run "$SQCRON" job show failing
is "$rc" 4 "a removed job is gone"
run "$SQCRON" --json runs
like "$out" '"job":"failing"' "its history stays"
run "$SQCRON" add failing --schedule '@hourly' --command true
is "$rc" 0 "its name can be used again"

# Every mutation is audited (checked through the database directly).
if command -v sqlite3 >/dev/null 2>&1; then
	n=$(sqlite3 "$T/sqcron.db" "select count(*) from audit where method in ('job.add','job.update','job.remove','job.pause','job.resume','job.trigger')")
	ok $([ "$n" -ge 10 ]; echo $?) "mutations are audited ($n entries)"
else
	skip "sqlite3 shell not installed"
fi

stop_daemon
is "$daemon_rc" 0 "clean stop"
done_testing

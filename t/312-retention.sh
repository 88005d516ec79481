#!/bin/sh
# 312-retention: keep_runs and keep_days through a real daemon: runs
# beyond keep_runs go when runs end, open failures wait for keep_days,
# live runs stay, prune --dry-run counts and deletes nothing, prune
# deletes what it counted and is audited, new defaults apply on reload,
# and a restart prunes aged runs.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock
write_config "$T/d.conf" shutdown_timeout=1s
start_daemon "$T/d.conf"
ok $? "daemon started"

# count_runs JOB: how many runs of JOB the daemon lists.
count_runs() {
	"$SQCRON" --json runs --job "$1" --limit 100000 |
	    grep -o '"id":[0-9]*' | wc -l | tr -d ' '
}

# ids JOB: the run ids of JOB, newest first, on one line.
ids() {
	"$SQCRON" --json runs --job "$1" --limit 100000 |
	    grep -o '"id":[0-9]*' | cut -d: -f2 | tr '\n' ' '
}

have_sqlite3=0
command -v sqlite3 >/dev/null 2>&1 && have_sqlite3=1

# running JOB: how many runs of JOB are running.
running() {
	"$SQCRON" --json runs --job "$1" --state running |
	    grep -o '"state":"running"' | wc -l | tr -d ' '
}

# sql STATEMENT: change the daemon's database from outside (aging runs).
sql() {
	sqlite3 "$T/sqcron.db" "PRAGMA busy_timeout = 10000; $1" >/dev/null
}

# keep_runs: after each run ends, only the newest 5 remain.
"$SQCRON" add five --schedule '@yearly' --command true --keep-runs 5 >/dev/null
i=0
while [ $i -lt 8 ]; do
	"$SQCRON" run five --wait >/dev/null || echo "run $i failed"
	i=$((i + 1))
done
wait_for '[ "$(count_runs five)" -le 5 ]' 100
is "$(count_runs five)" 5 "keep_runs=5: 8 runs ended, the newest 5 remain"
is "$(ids five)" "8 7 6 5 4 " "and they are the newest by id"

# Open failures outlive keep_runs.
# Run 9, mixed's first, fails; the next ones succeed.
"$SQCRON" add mixed --schedule '@yearly' --command 'test "$SQCRON_RUN_ID" -gt 9' --keep-runs 2 >/dev/null
"$SQCRON" run mixed --wait >/dev/null
is "$?" 1 "mixed: its first run fails (an open failure)"
i=0
while [ $i -lt 4 ]; do
	"$SQCRON" run mixed --wait >/dev/null
	i=$((i + 1))
done
wait_for '[ "$(count_runs mixed)" -le 3 ]' 100
is "$(ids mixed)" "13 12 9 " "keep_runs=2: the newest 2 and the open failure remain"
run "$SQCRON" --json runs --job mixed --open
like "$out" '"id":9,.*"resolution":"open"' "the failure is still open"

# keep_runs=0 keeps everything.
"$SQCRON" add all --schedule '@yearly' --command true --keep-runs 0 --keep-days 0 >/dev/null
i=0
while [ $i -lt 3 ]; do
	"$SQCRON" run all --wait >/dev/null
	i=$((i + 1))
done

run "$SQCRON" prune --dry-run
is "$rc:$out" "0:no runs would be deleted" "nothing is due: prune --dry-run says so"

if [ $have_sqlite3 -eq 0 ]; then
	skip "sqlite3 shell not installed: keep_days, dry run, live runs"
	stop_daemon
	done_testing
	exit $?
fi

# A live run: it never goes, however old its fire.
"$SQCRON" add slow --schedule '@yearly' --command 'sleep 60' --keep-runs 1 >/dev/null
"$SQCRON" run slow >/dev/null
"$SQCRON" run slow >/dev/null
wait_for '[ "$(running slow)" -eq 2 ]' 100
ok $? "slow: two runs running"

# keep_days: age three of all's and two of mixed's runs by 100 days (one
# of them the open failure), and slow's live runs too.
sql "UPDATE runs SET scheduled_at = scheduled_at - 100 * 86400000 WHERE id IN (14, 15, 9, 12) OR job_id = (SELECT id FROM jobs WHERE name = 'slow')"
"$SQCRON" edit all --keep-days 90d >/dev/null
wait_for '[ "$(count_runs all)" -le 1 ]' 100
is "$(ids all)" "16 " "keep_days=90d: all's two aged runs went when its options changed"

n_before=$(sqlite3 "$T/sqcron.db" "select count(*) from runs")
out_before=$(sqlite3 "$T/sqcron.db" "select count(*) from run_output")
run "$SQCRON" prune --dry-run
is "$rc" 0 "prune --dry-run exits 0"
like "$out" '^JOB +RUNS$' "a table"
like "$out" '^mixed +2$' "mixed: the aged open failure and aged success would go"
like "$out" 'would delete 2 runs of 1 job \(dry run: nothing was deleted\)$' "and a total"
run "$SQCRON" --json prune --dry-run
is "$out" '{"dry_run":true,"jobs":[{"job":"mixed","removed":false,"runs":2}],"total":2}' "prune --dry-run --json"
is "$(sqlite3 "$T/sqcron.db" "select count(*) from runs")" "$n_before" "a dry run deletes no run"
is "$(sqlite3 "$T/sqcron.db" "select count(*) from run_output")" "$out_before" "nor any output"

run "$SQCRON" --json prune
is "$out" '{"dry_run":false,"jobs":[{"job":"mixed","removed":false,"runs":2}],"total":2}' "prune deletes what the dry run counted"
is "$(ids mixed)" "13 " "open failures go once older than keep_days"
is "$(sqlite3 "$T/sqcron.db" "select count(*) from run_output where run_id in (9, 12)")" 0 "their output went too"
is "$(sqlite3 "$T/sqcron.db" "select count(*) from pragma_foreign_key_check")" 0 "no dangling foreign keys"
is "$(running slow)" 2 "live runs stay, beyond keep_runs and keep_days"
run "$SQCRON" prune
is "$out" "no runs to delete" "a second prune finds nothing"

audit=$(sqlite3 "$T/sqcron.db" "select method || ' ' || params || ' ' || outcome from audit where method = 'prune' order by id")
is "$audit" 'prune {"dry_run":false} ok
prune {"dry_run":false} ok' "each prune is audited, dry runs are not"

run "$SQCRON" prune --bogus
is "$rc" 2 "an unknown option is a usage error"
run "$SQCRON" prune extra
is "$rc" 2 "so is an argument"

# New defaults on reload reach the jobs that set no keep_runs.
"$SQCRON" add plain --schedule '@yearly' --command true >/dev/null
i=0
while [ $i -lt 4 ]; do
	"$SQCRON" run plain --wait >/dev/null
	i=$((i + 1))
done
is "$(count_runs plain)" 4 "plain: 4 runs, within the default keep_runs"
write_config "$T/d.conf" shutdown_timeout=1s keep_runs=2
kill -HUP "$daemon_pid"
wait_for '[ "$(count_runs plain)" -le 2 ]' 100
is "$(count_runs plain)" 2 "after a reload with keep_runs = 2, 2 remain"
is "$(count_runs five)" 5 "five, with its own keep_runs = 5, keeps 5"
write_config "$T/d.conf" shutdown_timeout=1s

# A removed job's runs are pruned too, and a restart prunes what aged
# while the daemon was down; slow's runs, killed at the stop, can go now.
"$SQCRON" rm five >/dev/null
stop_daemon
is "$daemon_rc" 0 "clean stop"
sql "UPDATE runs SET scheduled_at = scheduled_at - 100 * 86400000 WHERE job_id = (SELECT id FROM jobs WHERE name = 'five')"
# runs_of JOB: its runs in the database, removed or not.
runs_of() {
	sqlite3 "$T/sqcron.db" "select count(*) from runs where job_id in (select id from jobs where name = '$1')"
}
is "$(runs_of five)" 5 "five, removed, has 5 aged runs"
start_daemon "$T/d.conf"
ok $? "daemon restarted"
wait_for '[ "$(runs_of five)" -eq 0 ] && [ "$(runs_of slow)" -eq 0 ]' 100
ok $? "at start, the removed job's aged runs went, and slow's ended ones"
like "$(cat "$T/sqcrond.log")" 'retention: deleted [0-9]+ runs of [0-9]+ jobs in [0-9]+ ms' "the log says so"
is "$(ids all):$(ids mixed)" "16 :13 " "runs within their limits stay"

stop_daemon
is "$daemon_rc" 0 "clean stop"
done_testing

#!/bin/sh
# 316-replay: idempotent replay of failed fires: one replay per fire for
# any number of concurrent requests and across restarts, already_replayed
# after a success unless --force, keys answer byte for byte the same, dry
# runs change nothing, the replay sees its fire's time and key; ack.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock
write_config "$T/d.conf"
start_daemon "$T/d.conf"

run "$SQCRON" status
is "$rc" 0 "status: no open failure, exit 0"
like "$out" 'jobs 0 \(0 paused\), running 0, queued 0, open failures 0' "status: the counts"

rows() {	# JOB: its runs, oldest first
	"$SQCRON" --json runs --job "$1" --limit 1000 | tr '{' '\n' | grep '"scheduled_at"' | tac
}
nreplays() { rows "$1" | grep -c '"trigger":"replay"'; }

# A job that fails until $T/NAME.ok exists, and records what it sees.
"$SQCRON" add flaky --schedule @yearly --command "echo \"\$SQCRON_TRIGGER \$SQCRON_SCHEDULED_AT \$SQCRON_FIRE_KEY \$SQCRON_REPLAY_OF\" >>$T/flaky.log; sleep 1; [ -e $T/flaky.ok ]" >/dev/null
"$SQCRON" run --wait flaky >/dev/null
id=$("$SQCRON" --json runs --job flaky | sed -n 's/.*"id":\([0-9]*\).*/\1/p' | head -1)
like "$("$SQCRON" --json show "$id")" '"resolution":"open"' "run $id failed and is open"

# Dry run: a plan, and nothing else changes but the audit of the request.
run "$SQCRON" --json replay --dry-run "$id"
like "$out" '"batch":null' "dry run: no batch"
like "$out" '"status":"would_replay"' "dry run: the plan says would_replay"
is "$(nreplays flaky)" 0 "dry run: no run created"

# Ten concurrent requests for one failed run: one replay.
i=0
pids=
while [ $i -lt 10 ]; do
	"$SQCRON" --json replay "$id" >"$T/c.$i" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
wait $pids
is "$(nreplays flaky)" 1 "10 concurrent replays of run $id: exactly one replay run"
is "$(cat "$T"/c.* | grep -o '"status":"started"' | wc -l)" 1 "one answer says started"
is "$(cat "$T"/c.* | grep -o '"status":"in_progress"' | wc -l)" 9 "the nine others in_progress"

wait_for "! \"$SQCRON\" --json runs --job flaky --state running,queued | grep -q '\"id\"'" 100

# A restart between the requests: still one replay run.
"$SQCRON" add rs --schedule @yearly --command "[ -e $T/rs.ok ]" >/dev/null
"$SQCRON" run --wait rs >/dev/null
rid=$("$SQCRON" --json runs --job rs | sed -n 's/.*"id":\([0-9]*\).*/\1/p' | head -1)
touch "$T/rs.ok"
"$SQCRON" --json replay --wait "$rid" >/dev/null
stop_daemon
start_daemon "$T/d.conf"
"$SQCRON" --json replay "$rid" >"$T/rs.1" &
p1=$!
"$SQCRON" --json replay "$rid" >"$T/rs.2" &
p2=$!
wait $p1 $p2
is "$(nreplays rs)" 1 "a restart between the requests: exactly one replay run"
is "$(cat "$T/rs.1" "$T/rs.2" | grep -o '"status":"already_replayed"' | wc -l)" 2 "both later requests: already_replayed"

# The replay saw the original fire's time and key, and whom it replays.
first=$(sed -n 1p "$T/flaky.log")
replayed=$(grep '^replay ' "$T/flaky.log" | head -1)
is "$(echo "$replayed" | cut -d' ' -f2,3)" "$(echo "$first" | cut -d' ' -f2,3)" "the replay sees the original SQCRON_SCHEDULED_AT and SQCRON_FIRE_KEY"
is "$(echo "$replayed" | cut -d' ' -f4)" "$id" "and SQCRON_REPLAY_OF"

# A failed replay can be replayed again; after a success, already_replayed.
touch "$T/flaky.ok"
run "$SQCRON" --json replay --wait "$id"
is "$rc" 0 "replay --wait exits 0 when the replay succeeded"
like "$("$SQCRON" --json show "$id")" '"resolution":"replayed"' "run $id is now replayed"
before=$(nreplays flaky)
run "$SQCRON" --json replay "$id"
like "$out" '"status":"already_replayed"' "again: already_replayed"
is "$(nreplays flaky)" "$before" "and nothing started"
run "$SQCRON" --json replay --force --wait "$id"
is "$(nreplays flaky)" "$((before + 1))" "--force starts one"

# The same key twice: byte-identical answers, one run.
"$SQCRON" add k --schedule @yearly --command 'exit 1' >/dev/null
"$SQCRON" run --wait k >/dev/null
kid=$("$SQCRON" --json runs --job k | sed -n 's/.*"id":\([0-9]*\).*/\1/p' | head -1)
"$SQCRON" --json replay --key nightly-1 "$kid" >"$T/k1"
sleep 1.5
"$SQCRON" --json replay --key nightly-1 "$kid" >"$T/k2"
ok $(cmp -s "$T/k1" "$T/k2"; echo $?) "the same key twice: byte-identical answers"
is "$(nreplays k)" 1 "one replay run"

# Range replay, dry run then for real, and --status.
"$SQCRON" add r --schedule @yearly --command 'exit 2' >/dev/null
for i in 1 2 3; do "$SQCRON" run --wait r >/dev/null; done
run "$SQCRON" --json replay --job r --dry-run
is "$(printf '%s' "$out" | grep -o '"would_replay"' | wc -l)" 3 "range dry run: the 3 open fires"
run "$SQCRON" --json replay --job r --max-parallel 1 --wait
is "$rc" 1 "range --wait exits 1 when replays failed"
batch=$(printf '%s' "$out" | sed -n 's/.*"batch":\([0-9]*\).*/\1/p' | head -1)
run "$SQCRON" replay --status "$batch"
like "$out" '"total":3' "--status shows the batch's 3 targets"
like "$out" '"failed":3' "and that they failed"

run "$SQCRON" status
is "$rc" 1 "status exits 1 while failures are open"
like "$out" 'r +3 ' "and lists the failing job with its open fires"
run "$SQCRON" --json status
like "$out" '"failing":\[.*\{"job":"r","open":3,' "status --json: the same"

run "$SQCRON" --json failures
like "$out" '\{"job":"r","state":"failed","exit_code":2,"signal":null,"count":3,' "failures: r's 3 open fires in one group (failed, exit 2)"
run "$SQCRON" failures
like "$out" 'r +failed +2 +3 ' "failures: as a table"
run "$SQCRON" --json failures --since "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
is "$out" '{"failures":[]}' "failures --since later: none"

# ack resolves without running anything.
aid=$(rows r | grep '"resolution":"open"' | head -1 | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
run "$SQCRON" ack "$aid"
is "$rc" 0 "ack exits 0"
like "$("$SQCRON" --json show "$aid")" '"resolution":"acked"' "the run is acked"
n=$(rows r | wc -l)
sleep 0.5
is "$(rows r | wc -l)" "$n" "nothing ran"

# The audit log has every request, dry runs included.
run "$SQCRON" audit --limit 1
like "$out" "uid 0 +run.ack +ok +\\{\"runs\":\\[$aid\\]\\}" "audit: the newest entry is the ack, with its parameters"
run "$SQCRON" --json audit --limit 1000
like "$out" '"method":"replay","params":\{"dry_run":true,"runs":\[1\]\},"outcome":"ok"' "audit: the dry run's request is recorded"

stop_daemon
done_testing

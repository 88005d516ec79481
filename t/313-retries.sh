#!/bin/sh
# 313-retries: failed attempts are retried with backoff as new runs of
# the same fire; resolutions say which attempt carries the fire; final
# exit statuses are not retried; a waiting retry survives a restart.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock
write_config "$T/d.conf"
start_daemon "$T/d.conf"

# field JSON KEY: the first value of "KEY" in a JSON text (numbers, strings)
field() {
	printf '%s' "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -1
}
# rows JOB: the job's runs, oldest first, one JSON object a line
rows() {
	"$SQCRON" --json runs --job "$1" --limit 100 | tr '{' '\n' | grep '"scheduled_at"' | tac
}
ms() { date -d "$1" +%s%3N; }

# A job that always fails: 1 + 2 attempts, backoff 1 s then 2 s.
"$SQCRON" add flaky --schedule @yearly --backoff 1s --retries 2 \
    --command "echo \"\$SQCRON_ATTEMPT \$SQCRON_TRIGGER \$SQCRON_FIRE_KEY \$SQCRON_SCHEDULED_AT\" >>$T/flaky.log; exit 3" >/dev/null
"$SQCRON" run flaky >/dev/null
wait_for "[ \$(rows flaky | grep -c '\"resolution\":\"open\"') -eq 1 ]" 150
rows flaky >"$T/r"
is "$(wc -l <"$T/r")" 3 "three attempts in all (retries = 2)"
is "$(cut -d' ' -f1,2 "$T/flaky.log" | tr '\n' ' ')" "1 manual 2 retry 3 retry " "SQCRON_ATTEMPT and SQCRON_TRIGGER per attempt"
is "$(cut -d' ' -f3,4 "$T/flaky.log" | sort -u | wc -l)" 1 "one fire key and scheduled_at for every attempt"
is "$(sed -n 1p "$T/r" | grep -o '"resolution":"[a-z]*"')" '"resolution":"superseded"' "attempt 1: superseded"
is "$(sed -n 2p "$T/r" | grep -o '"resolution":"[a-z]*"')" '"resolution":"superseded"' "attempt 2: superseded"
is "$(sed -n 3p "$T/r" | grep -o '"resolution":"[a-z]*"')" '"resolution":"open"' "attempt 3: open, it carries the fire"
is "$(grep -o '"attempt":[0-9]*' "$T/r" | tr '\n' ' ')" '"attempt":1 "attempt":2 "attempt":3 ' "attempts 1, 2, 3"
is "$(grep -o '"trigger":"[a-z]*"' "$T/r" | tr '\n' ' ')" '"trigger":"manual" "trigger":"retry" "trigger":"retry" ' "triggers manual, retry, retry"
# Backoff: 1 s after attempt 1 ended, then 2 s (+-10%, checked +-30%).
e1=$(ms "$(field "$(sed -n 1p "$T/r")" ended_at)")
s2=$(ms "$(field "$(sed -n 2p "$T/r")" started_at)")
e2=$(ms "$(field "$(sed -n 2p "$T/r")" ended_at)")
s3=$(ms "$(field "$(sed -n 3p "$T/r")" started_at)")
d1=$((s2 - e1))
d2=$((s3 - e2))
ok $([ $d1 -ge 700 ] && [ $d1 -le 1300 ]; echo $?) "first retry after the backoff, 1 s ($d1 ms)"
ok $([ $d2 -ge 1400 ] && [ $d2 -le 2600 ]; echo $?) "second after twice the backoff, 2 s ($d2 ms)"
run "$SQCRON" --json runs --open --job flaky
is "$(printf '%s' "$out" | grep -o '"id":' | wc -l)" 1 "runs --open: one row for the fire"

# A final exit status is not retried.
"$SQCRON" add final --schedule @yearly --retries 3 --backoff 1s --no-retry-exit 2,64-78 --command 'exit 65' >/dev/null
"$SQCRON" run --wait final >/dev/null
sleep 2
is "$(rows final | wc -l)" 1 "exit 65 is in no_retry_exit 2,64-78: no retry"
like "$(rows final)" '"resolution":"open"' "and the failure is open"

# A retry that succeeds resolves the fire.
"$SQCRON" add second --schedule @yearly --retries 2 --backoff 1s \
    --command "[ -e $T/second.ok ] && exit 0; touch $T/second.ok; exit 1" >/dev/null
"$SQCRON" run second >/dev/null
wait_for "rows second | grep -q '\"state\":\"succeeded\"'" 100
rows second >"$T/r"
is "$(wc -l <"$T/r")" 2 "failed once, then succeeded"
like "$(sed -n 1p "$T/r")" '"resolution":"superseded"' "the failure is superseded by the success"
run "$SQCRON" --json runs --open --job second
ok $(printf '%s' "$out" | grep -q '"id":'; [ $? = 1 ]; echo $?) "nothing open for that fire"

# Killed on request is not retried; neither is a run with retries = 0.
"$SQCRON" add none --schedule @yearly --command 'exit 1' >/dev/null
"$SQCRON" run --wait none >/dev/null
sleep 1.5
is "$(rows none | wc -l)" 1 "retries default 0: one attempt"

# A waiting retry survives a restart, and one due while sqcrond was
# down runs at start.
"$SQCRON" add later --schedule @yearly --retries 1 --backoff 3s \
    --command "echo \$SQCRON_ATTEMPT >>$T/later.log; exit 1" >/dev/null
"$SQCRON" run --wait later >/dev/null
like "$(rows later)" '"resolution":"retrying"' "attempt 1 is retrying"
stop_daemon
sleep 4
start_daemon "$T/d.conf"
wait_for "[ \$(wc -l <$T/later.log) -ge 2 ]" 50
is "$(cat "$T/later.log" | tr '\n' ' ')" "1 2 " "the retry ran after the restart"
wait_for "rows later | grep -q '\"resolution\":\"open\"'" 50
is "$(rows later | wc -l)" 2 "two attempts, no duplicate"
ok $(grep -q '1 retries waiting again' "$T/sqcrond.log"; echo $?) "the restart said so in the log"

stop_daemon
done_testing

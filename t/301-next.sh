#!/bin/sh
# 301-next: `sqcron next` output formats, options and errors, offline.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

run "$SQCRON" next --tz Europe/Berlin --after 2026-03-29T00:00:00Z -n 3 '30 2 * * *'
is "$rc" 0 "next exits 0"
is "$out" "2026-03-29T03:00:00+02:00
2026-03-30T02:30:00+02:00
2026-03-31T02:30:00+02:00" "RFC 3339 with the zone's offset, one per line; gap fires after it"

run "$SQCRON" next --json --tz Australia/Lord_Howe --after @1767225600 -n 2 '0 12 * * *'
is "$out" '{"schedule":"0 12 * * *","timezone":"Australia/Lord_Howe","next":["2026-01-01T12:00:00+11:00","2026-01-02T12:00:00+11:00"]}' "--json prints schedule, timezone, next"

run "$SQCRON" --json next --tz UTC --after 2026-01-01T00:00:00Z -n 1 @hourly
is "$out" '{"schedule":"@hourly","timezone":"UTC","next":["2026-01-01T01:00:00+00:00"]}' "--json before the command works too"

run "$SQCRON" next --tz UTC --after 2026-01-01T00:00:00Z 0 9 '*' '*' mon-fri
is "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 5 "default count is 5, unquoted words form the schedule"
is "$(printf '%s\n' "$out" | head -1)" "2026-01-01T09:00:00+00:00" "first weekday 09:00"

run "$SQCRON" next 0 9 '*' '*' 1-5 --tz Europe/Berlin -n 2 --after 2026-01-01T00:00:00Z
is "$out" "2026-01-01T09:00:00+01:00
2026-01-02T09:00:00+01:00" "options may follow the schedule, as in DESIGN.md (next EXPR --tz Z -n N)"

run "$SQCRON" next --tz UTC --after 2026-01-01T00:00:00.999Z -n 1 '* * * * * *'
is "$out" "2026-01-01T00:00:01+00:00" "fractional --after: next whole second strictly after"

run "$SQCRON" next --tz America/New_York --after 2026-11-01T05:00:00Z -n 4 '30 * * * *'
is "$out" "2026-11-01T01:30:00-04:00
2026-11-01T01:30:00-05:00
2026-11-01T02:30:00-05:00
2026-11-01T03:30:00-05:00" "hour-* schedule fires twice in a repeated hour"

TZ=Asia/Kolkata run "$SQCRON" next --after 2026-01-01T00:00:00Z -n 1 '0 6 * * *'
is "$out" "2026-01-01T06:00:00+05:30" "default zone is TZ"

run "$SQCRON" next --tz UTC --after 24h -n 1 '@every 1s'
is "$rc" 0 "relative --after (24h ago) accepted"

run "$SQCRON" next --tz UTC -n 2 '@every 1h'
now=$(date +%s)
first=$(date -d "$(printf '%s\n' "$out" | head -1)" +%s)
ok $([ "$first" -gt "$now" ] && [ $((first - now)) -le 3600 ] && [ $((first % 3600)) -eq 0 ]; echo $?) "default --after is now; @every 1h on the hour"

run "$SQCRON" next @reboot
is "$rc:$out" "0:" "@reboot: no timed fires, exit 0"
like "$err" "@reboot has no timed fires" "and says why on stderr"
run "$SQCRON" next --json --tz UTC @reboot
is "$out" '{"schedule":"@reboot","timezone":"UTC","next":[]}' "@reboot --json: empty list"

# Errors: exit 2 with the reason on stderr, nothing on stdout.
run "$SQCRON" next '0 24 * * *'
is "$rc" 2 "bad schedule exits 2"
is "$err" "sqcron: invalid schedule: field 2 (hour): 24 is out of range 0-23" "and names the field and reason"
is "$out" "" "nothing on stdout"
run "$SQCRON" next '0 0 31 2 *'
is "$rc:$err" "2:sqcron: invalid schedule: can never fire: day-of-month 31 never occurs in feb" "never-firing schedule exits 2"
run "$SQCRON" next --tz Mars/Olympus '* * * * *'
is "$rc:$err" '2:sqcron: unknown time zone "Mars/Olympus"' "unknown zone exits 2"
run "$SQCRON" next --tz ../../etc/passwd '* * * * *'
is "$rc:$err" '2:sqcron: invalid time zone name "../../etc/passwd"' "zone name cannot escape the zone directory"
run "$SQCRON" next --after tomorrow '* * * * *'
is "$rc" 2 "bad --after exits 2"
like "$err" '^sqcron next: --after "tomorrow": expected RFC 3339' "with the reason"
run "$SQCRON" next -n 0 '* * * * *'
is "$rc" 2 "-n 0 exits 2"
run "$SQCRON" next
is "$rc" 2 "missing schedule exits 2"
like "$err" "missing schedule" "and says so"
run "$SQCRON" next --bogus '* * * * *'
is "$rc" 2 "unknown option exits 2"
run "$SQCRON" next --help
is "$rc" 0 "--help exits 0"
like "$out" '^usage: sqcron next ' "and prints the usage"
run "$SQCRON" frobnicate
is "$rc" 2 "unknown command exits 2"
like "$err" 'unknown command "frobnicate"' "and names it"
run "$SQCRON"
is "$rc" 2 "no command exits 2"
run "$SQCRON" --version
like "$out" '^sqcron [0-9]' "--version"

done_testing

#!/bin/sh
# 319-check: sqcron check (offline) and sqcron import, dry run and --apply
# through a real daemon.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

me=$(id -un)
mkdir -p "$T/etc/cron.d" "$T/spool/cron/crontabs"
good=$T/etc/cron.d/good
cat >"$good" <<EOF
# A system crontab, as cron reads it.
SHELL=/bin/sh
PATH=/usr/bin:/bin
# sqcron: name=imp-echo timeout=30s retries=1
*/5 * * * * $me echo "hello from \$SQCRON_JOB" on \$(date +\%Y)
@daily $me cat >$T/stdin.out%line one%line two
EOF

# Offline: no daemon is running yet, and none is needed.
export SQCRON_SOCKET=$T/sqcron.sock

run "$SQCRON" check "$good"
is "$rc:$err" "0:" "check: a good file exits 0, nothing on stderr"
is "$out" "$good: 2 jobs, system crontab" "with a one-line summary"

bad=$T/etc/cron.d/bad
cat >"$bad" <<EOF
0 3 * * * $me ok
0 24 * * * $me x
* * * * * /usr/bin/backup
# sqcron: tmeout=10m
@daily $me y
SHELL=/bin/bash
EOF
run "$SQCRON" check "$bad"
is "$rc" 1 "check: errors exit 1"
is "$out" "" "no summary when a line is bad"
is "$err" "$bad:2: invalid schedule: field 2 (hour): 24 is out of range 0-23
$bad:3: \"/usr/bin/backup\" is not a user name: a system crontab line has a user between the schedule and the command (is this a user's crontab?)
$bad:4: sqcron directive: unknown option \"tmeout\"; the job on line 5 is not loaded
$bad:6: warning: SHELL=/bin/bash only sets the variable: sqcrond runs commands with its own shell (sqcrond.conf \"shell\", /bin/sh by default)
sqcron: 3 errors: bad lines are left out" "each problem as FILE:LINE: reason, in line order"

run "$SQCRON" check "$good" "$bad"
is "$rc" 1 "check: one bad file of two exits 1"
like "$out" "^$good: 2 jobs" "the good one is summed up"

printf '0 3 * * * %s x\nSHELL=/bin/zsh\n0 4 * * * nosuchuser-319 y\n' "$me" >"$T/etc/cron.d/warn"
run "$SQCRON" check "$T/etc/cron.d/warn"
is "$rc" 0 "check: warnings alone exit 0"
is "$err" "$T/etc/cron.d/warn:2: warning: SHELL=/bin/zsh only sets the variable: sqcrond runs commands with its own shell (sqcrond.conf \"shell\", /bin/sh by default)
$T/etc/cron.d/warn:3: warning: no user \"nosuchuser-319\" on this host (is the user field missing?)" "a shell and an unknown user are warnings"

cp "$good" "$T/etc/cron.d/good.dpkg-old"
run "$SQCRON" check "$T/etc/cron.d/good.dpkg-old"
is "$rc:$err" "0:$T/etc/cron.d/good.dpkg-old: warning: cron skips files in cron.d whose names hold characters other than A-Z a-z 0-9 _ -, and sqcrond does too" \
    "check: a cron.d name cron would skip is a warning"

printf '@hourly echo from a user crontab\n' >"$T/spool/cron/crontabs/$me"
run "$SQCRON" check "$T/spool/cron/crontabs/$me"
is "$rc:$out" "0:$T/spool/cron/crontabs/$me: 1 job, user crontab of $me" "check: a file in crontabs/ is a user crontab of its name"
run "$SQCRON" check --user "$me" "$T/spool/cron/crontabs/$me"
is "$rc:$out" "0:$T/spool/cron/crontabs/$me: 1 job, user crontab of $me" "--user says the same"
run "$SQCRON" check --system "$T/spool/cron/crontabs/$me"
is "$rc:$err" "0:$T/spool/cron/crontabs/$me:1: warning: no user \"echo\" on this host (is the user field missing?)" "--system reads a user field, and check finds no such user"
(cd "$T/etc/cron.d" && "$SQCRON" check good >"$T/rel.out" 2>&1)
is "$(cat "$T/rel.out")" "$good: 2 jobs, system crontab" "check: a relative path is shown absolute"

run "$SQCRON" --json check "$good"
like "$out" '^\{"files":\[\{"path":"[^"]*/etc/cron.d/good","format":"system","user":null,"jobs":\[\{"line":5,"job":\{"name":"imp-echo","schedule":"\*/5 \* \* \* \*",' "check --json: files, jobs as job.add params"
like "$out" '"timeout":"30s","retries":"1","env":\["SHELL=/bin/sh","PATH=/usr/bin:/bin"\]' "with options and env"
like "$out" '"errors":\[\],"warnings":\[\]\}\],"errors":0\}$' "and no problems"

run "$SQCRON" check
is "$rc" 2 "check: no file is a usage error"
run "$SQCRON" check --user "$me" --system "$good"
is "$rc" 2 "check: --user and --system together are a usage error"
run "$SQCRON" check "$T/nonexistent"
is "$rc:$err" "1:sqcron: $T/nonexistent: No such file or directory
sqcron: 1 error: bad lines are left out" "check: a missing file is an error"

# import, dry run: still no daemon.
run "$SQCRON" import "$good"
is "$rc" 0 "import: the dry run exits 0 without a daemon"
stdin_name=$(printf '%s\n' "$out" | sed -n 's/^would add \(cron\.d-good-[0-9a-f]\{6\}\) from .*:6$/\1/p')
like "$stdin_name" '^cron\.d-good-[0-9a-f]{6}$' "a line without name= gets cron.d-good-HHHHHH"
is "$out" "would add imp-echo from $good:5
  schedule           */5 * * * *
  command            echo \"hello from \$SQCRON_JOB\" on \$(date +%Y)
  user               $me
  timeout            30s
  retries            1
  env                SHELL=/bin/sh
  env                PATH=/usr/bin:/bin
would add $stdin_name from $good:6
  schedule           @daily
  command            \"{ cat >$T/stdin.out\\n} <<'SQCRON_INPUT'\\nline one\\nline two\\nSQCRON_INPUT\\n\"
  user               $me
  env                SHELL=/bin/sh
  env                PATH=/usr/bin:/bin
dry run: nothing was added; sqcron import --apply adds these 2 jobs" "import: the dry run shows every job it would add"
is "$err" "$good:6: warning: the input after % is given to the command by a here-document (API jobs have no stdin)" "and says how % input becomes a here-document"
run "$SQCRON" import "$bad"
is "$rc" 1 "import: a file with errors exits 1"
like "$err" "sqcron: 3 errors: nothing would be imported$" "and imports nothing"

write_config "$T/d.conf"
start_daemon "$T/d.conf"
ok $? "daemon started"

run "$SQCRON" import --apply "$bad"
is "$rc" 1 "import --apply: a file with errors exits 1"
like "$err" "sqcron: 3 errors: nothing imported$" "and says nothing was imported"
run "$SQCRON" jobs
is "$(printf '%s\n' "$out" | sed 1d)" "" "no job was added"

run "$SQCRON" import --apply "$good"
is "$rc" 0 "import --apply exits 0"
is "$out" "added job imp-echo from $good:5
added job $stdin_name from $good:6
imported 2 jobs" "and names each job added"
run "$SQCRON" --json job show imp-echo
like "$out" '"schedule":"\*/5 \* \* \* \*"' "imported: the schedule"
like "$out" '"timeout":"30s"' "imported: the directive's options"
like "$out" '"retries":1' "imported: retries"
like "$out" "\"user\":\"$me\"" "imported: the user field"
like "$out" '"env":\{"SHELL":"/bin/sh","PATH":"/usr/bin:/bin"\}' "imported: the environment lines"
like "$out" '"source":"api"' "an imported job is an API job"

run "$SQCRON" run imp-echo --wait
is "$rc" 0 "the imported job runs"
run "$SQCRON" logs 1
is "$out" "hello from imp-echo on $(date +%Y)" "with \\% as % and its environment"
run "$SQCRON" run "$stdin_name" --wait
is "$rc" 0 "the job with % input runs"
is "$(cat "$T/stdin.out")" "line one
line two" "and reads its input from stdin"

run "$SQCRON" import --apply "$good"
is "$rc" 1 "importing again exits 1"
is "$err" "$good:6: warning: the input after % is given to the command by a here-document (API jobs have no stdin)
sqcron: a job named \"imp-echo\" exists (source api); $good:5 is not imported, nor is any other" "nothing is added twice"
printf '# sqcron: name=imp-other\n@daily %s true\n' "$me" >"$T/etc/cron.d/other"
printf '# sqcron: name=imp-other\n@hourly %s true\n' "$me" >"$T/etc/cron.d/other2"
run "$SQCRON" import --apply "$T/etc/cron.d/other" "$T/etc/cron.d/other2"
is "$rc:$err" "1:sqcron: two jobs named \"imp-other\": $T/etc/cron.d/other:2 and $T/etc/cron.d/other2:2; nothing imported" "one name twice across files: nothing imported"
run "$SQCRON" --json job show imp-other
is "$rc" 4 "so imp-other does not exist"

run "$SQCRON" --json import --apply "$T/etc/cron.d/other"
is "$rc" 0 "import --apply --json"
like "$out" '^\{"dry_run":false,"jobs":\[\{"name":"imp-other","schedule":"@daily"' "prints the jobs as the daemon has them"

done_testing

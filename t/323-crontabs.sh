#!/bin/sh
# 323-crontabs: sqcrond reads crontab, crontab_dir and user_crontab_dir
# at start and when they change (no SIGHUP: new, edited, removed and
# renamed-over files within 2 s), keeps a line's job and history across
# edits, refuses edit/rm of file jobs, reports bad lines in status, runs
# @reboot once per boot id, tells events.subscribe of file jobs added,
# changed and removed, and mails output through sendmail -t.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

umask 022
U=$(id -un)
export SQCRON_SOCKET=$T/sqcron.sock
# The test hook for the boot id (sqcrond(8), ENVIRONMENT).
export SQCRON_TEST_BOOT_ID_FILE=$T/boot_id
echo boot-1 >"$T/boot_id"
mkdir "$T/cron.d"

# A sendmail that keeps each message, with its arguments, in mail.*.msg.
cat >"$T/sendmail" <<EOF
#!/bin/sh
f=\$(mktemp "$T/mail.XXXXXX") || exit 75
{ printf 'ARGV:'; printf ' %s' "\$@"; printf '\n'; cat; } >"\$f.tmp"
mv "\$f.tmp" "\$f.msg"
rm -f "\$f"
EOF
chmod 755 "$T/sendmail"
nmail() { ls "$T"/mail.*.msg 2>/dev/null | wc -l; }

cat >"$T/crontab" <<EOF
# the system crontab
MAILTO=""
# sqcron: name=sys-daily
17 3 * * * $U true
EOF
cat >"$T/cron.d/alpha" <<EOF
MAILTO=""
GREETING=hello world
# sqcron: name=envjob
@daily $U echo "\$GREETING" >$T/env.out
# sqcron: name=stdinjob
@daily $U cat >$T/stdin.out%first line%second line
# sqcron: name=edited
30 1 * * * $U echo edited >>$T/edited.out
this line is bad
@reboot $U echo "\$SQCRON_TRIGGER" >>$T/reboot.out
CRON_TZ=Asia/Tokyo
# sqcron: name=tokyo
0 3 * * * $U true
EOF
cat >"$T/cron.d/mailer" <<EOF
MAILTO=ops@example.com
MAILFROM=cron@example.com
# sqcron: name=mailme
@daily $U echo mail body here
# sqcron: name=quiet
@daily $U true
# sqcron: name=nomail
MAILTO=""
@daily $U echo not mailed
EOF
# Not loaded: a backup copy (run-parts names), a group-writable file.
cp "$T/cron.d/alpha" "$T/cron.d/alpha.dpkg-old"
printf '@daily %s true\n' "$U" >"$T/cron.d/gw"
chmod 664 "$T/cron.d/gw"
# The user crontab directory does not exist yet: created later.
write_config "$T/d.conf" "crontab=$T/crontab" "crontab_dir=$T/cron.d" \
    "user_crontab_dir=$T/spool/crontabs" "sendmail=$T/sendmail"
start_daemon "$T/d.conf"

show() { "$SQCRON" --json job show "$1" 2>/dev/null; }
field() {	# NAME FIELD: a field of job show --json, as printed
	show "$1" | tr ',' '\n' | sed -n "s/^\"$2\":\\(.*\\)/\\1/p" | head -1
}
exists() { "$SQCRON" job show "$1" >/dev/null 2>&1; }
# within CONDITION WHAT: the condition holds within 2 s of now.
within() {
	_t0=$(date +%s%N)
	wait_for "$1" 20
	_st=$?
	_ms=$((($(date +%s%N) - _t0) / 1000000))
	ok $_st "$2 (${_ms} ms)"
}

# At start: every file, each line with its source and line.
like "$(show sys-daily)" "\"source\":\"$T/crontab\",\"line\":4," "the system crontab loads at start, with its file and line"
like "$(show envjob)" "\"source\":\"$T/cron.d/alpha\",\"line\":4," "crontab_dir loads at start"
ok $(exists tokyo; echo $?) "the rest of a file with a bad line loads"
run "$SQCRON" status
like "$out" "$T/cron.d/alpha:9: " "sqcron status shows the bad line as FILE:LINE: reason"
like "$out" "$T/cron.d/gw: is writable by its group or by others" "and a group-writable file, not loaded"
run "$SQCRON" --json status
like "$out" "\"crontab_problems\":\\[.*\"file\":\"$T/cron.d/alpha\",\"line\":9,\"warning\":false" "status JSON lists crontab_problems"
is "$({ "$SQCRON" --json jobs; "$SQCRON" status; } | grep -c 'dpkg-old')" 0 "a file cron.d skips (x.dpkg-old) is not read"
like "$(grep "cron.d/alpha:9" "$T/sqcrond.log")" "alpha:9: " "the bad line is in the log too"

# Environment lines, % as standard input, CRON_TZ.
"$SQCRON" run envjob --wait >/dev/null
is "$(cat "$T/env.out" 2>/dev/null)" "hello world" "an environment line reaches the job"
"$SQCRON" run stdinjob --wait >/dev/null
is "$(cat "$T/stdin.out" 2>/dev/null)" "first line
second line" "% starts the job's input, later ones are newlines"
like "$(show tokyo)" '"timezone":"Asia/Tokyo"' "CRON_TZ becomes the job's time zone"
like "$(field tokyo next_at)" 'T18:00:00.000Z"$' "and its 03:00 is Tokyo's (18:00 UTC)"

# @reboot: once for this boot id.
wait_for "[ -s '$T/reboot.out' ]" 50
is "$(cat "$T/reboot.out" 2>/dev/null)" "reboot" "@reboot ran at start (trigger reboot)"

# File jobs are the file's: no edit, no rm; pause, resume, run are fine.
run "$SQCRON" edit edited --timeout 5s
is "$rc" 1 "sqcron edit of a file job exits 1 (conflict)"
like "$err" "defined in $T/cron.d/alpha line 8: edit the file" "and names the file and the line"
run "$SQCRON" rm edited
is "$rc" 1 "sqcron rm of a file job exits 1 (conflict)"
like "$err" "defined in $T/cron.d/alpha line 8" "and names the file"
"$SQCRON" run edited --wait >/dev/null
ok $? "a file job can be run now"
"$SQCRON" pause edited >/dev/null
ok $? "and paused"

# An edited line (in place, no rename): same job, a new version, its
# runs kept, still paused.
is "$(field edited version)" 1 "the job is at version 1"
sed 's/^30 1 \* \* \*/45 2 * * */' "$T/cron.d/alpha" >"$T/alpha.new"
cat "$T/alpha.new" >"$T/cron.d/alpha"
within "[ \"\$(field edited schedule)\" = '\"45 2 * * *\"' ]" "an edited line is picked up without SIGHUP"
is "$(field edited version)" 2 "as a new version of the same job"
is "$("$SQCRON" --json runs --job edited | grep -o '"trigger":"manual"' | wc -l)" 1 "its runs stay with it"
is "$(field edited paused)" true "pausing is the API's: it survives the edit"
"$SQCRON" resume edited >/dev/null

# Reloading unchanged files changes nothing.
"$SQCRON" --json jobs | tr '{' '\n' | grep -o '"name":"[^"]*".*"version":[0-9]*' | sed 's/"command".*"version"/ /' >"$T/v1"
audits=$("$SQCRON" --json audit --limit 1000 | grep -o '"id":' | wc -l)
"$SQCRON" reload >/dev/null
kill -HUP "$daemon_pid"
sleep 0.5
"$SQCRON" --json jobs | tr '{' '\n' | grep -o '"name":"[^"]*".*"version":[0-9]*' | sed 's/"command".*"version"/ /' >"$T/v2"
is "$(cmp "$T/v1" "$T/v2" && echo same)" same "reload and SIGHUP with unchanged files: no new versions"
is "$("$SQCRON" --json audit --limit 1000 | grep -o '"id":' | wc -l)" $((audits + 1)) "and no audit entry but the reload's"

# Subscribers hear of file jobs added, changed and removed.
printf '{"id":1,"method":"events.subscribe"}\n' |
    "$SQCRON_BUILDDIR/t/helpers/rawsock" "$SQCRON_SOCKET" 0 20000 >"$T/ev" &
evpid=$!
wait_for "grep -qs events.subscribed '$T/ev'" 100

# A new file.
cat >"$T/cron.d/beta" <<EOF
MAILTO=""
# sqcron: name=beta1
@daily $U true
EOF
within "exists beta1" "a new file is picked up without SIGHUP"
like "$(show beta1)" "\"source\":\"$T/cron.d/beta\"" "with its source"

# A file replaced by rename (as editors and crontab -e write).
cat >"$T/cron.d/.beta.tmp" <<EOF
MAILTO=""
# sqcron: name=beta1
@hourly $U true
# sqcron: name=beta2
@daily $U true
EOF
mv "$T/cron.d/.beta.tmp" "$T/cron.d/beta"
within "exists beta2 && [ \"\$(field beta1 schedule)\" = '\"@hourly\"' ]" "a file replaced by rename is picked up"
sed 's/17 3/18 4/' "$T/crontab" >"$T/crontab.new"
mv "$T/crontab.new" "$T/crontab"
within "[ \"\$(field sys-daily schedule)\" = '\"18 4 * * *\"' ]" "the system crontab replaced by rename is picked up"

# A removed file: its jobs stop, their history stays.
"$SQCRON" run beta2 --wait >/dev/null
rm "$T/cron.d/beta"
within "! exists beta1 && ! exists beta2" "a removed file's jobs are removed without SIGHUP"
like "$("$SQCRON" --json runs --state succeeded --limit 1000)" '"job":"beta2"' "and the runs of its jobs stay"
ev=$(grep '"job":"beta1"' "$T/ev" | sed -n 's/.*"event":"\(job\.[a-z]*\)".*"reason":"\([^"]*\)".*/\1 \2/p')
is "$ev" "job.added $T/cron.d/beta line 3
job.updated $T/cron.d/beta line 3
job.removed no longer in $T/cron.d/beta" "events.subscribe: job.added, job.updated, job.removed, saying where"
kill "$evpid" 2>/dev/null
wait "$evpid" 2>/dev/null

# A file no longer group-writable loads (chmod is seen).
chmod 644 "$T/cron.d/gw"
within "\"$SQCRON\" --json jobs | grep -q '\"source\":\"$T/cron.d/gw\"'" "a file made safe (chmod go-w) loads"

# A directory that did not exist: the user crontab directory appears.
mkdir -p "$T/spool/crontabs"
printf 'MAILTO=""\n# sqcron: name=mine\n@daily true\n' >"$T/spool/crontabs/$U"
chmod 600 "$T/spool/crontabs/$U"
within "exists mine" "a user crontab in a directory created later is picked up"
like "$(show mine)" "\"user\":\"$U\".*\"source\":\"$T/spool/crontabs/$U\"" "it runs as its user"
printf '@daily true\n' >"$T/spool/crontabs/nosuchuser-323"
within "\"$SQCRON\" status | grep -q 'nosuchuser-323: no user is named'" "a user crontab of no user is reported"

# Name clashes: an API job's name, another file's name.
"$SQCRON" add apijob --schedule '@daily' --command true >/dev/null
cat >"$T/cron.d/clash" <<EOF
MAILTO=""
# sqcron: name=apijob
@hourly $U echo file
# sqcron: name=envjob
@hourly $U echo file
# sqcron: name=clashok
@daily $U true
EOF
within "exists clashok" "a file with clashing names loads its other lines"
like "$(show apijob)" '"schedule":"@daily","command":"true".*"source":"api"' "an API job is never taken over by a file"
like "$(show envjob)" "\"source\":\"$T/cron.d/alpha\"" "nor another file's job"
run "$SQCRON" status
like "$out" "$T/cron.d/clash:3: a job named \"apijob\" was added through the API" "the clash with the API job is reported"
like "$out" "$T/cron.d/clash:5: job name \"envjob\" is already defined in $T/cron.d/alpha line 4" "and the clash with the other file"

# A symlink in crontab_dir to a root-owned file elsewhere: its target is
# watched.
mkdir "$T/elsewhere"
printf 'MAILTO=""\n# sqcron: name=linked\n@daily %s true\n' "$U" >"$T/elsewhere/target"
ln -s "$T/elsewhere/target" "$T/cron.d/link"
within "exists linked" "a symbolic link in crontab_dir loads"
printf 'MAILTO=""\n# sqcron: name=linked\n@hourly %s true\n' "$U" >"$T/elsewhere/target"
within "[ \"\$(field linked schedule)\" = '\"@hourly\"' ]" "an edit of its target is picked up"

# Hostile entries: a directory, a fifo, a file of binary junk, many lines.
mkdir "$T/cron.d/adir"
mkfifo "$T/cron.d/afifo"
head -c 20000 /dev/urandom >"$T/cron.d/junk"
i=0
while [ $i -lt 1000 ]; do
	echo "# sqcron: name=many-$i"
	echo "@daily $U true"
	i=$((i + 1))
done >"$T/cron.d/many"
wait_for "exists many-999" 100
ok $? "a file of 1000 jobs loads"
run "$SQCRON" status
like "$out" "$T/cron.d/adir: is a directory" "a directory in crontab_dir is reported"
like "$out" "$T/cron.d/afifo: is not a regular file" "and a fifo"
"$SQCRON" ping >/dev/null
ok $? "binary junk in a file is survived"
rm -r "$T/cron.d/many" "$T/cron.d/adir" "$T/cron.d/afifo" "$T/cron.d/junk"
wait_for "! exists many-0" 100
ok $? "and 1000 jobs go with their file"

# Idle: no reading, no writing.
n1=$(grep -c 'crontabs:' "$T/sqcrond.log")
t1=$(awk '{ print $14 + $15 }' "/proc/$daemon_pid/stat")
sleep 2
n2=$(grep -c 'crontabs:' "$T/sqcrond.log")
t2=$(awk '{ print $14 + $15 }' "/proc/$daemon_pid/stat")
is "$n2" "$n1" "idle: the files are not read again"
ok $([ $((t2 - t1)) -lt 20 ]; echo $?) "idle: no CPU spent ($((t2 - t1)) ticks in 2 s)"

# Mail: one message with cron's headers for output; none when empty or
# MAILTO="".
"$SQCRON" run mailme --wait >/dev/null
within "[ \$(nmail) -ge 1 ]" "a run with output is mailed"
msg=$(cat "$T"/mail.*.msg)
like "$msg" '^ARGV:.* -t' "through sendmail -t"
like "$msg" 'From: cron@example.com' "From: MAILFROM"
like "$msg" 'To: ops@example.com' "To: MAILTO"
like "$msg" 'Subject: Cron <[^@]+@[^>]+> echo mail body here' "Subject: Cron <user@host> command"
like "$msg" 'X-Cron-Env: <MAILTO=ops@example.com>' "X-Cron-Env headers"
like "$msg" '^mail body here$' "and the output as the body"
"$SQCRON" run quiet --wait >/dev/null
"$SQCRON" run nomail --wait >/dev/null
"$SQCRON" run mailme --wait >/dev/null
wait_for "[ \$(nmail) -ge 2 ]" 50
sleep 0.5
is "$(nmail)" 2 "no mail for empty output or MAILTO=\"\" (one more for the second run)"

# @reboot: a job added by a reload does not run; a restart in the same
# boot runs nothing; a new boot id runs @reboot jobs again.
printf 'MAILTO=""\n@reboot %s echo late >>%s/late.out\n' "$U" "$T" >"$T/cron.d/late"
within "\"$SQCRON\" jobs | grep -q 'cron.d-late-'" "an @reboot job added after start loads"
sleep 0.5
ok $([ ! -e "$T/late.out" ]; echo $?) "and does not run (cron runs @reboot at start only)"
stop_daemon
start_daemon "$T/d.conf"
sleep 0.5
is "$(wc -l <"$T/reboot.out")" 1 "a restart within one boot does not run @reboot jobs again"
ok $([ ! -e "$T/late.out" ]; echo $?) "nor the one added later"
stop_daemon
echo boot-2 >"$T/boot_id"
start_daemon "$T/d.conf"
wait_for "[ \$(wc -l <'$T/reboot.out') -ge 2 ] && [ -s '$T/late.out' ]" 50
is "$(wc -l <"$T/reboot.out")" 2 "a new boot id runs @reboot jobs once more"
is "$(cat "$T/late.out" 2>/dev/null)" late "every one of them"
stop_daemon
is "$daemon_rc" 0 "sqcrond stops cleanly"

done_testing

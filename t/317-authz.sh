#!/bin/sh
# 317-authz: authorization by peer credentials (DESIGN.md section 8, the
# table in sqcron(1) AUTHORIZATION).  A user made for the test, neither
# root nor in admin_group, reaches the socket through socket_group and
# tries every method on root's job and on its own: it acts on its own
# jobs only (permission_denied and exit 5 for root's, audited when the
# method changes something), its lists show its own jobs only, its jobs
# run as itself, it cannot make a job run as someone else, and it cannot
# reload or prune.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root to create a user and to switch to it"
	exit 0
fi
for c in useradd userdel setpriv; do
	if ! command -v $c >/dev/null 2>&1; then
		echo "1..0 # SKIP needs $c"
		exit 0
	fi
done

U=sqcron-t317-$$
t317_cleanup() {
	_lib_cleanup
	userdel -f "$U" >/dev/null 2>&1
	groupdel "$U" >/dev/null 2>&1
}
trap t317_cleanup EXIT
# Its home is in $T, which it may traverse but not list.
chmod 0711 "$T"
if ! useradd -M -d "$T/home" -s /bin/sh -U "$U" >"$T/useradd.log" 2>&1; then
	echo "1..0 # SKIP useradd failed: $(cat "$T/useradd.log")"
	exit 0
fi
uid=$(id -u "$U")
gid=$(id -g "$U")
mkdir "$T/home"
chown "$uid:$gid" "$T/home"
H=$T/home

export SQCRON_SOCKET=$T/sqcron.sock
write_config "$T/d.conf" socket_mode=0660 "socket_group=$U"
start_daemon "$T/d.conf"

# as_user ARGS...: the client as the test's user, not reading our stdin.
as_user() {
	setpriv --reuid="$uid" --regid="$gid" --clear-groups \
	    "$SQCRON" "$@" </dev/null
}
# first_id JSON: the first "id" in a reply.
first_id() { printf '%s\n' "$1" | sed -n 's/[^0-9]*"id":\([0-9]*\).*/\1/p'; }

# The socket: mode and group from the configuration; a user outside the
# group cannot even connect.
is "$(stat -c '%a %G' "$SQCRON_SOCKET")" "660 $U" "socket has socket_mode 0660 and socket_group"
if id nobody >/dev/null 2>&1; then
	run setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$SQCRON" ping
	is "$rc" 3 "a user outside socket_group cannot connect (exit 3)"
else
	skip "no user nobody"
fi
run as_user ping
is "$rc" 0 "the user reaches sqcrond through socket_group"

# Root's job, failed once, and a replay batch of root's with a key.
"$SQCRON" add rootjob --schedule @yearly --command "id -u >$T/root.uid; exit 3" >/dev/null
"$SQCRON" run --wait rootjob >/dev/null
rr=$(first_id "$("$SQCRON" --json runs --job rootjob)")
rb=$("$SQCRON" --json replay --key rootkey "$rr" | sed -n 's/.*"batch":\([0-9]*\).*/\1/p')
ok $([ -n "$rr" ] && [ -n "$rb" ]; echo $?) "root's job has run $rr and replay batch $rb"
wait_for "! \"$SQCRON\" --json runs --job rootjob --state running,queued | grep -q '\"id\"'" 100
is "$(cat "$T/root.uid")" 0 "root's job ran as root"

# The user's own job fails until $H/ok exists, and says who it runs as.
run as_user --json add mine --schedule @yearly --command "id -u >$H/mine.uid; [ -e $H/ok ]"
is "$rc" 0 "the user adds a job"
like "$out" "\"owner\":$uid[,}]" "owned by the user's uid"
like "$out" '"user":null' "with no user: it runs as its owner"
run as_user run --wait mine
is "$rc" 1 "its run fails (exit 1 from run --wait)"
is "$(cat "$H/mine.uid" 2>/dev/null)" "$uid" "the user's job ran as the user (id -u)"
ur=$(first_id "$(as_user --json runs --job mine)")
as_user add sleeper --schedule @yearly --command 'sleep 30' >/dev/null
sr=$(first_id "$(as_user --json run sleeper)")
ok $([ -n "$ur" ] && [ -n "$sr" ]; echo $?) "the user's runs $ur (failed) and $sr (running)"
"$SQCRON" add rootsleep --schedule @yearly --command 'sleep 30' >/dev/null
rs=$(first_id "$("$SQCRON" --json run rootsleep)")

# What the user sees of the daemon: its own share.
run as_user --json failures
like "$out" '"job":"mine"' "failures shows the user's failed run"
ok $(printf '%s\n' "$out" | grep -q rootjob; [ $? -ne 0 ]; echo $?) "failures shows none of root's"
run as_user --json status
is "$rc" 1 "status exits 1 on the user's own open failure"
like "$out" '"counts":\{"jobs":2,"paused":0,"running":1,"queued":0,"open_failures":1,"notifications_pending":0\}' \
    "status counts the user's jobs and runs only"
like "$out" '"failing":\[\{"job":"mine",' "status: the user's failing job"
ok $(printf '%s\n' "$out" | grep -q rootjob; [ $? -ne 0 ]; echo $?) "status: none of root's"
run "$SQCRON" --json status
like "$out" '"counts":\{"jobs":4,"paused":0,"running":2,' "(root's status counts every job and run)"

# Every method on root's job, run or batch: refused, exit 5.
while read -r method args; do
	# shellcheck disable=SC2086
	run as_user $args
	if [ "$rc" -eq 5 ] && printf '%s\n' "$err" |
	    grep -Eq 'is not yours|permission denied|another user'; then
		ok 0 "$method refused: permission_denied, exit 5 ($args)"
	else
		ok 1 "$method refused: permission_denied, exit 5 ($args)"
		diag "rc $rc, stderr: $err"
	fi
done <<EOF
job.get job show rootjob
job.update edit rootjob --command true
job.remove rm rootjob
job.pause pause rootjob
job.resume resume rootjob
job.trigger run rootjob
run.list runs --job rootjob
run.get show $rr
run.output logs $rr
run.kill kill $rr
run.kill kill $rs
ack ack $rr
ack ack $ur $rr
replay replay $rr
replay replay --dry-run $rr
replay replay --job rootjob
replay replay --key rootkey $ur
replay.get replay --status $rb
reload reload
prune prune
prune prune --dry-run
EOF
is "$(cat "$T/root.uid")" 0 "root's job did not run for the user"
like "$("$SQCRON" --json show "$rs")" '"state":"running"' "root's running run was not killed"
"$SQCRON" kill "$rs" >/dev/null
like "$("$SQCRON" --json job show rootjob)" '"paused":false' "root's job is not paused"
is "$("$SQCRON" --json show "$ur" | grep -o '"resolution":"[a-z]*"')" '"resolution":"open"' \
    "a refused ack of two runs acked neither"

# A name or id that does not exist is not_found (exit 4), as for admins.
run as_user job show no-such-job
is "$rc" 4 "job.get of no job: not_found, exit 4"
run as_user show 999999
is "$rc" 4 "run.get of no run: not_found, exit 4"

# The user's own jobs: may do everything.
while read -r method args; do
	# shellcheck disable=SC2086
	run as_user $args
	if [ "$rc" -eq 0 ]; then
		ok 0 "$method on its own: allowed ($args)"
	else
		ok 1 "$method on its own: allowed ($args)"
		diag "rc $rc, stderr: $err"
	fi
done <<EOF
ping ping
job.get job show mine
job.update edit mine --description edited --timeout 1h
job.pause pause mine
job.resume resume mine
run.list runs --job mine
run.get show $ur
run.output logs $ur
run.kill kill $sr
replay replay --dry-run $ur
EOF
wait_for "as_user --json show $sr | grep -q '\"state\":\"killed\"'" 100
like "$(as_user --json show "$sr")" '"reason":"killed by sqcron kill \(uid '"$uid" "its run was killed, saying by whom"
run as_user ack "$sr"
is "$rc" 0 "ack of its own killed run"
touch "$H/ok"
chown "$uid:$gid" "$H/ok"
run as_user --json replay --wait --key mykey "$ur"
is "$rc" 0 "replay of its own failed run succeeds"
ub=$(printf '%s\n' "$out" | sed -n 's/.*"batch":\([0-9]*\).*/\1/p')
run as_user replay --status "$ub"
is "$rc" 0 "replay.get of its own batch"
run as_user --json replay --key mykey "$ur"
like "$out" "\"batch\":$ub[,}]" "its own key gives its first answer again"
run as_user --json replay --job mine
is "$rc" 0 "a range replay of its own job"
run as_user run --wait mine
is "$rc" 0 "job.trigger of its own job (--wait, succeeded)"
"$SQCRON" run --wait rootjob >/dev/null	# another failure of root's
run as_user ack "$ur"
is "$rc" 0 "ack of its own run"

# Jobs that would run as someone else, or with more than the user may
# have, are refused; running as itself by name is fine.
while read -r what args; do
	# shellcheck disable=SC2086
	run as_user $args
	if [ "$rc" -eq 5 ]; then
		ok 0 "refused: $what, exit 5"
	else
		ok 1 "refused: $what, exit 5"
		diag "rc $rc, stderr: $err"
	fi
done <<EOF
job.add_as_root add asroot --schedule @yearly --command true --user root
job.add_as_nobody add asnobody --schedule @yearly --command true --user nobody
job.add_negative_nice add greedy --schedule @yearly --command true --nice -5
job.update_to_root edit mine --user root
job.update_negative_nice edit mine --nice -1
EOF
like "$err" "negative nice" "the reason says what is not allowed"
run as_user job show asroot
is "$rc" 4 "the refused job was not added"
run as_user --json add byname --schedule @yearly --command true --user "$U"
is "$rc" 0 "a job with the user's own name as user is allowed"
"$SQCRON" edit byname --user root >/dev/null
run as_user edit byname --description x
is "$rc" 5 "once root made it run as root, the user may not edit it"
run as_user rm byname
is "$rc" 0 "but may remove it"

# Lists are filtered to the user's own jobs.
run as_user --json jobs
like "$out" '"name":"mine"' "job.list shows its job"
ok $(printf '%s\n' "$out" | grep -q rootjob; [ $? -ne 0 ]; echo $?) "job.list does not show root's"
run as_user --json runs --limit 1000
like "$out" '"job":"mine"' "run.list shows its runs"
ok $(printf '%s\n' "$out" | grep -q '"job":"rootjob"'; [ $? -ne 0 ]; echo $?) "run.list shows none of root's"
run "$SQCRON" --json runs --limit 1000
like "$out" '"job":"rootjob"' "(root's run.list has root's runs)"
run "$SQCRON" --json failures
like "$out" '"job":"rootjob"' "(root's failures has root's)"
run as_user --json status
is "$rc" 0 "status exits 0 once the user's failures are resolved, whatever root's"
run "$SQCRON" status
is "$rc" 1 "(root's status exits 1: root's failures are open)"
run as_user metrics
is "$rc" 5 "metrics cover every job: refused to a user (exit 5)"
run "$SQCRON" metrics
like "$out" '^sqcron_runs_total\{job="rootjob",' "(root's metrics show root's job)"
run as_user --json audit --limit 1000
n_all=$(printf '%s\n' "$out" | sed 's/},{"id":/}\n{"id":/g' | grep -c '"method"')
n_own=$(printf '%s\n' "$out" | sed 's/},{"id":/}\n{"id":/g' | grep -c "\"uid\":$uid,")
ok $([ "$n_all" -gt 0 ] && [ "$n_all" -eq "$n_own" ]; echo $?) "audit.list shows the user's own requests only ($n_own of $n_all)"

# Root sees and acts on the user's job.
run "$SQCRON" job show mine
is "$rc" 0 "an admin may see the user's job"

# Every refused mutation is in the audit log, with the user's uid.
"$SQCRON" --json audit --limit 1000 | sed 's/},{"id":/}\n{"id":/g' |
    grep "\"uid\":$uid," | grep '"outcome":"permission_denied"' >"$T/denied"
for m in job.update job.remove job.pause job.resume job.trigger run.kill \
    run.ack replay reload prune job.add; do
	ok $(grep -q "\"method\":\"$m\"" "$T/denied"; echo $?) "audited: $m refused for uid $uid"
done
is "$(grep -c '"method":"prune"' "$T/denied")" 1 "a refused dry-run prune changes nothing and is not audited"
ok $(grep -q '"method":"job.get"' "$T/denied"; [ $? -ne 0 ]; echo $?) "reads are not audited"

# The user removes its own job.
run as_user rm mine
is "$rc" 0 "job.remove of its own job"
stop_daemon
is "$daemon_rc" 0 "sqcrond stops cleanly"
done_testing

#!/bin/sh
# 303-protocol: the control socket, framing and error codes, with ping.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

RAW=$SQCRON_BUILDDIR/t/helpers/rawsock
S=$T/sqcron.sock
export SQCRON_SOCKET=$S

run "$SQCRON" ping
is "$rc" 3 "no daemon: exit 3"
like "$err" "cannot reach sqcrond at $S" "naming the socket"

write_config "$T/d.conf"
start_daemon "$T/d.conf"
ok $? "daemon started"
is "$(stat -c %a "$S")" 660 "socket created with socket_mode 0660"

run "$SQCRON" ping
is "$rc" 0 "ping exits 0"
like "$out" "^sqcrond [0-9.]+ is up: pid $daemon_pid, up [0-9]+s, protocol 1, time zone " "ping says who is up"
run "$SQCRON" --json ping
like "$out" '^\{"pong":true,"version":"[^"]+","protocol":1,"pid":'"$daemon_pid"',"uptime_ms":[0-9]+,"timezone":"[^"]+"\}$' "ping --json"
run "$SQCRON" -s "$T/nope.sock" ping
is "$rc" 3 "-s overrides SQCRON_SOCKET"

# Raw protocol: every bad request gets the right code and the connection
# keeps serving the next line.
reply=$(printf '%s\n' '{"id":7,"method":"ping"}' | "$RAW" "$S")
like "$reply" '^\{"id":7,"result":\{"pong":true' "id is echoed with the result"
reply=$(printf '%s\n' '{"id":"x","method":"ping","params":null}' | "$RAW" "$S")
like "$reply" '^\{"id":"x","result":' "string id and null params"
reply=$(printf 'not json\n{"id":2,"method":"ping"}\n' | "$RAW" "$S")
like "$(echo "$reply" | sed -n 1p)" '^\{"id":null,"error":\{"code":"invalid_request","message":"malformed JSON' "malformed JSON: invalid_request"
like "$(echo "$reply" | sed -n 2p)" '^\{"id":2,"result":' "and the next line is still served"
reply=$(printf '[1,2]\n' | "$RAW" "$S")
like "$reply" '"code":"invalid_request","message":"a request is a JSON object"' "an array is not a request"
reply=$(printf '{"id":3}\n' | "$RAW" "$S")
like "$reply" '^\{"id":3,"error":\{"code":"invalid_request","message":"\\"method\\" must be a string"' "missing method"
reply=$(printf '{"id":4,"method":"ping","params":[1]}\n' | "$RAW" "$S")
like "$reply" '"code":"invalid_request","message":"\\"params\\" must be an object"' "params must be an object"
reply=$(printf '{"id":5,"method":"job.explode"}\n' | "$RAW" "$S")
like "$reply" '^\{"id":5,"error":\{"code":"unknown_method","message":"unknown method \\"job.explode\\""' "unknown method"
reply=$(printf '{"id":6,"method":"ping","method":"x"}\n' | "$RAW" "$S")
like "$reply" '"code":"invalid_request"' "duplicate keys are refused"
reply=$(printf '{"id":8,"method":"ping"}\r\n' | "$RAW" "$S")
like "$reply" '^\{"id":8,"result":' "CRLF line ending accepted"
reply=$(printf '{"id":1,"method":"ping"}\n{"id":2,"method":"ping"}\n{"id":3,"method":"ping"}\n' | "$RAW" "$S")
is "$(echo "$reply" | sed 's/,"result".*//' | tr '\n' ' ')" '{"id":1 {"id":2 {"id":3 ' "pipelined requests answered in order"

# Wrong types and hostile-looking strings: invalid_argument or not_found,
# never a crash, and the database is intact afterwards.
req() {	# JSON-LINE: the reply's error code, or "ok"
	printf '%s\n' "$1" | "$RAW" "$S" | sed -n 's/.*"code":"\([a-z_]*\)".*/\1/p;/"result":/s/.*/ok/p' | head -1
}
is "$(req '{"id":1,"method":"job.get","params":{"name":7}}')" invalid_argument "job.get: a number for a name"
is "$(req '{"id":1,"method":"job.get","params":{"name":"x'"'"'; DROP TABLE jobs;--"}}')" not_found "job.get: an SQL-looking name is just a name not found"
is "$(req '{"id":1,"method":"job.add","params":{"name":"../../etc","schedule":"@daily","command":"true"}}')" invalid_argument "job.add: a name with slashes"
is "$(req '{"id":1,"method":"job.add","params":{"name":"ok1","schedule":"99 * * * *","command":"true"}}')" invalid_argument "job.add: a bad schedule"
is "$(req '{"id":1,"method":"run.get","params":{"id":"1 OR 1=1"}}')" invalid_argument "run.get: a string for an id"
is "$(req '{"id":1,"method":"run.list","params":{"limit":-5}}')" invalid_argument "run.list: a negative limit"
is "$(req '{"id":1,"method":"run.list","params":{"state":"exploded"}}')" invalid_argument "run.list: an unknown state"
is "$(req '{"id":1,"method":"replay","params":{"runs":"all"}}')" invalid_argument "replay: runs must be a list"
is "$(req '{"id":1,"method":"replay","params":{"runs":[1],"job":"x"}}')" invalid_argument "replay: runs and job together"
is "$(req '{"id":1,"method":"replay","params":{"runs":[999999]}}')" not_found "replay: an unknown run"
is "$(req '{"id":1,"method":"replay","params":{"runs":[1],"max_parallel":0}}')" invalid_argument "replay: max_parallel 0"
is "$(req '{"id":1,"method":"replay.get","params":{"batch":"x"}}')" invalid_argument "replay.get: a string for a batch"
is "$(req '{"id":1,"method":"run.kill","params":{"id":999999}}')" not_found "run.kill: an unknown run"
is "$(req '{"id":1,"method":"failures","params":{"since":"yesterday-ish"}}')" invalid_argument "failures: a bad time"
is "$(req '{"id":1,"method":"audit.list","params":{"limit":"10"}}')" invalid_argument "audit.list: a string for a limit"
is "$(req '{"id":1,"method":"job.list"}')" ok "and the daemon still answers, tables intact"

# Oversize: a line over 1 MiB is too_large and the connection closes.
head -c 1100000 /dev/zero | tr '\0' 'a' >"$T/big"
reply=$("$RAW" "$S" <"$T/big")
like "$reply" '^\{"id":null,"error":\{"code":"too_large","message":"request line over 1 MiB"' "oversize line: too_large"

# A client that sends half a line and stalls blocks nobody.
printf '{"id":1,"meth' | "$RAW" "$S" 4000 >"$T/stalled" &
stalled=$!
sleep 0.5
run "$SQCRON" ping
is "$rc" 0 "another client is served while one stalls mid-line"
# A client that disconnects mid-request.
printf '{"id":1,"method":"pi' | "$RAW" "$S" >/dev/null
run "$SQCRON" ping
is "$rc" 0 "a disconnect mid-request harms nothing"
wait "$stalled"

# Stale socket: after kill -9 the socket file stays; a restart removes it.
kill -KILL "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
ok $([ -S "$S" ]; echo $?) "kill -9 leaves the socket file"
start_daemon "$T/d.conf"
ok $? "restart after kill -9"
like "$(cat "$T/sqcrond.log")" "removed stale socket $S" "the stale socket is removed"
run "$SQCRON" ping
is "$rc" 0 "and the new daemon answers"
stop_daemon
is "$daemon_rc" 0 "clean stop"
ok $([ ! -e "$S" ]; echo $?) "a clean stop removes the socket"

# Something that is not a socket at the path is never deleted.
echo "precious" >"$T/file.sock"
printf 'db = %s/f.db\nsocket = %s/file.sock\nsocket_mode = 0600\ncrontab =\ncrontab_dir =\nuser_crontab_dir =\n' "$T" "$T" >"$T/f.conf"
run "$SQCROND" -f -c "$T/f.conf"
is "$rc" 1 "a regular file at the socket path stops the daemon"
like "$err" "file.sock exists and is not a socket" "with the reason"
is "$(cat "$T/file.sock")" "precious" "and the file is untouched"

# socket_mode is applied.
printf 'db = %s/m.db\nsocket = %s/m.sock\nsocket_mode = 0600\ncrontab =\ncrontab_dir =\nuser_crontab_dir =\n' "$T" "$T" >"$T/m.conf"
start_daemon "$T/m.conf"
is "$(stat -c %a "$T/m.sock")" 600 "socket_mode 0600 applied"
stop_daemon

done_testing

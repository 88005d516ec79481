#!/bin/sh
# 801-metrics-http: the metrics listener against hostile clients.
# Malformed requests of every shape get 4xx answers; huge headers,
# bodies and URIs are refused; slow and idle clients are timed out;
# connections beyond the limit wait instead of using up the daemon's
# descriptors, while jobs and the control socket go on; /healthz says 503
# while sqcrond stops.  The daemon survives it all.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock
RAWTCP=$SQCRON_BUILDDIR/t/helpers/rawtcp

start_metrics() {
	_try=0
	while [ $_try -lt 5 ]; do
		port=$("$RAWTCP" --free-port)
		write_config "$T/d.conf" cgroup=off shutdown_timeout=20s \
		    "metrics_listen=127.0.0.1:$port"
		start_daemon "$T/d.conf"
		if grep -q "sqcrond\[$daemon_pid\] info: metrics: listening on 127.0.0.1:$port " \
		    "$T/sqcrond.log"; then
			return 0
		fi
		stop_daemon
		_try=$((_try + 1))
	done
	return 1
}

# send: standard input to the listener, the status line of the answer.
send() { "$RAWTCP" "$port" "$@" | head -1 | tr -d '\r'; }
healthz() { printf 'GET /healthz HTTP/1.0\r\n\r\n' | "$RAWTCP" "$port" "$@" | tr -d '\r'; }
nfds() { ls "/proc/$daemon_pid/fd" | wc -l | tr -d ' '; }

start_metrics
ok $? "sqcrond listens on 127.0.0.1:$port" || { done_testing; exit 1; }

is "$({ printf 'GET /metrics HTTP/1.1\r\nX-A: '; head -c 20000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } | send)" \
    "HTTP/1.1 400 Bad Request" "a 20 KB header: 400"
is "$({ printf 'GET /metrics HTTP/1.1\r\n'; i=0; while [ $i -lt 2000 ]; do printf 'X-%d: y\r\n' $i; i=$((i + 1)); done; printf '\r\n'; } | send)" \
    "HTTP/1.1 400 Bad Request" "2000 headers: 400"
is "$({ printf 'GET /'; head -c 100000 /dev/zero | tr '\0' a; printf ' HTTP/1.0\r\n\r\n'; } | send)" \
    "HTTP/1.1 400 Bad Request" "a 100 KB URI: 400"
is "$({ printf 'POST /metrics HTTP/1.1\r\nContent-Length: 100000\r\n\r\n'; head -c 100000 /dev/zero; } | send)" \
    "HTTP/1.1 413 Request Entity Too Large" "a 100 KB body: 413"
is "$({ printf 'POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffff\r\n'; head -c 1000 /dev/zero; } | send)" \
    "HTTP/1.1 413 Request Entity Too Large" "a huge chunk: 413"
is "$(printf 'POST /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello' | send)" \
    "HTTP/1.0 405 Method Not Allowed" "a small POST: 405"
is "$(head -c 3000 /dev/urandom | send)" "HTTP/1.1 400 Bad Request" "random bytes: 400"
is "$(printf 'GET /metrics\r\n\r\n' | send)" "HTTP/1.1 400 Bad Request" "no HTTP version: 400"
is "$(printf 'GET /metr\000ics HTTP/1.0\r\n\r\n' | send)" "HTTP/1.1 400 Bad Request" "a NUL in the path: 400"
is "$(printf 'BREW /metrics HTTP/1.0\r\n\r\n' | send)" "HTTP/1.1 501 Not Implemented" "an unknown method: 501"
is "$(printf 'DELETE /metrics HTTP/1.0\r\n\r\n' | send)" "HTTP/1.0 405 Method Not Allowed" "DELETE: 405"
is "$(printf 'GET /metrics/../metrics HTTP/1.0\r\n\r\n' | send)" "HTTP/1.0 404 Not Found" "a dotted path: 404"
is "$(printf 'GET http://example.com/healthz?x=1 HTTP/1.0\r\n\r\n' | send)" "HTTP/1.0 200 OK" \
    "an absolute URI with a query: served"
n=$(printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
    "$RAWTCP" "$port" | grep -c '^HTTP/1.1 200 OK')
is "$n" 3 "three pipelined requests on one connection: three answers"
run "$SQCRON" ping
is "$rc" 0 "the daemon is still up"

# Too many clients at once: 40 that say nothing, one that sends half a
# request.  The listener takes 32, times each out after 10 s of silence,
# and takes the others as those go.
"$SQCRON" add ok --schedule @yearly --command true >/dev/null
before=$(nfds)
printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n' | "$RAWTCP" "$port" --wait-close 40 >"$T/slow" &
clients=$!
i=0
while [ $i -lt 40 ]; do
	"$RAWTCP" "$port" --wait-close 40 </dev/null >"$T/idle.$i" &
	clients="$clients $!"
	i=$((i + 1))
done
sleep 2
during=$(nfds)
ok $([ "$during" -le $((before + 32)) ]; echo $?) \
    "41 clients: the daemon holds at most 32 of them ($before descriptors before, $during during)"
run "$SQCRON" ping
is "$rc" 0 "the control socket still answers"
run "$SQCRON" run ok --wait
is "$rc" 0 "and a job still runs"
like "$(cat "$T/sqcrond.log")" 'metrics: 32 HTTP connections open, the most allowed' \
    "the limit is logged"
# The 33rd client waits in the backlog until a slot frees (about 10 s).
like "$(healthz 16000)" '^HTTP/1.0 200 OK' "a health check waits its turn, then is answered"
wait $clients
like "$(cat "$T/slow")" '^closed after ([0-9]|1[0-2]) s$' "the half request is dropped after 10 s"
is "$(cat "$T"/idle.* | grep -c '^closed')" 40 "every silent client is dropped"
is "$(cat "$T"/idle.* | grep -c '^open')" 0 "none is left open"
wait_for "[ \$(nfds) -le $((before + 1)) ]" 50
ok $? "their descriptors are closed ($(nfds) open, $before before)"
like "$(healthz)" '^HTTP/1.0 200 OK' "the listener accepts again"

# While sqcrond stops (waiting for a job), /healthz says so.
"$SQCRON" add long --schedule @yearly --command 'sleep 3' >/dev/null
"$SQCRON" run long >/dev/null
wait_for "\"$SQCRON\" --json runs --job long --state running | grep -q '\"id\"'" 50
kill -TERM "$daemon_pid"
wait_for "grep -q 'waiting up to' '$T/sqcrond.log'" 50
r=$(healthz)
like "$r" '^HTTP/1.0 503 Service Unavailable' "/healthz while stopping: 503"
like "$r" 'sqcrond is shutting down' "saying why"
stop_daemon
is "$daemon_rc" 0 "clean stop"
done_testing

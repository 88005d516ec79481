#!/bin/sh
# 306-output: a job writing 1 GB: true byte count, capped storage, and
# the daemon's memory stays small throughout.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

export SQCRON_SOCKET=$T/sqcron.sock
write_config "$T/d.conf"
start_daemon "$T/d.conf"

"$SQCRON" add big --schedule @yearly --command 'head -c 1000000000 /dev/zero | tr "\0" x' --output-max 64K >/dev/null
"$SQCRON" run big >/dev/null
maxrss=0
while :; do
	r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$daemon_pid/status")
	[ "$r" -gt "$maxrss" ] && maxrss=$r
	"$SQCRON" --json runs --job big | grep -q '"state":"running"' || break
	sleep 0.2
done
run "$SQCRON" --json show 1
like "$out" '"state":"succeeded"' "the run succeeded"
like "$out" '"output_bytes":1000000000,' "output_bytes is the true count (1,000,000,000)"
run "$SQCRON" logs 1
len=$(printf '%s' "$out" | wc -c)
ok $([ "$len" -ge 65536 ] && [ "$len" -le 65536 + 200 ] 2>/dev/null || [ "$len" -le 65736 ]; echo $?) "stored output is capped at output_max plus the marker ($len bytes)"
like "$out" '\[\.\.\. 999934464 bytes omitted \.\.\.\]' "the marker counts what was left out"
if ldd "$SQCROND" 2>/dev/null | grep -q libasan; then
	skip "daemon RSS not meaningful under AddressSanitizer (peak $maxrss kB)"
else
	ok $([ "$maxrss" -lt 20480 ]; echo $?) "daemon RSS stayed under 20 MB (peak $maxrss kB)"
fi
stop_daemon
done_testing

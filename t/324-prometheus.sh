#!/bin/sh
# 324-prometheus: contrib/prometheus and contrib/grafana against the real
# thing.  promtool checks the alerting rules and runs their unit tests
# (each alert firing and not), lints a real daemon's output from sqcron
# metrics and from the HTTP listener, and compiles every query of the
# Grafana dashboard; every sqcron_* name they use is one sqcrond exports.
# Without promtool (Debian's prometheus package) it skips, saying so.
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

if ! command -v promtool >/dev/null 2>&1; then
	echo "1..0 # SKIP promtool is not installed (Debian package prometheus)"
	exit 0
fi

export SQCRON_SOCKET=$T/sqcron.sock
RAWTCP=$SQCRON_BUILDDIR/t/helpers/rawtcp
RULES=$SQCRON_SRCDIR/contrib/prometheus/sqcron-alerts.yml
DASHBOARD=$SQCRON_SRCDIR/contrib/grafana/sqcron-dashboard.json

run promtool check rules "$RULES"
is "$rc" 0 "promtool check rules sqcron-alerts.yml"
like "$out" 'SUCCESS: 7 rules found' "seven rules"
run promtool test rules "$SQCRON_SRCDIR/contrib/prometheus/sqcron-alerts.test.yml"
is "$rc" 0 "promtool test rules: every alert fires, and does not, when it should"
[ "$rc" -eq 0 ] || printf '%s\n%s\n' "$out" "$err" | sed 's/^/# /'
for a in SqcronJobFailing SqcronJobStale SqcronOpenFailures SqcronJobOOMKilled \
    SqcronQueueGrowing SqcrondDown; do
	n=$(grep -c "alertname: $a\$" "$SQCRON_SRCDIR/contrib/prometheus/sqcron-alerts.test.yml")
	ok $([ "$n" -ge 2 ]; echo $?) "$a is tested firing and not ($n cases)"
done

# A daemon with some history: every family has samples.
start=0
while [ $start -lt 5 ]; do
	port=$("$RAWTCP" --free-port)
	write_config "$T/d.conf" cgroup=off "metrics_listen=127.0.0.1:$port"
	start_daemon "$T/d.conf"
	grep -q "sqcrond\[$daemon_pid\] info: metrics: listening on 127.0.0.1:$port " \
	    "$T/sqcrond.log" && break
	stop_daemon
	start=$((start + 1))
done
"$SQCRON" add ok --schedule @yearly --command true >/dev/null
"$SQCRON" add bad --schedule @yearly --command 'exit 3' >/dev/null
"$SQCRON" add tick --schedule '* * * * * *' --command 'exit 1' --stale-after 1s >/dev/null
"$SQCRON" run ok --wait >/dev/null
"$SQCRON" run bad --wait >/dev/null
"$SQCRON" replay --wait "$("$SQCRON" --json runs --job bad | grep -o '"id":[0-9]*' | head -1 | cut -d: -f2)" >/dev/null
"$SQCRON" metrics >"$T/m.txt"
run promtool check metrics <"$T/m.txt"
is "$rc:$out$err" "0:" "promtool check metrics: sqcron metrics is clean"
printf 'GET /metrics HTTP/1.0\r\n\r\n' | "$RAWTCP" "$port" | tr -d '\r' | sed '1,/^$/d' >"$T/h.txt"
run promtool check metrics <"$T/h.txt"
is "$rc:$out$err" "0:" "promtool check metrics: GET /metrics is clean"
stop_daemon

# The names that exist: each family, and a histogram's series.
sed -n 's/^# TYPE \([a-z_]*\) \(.*\)$/\1 \2/p' "$T/m.txt" |
    while read -r name type; do
	echo "$name"
	[ "$type" = histogram ] && printf '%s_bucket\n%s_sum\n%s_count\n' "$name" "$name" "$name"
done | sort -u >"$T/names"
is "$(wc -l <"$T/names" | tr -d ' ')" 17 "sqcrond exports the 14 families of DESIGN.md section 10"
used=$(grep -ho 'sqcron_[a-z_]*' "$RULES" "$DASHBOARD" | sort -u)
missing=$(printf '%s\n' "$used" | while read -r n; do
	grep -qx "$n" "$T/names" || echo "$n"
done)
is "$missing" "" "the rules and the dashboard use only names sqcrond exports"

# The dashboard: valid JSON, and every query compiles (as a recording
# rule, with Grafana's variables given values).
if command -v sqlite3 >/dev/null 2>&1; then
	is "$(sqlite3 :memory: "SELECT json_valid(readfile('$DASHBOARD'))")" 1 \
	    "the dashboard is valid JSON"
	sqlite3 :memory: "SELECT value FROM json_tree(readfile('$DASHBOARD')) WHERE key = 'expr'" >"$T/exprs"
	ok $([ "$(wc -l <"$T/exprs")" -ge 15 ]; echo $?) "it has $(wc -l <"$T/exprs" | tr -d ' ') queries"
	{
		echo "groups:"
		echo "  - name: dashboard"
		echo "    rules:"
		i=0
		sed -e 's/\$__rate_interval/5m/g' -e 's/\$instance/.*/g' -e 's/\$job/.*/g' \
		    -e "s/'/''/g" "$T/exprs" | while read -r e; do
			i=$((i + 1))
			echo "      - record: dashboard:query$i"
			echo "        expr: '$e'"
		done
	} >"$T/dashboard-rules.yml"
	run promtool check rules "$T/dashboard-rules.yml"
	is "$rc" 0 "every dashboard query is valid PromQL"
	[ "$rc" -eq 0 ] || printf '%s\n%s\n' "$out" "$err" | sed 's/^/# /'
else
	skip "sqlite3 is not installed: the dashboard's JSON is not checked"
	skip "sqlite3 is not installed"
	skip "sqlite3 is not installed"
fi
done_testing

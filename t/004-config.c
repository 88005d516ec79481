/*
 * 004-config.c: sqcrond.conf parsing (src/config.c).
 *
 * Every case writes its own file under $TMPDIR (mkstemp) and removes it
 * at the end, so the test needs no data files and runs from any build
 * directory.  Errors are compared whole, "PATH:LINE: reason", because
 * that text is what an operator sees when sqcrond refuses to start; only
 * the part that comes from duration.c is compared as a prefix.
 */

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

#include "../src/config.h"
#include "../src/log.h"
#include "../src/xmalloc.h"

#define MAX_TEMPS 128

static char	*temps[MAX_TEMPS];
static int	 ntemps;
static char	 tmpdir[PATH_MAX];

/*
 * Write text to a new file in dir (tmpdir when NULL); returns its path,
 * which stays owned by temps until the end.
 */
static char *
write_in(const char *dir, const char *text, size_t len)
{
	char	*path;
	int	 fd;

	xasprintf(&path, "%s/sqcron-004-XXXXXX", dir != NULL ? dir : tmpdir);
	if ((fd = mkstemp(path)) == -1)
		BAIL_OUT("mkstemp %s: %s", path, strerror(errno));
	if (write(fd, text, len) != (ssize_t)len)
		BAIL_OUT("write %s: %s", path, strerror(errno));
	close(fd);
	if (ntemps == MAX_TEMPS)
		BAIL_OUT("too many temporary files");
	temps[ntemps++] = path;
	return (path);
}

static char *
write_conf(const char *text)
{
	return (write_in(NULL, text, strlen(text)));
}

/* Load text; the path goes to *pathp, the error to *cause. */
static struct config *
load(const char *text, char **pathp, char **cause)
{
	char	*path = write_conf(text);

	if (pathp != NULL)
		*pathp = path;
	return (config_load(path, cause));
}

/* text must fail with exactly "PATH:" want. */
static void
bad(const char *text, const char *want, const char *what)
{
	struct config	*cf;
	char		*path, *cause = NULL, *expect;

	cf = load(text, &path, &cause);
	xasprintf(&expect, "%s:%s", path, want);
	if (cf != NULL) {
		ok(0, "%s: refused", what);
		config_free(cf);
	} else
		is(cause, expect, "%s", what);
	free(expect);
	free(cause);
}

/* text must fail with a message starting "PATH:" want. */
static void
bad_prefix(const char *text, const char *want, const char *what)
{
	struct config	*cf;
	char		*path, *cause = NULL, *expect;

	cf = load(text, &path, &cause);
	xasprintf(&expect, "%s:%s", path, want);
	if (!ok(cf == NULL && cause != NULL &&
	    strncmp(cause, expect, strlen(expect)) == 0, "%s", what))
		diag("got '%s', expected a prefix '%s'", cause, expect);
	config_free(cf);
	free(expect);
	free(cause);
}

/* text must load. */
static struct config *
good(const char *text, const char *what)
{
	struct config	*cf;
	char		*cause = NULL;

	cf = load(text, NULL, &cause);
	if (cf == NULL) {
		ok(0, "%s: loads", what);
		diag("%s", cause);
		free(cause);
	}
	return (cf);
}

/* config_dump output, without its first (comment) line. */
static char *
dump(const struct config *cf)
{
	char	*buf = NULL, *nl, *out;
	size_t	 len = 0;
	FILE	*f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		BAIL_OUT("open_memstream: %s", strerror(errno));
	config_dump(cf, f);
	fclose(f);
	nl = strchr(buf, '\n');
	out = xstrdup(nl != NULL ? nl + 1 : buf);
	free(buf);
	return (out);
}

static void
test_defaults(void)
{
	struct config	*cf, *empty;
	char		*a, *b;

	cf = config_default();
	is(cf->db, SQCRON_DB_PATH, "default db");
	is(cf->socket, SQCRON_SOCKET_PATH, "default socket");
	is_int(cf->socket_mode, 0660, "default socket_mode");
	ok(cf->socket_group == NULL && cf->admin_group == NULL,
	    "default socket_group and admin_group: none");
	ok(cf->timezone == NULL, "default timezone: none");
	is_int(cf->max_running, 32, "default max_running");
	is(cf->shell, "/bin/sh", "default shell");
	is(cf->path, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
	    "/sbin:/bin", "default path");
	ok(strcmp(cf->crontab, "/etc/crontab") == 0 &&
	    strcmp(cf->crontab_dir, "/etc/cron.d") == 0 &&
	    strcmp(cf->user_crontab_dir, "/var/spool/cron/crontabs") == 0,
	    "default crontab paths");
	ok(cf->timeout_ms == 0 && cf->memory == 0, "default timeout, memory: "
	    "none");
	is_int(cf->kill_grace_ms, 10000, "default kill_grace");
	is_int((int64_t)cf->output_max, 256 * 1024, "default output_max");
	ok(cf->retries == 0 && cf->backoff_ms == 30000,
	    "default retries, backoff");
	is_int(cf->catchup, CONFIG_CATCHUP_SKIP, "default catchup");
	ok(cf->keep_runs == 1000 && cf->keep_days_ms == 90 * 86400000LL,
	    "default keep_runs, keep_days");
	ok(cf->nnotify == 0 && cf->notify == NULL && cf->mailto == NULL,
	    "default notify, mailto: none");
	is(cf->sendmail, "/usr/sbin/sendmail", "default sendmail");
	is_int(cf->notify_on, CONFIG_EVENT_RUN_FAILED | CONFIG_EVENT_RUN_DEAD |
	    CONFIG_EVENT_JOB_RECOVERED | CONFIG_EVENT_JOB_STALE |
	    CONFIG_EVENT_JOB_PAUSED, "default notify_on");
	is_int(cf->notify_format, CONFIG_NOTIFY_JSON, "default notify_format");
	ok(cf->cgroup == CONFIG_CGROUP_AUTO && cf->memory_poll_ms == 100,
	    "default cgroup, memory_poll");
	ok(cf->durability == CONFIG_DURABILITY_NORMAL &&
	    cf->shutdown_timeout_ms == 30000, "default durability, "
	    "shutdown_timeout");
	ok(cf->metrics_listen == NULL && cf->metrics_host == NULL &&
	    cf->metrics_textfile == NULL, "default metrics: off");
	ok(cf->notify_timeout_ms == 10000 && cf->notify_retries == 10,
	    "default notify_timeout, notify_retries");
	ok(cf->log == CONFIG_LOG_DEFAULT && cf->log_level == LOG_LEVEL_INFO &&
	    cf->log_json == 0, "default log, log_level, log_format");

	empty = good("", "empty file");
	if (empty != NULL) {
		a = dump(cf);
		b = dump(empty);
		is(b, a, "an empty file gives the defaults");
		free(a);
		free(b);
		is(empty->file, temps[ntemps - 1], "file records the path read");
	}
	config_free(empty);
	config_free(cf);
}

static void
test_every_key(void)
{
	struct config	*cf;

	cf = good(
	    "db = /srv/sqcron/db.sqlite\n"
	    "socket = /srv/sqcron/sock\n"
	    "socket_mode = 0600\n"
	    "socket_group = cron\n"
	    "admin_group = wheel\n"
	    "timezone = America/Argentina/Buenos_Aires\n"
	    "max_running = 100000\n"
	    "shell = /bin/bash\n"
	    "path = /opt/bin:/usr/bin\n"
	    "crontab = /srv/crontab\n"
	    "crontab_dir = /srv/cron.d\n"
	    "user_crontab_dir = /srv/spool\n"
	    "timeout = 1h30m\n"
	    "memory = 512M\n"
	    "kill_grace = 5s\n"
	    "output_max = 1G\n"
	    "retries = 3\n"
	    "backoff = 250ms\n"
	    "catchup = latest\n"
	    "keep_runs = 0\n"
	    "keep_days = 30d\n"
	    "notify = https://hooks.example/x#frag, http://10.0.0.1:8080/y\n"
	    "notify_on = run.started,run.succeeded , job.stale\n"
	    "notify_format = slack\n"
	    "mailto = ops@example.com\n"
	    "cgroup = off\n"
	    "memory_poll = 10s\n"
	    "durability = full\n"
	    "shutdown_timeout = 2m\n"
	    "metrics_listen = [::1]:9256\n"
	    "metrics_textfile = /srv/metrics/sqcron.prom\n"
	    "notify_timeout = 3s\n"
	    "notify_retries = 0\n"
	    "log = stderr\n"
	    "log_level = warning\n"
	    "log_format = json\n", "every key");
	if (cf == NULL)
		BAIL_OUT("cannot go on without the every-key file");

	ok(strcmp(cf->db, "/srv/sqcron/db.sqlite") == 0 &&
	    strcmp(cf->socket, "/srv/sqcron/sock") == 0, "db, socket");
	is_int(cf->socket_mode, 0600, "socket_mode");
	ok(strcmp(cf->socket_group, "cron") == 0 &&
	    strcmp(cf->admin_group, "wheel") == 0, "socket_group, admin_group");
	is(cf->timezone, "America/Argentina/Buenos_Aires", "timezone");
	is_int(cf->max_running, 100000, "max_running at its maximum");
	ok(strcmp(cf->shell, "/bin/bash") == 0 &&
	    strcmp(cf->path, "/opt/bin:/usr/bin") == 0, "shell, path");
	ok(strcmp(cf->crontab, "/srv/crontab") == 0 &&
	    strcmp(cf->crontab_dir, "/srv/cron.d") == 0 &&
	    strcmp(cf->user_crontab_dir, "/srv/spool") == 0, "crontab paths");
	is_int(cf->timeout_ms, 5400000, "timeout");
	is_int((int64_t)cf->memory, 512LL << 20, "memory");
	is_int(cf->kill_grace_ms, 5000, "kill_grace");
	is_int((int64_t)cf->output_max, 1LL << 30, "output_max at its maximum");
	ok(cf->retries == 3 && cf->backoff_ms == 250, "retries, backoff");
	is_int(cf->catchup, CONFIG_CATCHUP_LATEST, "catchup");
	ok(cf->keep_runs == 0 && cf->keep_days_ms == 30 * 86400000LL,
	    "keep_runs, keep_days");
	if (ok(cf->nnotify == 2, "notify: two URLs")) {
		is(cf->notify[0], "https://hooks.example/x#frag",
		    "notify: '#' inside a value is data");
		is(cf->notify[1], "http://10.0.0.1:8080/y", "notify: trimmed");
	}
	is_int(cf->notify_on, CONFIG_EVENT_RUN_STARTED |
	    CONFIG_EVENT_RUN_SUCCEEDED | CONFIG_EVENT_JOB_STALE, "notify_on");
	is_int(cf->notify_format, CONFIG_NOTIFY_SLACK, "notify_format");
	is(cf->mailto, "ops@example.com", "mailto");
	ok(cf->cgroup == CONFIG_CGROUP_OFF && cf->memory_poll_ms == 10000,
	    "cgroup, memory_poll");
	ok(cf->durability == CONFIG_DURABILITY_FULL &&
	    cf->shutdown_timeout_ms == 120000, "durability, shutdown_timeout");
	ok(strcmp(cf->metrics_listen, "[::1]:9256") == 0 &&
	    strcmp(cf->metrics_host, "::1") == 0 && cf->metrics_port == 9256,
	    "metrics_listen [IPv6]:port");
	is(cf->metrics_textfile, "/srv/metrics/sqcron.prom",
	    "metrics_textfile");
	ok(cf->notify_timeout_ms == 3000 && cf->notify_retries == 0,
	    "notify_timeout, notify_retries");
	ok(cf->log == CONFIG_LOG_STDERR && cf->log_level == LOG_LEVEL_WARN &&
	    cf->log_json == 1, "log, log_level (warning), log_format");
	config_free(cf);

	cf = good("metrics_listen = localhost:9100\n"
	    "notify_on = none\ntimeout = none\nmemory = 0\nkeep_days = none\n",
	    "none and localhost");
	if (cf != NULL) {
		ok(strcmp(cf->metrics_host, "localhost") == 0 &&
		    cf->metrics_port == 9100, "metrics_listen localhost:port");
		ok(cf->notify_on == 0 && cf->timeout_ms == 0 &&
		    cf->memory == 0 && cf->keep_days_ms == 0,
		    "none and 0 mean no limit");
	}
	config_free(cf);
}

static void
test_bad_values(void)
{
	bad("max_running = 0\n", "1: max_running: 0 is out of range 1-100000",
	    "integer below range");
	bad("\n# x\n\nmax_running = 100001\n",
	    "4: max_running: 100001 is out of range 1-100000",
	    "integer above range, line number counts comments and blanks");
	bad("max_running = 99999999999999999999999\n",
	    "1: max_running: 99999999999999999999999 is out of range 1-100000",
	    "integer overflow");
	bad("retries = ten\n", "1: retries: \"ten\" is not a number",
	    "not a number");
	bad("keep_runs = 5x\n", "1: keep_runs: \"5x\" is not a number",
	    "number with trailing text");
	bad("keep_runs = -1\n", "1: keep_runs: -1 is out of range 0-100000000",
	    "negative keep_runs");
	bad("socket_mode = 0999\n",
	    "1: socket_mode: \"0999\" is not an octal mode 0000-0777",
	    "socket_mode not octal");
	bad("socket_mode = 1777\n",
	    "1: socket_mode: \"1777\" is not an octal mode 0000-0777",
	    "socket_mode above 0777");
	bad("socket_group = \"ad min\"\n",
	    "1: socket_group: \"ad min\" is not a valid group name",
	    "group name with a space");
	bad("timezone = ../../etc/passwd\n",
	    "1: timezone: \"../../etc/passwd\" is not a valid time zone name",
	    "time zone with ..");
	bad("timezone = /etc/localtime\n",
	    "1: timezone: \"/etc/localtime\" is not a valid time zone name",
	    "time zone with a leading /");
	bad("shell = bash\n", "1: shell: \"bash\" is not an absolute path",
	    "relative shell");
	bad("sendmail = sbin/sendmail\n", "1: sendmail: \"sbin/sendmail\" is "
	    "not an absolute path", "relative sendmail");
	bad("db =\n", "1: db: value is empty", "empty db");
	bad_prefix("timeout = 10x\n", "1: timeout: \"10x\" is not a duration (",
	    "bad duration");
	bad_prefix("memory = lots\n", "1: memory: \"lots\" is not a size (",
	    "bad size");
	bad("output_max = 512\n", "1: output_max: 512 is out of range 1K-1G",
	    "output_max below 1K");
	bad("output_max = 2G\n", "1: output_max: 2G is out of range 1K-1G",
	    "output_max above 1G");
	bad("memory_poll = 5ms\n",
	    "1: memory_poll: 5ms is out of range 10ms-10s", "memory_poll too "
	    "short");
	bad("backoff = 0\n", "1: backoff: 0 is less than 1ms", "backoff of 0");
	bad("catchup = sometimes\n",
	    "1: catchup: \"sometimes\" is not one of skip, latest, all",
	    "catchup word");
	bad("log_level = loud\n",
	    "1: log_level: \"loud\" is not one of error, warn, info, debug",
	    "log_level word (aliases not listed)");
	bad("durability = paranoid\n",
	    "1: durability: \"paranoid\" is not one of normal, full",
	    "durability word");
	bad("cgroup = on\n", "1: cgroup: \"on\" is not one of auto, off",
	    "cgroup word");
	bad("log = file\nlog_format = xml\n",
	    "1: log: \"file\" is not one of syslog, stderr",
	    "log word, first error wins");
	bad("notify = ftp://example.com/hook\n",
	    "1: notify: \"ftp://example.com/hook\" is not an http:// or "
	    "https:// URL", "notify scheme");
	bad("notify = http://a.example/,,http://b.example/\n",
	    "1: notify: empty item in \"http://a.example/,,http://b.example/\"",
	    "notify empty item");
	bad("notify_on = run.failed,run.exploded\n",
	    "1: notify_on: \"run.exploded\" is not one of run.failed, run.dead, "
	    "job.recovered, job.stale, job.paused, run.started, run.succeeded",
	    "notify_on unknown event");
	bad("notify_format = teams\n",
	    "1: notify_format: \"teams\" is not one of json, slack",
	    "notify_format word");
	bad("metrics_listen = 9256\n",
	    "1: metrics_listen: \"9256\" is not HOST:PORT",
	    "metrics_listen without host");
	bad("metrics_listen = example.com:80\n",
	    "1: metrics_listen: \"example.com\" is not an IPv4 address, "
	    "[IPv6 address] or localhost", "metrics_listen host name");
	bad("metrics_listen = 127.0.0.1:0\n",
	    "1: metrics_listen: port 0 is out of range 1-65535",
	    "metrics_listen port 0");
	bad("metrics_listen = [::g]:80\n",
	    "1: metrics_listen: \"::g\" is not an IPv6 address",
	    "metrics_listen bad IPv6");
	bad("socket = /run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n",
	    "1: socket: \"/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock"
	    "\" is longer than 107 bytes", "socket path too long for sun_path");
}

static void
test_syntax(void)
{
	struct config	*cf;
	char		*path, *cause, *expect, *text;
	size_t		 len;

	bad("max_running = 4\nmax_runing = 5\n",
	    "2: unknown key \"max_runing\"", "unknown key");
	bad("db = /a\n\n# again\ndb = /b\n",
	    "4: duplicate key \"db\" (first set on line 1)", "duplicate key");
	bad("shell\n", "1: expected \"key = value\"", "no '='");
	bad("  = /bin/sh\n", "1: expected \"key = value\"", "no key");
	bad("mailto = \"open\n", "1: unterminated quoted value",
	    "unterminated quote");
	bad("mailto = \"a\\nb\"\n",
	    "1: invalid escape in quoted value (only \\\" and \\\\)",
	    "unknown escape");
	bad("mailto = \"a\" b\n", "1: unexpected text after quoted value",
	    "text after the closing quote");
	bad("mailto = a\x01" "b\n", "1: line contains control character 0x01",
	    "control character");

	len = CONFIG_LINE_MAX + 100;
	text = xmalloc(len + 1);
	memcpy(text, "path = ", 7);
	memset(text + 7, 'p', len - 8);
	text[len - 1] = '\n';
	text[len] = '\0';
	bad(text, "1: line is longer than 4096 bytes", "line too long");
	/* Exactly CONFIG_LINE_MAX bytes, then CRLF: fine. */
	len = CONFIG_LINE_MAX;
	memcpy(text, "path = ", 7);
	memset(text + 7, 'p', len - 7);
	memcpy(text + len, "\r\n", 3);
	cf = good(text, "a line of exactly 4096 bytes");
	if (cf != NULL)
		is_int((int64_t)strlen(cf->path), CONFIG_LINE_MAX - 7,
		    "a line of exactly 4096 bytes loads");
	config_free(cf);
	free(text);

	path = write_in(NULL, "mailto = a\0b\n", 13);
	cf = config_load(path, &cause);
	xasprintf(&expect, "%s:1: line contains a NUL byte", path);
	is(cause, expect, "NUL byte");
	config_free(cf);
	free(cause);
	free(expect);

	xasprintf(&path, "%s/does-not-exist.conf", tmpdir);
	cf = config_load(path, &cause);
	xasprintf(&expect, "%s: %s", path, strerror(ENOENT));
	ok(cf == NULL, "missing file: NULL");
	is(cause, expect, "missing file: PATH: strerror");
	free(cause);
	free(expect);
	free(path);

	cf = config_load(tmpdir, &cause);
	xasprintf(&expect, "%s: %s", tmpdir, strerror(EISDIR));
	is(cause, expect, "a directory: PATH: strerror");
	config_free(cf);
	free(cause);
	free(expect);
}

static void
test_quoting_and_comments(void)
{
	struct config	*cf;

	cf = good(
	    "# a comment\n"
	    "   # an indented comment\n"
	    "\t\n"
	    "\n"
	    "mailto = \"  spaced out  \"\n"
	    "path = \"a \\\"q\\\" \\\\ b\"\n"
	    "\tmax_running\t=\t7   \n"
	    "shell=/bin/ksh\n"
	    "socket_group = \"\"\n"
	    "timezone = UTC\n"
	    "crontab_dir = /etc/cron.d # not a comment\n",
	    "quoting and comments");
	if (cf == NULL) {
		skip(6, "file did not load");
		return;
	}
	is(cf->mailto, "  spaced out  ", "quotes keep surrounding spaces");
	is(cf->path, "a \"q\" \\ b", "\\\" and \\\\ escapes");
	is_int(cf->max_running, 7, "tabs and trailing blanks trimmed");
	is(cf->shell, "/bin/ksh", "no blanks around '='");
	ok(cf->socket_group == NULL, "\"\" means none");
	is(cf->crontab_dir, "/etc/cron.d # not a comment",
	    "'#' after a value is part of it");
	config_free(cf);
}

static void
test_crlf_and_bom(void)
{
	struct config	*cf;

	cf = good("\xef\xbb\xbf# with a BOM\r\nmax_running = 9\r\n"
	    "mailto = root\r\n\r\ncrontab = \r\n", "CRLF line endings");
	if (cf == NULL) {
		skip(3, "file did not load");
		return;
	}
	is_int(cf->max_running, 9, "CRLF: number read");
	is(cf->mailto, "root", "CRLF: no \\r left in values");
	is(cf->crontab, "", "CRLF: empty value");
	config_free(cf);
}

static void
test_disable(void)
{
	struct config	*cf;

	cf = good("crontab =\ncrontab_dir = \"\"\nuser_crontab_dir =   \n"
	    "metrics_textfile = off\nmetrics_listen =\nsendmail =\n",
	    "empty values disable");
	if (cf == NULL) {
		skip(3, "file did not load");
		return;
	}
	ok(strcmp(cf->crontab, "") == 0 && strcmp(cf->crontab_dir, "") == 0 &&
	    strcmp(cf->user_crontab_dir, "") == 0,
	    "empty crontab paths are stored as \"\"");
	is(cf->sendmail, "", "an empty sendmail is stored as \"\" (no mail)");
	ok(cf->metrics_textfile == NULL && cf->metrics_listen == NULL,
	    "metrics off");
	config_free(cf);
}

static void
test_relative(void)
{
	struct config	*cf;
	char		 cwd[PATH_MAX], here[PATH_MAX];
	char		*dir, *path, *cause = NULL, *want, *base;
	const char	*text;

	xasprintf(&dir, "%s/sqcron-004-dXXXXXX", tmpdir);
	if (mkdtemp(dir) == NULL)
		BAIL_OUT("mkdtemp: %s", strerror(errno));

	text = "db = var/sqcron.db\nsocket = ./run/s.sock\n"
	    "metrics_textfile = m.prom\ncrontab_dir = cron.d\n"
	    "crontab = /etc/crontab\nshell = /bin/sh\n";
	path = write_in(dir, text, strlen(text));
	cf = config_load(path, &cause);
	if (cf == NULL) {
		diag("%s", cause);
		free(cause);
		skip(6, "file did not load");
		goto out;
	}
	xasprintf(&want, "%s/var/sqcron.db", dir);
	is(cf->db, want, "relative db resolved against the file's directory");
	free(want);
	xasprintf(&want, "%s/run/s.sock", dir);
	is(cf->socket, want, "relative socket, ./ dropped");
	free(want);
	xasprintf(&want, "%s/m.prom", dir);
	is(cf->metrics_textfile, want, "relative metrics_textfile");
	free(want);
	xasprintf(&want, "%s/cron.d", dir);
	is(cf->crontab_dir, want, "relative crontab_dir");
	free(want);
	is(cf->crontab, "/etc/crontab", "absolute paths unchanged");
	config_free(cf);

	/* A relative config path: against the working directory. */
	if (getcwd(here, sizeof here) == NULL || chdir(dir) != 0 ||
	    getcwd(cwd, sizeof cwd) == NULL)
		BAIL_OUT("chdir %s: %s", dir, strerror(errno));
	base = strrchr(path, '/') + 1;
	cf = config_load(base, &cause);
	if (chdir(here) != 0)
		BAIL_OUT("chdir %s: %s", here, strerror(errno));
	xasprintf(&want, "%s/var/sqcron.db", cwd);
	is(cf != NULL ? cf->db : cause, want, "relative config file path");
	free(want);
	free(cause);
	config_free(cf);

out:
	unlink(path);
	rmdir(dir);
	free(dir);
}

static void
test_dump(void)
{
	struct config	*cf, *again;
	char		*text, *text2, *path, *cause = NULL;

	cf = config_default();
	text = dump(cf);
	ok(strstr(text, "\ntimeout = none\n") != NULL &&
	    strstr(text, "\nkeep_days = 90d\n") != NULL &&
	    strstr(text, "\noutput_max = 256K\n") != NULL &&
	    strstr(text, "socket_mode = 0660\n") != NULL &&
	    strstr(text, "\nmemory_poll = 100ms\n") != NULL,
	    "dump formats durations, sizes and modes");
	ok(strstr(text, "\nnotify_on = run.failed,run.dead,job.recovered,"
	    "job.stale,job.paused\n") != NULL &&
	    strstr(text, "\nmetrics_listen = off\n") != NULL &&
	    strstr(text, "\nsocket_group =\n") != NULL,
	    "dump formats lists and empty values");
	ok(strstr(text, "\nnotify_format = json\n") != NULL,
	    "dump has notify_format");
	free(text);
	config_free(cf);
	is_int(config_event_bit("job.stale"), CONFIG_EVENT_JOB_STALE,
	    "config_event_bit names a bit");
	is_int(config_event_bit("none"), 0, "and no bit for anything else");
	is(config_event_name(CONFIG_EVENT_RUN_DEAD), "run.dead",
	    "config_event_name");

	cf = good("mailto = \" x \\\\ \\\" \"\nnotify = http://a/,http://b/\n"
	    "notify_on = run.dead\ncrontab =\nmetrics_listen = 0.0.0.0:9\n"
	    "timeout = 1d2h3m4s5ms\nmemory = 3T\nlog_level = debug\n",
	    "round trip source");
	if (cf == NULL) {
		skip(1, "file did not load");
		return;
	}
	text = dump(cf);
	path = write_conf(text);
	again = config_load(path, &cause);
	if (again == NULL) {
		ok(0, "dump output loads back");
		diag("%s", cause);
		free(cause);
	} else {
		text2 = dump(again);
		is(text2, text, "dump output loads back to the same config");
		free(text2);
	}
	free(text);
	config_free(again);
	config_free(cf);
}

int
main(void)
{
	const char	*t;
	int		 i;

	if ((t = getenv("TMPDIR")) == NULL || *t == '\0')
		t = "/tmp";
	if (realpath(t, tmpdir) == NULL)
		BAIL_OUT("realpath %s: %s", t, strerror(errno));

	test_defaults();
	test_every_key();
	test_bad_values();
	test_syntax();
	test_quoting_and_comments();
	test_crlf_and_bom();
	test_disable();
	test_relative();
	test_dump();

	config_free(NULL);
	ok(1, "config_free(NULL)");

	for (i = 0; i < ntemps; i++) {
		unlink(temps[i]);
		free(temps[i]);
	}
	return (done_testing());
}

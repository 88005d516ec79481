/*
 * sqcron.c: the command-line client.
 *
 * A table of commands, one function each.  Every command accepts the
 * global options (-s/--socket, --json, --no-color, -h/--help) wherever
 * they appear, prints a table or the protocol result as JSON, and exits
 * with the codes of DESIGN.md section 11.  Offline commands (next, check)
 * need no daemon.  The client uses only the leaf modules (cronexpr,
 * crontab, duration, jobspec, tz, protocol), never daemon internals.
 */

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cronexpr.h"
#include "crontab.h"
#include "duration.h"
#include "jobspec.h"
#include "protocol.h"
#include "tz.h"
#include "xmalloc.h"

#ifndef SQCRON_VERSION
#define SQCRON_VERSION "0"
#endif
#ifndef SQCRON_SOCKET_PATH
#define SQCRON_SOCKET_PATH "/run/sqcron/sqcron.sock"
#endif

#define NEXT_COUNT_MAX	10000

/* Options every command takes. */
struct globals {
	const char	*socket;
	int		 json;
	int		 color;
};

struct command {
	const char	*name;
	int		(*fn)(struct globals *, int, char **);
	const char	*usage;
	const char	*summary;
};

static int	cmd_next(struct globals *, int, char **);
static int	cmd_check(struct globals *, int, char **);
static int	cmd_import(struct globals *, int, char **);
static int	cmd_ping(struct globals *, int, char **);
static int	cmd_jobs(struct globals *, int, char **);
static int	cmd_job(struct globals *, int, char **);
static int	cmd_add(struct globals *, int, char **);
static int	cmd_edit(struct globals *, int, char **);
static int	cmd_rm(struct globals *, int, char **);
static int	cmd_pause(struct globals *, int, char **);
static int	cmd_resume(struct globals *, int, char **);
static int	cmd_run(struct globals *, int, char **);
static int	cmd_runs(struct globals *, int, char **);
static int	cmd_show(struct globals *, int, char **);
static int	cmd_logs(struct globals *, int, char **);
static int	cmd_kill(struct globals *, int, char **);
static int	cmd_status(struct globals *, int, char **);
static int	cmd_failures(struct globals *, int, char **);
static int	cmd_audit(struct globals *, int, char **);
static int	cmd_reload(struct globals *, int, char **);
static int	cmd_metrics(struct globals *, int, char **);
static int	cmd_replay(struct globals *, int, char **);
static int	cmd_ack(struct globals *, int, char **);
static int	cmd_prune(struct globals *, int, char **);
static int	cmd_export(struct globals *, int, char **);
static int	cmd_help(struct globals *, int, char **);
static int	cmd_version(struct globals *, int, char **);

static const struct command commands[] = {
	{ "status", cmd_status, "status",
	    "daemon health, open failures and stale jobs (exit 1 if any)" },
	{ "next", cmd_next,
	    "next [--tz ZONE] [--after TIME] [-n COUNT] [--json] EXPR",
	    "print the next fire times of a schedule (offline)" },
	{ "jobs", cmd_jobs, "jobs",
	    "list jobs: schedule, next fire, last run, last success" },
	{ "job", cmd_job, "job show NAME", "show one job in full" },
	{ "add", cmd_add, "add NAME --schedule S --command C [OPTIONS]",
	    "add a job (sqcron add --help lists every option)" },
	{ "edit", cmd_edit, "edit NAME [OPTIONS] [--unset-env NAME]",
	    "change a job's options" },
	{ "rm", cmd_rm, "rm NAME", "remove a job (its history stays)" },
	{ "pause", cmd_pause, "pause NAME [--until TIME]",
	    "stop scheduling a job" },
	{ "resume", cmd_resume, "resume NAME", "schedule a paused job again" },
	{ "run", cmd_run, "run NAME [--wait]",
	    "run a job now; --wait exits with its outcome" },
	{ "runs", cmd_runs, "runs [--job NAME] [--state S,...] [--since T] "
	    "[--until T] [--open] [--limit N]", "list runs, newest first" },
	{ "show", cmd_show, "show RUN", "show one run in full" },
	{ "logs", cmd_logs, "logs [-f] RUN",
	    "print a run's output; -f follows it live to its end" },
	{ "kill", cmd_kill, "kill RUN", "stop a queued or running run" },
	{ "audit", cmd_audit, "audit [--since T] [--limit N]",
	    "who changed what, newest first" },
	{ "failures", cmd_failures, "failures [--since T]",
	    "open failures grouped by job, state, exit status or signal" },
	{ "replay", cmd_replay, "replay RUN... | --job NAME [--since T] "
	    "[--until T] [--state S,...] [--dry-run] [--key K] "
	    "[--max-parallel N] [--force] [--wait] | --status BATCH",
	    "run failed fires again, once each" },
	{ "ack", cmd_ack, "ack RUN...", "resolve failures without running "
	    "anything" },
	{ "export", cmd_export, "export [--job NAME] [--since T] [--until T] "
	    "[--state S,...]", "runs and their output as NDJSON, for a backup "
	    "before prune" },
	{ "prune", cmd_prune, "prune [--dry-run]",
	    "delete the runs that keep_runs and keep_days let go" },
	{ "reload", cmd_reload, "reload",
	    "read sqcrond.conf again (as SIGHUP); a bad file changes nothing" },
	{ "metrics", cmd_metrics, "metrics",
	    "print the Prometheus metrics (text exposition format)" },
	{ "ping", cmd_ping, "ping", "check that sqcrond answers" },
	{ "check", cmd_check, "check [--user USER | --system] FILE...",
	    "validate crontab files (offline)" },
	{ "import", cmd_import, "import [--user USER | --system] [--apply] "
	    "FILE...", "turn crontab lines into API jobs (a dry run without "
	    "--apply)" },
	{ "help", cmd_help, "help [COMMAND]", "show help" },
	{ "version", cmd_version, "version", "print the version" },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* Long options shared by all commands; values 256+ are global. */
enum {
	OPT_SOCKET = 256,
	OPT_JSON,
	OPT_NO_COLOR,
	OPT_HELP,
	OPT_TZ,
	OPT_AFTER,
};
#define GLOBAL_LONGOPTS						\
	{ "socket", required_argument, NULL, 's' },		\
	{ "json", no_argument, NULL, OPT_JSON },		\
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },	\
	{ "help", no_argument, NULL, 'h' }
#define GLOBAL_SHORTOPTS "s:h"

static const struct command *
command_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void
usage_main(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: sqcron [-s SOCKET] [--json] [--no-color] COMMAND "
	    "[ARGS]\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name,
		    commands[i].summary);
	fprintf(f, "\nsqcron COMMAND --help shows a command's options; "
	    "see sqcron(1).\n");
}

static void
usage_command(const struct command *c, FILE *f)
{
	fprintf(f, "usage: sqcron %s\n", c->usage);
}

/* A usage error: the reason, the command's usage, exit 2. */
static int
usage_error(const struct command *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int
usage_error(const struct command *c, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "sqcron %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage_command(c, stderr);
	return EXIT_USAGE;
}

/*
 * Handle an option every command shares.  Returns 1 when handled, 0 when
 * the option is the command's own, -1 on --help (caller exits 0).
 */
static int
global_option(struct globals *g, int ch)
{
	switch (ch) {
	case 's':
		g->socket = optarg;
		return 1;
	case OPT_JSON:
		g->json = 1;
		return 1;
	case OPT_NO_COLOR:
		g->color = 0;
		return 1;
	case 'h':
		return -1;
	}
	return 0;
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Join argv words with single spaces (a schedule given unquoted). */
static char *
join_args(int argc, char **argv)
{
	size_t	len = 1;
	char	*s;
	int	 i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = xmalloc(len);
	*s = '\0';
	for (i = 0; i < argc; i++) {
		if (i > 0)
			strncat(s, " ", len - strlen(s) - 1);
		strncat(s, argv[i], len - strlen(s) - 1);
	}
	return s;
}

/*
 * Talking to sqcrond: one connection per command, one request line, then
 * event lines (streaming methods) until the result or error line.
 */
struct client {
	int	 fd;
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

/* Exit code for a protocol error code (DESIGN.md section 11). */
static int
client_exit_code(const char *code)
{
	if (strcmp(code, ERR_NOT_FOUND) == 0)
		return EXIT_NOT_FOUND;
	if (strcmp(code, ERR_PERMISSION_DENIED) == 0)
		return EXIT_DENIED;
	if (strcmp(code, ERR_UNAVAILABLE) == 0)
		return EXIT_UNREACHABLE;
	if (strcmp(code, ERR_INVALID_ARGUMENT) == 0 ||
	    strcmp(code, ERR_INVALID_REQUEST) == 0 ||
	    strcmp(code, ERR_UNKNOWN_METHOD) == 0 ||
	    strcmp(code, ERR_TOO_LARGE) == 0)
		return EXIT_USAGE;
	return EXIT_FAILED;
}

static void
client_connect(struct globals *g, struct client *cl)
{
	struct sockaddr_un	sun;

	memset(cl, 0, sizeof *cl);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(g->socket) >= sizeof sun.sun_path)
		errx(EXIT_UNREACHABLE, "socket path too long: %s", g->socket);
	memcpy(sun.sun_path, g->socket, strlen(g->socket));
	if ((cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(EXIT_UNREACHABLE, "socket");
	if (connect(cl->fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		err(EXIT_UNREACHABLE, "cannot reach sqcrond at %s", g->socket);
}

/* The next line from the daemon, parsed; exits 3 if it goes away. */
static json_t *
client_read(struct client *cl)
{
	json_error_t	 jerr;
	json_t		*msg;
	char		*nl;
	ssize_t		 n;
	size_t		 linelen;

	for (;;) {
		if (cl->len > 0 &&
		    (nl = memchr(cl->buf, '\n', cl->len)) != NULL) {
			linelen = (size_t)(nl - cl->buf);
			msg = json_loadb(cl->buf, linelen, JSON_ALLOW_NUL, &jerr);
			memmove(cl->buf, nl + 1, cl->len - linelen - 1);
			cl->len -= linelen + 1;
			if (msg == NULL)
				errx(EXIT_FAILED, "bad reply from sqcrond: %s",
				    jerr.text);
			return msg;
		}
		if (cl->cap - cl->len < 65536) {
			cl->cap = cl->cap == 0 ? 65536 : cl->cap * 2;
			cl->buf = xreallocarray(cl->buf, cl->cap, 1);
		}
		n = read(cl->fd, cl->buf + cl->len, cl->cap - cl->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			errx(EXIT_UNREACHABLE, "sqcrond closed the connection");
		cl->len += (size_t)n;
	}
}

/*
 * Call a method.  Returns EXIT_OK with *result set (caller decrefs), or
 * prints the daemon's error and returns its exit code.  Events of
 * streaming methods go to on_event when given.
 */
static int
client_call(struct globals *g, const char *method, json_t *params,
    json_t **result, void (*on_event)(json_t *, void *), void *arg)
{
	struct client	 cl;
	json_t		*req, *msg, *e;
	const char	*code, *message;
	char		*text;
	size_t		 len, off;
	ssize_t		 w;
	int		 ret;

	*result = NULL;
	client_connect(g, &cl);
	req = json_pack("{s:i,s:s,s:o}", "id", 1, "method", method, "params",
	    params != NULL ? params : json_object());
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL)
		errx(EXIT_FAILED, "cannot encode the request");
	len = strlen(text);
	text[len++] = '\n';	/* json_dumps left room: replace the NUL */
	for (off = 0; off < len; off += (size_t)w) {
		w = send(cl.fd, text + off, len - off, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR) {
			w = 0;
			continue;
		}
		/*
		 * A daemon that refuses us (too many connections) answers
		 * and closes at once: read why rather than die of EPIPE.
		 */
		if (w <= 0) {
			if (w == -1 && errno != EPIPE && errno != ECONNRESET)
				err(EXIT_UNREACHABLE, "write to sqcrond");
			break;
		}
	}
	free(text);
	for (;;) {
		msg = client_read(&cl);
		if ((e = json_object_get(msg, "event")) != NULL) {
			if (on_event != NULL)
				on_event(e, arg);
			json_decref(msg);
			continue;
		}
		if ((e = json_object_get(msg, "result")) != NULL) {
			*result = json_incref(e);
			ret = EXIT_OK;
		} else if ((e = json_object_get(msg, "error")) != NULL) {
			code = json_string_value(json_object_get(e, "code"));
			message = json_string_value(json_object_get(e,
			    "message"));
			if (code == NULL)
				code = ERR_INTERNAL;
			fprintf(stderr, "sqcron: %s\n", message != NULL ?
			    message : code);
			ret = client_exit_code(code);
		} else
			errx(EXIT_FAILED, "bad reply from sqcrond");
		json_decref(msg);
		break;
	}
	close(cl.fd);
	free(cl.buf);
	return ret;
}

/* Print a result as one line of JSON (--json). */
static int
print_json(json_t *result)
{
	if (json_dumpf(result, stdout, JSON_COMPACT) == -1)
		errx(EXIT_FAILED, "cannot write JSON");
	putchar('\n');
	if (fflush(stdout) == EOF)
		err(EXIT_FAILED, "stdout");
	return EXIT_OK;
}

/*
 * Parse a command's options when it has only the global ones.  Returns
 * -1 to go on, or the exit code to return.
 */
static int
parse_plain(struct globals *g, const struct command *c, int argc,
    char **argv)
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int	ch, r;

	while ((ch = getopt_long(argc, argv, GLOBAL_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if ((r = global_option(g, ch)) == 1)
			continue;
		if (r == -1) {
			usage_command(c, stdout);
			return EXIT_OK;
		}
		usage_command(c, stderr);
		return EXIT_USAGE;
	}
	return -1;
}

static int
cmd_ping(struct globals *g, int argc, char **argv)
{
	const struct command	*c = command_find("ping");
	json_t			*res;
	char			 up[DURATION_BUFLEN];
	int			 ret;

	if ((ret = parse_plain(g, c, argc, argv)) != -1)
		return ret;
	if (optind != argc)
		return usage_error(c, "unexpected argument \"%s\"",
		    argv[optind]);
	if ((ret = client_call(g, "ping", NULL, &res, NULL, NULL)) != EXIT_OK)
		return ret;
	if (g->json)
		ret = print_json(res);
	else {
		/* Whole seconds read better than "3m12s450ms". */
		duration_format(json_integer_value(json_object_get(res,
		    "uptime_ms")) / 1000 * 1000, up, sizeof up);
		printf("sqcrond %s is up: pid %lld, up %s, protocol %lld, "
		    "time zone %s\n",
		    json_string_value(json_object_get(res, "version")),
		    (long long)json_integer_value(json_object_get(res, "pid")),
		    up,
		    (long long)json_integer_value(json_object_get(res,
		    "protocol")),
		    json_string_value(json_object_get(res, "timezone")));
	}
	json_decref(res);
	return ret;
}

/* Milliseconds of an RFC 3339 string in a result, or -1 for null. */
static int64_t
json_time(json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));
	const char	*errstr;
	int64_t		 ms;

	if (s == NULL || tz_parse_time(s, 0, &ms, &errstr) != 0)
		return -1;
	return ms;
}

/* "3m ago", "in 4h", "now", or "-" for none. */
static void
fmt_relative(int64_t at, int64_t now, char *buf, size_t len)
{
	int64_t		 d = at > now ? at - now : now - at;
	const char	*unit = "s";

	if (at < 0) {
		snprintf(buf, len, "-");
		return;
	}
	d /= 1000;
	if (d < 1) {
		snprintf(buf, len, "now");
		return;
	}
	if (d >= 86400 * 2) {
		d /= 86400;
		unit = "d";
	} else if (d >= 3600) {
		d /= 3600;
		unit = "h";
	} else if (d >= 60) {
		d /= 60;
		unit = "m";
	}
	snprintf(buf, len, at > now ? "in %lld%s" : "%lld%s ago",
	    (long long)d, unit);
}

/* Local wall time of an instant: "2026-11-24 09:00:00". */
static void
fmt_local(int64_t at, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t = (time_t)(at / 1000);

	if (at < 0 || localtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static int
terminal_width(void)
{
	struct winsize	ws;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col > 40)
		return ws.ws_col;
	return 120;
}

/* One positional NAME and only global options. */
static int
parse_name(struct globals *g, const struct command *c, int argc, char **argv,
    const char **name)
{
	int	ret;

	if ((ret = parse_plain(g, c, argc, argv)) != -1)
		return ret;
	if (optind >= argc)
		return usage_error(c, "missing job name");
	if (optind + 1 < argc)
		return usage_error(c, "unexpected argument \"%s\"",
		    argv[optind + 1]);
	*name = argv[optind];
	return -1;
}

static int
cmd_jobs(struct globals *g, int argc, char **argv)
{
	const struct command	*c = command_find("jobs");
	json_t			*res, *job, *last;
	size_t			 i;
	int64_t			 now = now_ms();
	char			 next[32], lastat[32], succ[32], state[24];
	int			 ret, w, namew = 4, schedw = 8;
	const char		*name, *sched;

	if ((ret = parse_plain(g, c, argc, argv)) != -1)
		return ret;
	if (optind != argc)
		return usage_error(c, "unexpected argument \"%s\"",
		    argv[optind]);
	if ((ret = client_call(g, "job.list", NULL, &res, NULL, NULL)) !=
	    EXIT_OK)
		return ret;
	if (g->json) {
		ret = print_json(res);
		json_decref(res);
		return ret;
	}
	json_array_foreach(json_object_get(res, "jobs"), i, job) {
		name = json_string_value(json_object_get(job, "name"));
		sched = json_string_value(json_object_get(job, "schedule"));
		if (name != NULL && (int)strlen(name) > namew)
			namew = (int)strlen(name);
		if (sched != NULL && (int)strlen(sched) > schedw)
			schedw = (int)strlen(sched);
	}
	/* Fit the terminal: the time columns take 60, names and schedules share the rest. */
	w = terminal_width() - 62;
	if (namew + schedw > w) {
		if (namew > w / 2)
			namew = w / 2 > 8 ? w / 2 : 8;
		schedw = w - namew > 8 ? w - namew : 8;
	}
	printf("%-*s  %-*s  %-10s  %-12s  %-12s  %s\n", namew, "NAME", schedw,
	    "SCHEDULE", "NEXT", "LAST", "STATE", "LAST SUCCESS");
	json_array_foreach(json_object_get(res, "jobs"), i, job) {
		last = json_object_get(job, "last_run");
		fmt_relative(json_time(job, "next_at"), now, next, sizeof next);
		if (json_is_true(json_object_get(job, "paused")))
			snprintf(next, sizeof next, "paused");
		fmt_relative(json_is_object(last) ? json_time(last,
		    "scheduled_at") : -1, now, lastat, sizeof lastat);
		snprintf(state, sizeof state, "%s", json_is_object(last) ?
		    json_string_value(json_object_get(last, "state")) : "-");
		fmt_relative(json_time(job, "last_success_at"), now, succ,
		    sizeof succ);
		/* A stale job (DESIGN.md section 10) is marked so. */
		printf("%-*.*s  %-*.*s  %-10s  %-12s  %-12s  %s%s\n", namew,
		    namew, json_string_value(json_object_get(job, "name")),
		    schedw, schedw,
		    json_string_value(json_object_get(job, "schedule")), next,
		    lastat, state, succ, json_is_true(json_object_get(job,
		    "stale")) ? "  STALE" : "");
	}
	json_decref(res);
	return EXIT_OK;
}

/* Print one object's fields as "key: value" lines, in order. */
static void
print_fields(json_t *o, int indent)
{
	const char	*key;
	json_t		*v;
	char		*text;

	json_object_foreach(o, key, v) {
		if (json_is_null(v))
			continue;
		if (json_is_object(v) && json_object_size(v) > 0) {
			printf("%*s%s:\n", indent, "", key);
			print_fields(v, indent + 2);
			continue;
		}
		if (json_is_string(v))
			printf("%*s%-20s %s\n", indent, "", key,
			    json_string_value(v));
		else {
			text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			printf("%*s%-20s %s\n", indent, "", key,
			    text != NULL ? text : "?");
			free(text);
		}
	}
}

/* Call a method and show result[key] field by field (or the JSON). */
static int
call_and_show(struct globals *g, const char *method, json_t *params,
    const char *key)
{
	json_t	*res;
	int	 ret;

	if ((ret = client_call(g, method, params, &res, NULL, NULL)) != EXIT_OK)
		return ret;
	if (g->json)
		ret = print_json(res);
	else
		print_fields(json_object_get(res, key), 0);
	json_decref(res);
	return ret;
}

static int
cmd_job(struct globals *g, int argc, char **argv)
{
	const struct command	*c = command_find("job");
	const char		*name;
	int			 ret;

	/* "job show NAME": skip the verb. */
	if (argc < 2 || (strcmp(argv[1], "show") != 0 &&
	    strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "-h") != 0))
		return usage_error(c, "expected \"job show NAME\"");
	if (strcmp(argv[1], "show") == 0) {
		argc--;
		argv++;
	}
	if ((ret = parse_name(g, c, argc, argv, &name)) != -1)
		return ret;
	return call_and_show(g, "job.get", json_pack("{s:s}", "name", name),
	    "job");
}

/*
 * add and edit: a long option for every job option (--kill-grace for
 * kill_grace), built from jobspec's table, plus --env (repeatable) and,
 * for edit, --unset-env.
 */
#define OPT_JOBSPEC	1000
#define OPT_ENV		900
#define OPT_UNSET_ENV	901

static struct option *
job_longopts(int edit, char ***names)
{
	static const struct option globals[] = { GLOBAL_LONGOPTS };
	struct option	*o;
	const char	*key;
	size_t		 n = 0, i, k = 0;
	char		*p;

	while (jobspec_key(n, NULL) != NULL)
		n++;
	o = xcalloc(n + 8, sizeof *o);
	*names = xcalloc(n + 1, sizeof **names);
	for (i = 0; (key = jobspec_key(i, NULL)) != NULL; i++) {
		if (strcmp(key, "env") == 0 || strcmp(key, "name") == 0)
			continue;
		(*names)[i] = xstrdup(key);
		for (p = (*names)[i]; *p != '\0'; p++)
			if (*p == '_')
				*p = '-';
		o[k].name = (*names)[i];
		o[k].has_arg = required_argument;
		o[k].val = OPT_JOBSPEC + (int)i;
		k++;
	}
	o[k++] = (struct option){ "env", required_argument, NULL, OPT_ENV };
	if (edit)
		o[k++] = (struct option){ "unset-env", required_argument, NULL,
		    OPT_UNSET_ENV };
	for (i = 0; i < sizeof globals / sizeof globals[0]; i++)
		o[k++] = globals[i];
	return o;
}

static void
job_longopts_free(struct option *o, char **names)
{
	size_t	i;

	for (i = 0; jobspec_key(i, NULL) != NULL; i++)
		free(names[i]);
	free(names);
	free(o);
}

static void
usage_job_options(const struct command *c, FILE *f, int edit)
{
	const char	*key;
	size_t		 i;
	int		 col = 2;
	char		 flag[64], *p;

	usage_command(c, f);
	fprintf(f, "options (see sqcron(1); values as in \"10m\", \"256M\"; "
	    "an empty value unsets one on edit):\n ");
	for (i = 0; (key = jobspec_key(i, NULL)) != NULL; i++) {
		if (strcmp(key, "name") == 0)
			continue;
		snprintf(flag, sizeof flag, " --%s", key);
		for (p = flag; *p != '\0'; p++)
			if (*p == '_')
				*p = '-';
		if (strcmp(key, "env") == 0)
			snprintf(flag, sizeof flag, " --env NAME=VALUE");
		if (col + (int)strlen(flag) > 78) {
			fprintf(f, "\n ");
			col = 2;
		}
		fputs(flag, f);
		col += (int)strlen(flag);
	}
	if (edit)
		fprintf(f, " --unset-env NAME");
}

static int
job_change(struct globals *g, int argc, char **argv, int edit)
{
	const struct command	*c = command_find(edit ? "edit" : "add");
	struct option		*longopts;
	char			**names;
	const char		*key;
	json_t			*params, *env = json_array(), *unset = json_array();
	json_t			*res;
	int			 ch, r, ret = -1;

	longopts = job_longopts(edit, &names);
	params = json_object();
	while (ret == -1 && (ch = getopt_long(argc, argv, GLOBAL_SHORTOPTS,
	    longopts, NULL)) != -1) {
		if ((r = global_option(g, ch)) == 1)
			continue;
		if (r == -1) {
			usage_job_options(c, stdout, edit);
			ret = EXIT_OK;
		} else if (ch == OPT_ENV)
			json_array_append_new(env, json_string(optarg));
		else if (ch == OPT_UNSET_ENV)
			json_array_append_new(unset, json_string(optarg));
		else if (ch >= OPT_JOBSPEC &&
		    (key = jobspec_key((size_t)(ch - OPT_JOBSPEC), NULL)) != NULL)
			json_object_set_new(params, key, json_string(optarg));
		else {
			usage_job_options(c, stderr, edit);
			ret = EXIT_USAGE;
		}
	}
	job_longopts_free(longopts, names);
	if (ret == -1) {
		if (optind >= argc)
			ret = usage_error(c, "missing job name");
		else if (optind + 1 < argc)
			ret = usage_error(c, "unexpected argument \"%s\" (quote "
			    "the schedule and command)", argv[optind + 1]);
		else if (!edit && json_object_get(params, "schedule") == NULL)
			ret = usage_error(c, "--schedule is required");
		else if (!edit && json_object_get(params, "command") == NULL)
			ret = usage_error(c, "--command is required");
		else if (edit && json_object_size(params) == 0 &&
		    json_array_size(env) == 0 && json_array_size(unset) == 0)
			ret = usage_error(c, "nothing to change");
	}
	if (ret != -1) {
		json_decref(params);
		json_decref(env);
		json_decref(unset);
		return ret;
	}
	json_object_set_new(params, "name", json_string(argv[optind]));
	if (json_array_size(env) > 0)
		json_object_set(params, "env", env);
	if (json_array_size(unset) > 0)
		json_object_set(params, "unset_env", unset);
	json_decref(env);
	json_decref(unset);
	if ((ret = client_call(g, edit ? "job.update" : "job.add", params, &res,
	    NULL, NULL)) != EXIT_OK)
		return ret;
	if (g->json)
		ret = print_json(res);
	else {
		json_t	*job = json_object_get(res, "job");
		char	 when[32], rel[32];

		fmt_local(json_time(job, "next_at"), when, sizeof when);
		fmt_relative(json_time(job, "next_at"), now_ms(), rel,
		    sizeof rel);
		printf("%s job %s, version %lld; next run %s (%s)\n",
		    edit ? "changed" : "added",
		    json_string_value(json_object_get(job, "name")),
		    (long long)json_integer_value(json_object_get(job,
		    "version")), when, rel);
	}
	json_decref(res);
	return ret;
}

static int
cmd_add(struct globals *g, int argc, char **argv)
{
	return job_change(g, argc, argv, 0);
}

static int
cmd_edit(struct globals *g, int argc, char **argv)
{
	return job_change(g, argc, argv, 1);
}

/* rm, resume: NAME in, a short confirmation out. */
static int
job_simple(struct globals *g, int argc, char **argv, const char *cmd,
    const char *method, const char *done)
{
	const struct command	*c = command_find(cmd);
	const char		*name;
	json_t			*res;
	int			 ret;

	if ((ret = parse_name(g, c, argc, argv, &name)) != -1)
		return ret;
	if ((ret = client_call(g, method, json_pack("{s:s}", "name", name),
	    &res, NULL, NULL)) != EXIT_OK)
		return ret;
	if (g->json)
		ret = print_json(res);
	else
		printf("%s %s\n", done, name);
	json_decref(res);
	return ret;
}

static int
cmd_rm(struct globals *g, int argc, char **argv)
{
	return job_simple(g, argc, argv, "rm", "job.remove", "removed job");
}

static int
cmd_resume(struct globals *g, int argc, char **argv)
{
	return job_simple(g, argc, argv, "resume", "job.resume",
	    "resumed job");
}

static int
cmd_pause(struct globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "until", required_argument, NULL, OPT_AFTER },
		{ NULL, 0, NULL, 0 }
	};
	const struct command	*c = command_find("pause");
	const char		*until = NULL, *errstr;
	json_t			*params, *res;
	int64_t			 ms;
	char			 buf[TZ_RFC3339_LEN];
	int			 ch, r, ret;

	while ((ch = getopt_long(argc, argv, GLOBAL_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if ((r = global_option(g, ch)) == 1)
			continue;
		if (r == -1) {
			usage_command(c, stdout);
			return EXIT_OK;
		}
		if (ch != OPT_AFTER) {
			usage_command(c, stderr);
			return EXIT_USAGE;
		}
		until = optarg;
	}
	if (optind + 1 != argc)
		return usage_error(c, optind >= argc ? "missing job name" :
		    "too many arguments");
	params = json_pack("{s:s}", "name", argv[optind]);
	if (until != NULL) {
		/* "--until 2h" means two hours from now, not ago. */
		if (tz_parse_time(until, now_ms(), &ms, &errstr) != 0) {
			json_decref(params);
			return usage_error(c, "--until \"%s\": %s", until,
			    errstr);
		}
		if (until[0] != '@' && strchr(until, '-') == NULL)
			ms = 2 * now_ms() - ms;
		tz_format_utc_ms(ms, buf, sizeof buf);
		json_object_set_new(params, "until", json_string(buf));
	}
	if ((ret = client_call(g, "job.pause", params, &res, NULL, NULL)) !=
	    EXIT_OK)
		return ret;
	if (g->json)
		ret = print_json(res);
	else if (until != NULL) {
		fmt_local(ms, buf, sizeof buf);
		printf("paused job %s until %s\n", argv[optind], buf);
	} else
		printf("paused job %s\n", argv[optind]);
	json_decref(res);
	return ret;
}

/* One line about a run: id, job, state, when, reason. */
static void
print_run_line(json_t *run, int64_t now)
{
	const char	*reason = json_string_value(json_object_get(run,
			    "reason"));
	char		 when[32], dur[DURATION_BUFLEN];
	json_t		*d = json_object_get(run, "duration_ms");

	fmt_relative(json_time(run, "scheduled_at"), now, when, sizeof when);
	if (json_is_integer(d))
		duration_format(json_integer_value(d), dur, sizeof dur);
	else
		snprintf(dur, sizeof dur, "-");
	printf("%-8lld %-20.20s %-11s %-9s %-10s %-8s %s\n",
	    (long long)json_integer_value(json_object_get(run, "id")),
	    json_string_value(json_object_get(run, "job")),
	    json_string_value(json_object_get(run, "state")),
	    json_string_value(json_object_get(run, "trigger")), when, dur,
	    reason != NULL ? reason : "");
}

static int
cmd_run(struct globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "wait", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command	*c = command_find("run");
	json_t			*res, *run;
	const char		*state;
	int			 ch, r, ret, wait = 0;

	while ((ch = getopt_long(argc, argv, GLOBAL_SHORTOPTS "w", longopts,
	    NULL)) != -1) {
		if ((r = global_option(g, ch)) == 1)
			continue;
		if (r == -1) {
			usage_command(c, stdout);
			return EXIT_OK;
		}
		if (ch != 'w') {
			usage_command(c, stderr);
			return EXIT_USAGE;
		}
		wait = 1;
	}
	if (optind + 1 != argc)
		return usage_error(c, optind >= argc ? "missing job name" :
		    "too many arguments");
	if ((ret = client_call(g, "job.trigger", json_pack("{s:s,s:b}", "name",
	    argv[optind], "wait", wait), &res, NULL, NULL)) != EXIT_OK)
		return ret;
	run = json_object_get(res, "run");
	state = json_string_value(json_object_get(run, "state"));
	if (g->json)
		print_json(res);
	else if (wait)
		print_run_line(run, now_ms());
	else
		printf("started run %lld of %s\n",
		    (long long)json_integer_value(json_object_get(run, "id")),
		    argv[optind]);
	ret = EXIT_OK;
	if (wait && (state == NULL || strcmp(state, "succeeded") != 0))
		ret = EXIT_FAILED;
	json_decref(res);
	return ret;
}

/*
 * A run filter of runs and replay into params: "state" (S,... as a
 * list) or "since"/"until" (a time, sent as RFC 3339 UTC).  -1 with
 * *errstr for a bad time.
 */
static int
filter_option(json_t *params, const char *key, const char *arg,
    const char **errstr)
{
	json_t	*states;
	char	 buf[TZ_RFC3339_LEN], *copy, *p, *save;
	int64_t	 ms;

	if (strcmp(key, "state") == 0) {
		states = json_array();
		copy = xstrdup(arg);
		for (p = strtok_r(copy, ",", &save); p != NULL;
		    p = strtok_r(NULL, ",", &save))
			json_array_append_new(states, json_string(p));
		free(copy);
		json_object_set_new(params, key, states);
		return 0;
	}
	if (tz_parse_time(arg, now_ms(), &ms, errstr) != 0)
		return -1;
	tz_format_utc_ms(ms, buf, sizeof buf);
	json_object_set_new(params, key, json_string(buf));
	return 0;
}

static int
cmd_runs(struct globals *g, int argc, char **argv)
{
	enum { O_JOB = 300, O_STATE, O_SINCE, O_UNTIL, O_OPEN, O_LIMIT };
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "job", required_argument, NULL, O_JOB },
		{ "state", required_argument, NULL, O_STATE },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "open", no_argument, NULL, O_OPEN },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ NULL, 0, NULL, 0 }
	};
	const struct command	*c = command_find("runs");
	json_t			*params = json_object(), *res, *run;
	const char		*errstr, *key;
	char			*end;
	long			 limit;
	size_t			 i;
	int			 ch, r, ret;

	while ((ch = getopt_long(argc, argv, GLOBAL_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if ((r = global_option(g, ch)) == 1)
			continue;
		switch (ch) {
		case O_JOB:
			json_object_set_new(params, "job", json_string(optarg));
			break;
		case O_STATE:
		case O_SINCE:
		case O_UNTIL:
			key = ch == O_STATE ? "state" : ch == O_SINCE ?
			    "since" : "until";
			if (filter_option(params, key, optarg, &errstr) != 0) {
				json_decref(params);
				return usage_error(c, "--%s \"%s\": %s", key,
				    optarg, errstr);
			}
			break;
		case O_OPEN:
			json_object_set_new(params, "open", json_true());
			break;
		case O_LIMIT:
			limit = strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || limit < 1 ||
			    limit > 100000) {
				json_decref(params);
				return usage_error(c, "--limit: \"%s\" is not "
				    "a count from 1 to 100000", optarg);
			}
			json_object_set_new(params, "limit",
			    json_integer(limit));
			break;
		default:
			json_decref(params);
			if (r == -1) {
				usage_command(c, stdout);
				return EXIT_OK;
			}
			usage_command(c, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		json_decref(params);
		return usage_error(c, "unexpected argument \"%s\"",
		    argv[optind]);
	}
	if ((ret = client_call(g, "run.list", params, &res, NULL, NULL)) !=
	    EXIT_OK)
		return ret;
	if (g->json)
		ret = print_json(res);
	else {
		printf("%-8s %-20s %-11s %-9s %-10s %-8s %s\n", "RUN", "JOB",
		    "STATE", "TRIGGER", "SCHEDULED", "TOOK", "REASON");
		json_array_foreach(json_object_get(res, "runs"), i, run)
			print_run_line(run, now_ms());
	}
	json_decref(res);
	return ret;
}


/* RUN... arguments as a JSON list; -1 when they are all good. */
static int
parse_run_ids(const struct command *c, int argc, char **argv, json_t *ids)
{
	json_int_t	 id;
	char		*end;
	int		 i;

	for (i = optind; i < argc; i++) {
		id = strtoll(argv[i], &end, 10);
		if (*end != '\0' || end == argv[i] || id < 1)
			return usage_error(c, "\"%s\" is not a run id",
			    argv[i]);
		json_array_append_new(ids, json_integer(id));
	}
	return -1;
}

/* One line per target of a replay answer. */
static void
print_replay(json_t *res)
{
	json_t	*t;
	size_t	 i;

	if (json_is_true(json_object_get(res, "dry_run")))
		printf("dry run: nothing was started\n");
	else
		printf("batch %lld\n", (long long)json_integer_value(
		    json_object_get(res, "batch")));
	printf("%-8s %-17s %s\n", "RUN", "STATUS", "REPLAY");
	json_array_foreach(json_object_get(res, "targets"), i, t) {
		json_t	*rr = json_object_get(t, "replay_run");

		printf("%-8lld %-17s ", (long long)json_integer_value(
		    json_object_get(t, "run")), json_string_value(
		    json_object_get(t, "status")));
		if (json_is_integer(rr))
			printf("%lld\n", (long long)json_integer_value(rr));
		else
			printf("-\n");
	}
}

/*
 * Wait for a batch's replays to end, with a progress line on a terminal;
 * EXIT_OK only when every one succeeded.
 */
static int
replay_wait(struct globals *g, json_int_t batch)
{
	json_t	*res = NULL, *t;
	size_t	 i;
	int	 ret, tty = isatty(STDERR_FILENO), total, done, failed, bad;

	for (;;) {
		if ((ret = client_call(g, "replay.get", json_pack("{s:I}",
		    "batch", batch), &res, NULL, NULL)) != EXIT_OK)
			return ret;
		total = (int)json_integer_value(json_object_get(res, "total"));
		done = (int)json_integer_value(json_object_get(res, "done"));
		failed = (int)json_integer_value(json_object_get(res,
		    "failed"));
		if (tty) {
			fprintf(stderr, "\r[%-30.*s] %d/%d done, %d failed ",
			    total > 0 ? done * 30 / total : 30,
			    "##############################", done, total,
			    failed);
			fflush(stderr);
		}
		if (done >= total)
			break;
		json_decref(res);
		res = NULL;
		usleep(200000);
	}
	if (tty)
		fputc('\n', stderr);
	bad = 0;
	json_array_foreach(json_object_get(res, "targets"), i, t) {
		const char	*st = json_string_value(json_object_get(t,
				    "replay_state"));
		const char	*status = json_string_value(json_object_get(t,
				    "status"));

		if (strcmp(status, "not_replayable") == 0 ||
		    (st != NULL && strcmp(st, "succeeded") != 0))
			bad++;
	}
	if (g->json)
		print_json(res);
	else {
		printf("%-8s %-17s %-8s %s\n", "RUN", "STATUS", "REPLAY",
		    "STATE");
		json_array_foreach(json_object_get(res, "targets"), i, t) {
			json_t	*rr = json_object_get(t, "replay_run");
			json_t	*st = json_object_get(t, "replay_state");
			char	 rbuf[24];

			if (json_is_integer(rr))
				snprintf(rbuf, sizeof rbuf, "%lld",
				    (long long)json_integer_value(rr));
			else
				snprintf(rbuf, sizeof rbuf, "-");
			printf("%-8lld %-17s %-8s %s\n",
			    (long long)json_integer_value(json_object_get(t,
			    "run")), json_string_value(json_object_get(t,
			    "status")), rbuf,
			    json_is_string(st) ? json_string_value(st) : "-");
		}
	}
	json_decref(res);
	return bad == 0 ? EXIT_OK : EXIT_FAILED;
}

static int
cmd_replay(struct globals *g, int argc, char **argv)
{
	enum { O_JOB = 300, O_STATE, O_SINCE, O_UNTIL, O_DRY, O_KEY, O_MAXP,
	    O_FORCE, O_WAIT, O_STATUS };
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "job", required_argument, NULL, O_JOB },
		{ "state", required_argument, NULL, O_STATE },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "key", required_argument, NULL, O_KEY },
		{ "max-parallel", required_argument, NULL, O_MAXP },
		{ "force", no_argument, NULL, O_FORCE },
		{ "wait", no_argument, NULL, O_WAIT },
		{ "status", required_argument, NULL, O_STATUS },
		{ NULL, 0, NULL, 0 }
	};
	const struct command	*c = command_find("replay");
	json_t			*params = json_object(), *res, *ids;
	const char		*errstr, *key;
	char			*end;
	json_int_t		 status = 0, batch;
	long			 n;
	int			 ch, r, ret, wait = 0, dry = 0;

	while ((ch = getopt_long(argc, argv, GLOBAL_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if ((r = global_option(g, ch)) == 1)
			continue;
		switch (ch) {
		case O_JOB:
			json_object_set_new(params, "job", json_string(optarg));
			break;
		case O_STATE:
		case O_SINCE:
		case O_UNTIL:
			key = ch == O_STATE ? "state" : ch == O_SINCE ?
			    "since" : "until";
			if (filter_option(params, key, optarg, &errstr) != 0) {
				json_decref(params);
				return usage_error(c, "--%s \"%s\": %s", key,
				    optarg, errstr);
			}
			break;
		case O_DRY:
			dry = 1;
			json_object_set_new(params, "dry_run", json_true());
			break;
		case O_KEY:
			json_object_set_new(params, "key", json_string(optarg));
			break;
		case O_MAXP:
			n = strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || n < 1 || n > 1000) {
				json_decref(params);
				return usage_error(c, "--max-parallel: \"%s\" is "
				    "not a count from 1 to 1000", optarg);
			}
			json_object_set_new(params, "max_parallel",
			    json_integer(n));
			break;
		case O_FORCE:
			json_object_set_new(params, "force", json_true());
			break;
		case O_WAIT:
			wait = 1;
			break;
		case O_STATUS:
			status = strtoll(optarg, &end, 10);
			if (*end != '\0' || end == optarg || status < 1) {
				json_decref(params);
				return usage_error(c, "--status: \"%s\" is not a "
				    "batch id", optarg);
			}
			break;
		default:
			json_decref(params);
			if (r == -1) {
				usage_command(c, stdout);
				return EXIT_OK;
			}
			usage_command(c, stderr);
			return EXIT_USAGE;
		}
	}
	if (status > 0) {
		json_decref(params);
		if (optind != argc)
			return usage_error(c, "--status takes no run ids");
		if ((ret = client_call(g, "replay.get", json_pack("{s:I}",
		    "batch", status), &res, NULL, NULL)) != EXIT_OK)
			return ret;
		ret = print_json(res);
		json_decref(res);
		return ret;
	}
	if (optind < argc) {
		if (json_object_get(params, "job") != NULL) {
			json_decref(params);
			return usage_error(c, "give run ids or --job, not both");
		}
		ids = json_array();
		if ((ret = parse_run_ids(c, argc, argv, ids)) != -1) {
			json_decref(ids);
			json_decref(params);
			return ret;
		}
		json_object_set_new(params, "runs", ids);
	} else if (json_object_get(params, "job") == NULL) {
		json_decref(params);
		return usage_error(c, "missing run ids or --job NAME");
	}
	if ((ret = client_call(g, "replay", params, &res, NULL, NULL)) !=
	    EXIT_OK)
		return ret;
	batch = json_integer_value(json_object_get(res, "batch"));
	if (wait && !dry && batch > 0) {
		if (!g->json)
			print_replay(res);
		json_decref(res);
		return replay_wait(g, batch);
	}
	if (g->json)
		ret = print_json(res);
	else
		print_replay(res);
	json_decref(res);
	return ret;
}

static int
cmd_ack(struct globals *g, int argc, char **argv)
{
	const struct command	*c = command_find("ack");
	json_t			*ids, *res, *t;
	size_t			 i;
	int			 ret;

	if ((ret = parse_plain(g, c, argc, argv)) != -1)
		return ret;
	if (optind >= argc)
		return usage_error(c, "missing run ids");
	ids = json_array();
	if ((ret = parse_run_ids(c, argc, argv, ids)) != -1) {
		json_decref(ids);
		return ret;
	}
	if ((ret = client_call(g, "run.ack", json_pack("{s:o}", "runs", ids),
	    &res, NULL, NULL)) != EXIT_OK)
		return ret;
	if (g->json)
		ret = print_json(res);
	else {
		json_array_foreach(json_object_get(res, "runs"), i, t) {
			printf("run %lld: %lld attempt(s) acknowledged\n",
			    (long long)json_integer_value(json_object_get(t,
			    "run")), (long long)json_integer_value(
			    json_object_get(t, "acked")));
		}
	}
	json_decref(res);
	return ret;
}

/* A run id argument. */
static int
parse_run_id(struct globals *g, const struct command *c, int argc,
    char **argv, json_int_t *id)
{
	char	*end;
	int	 ret;

	if ((ret = parse_plain(g, c, argc, argv)) != -1)
		return ret;
	if (optind + 1 != argc)
		return usage_error(c, optind >= argc ? "missing run id" :
		    "too many arguments");
	*id = strtoll(argv[optind], &end, 10);
	if (*end != '\0' || end == argv[optind] || *id < 1)
		return usage_error(c, "\"%s\" is not a run id", argv[optind]);
	return -1;
}

static int
cmd_status(struct globals *g, int argc, char **argv)
{
	const struct command	*c = command_find("status");
	json_t			*res, *counts, *f, *problems;
	char			 up[DURATION_BUFLEN], when[32], last[32];
	size_t			 i;
	int			 ret;
	int64_t			 open, stale;

	if ((ret = parse_plain(g, c, argc, argv)) != -1)
		return ret;
	if (optind != argc)
		return usage_error(c, "unexpected argument \"%s\"",
		    argv[optind]);
	if ((ret = client_call(g, "status", NULL, &res, NULL, NULL)) !=
	    EXIT_OK)
		return ret;
	counts = json_object_get(res, "counts");
	open = json_integer_value(json_object_get(counts, "open_failures"));
	stale = (int64_t)json_array_size(json_object_get(res, "stale"));
	if (g->json)
		print_json(res);
	else {
		duration_format(json_integer_value(json_object_get(res,
		    "uptime_ms")) / 1000 * 1000, up, sizeof up);
		printf("sqcrond %s, pid %lld, up %s\n",
		    json_string_value(json_object_get(res, "version")),
		    (long long)json_integer_value(json_object_get(res, "pid")),
		    up);
		printf("jobs %lld (%lld paused), running %lld, queued %lld, "
		    "open failures %lld, stale %lld, notifications pending "
		    "%lld\n",
		    (long long)json_integer_value(json_object_get(counts,
		    "jobs")), (long long)json_integer_value(
		    json_object_get(counts, "paused")),
		    (long long)json_integer_value(json_object_get(counts,
		    "running")), (long long)json_integer_value(
		    json_object_get(counts, "queued")), (long long)open,
		    (long long)stale, (long long)json_integer_value(
		    json_object_get(counts, "notifications_pending")));
		if (json_array_size(json_object_get(res, "failing")) > 0)
			printf("%-24s %6s %s\n", "FAILING JOB", "OPEN",
			    "LAST FAILED FIRE");
		json_array_foreach(json_object_get(res, "failing"), i, f) {
			fmt_relative(json_time(f, "last_failed_fire"), now_ms(),
			    when, sizeof when);
			printf("%-24s %6lld %s\n", json_string_value(
			    json_object_get(f, "job")), (long long)
			    json_integer_value(json_object_get(f, "open")),
			    when);
		}
		if (json_array_size(json_object_get(res, "stale")) > 0)
			printf("%-24s %-14s %s\n", "STALE JOB", "STALE SINCE",
			    "LAST SUCCESS");
		json_array_foreach(json_object_get(res, "stale"), i, f) {
			fmt_relative(json_time(f, "stale_since"), now_ms(),
			    when, sizeof when);
			fmt_relative(json_time(f, "last_success_at"), now_ms(),
			    last, sizeof last);
			printf("%-24s %-14s %s\n", json_string_value(
			    json_object_get(f, "job")), when, last);
		}
		problems = json_object_get(res, "crontab_problems");
		if (json_array_size(problems) > 0)
			printf("crontab problems:\n");
		json_array_foreach(problems, i, f) {
			printf("  %s\n", json_string_value(json_object_get(f,
			    "message")));
		}
	}
	json_decref(res);
	return open > 0 || stale > 0 ? EXIT_FAILED : EXIT_OK;
}

/* metrics: the Prometheus text, as the daemon renders it. */
static int
cmd_metrics(struct globals *g, int argc, char **argv)
{
	const struct command	*c = command_find("metrics");
	json_t			*res, *text;
	int			 ret;

	if ((ret = parse_plain(g, c, argc, argv)) != -1)
		return ret;
	if (optind != argc)
		return usage_error(c, "unexpected argument \"%s\"",
		    argv[optind]);
	if ((ret = client_call(g, "metrics", NULL, &res, NULL, NULL)) !=
	    EXIT_OK)
		return ret;
	if (g->json)
		ret = print_json(res);
	else if ((text = json_object_get(res, "text")) != NULL) {
		fwrite(json_string_value(text), 1, json_string_length(text),
		    stdout);
		if (fflush(stdout) == EOF)
			err(EXIT_FAILED, "stdout");
	} else
		errx(EXIT_FAILED, "bad reply from sqcrond: no \"text\"");
	json_decref(res);
	return ret;
}

static int
cmd_failures(struct globals *g, int argc, char **argv)
{
	enum { O_SINCE = 300 };
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "since", required_argument, NULL, O_SINCE },
		{ NULL, 0, NULL, 0 }
	};
	const struct command	*c = command_find("failures");
	json_t			*params = json_object(), *res, *f, *v;
	const char		*errstr;
	char			 how[40], first[32], last[32];
	size_t			 i;
	int			 ch, r, ret;

	while ((ch = getopt_long(argc, argv, GLOBAL_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if ((r = global_option(g, ch)) == 1)
			continue;
		if (ch == O_SINCE) {
			if (filter_option(params, "since", optarg, &errstr) !=
			    0) {
				json_decref(params);
				return usage_error(c, "--since \"%s\": %s",
				    optarg, errstr);
			}
			continue;
		}
		json_decref(params);
		if (r == -1) {
			usage_command(c, stdout);
			return EXIT_OK;
		}
		usage_command(c, stderr);
		return EXIT_USAGE;
	}
	if (optind != argc) {
		json_decref(params);
		return usage_error(c, "unexpected argument \"%s\"",
		    argv[optind]);
	}
	if ((ret = client_call(g, "failures", params, &res, NULL, NULL)) !=
	    EXIT_OK)
		return ret;
	if (g->json)
		ret = print_json(res);
	else {
		printf("%-20s %-11s %-10s %6s %-10s %s\n", "JOB", "STATE",
		    "EXIT/SIG", "COUNT", "FIRST", "LAST");
		json_array_foreach(json_object_get(res, "failures"), i, f) {
			v = json_object_get(f, "signal");
			if (json_is_string(v))
				snprintf(how, sizeof how, "%s",
				    json_string_value(v));
			else if (json_is_integer(v = json_object_get(f,
			    "exit_code")))
				snprintf(how, sizeof how, "%lld",
				    (long long)json_integer_value(v));
			else
				snprintf(how, sizeof how, "-");
			fmt_relative(json_time(f, "first"), now_ms(), first,
			    sizeof first);
			fmt_relative(json_time(f, "last"), now_ms(), last,
			    sizeof last);
			printf("%-20s %-11s %-10s %6lld %-10s %s\n",
			    json_string_value(json_object_get(f, "job")),
			    json_string_value(json_object_get(f, "state")), how,
			    (long long)json_integer_value(json_object_get(f,
			    "count")), first, last);
		}
	}
	json_decref(res);
	return ret;
}

static int
cmd_audit(struct globals *g, int argc, char **argv)
{
	enum { O_SINCE = 300, O_LIMIT };
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "since", required_argument, NULL, O_SINCE },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ NULL, 0, NULL, 0 }
	};
	const struct command	*c = command_find("audit");
	json_t			*params = json_object(), *res, *e, *p;
	const char		*errstr;
	char			*text, *end, when[TZ_RFC3339_LEN];
	long			 limit;
	size_t			 i;
	int			 ch, r, ret;

	while ((ch = getopt_long(argc, argv, GLOBAL_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if ((r = global_option(g, ch)) == 1)
			continue;
		if (ch == O_SINCE) {
			if (filter_option(params, "since", optarg, &errstr) !=
			    0) {
				json_decref(params);
				return usage_error(c, "--since \"%s\": %s",
				    optarg, errstr);
			}
			continue;
		}
		if (ch == O_LIMIT) {
			limit = strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || limit < 1 ||
			    limit > 100000) {
				json_decref(params);
				return usage_error(c, "--limit: \"%s\" is not "
				    "a count from 1 to 100000", optarg);
			}
			json_object_set_new(params, "limit",
			    json_integer(limit));
			continue;
		}
		json_decref(params);
		if (r == -1) {
			usage_command(c, stdout);
			return EXIT_OK;
		}
		usage_command(c, stderr);
		return EXIT_USAGE;
	}
	if (optind != argc) {
		json_decref(params);
		return usage_error(c, "unexpected argument \"%s\"",
		    argv[optind]);
	}
	if ((ret = client_call(g, "audit.list", params, &res, NULL, NULL)) !=
	    EXIT_OK)
		return ret;
	if (g->json)
		ret = print_json(res);
	else {
		json_array_foreach(json_object_get(res, "entries"), i, e) {
			p = json_object_get(e, "params");
			text = json_dumps(p, JSON_COMPACT | JSON_ENCODE_ANY);
			tz_format_utc_ms(json_time(e, "at"), when,
			    sizeof when);
			printf("%s uid %-5lld %-12s %-8s %s%s%s\n", when,
			    (long long)json_integer_value(json_object_get(e,
			    "uid")), json_string_value(json_object_get(e,
			    "method")), json_string_value(json_object_get(e,
			    "outcome")), text != NULL ? text : "",
			    json_is_string(json_object_get(e, "error")) ?
			    ": " : "", json_is_string(json_object_get(e,
			    "error")) ? json_string_value(json_object_get(e,
			    "error")) : "");
			free(text);
		}
	}
	json_decref(res);
	return ret;
}

static int
cmd_reload(struct globals *g, int argc, char **argv)
{
	const struct command	*c = command_find("reload");
	json_t			*res, *file;
	int			 ret;

	if ((ret = parse_plain(g, c, argc, argv)) != -1)
		return ret;
	if (optind != argc)
		return usage_error(c, "unexpected argument \"%s\"",
		    argv[optind]);
	if ((ret = client_call(g, "reload", NULL, &res, NULL, NULL)) !=
	    EXIT_OK)
		return ret;
	file = json_object_get(res, "file");
	if (g->json)
		ret = print_json(res);
	else
		printf("reloaded %s\n", json_is_string(file) ?
		    json_string_value(file) : "the built-in defaults");
	json_decref(res);
	return ret;
}

static int
cmd_kill(struct globals *g, int argc, char **argv)
{
	const struct command	*c = command_find("kill");
	json_t			*res;
	json_int_t		 id;
	int			 ret;

	if ((ret = parse_run_id(g, c, argc, argv, &id)) != -1)
		return ret;
	if ((ret = client_call(g, "run.kill", json_pack("{s:I}", "id", id),
	    &res, NULL, NULL)) != EXIT_OK)
		return ret;
	if (g->json)
		ret = print_json(res);
	else
		printf("killing run %lld\n", (long long)id);
	json_decref(res);
	return ret;
}

static int
cmd_show(struct globals *g, int argc, char **argv)
{
	const struct command	*c = command_find("show");
	json_int_t		 id;
	int			 ret;

	if ((ret = parse_run_id(g, c, argc, argv, &id)) != -1)
		return ret;
	return call_and_show(g, "run.get", json_pack("{s:I}", "id", id), "run");
}

/* Write bytes to stdout as they come; a closed stdout ends the command. */
static void
write_out(const char *buf, size_t len)
{
	if (len > 0 && fwrite(buf, 1, len, stdout) != len)
		err(EXIT_FAILED, "stdout");
	if (fflush(stdout) == EOF)
		err(EXIT_FAILED, "stdout");
}

/*
 * An event of run.follow: output goes to stdout byte for byte; output
 * that sqcrond skipped because we fell behind is marked where it was,
 * the way stored output marks what it left out.
 */
static void
logs_event(json_t *ev, void *arg)
{
	struct globals	*g = arg;
	json_t		*out, *skipped;
	char		 mark[96];
	int		 n;

	if (g->json) {
		print_json(ev);
		return;
	}
	if ((out = json_object_get(ev, "output")) != NULL &&
	    json_is_string(out))
		write_out(json_string_value(out), json_string_length(out));
	if ((skipped = json_object_get(ev, "skipped")) != NULL &&
	    json_is_integer(skipped)) {
		n = snprintf(mark, sizeof mark, "\n[... %lld bytes skipped: "
		    "sqcron logs -f fell behind ...]\n",
		    (long long)json_integer_value(skipped));
		write_out(mark, (size_t)n);
	}
}

/*
 * logs [-f] RUN: the run's output; -f follows a live run to its end and
 * exits as run --wait does, 0 when it succeeded, 1 when it did not.
 */
static int
cmd_logs(struct globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "follow", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command	*c = command_find("logs");
	json_int_t		 id;
	json_t			*res, *out;
	const char		*state;
	char			*end;
	int			 ch, r, ret, follow = 0;

	while ((ch = getopt_long(argc, argv, GLOBAL_SHORTOPTS "f", longopts,
	    NULL)) != -1) {
		if ((r = global_option(g, ch)) == 1)
			continue;
		if (r == -1) {
			usage_command(c, stdout);
			return EXIT_OK;
		}
		if (ch != 'f') {
			usage_command(c, stderr);
			return EXIT_USAGE;
		}
		follow = 1;
	}
	if (optind + 1 != argc)
		return usage_error(c, optind >= argc ? "missing run id" :
		    "too many arguments");
	id = strtoll(argv[optind], &end, 10);
	if (*end != '\0' || end == argv[optind] || id < 1)
		return usage_error(c, "\"%s\" is not a run id", argv[optind]);
	if (follow) {
		if ((ret = client_call(g, "run.follow", json_pack("{s:I}", "id",
		    id), &res, logs_event, g)) != EXIT_OK)
			return ret;
		if (g->json)
			print_json(res);
		state = json_string_value(json_object_get(json_object_get(res,
		    "run"), "state"));
		ret = state != NULL && strcmp(state, "succeeded") == 0 ?
		    EXIT_OK : EXIT_FAILED;
		json_decref(res);
		return ret;
	}
	if ((ret = client_call(g, "run.output", json_pack("{s:I}", "id", id),
	    &res, NULL, NULL)) != EXIT_OK)
		return ret;
	if (g->json)
		ret = print_json(res);
	else if ((out = json_object_get(res, "output")) != NULL)
		write_out(json_string_value(out), json_string_length(out));
	json_decref(res);
	return ret;
}

/* An exported run: one line of JSON. */
static void
export_event(json_t *ev, void *arg)
{
	(void)arg;
	if (json_dumpf(ev, stdout, JSON_COMPACT) == -1 ||
	    putchar('\n') == EOF)
		err(EXIT_FAILED, "stdout");
}

/*
 * export [--job NAME] [--since T] [--until T] [--state S,...]: every
 * matching run, oldest first, with its output, one JSON object a line
 * ({"run":RUN,"output":TEXT}); nothing else is printed.
 */
static int
cmd_export(struct globals *g, int argc, char **argv)
{
	enum { O_JOB = 300, O_STATE, O_SINCE, O_UNTIL };
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "job", required_argument, NULL, O_JOB },
		{ "state", required_argument, NULL, O_STATE },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ NULL, 0, NULL, 0 }
	};
	const struct command	*c = command_find("export");
	json_t			*params = json_object(), *res;
	const char		*errstr, *key;
	int			 ch, r, ret;

	while ((ch = getopt_long(argc, argv, GLOBAL_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if ((r = global_option(g, ch)) == 1)
			continue;
		switch (ch) {
		case O_JOB:
			json_object_set_new(params, "job", json_string(optarg));
			break;
		case O_STATE:
		case O_SINCE:
		case O_UNTIL:
			key = ch == O_STATE ? "state" : ch == O_SINCE ?
			    "since" : "until";
			if (filter_option(params, key, optarg, &errstr) != 0) {
				json_decref(params);
				return usage_error(c, "--%s \"%s\": %s", key,
				    optarg, errstr);
			}
			break;
		default:
			json_decref(params);
			if (r == -1) {
				usage_command(c, stdout);
				return EXIT_OK;
			}
			usage_command(c, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		json_decref(params);
		return usage_error(c, "unexpected argument \"%s\"",
		    argv[optind]);
	}
	ret = client_call(g, "export", params, &res, export_event, NULL);
	if (fflush(stdout) == EOF)
		err(EXIT_FAILED, "stdout");
	if (ret != EXIT_OK)
		return ret;
	json_decref(res);
	return EXIT_OK;
}

/* A job of a prune result: its name, and whether it was removed. */
static void
prune_label(json_t *job, char *buf, size_t len)
{
	const char	*name = json_string_value(json_object_get(job, "job"));

	snprintf(buf, len, "%s%s", name != NULL ? name : "?",
	    json_is_true(json_object_get(job, "removed")) ? " (removed)" : "");
}

/*
 * prune [--dry-run]: the daemon prunes every job now and answers when
 * done; a table of the jobs that lost runs (or would), and the total.
 */
static int
cmd_prune(struct globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command	*c = command_find("prune");
	json_t			*res, *job, *jobs;
	char			 label[160];
	size_t			 i, njobs;
	int			 ch, r, ret, dry_run = 0, w = 3;
	long long		 total;

	while ((ch = getopt_long(argc, argv, GLOBAL_SHORTOPTS "n", longopts,
	    NULL)) != -1) {
		if ((r = global_option(g, ch)) == 1)
			continue;
		if (r == -1) {
			usage_command(c, stdout);
			return EXIT_OK;
		}
		if (ch != 'n') {
			usage_command(c, stderr);
			return EXIT_USAGE;
		}
		dry_run = 1;
	}
	if (optind != argc)
		return usage_error(c, "unexpected argument \"%s\"",
		    argv[optind]);
	if ((ret = client_call(g, "prune", json_pack("{s:b}", "dry_run",
	    dry_run), &res, NULL, NULL)) != EXIT_OK)
		return ret;
	if (g->json) {
		ret = print_json(res);
		json_decref(res);
		return ret;
	}
	jobs = json_object_get(res, "jobs");
	njobs = json_array_size(jobs);
	total = (long long)json_integer_value(json_object_get(res, "total"));
	json_array_foreach(jobs, i, job) {
		prune_label(job, label, sizeof label);
		if ((int)strlen(label) > w)
			w = (int)strlen(label);
	}
	if (njobs > 0)
		printf("%-*s  %10s\n", w, "JOB", "RUNS");
	json_array_foreach(jobs, i, job) {
		prune_label(job, label, sizeof label);
		printf("%-*s  %10lld\n", w, label, (long long)
		    json_integer_value(json_object_get(job, "runs")));
	}
	if (total == 0)
		printf("%s\n", dry_run ? "no runs would be deleted" :
		    "no runs to delete");
	else
		printf("%s %lld run%s of %zu job%s%s\n", dry_run ?
		    "would delete" : "deleted", total, total == 1 ? "" : "s",
		    njobs, njobs == 1 ? "" : "s", dry_run ?
		    " (dry run: nothing was deleted)" : "");
	json_decref(res);
	return EXIT_OK;
}

static int
cmd_next(struct globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "tz", required_argument, NULL, OPT_TZ },
		{ "after", required_argument, NULL, OPT_AFTER },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command	*c = command_find("next");
	const char		*zone = NULL, *after_arg = NULL, *errstr;
	struct cronexpr		 ce;
	struct tz		*tz = NULL;
	json_t			*out = NULL, *list;
	char			 errbuf[CRONEXPR_ERRLEN], buf[TZ_RFC3339_LEN];
	char			*expr = NULL, *cause = NULL, *end;
	int64_t			 after, t;
	long			 count = 5, i;
	int			 ch, r, ret = EXIT_USAGE;

	while ((ch = getopt_long(argc, argv, GLOBAL_SHORTOPTS "n:", longopts,
	    NULL)) != -1) {
		if ((r = global_option(g, ch)) == 1)
			continue;
		if (r == -1) {
			usage_command(c, stdout);
			return EXIT_OK;
		}
		switch (ch) {
		case OPT_TZ:
			zone = optarg;
			break;
		case OPT_AFTER:
			after_arg = optarg;
			break;
		case 'n':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    count < 1 || count > NEXT_COUNT_MAX)
				return usage_error(c, "-n: \"%s\" is not a "
				    "count from 1 to %d", optarg,
				    NEXT_COUNT_MAX);
			break;
		default:
			usage_command(c, stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return usage_error(c, "missing schedule");

	expr = join_args(argc, argv);
	if (cronexpr_parse(&ce, expr, errbuf, sizeof errbuf) != 0) {
		fprintf(stderr, "sqcron: invalid schedule: %s\n", errbuf);
		goto out;
	}
	if ((tz = tz_load(zone, &cause)) == NULL) {
		fprintf(stderr, "sqcron: %s\n", cause);
		goto out;
	}
	after = now_ms();
	if (after_arg != NULL &&
	    tz_parse_time(after_arg, after, &after, &errstr) != 0) {
		ret = usage_error(c, "--after \"%s\": %s", after_arg, errstr);
		goto out;
	}

	/* Fires are whole seconds: "after 12:00:00.5" means after 12:00:00. */
	t = after >= 0 ? after / 1000 : -((-after + 999) / 1000);
	if (g->json) {
		out = json_object();
		list = json_array();
		json_object_set_new(out, "schedule", json_string(expr));
		json_object_set_new(out, "timezone", json_string(tz_name(tz)));
		json_object_set_new(out, "next", list);
	}
	if (ce.kind == CRONEXPR_REBOOT && !g->json)
		fprintf(stderr, "sqcron: @reboot has no timed fires: it runs "
		    "once when sqcrond starts after a boot\n");
	for (i = 0; i < count; i++) {
		if (cronexpr_next(&ce, tz, t, &t) != 0)
			break;
		tz_format_rfc3339(tz, t, buf, sizeof buf);
		if (out != NULL)
			json_array_append_new(list, json_string(buf));
		else
			printf("%s\n", buf);
	}
	if (out != NULL) {
		if (json_dumpf(out, stdout, JSON_COMPACT) == -1)
			errx(EXIT_FAILED, "cannot write JSON");
		putchar('\n');
	}
	ret = EXIT_OK;
	if (fflush(stdout) == EOF)
		err(EXIT_FAILED, "stdout");
out:
	json_decref(out);
	free(cause);
	tz_free(tz);
	free(expr);
	return ret;
}

/*
 * Crontab files, offline (check) and into API jobs (import).
 *
 * A file's format comes from its place unless --user or --system says:
 * a file in a directory named "crontabs" (Debian's
 * /var/spool/cron/crontabs/USER) or in .../spool/cron (cronie's
 * /var/spool/cron/USER) is the user crontab of the user it is named
 * after; anything else (/etc/crontab, /etc/cron.d/NAME) is a system
 * crontab, with a user field.  Paths are made absolute (symlinks kept)
 * before parsing, so generated job names do not depend on the current
 * directory.
 */
struct crontab_args {
	const char		*user;		/* --user */
	int			 system;	/* --system */
	int			 apply;		/* import --apply */
};

#define OPT_USER	'u'
#define OPT_SYSTEM	'S'
#define OPT_APPLY	'a'

/* Parse check/import options; -1 to go on, else the exit code. */
static int
crontab_options(struct globals *g, const struct command *c, int import,
    int argc, char **argv, struct crontab_args *a)
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "user", required_argument, NULL, OPT_USER },
		{ "system", no_argument, NULL, OPT_SYSTEM },
		{ "apply", no_argument, NULL, OPT_APPLY },
		{ NULL, 0, NULL, 0 }
	};
	int	ch, r;

	memset(a, 0, sizeof *a);
	while ((ch = getopt_long(argc, argv, GLOBAL_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if ((r = global_option(g, ch)) == 1)
			continue;
		if (r == -1) {
			usage_command(c, stdout);
			return EXIT_OK;
		}
		switch (ch) {
		case OPT_USER:
			a->user = optarg;
			break;
		case OPT_SYSTEM:
			a->system = 1;
			break;
		case OPT_APPLY:
			if (import) {
				a->apply = 1;
				break;
			}
			/* FALLTHROUGH */
		default:
			usage_command(c, stderr);
			return EXIT_USAGE;
		}
	}
	if (a->user != NULL && a->system)
		return usage_error(c, "--user and --system exclude each other");
	if (a->user != NULL && *a->user == '\0')
		return usage_error(c, "--user needs a user name");
	if (optind >= argc)
		return usage_error(c, "missing crontab file");
	return -1;
}

/* path made absolute against the current directory, symlinks kept. */
static char *
crontab_abspath(const char *path)
{
	char	*cwd, *abs;

	if (*path == '/' || (cwd = getcwd(NULL, 0)) == NULL)
		return xstrdup(path);
	xasprintf(&abs, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path);
	free(cwd);
	return abs;
}

/* The base name of the directory holding path ("" when none). */
static void
crontab_dirname(const char *path, char *buf, size_t len)
{
	const char	*end, *s;

	end = strrchr(path, '/');
	if (end == NULL) {
		snprintf(buf, len, "%s", "");
		return;
	}
	while (end > path && end[-1] == '/')
		end--;
	for (s = end; s > path && s[-1] != '/'; s--)
		;
	snprintf(buf, len, "%.*s", (int)(end - s), s);
}

/* Read one file in the format its place or the options say. */
static struct crontab *
crontab_load(const struct crontab_args *a, const char *abs, char **cause)
{
	enum crontab_format	 format = CRONTAB_SYSTEM;
	const char		*user = a->user, *base;
	char			 dir[NAME_MAX + 1];
	size_t			 len = strlen(abs);

	base = strrchr(abs, '/') != NULL ? strrchr(abs, '/') + 1 : abs;
	crontab_dirname(abs, dir, sizeof dir);
	if (user != NULL)
		format = CRONTAB_USER;
	else if (!a->system && *base != '\0' && (strcmp(dir, "crontabs") == 0 ||
	    (len > strlen(base) + 12 && strncmp(abs + len - strlen(base) - 12,
	    "/spool/cron/", 12) == 0))) {
		format = CRONTAB_USER;
		user = base;
	}
	return crontab_read(abs, format, user, cause);
}

/* The job.add params of a parsed job: every option set, as text. */
static json_t *
crontab_params(const struct job_spec *js)
{
	enum jobspec_type	 type;
	const char		*key;
	json_t			*params, *env;
	char			 buf[JOBSPEC_VALUE_MAX + 1];
	size_t			 i;

	params = json_object();
	for (i = 0; (key = jobspec_key(i, &type)) != NULL; i++) {
		if (type != JOBSPEC_ENV &&
		    jobspec_get(js, key, buf, sizeof buf) == 0)
			json_object_set_new(params, key, json_string(buf));
	}
	if (js->nenv > 0) {
		env = json_array();
		for (i = 0; i < js->nenv; i++)
			json_array_append_new(env, json_string(js->env[i]));
		json_object_set_new(params, "env", env);
	}
	return params;
}

/* Print one problem, or add it to a JSON list. */
static void
crontab_problem(json_t *list, const char *path, unsigned line, int warning,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void
crontab_problem(json_t *list, const char *path, unsigned line, int warning,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*reason;

	va_start(ap, fmt);
	xvasprintf(&reason, fmt, ap);
	va_end(ap);
	if (list != NULL)
		json_array_append_new(list, json_pack("{s:o,s:s}", "line",
		    line > 0 ? json_integer(line) : json_null(), "reason",
		    reason));
	else if (line > 0)
		fprintf(stderr, "%s:%u: %s%s\n", path, line, warning ?
		    "warning: " : "", reason);
	else
		fprintf(stderr, "%s: %s%s\n", path, warning ? "warning: " : "",
		    reason);
	free(reason);
}

/* Is there a user of this name on this host?  The last answer is kept. */
static int
crontab_user_known(const char *user)
{
	static char	*last;
	static int	 known;

	if (last == NULL || strcmp(last, user) != 0) {
		free(last);
		last = xstrdup(user);
		known = getpwnam(user) != NULL;
	}
	return known;
}

/*
 * check: the parser's problems and what this host adds (users that do
 * not exist here, names cron.d would skip), in line order.  Returns the
 * number of errors; fills out (--json) or prints.
 */
static size_t
check_file(const struct crontab_args *a, const char *arg, json_t *out)
{
	struct crontab		*ct;
	struct crontab_diag	*d;
	struct crontab_job	*j;
	json_t			*file = NULL, *jobs = NULL, *errs = NULL;
	json_t			*warns = NULL;
	const char		*base;
	char			*abs, *cause = NULL, dir[NAME_MAX + 1];
	size_t			 di, ji, nerrors;

	abs = crontab_abspath(arg);
	if ((ct = crontab_load(a, abs, &cause)) == NULL) {
		if (out != NULL)
			json_array_append_new(json_object_get(out, "files"),
			    json_pack("{s:s,s:[{s:n,s:s}]}", "path", abs,
			    "errors", "line", "reason", cause));
		else
			fprintf(stderr, "sqcron: %s\n", cause);
		free(cause);
		free(abs);
		return 1;
	}
	if (out != NULL) {
		file = json_pack("{s:s,s:s,s:o}", "path", abs, "format",
		    ct->format == CRONTAB_USER ? "user" : "system", "user",
		    ct->user != NULL ? json_string(ct->user) : json_null());
		json_object_set_new(file, "jobs", jobs = json_array());
		json_object_set_new(file, "errors", errs = json_array());
		json_object_set_new(file, "warnings", warns = json_array());
		json_array_append_new(json_object_get(out, "files"), file);
	}

	base = strrchr(abs, '/') + 1;
	crontab_dirname(abs, dir, sizeof dir);
	if (strcmp(dir, "cron.d") == 0 && !crontab_dirent_wanted(base))
		crontab_problem(warns, abs, 0, 1, "cron skips files in cron.d "
		    "whose names hold characters other than A-Z a-z 0-9 _ -, "
		    "and sqcrond does too");
	if (ct->user != NULL && !crontab_user_known(ct->user))
		crontab_problem(warns, abs, 0, 1, "no user \"%s\" on this host",
		    ct->user);

	/* The parser's problems and the jobs, merged by line. */
	di = ji = 0;
	while (di < ct->ndiags || ji < ct->njobs) {
		if (ji == ct->njobs || (di < ct->ndiags &&
		    ct->diags[di].line <= ct->jobs[ji].line)) {
			d = &ct->diags[di++];
			if (out == NULL)
				fprintf(stderr, "%s\n", d->text);
			else
				crontab_problem(d->warning ? warns : errs,
				    abs, d->line, d->warning, "%s", d->reason);
			continue;
		}
		j = &ct->jobs[ji++];
		if (jobs != NULL)
			json_array_append_new(jobs, json_pack("{s:i,s:o}",
			    "line", (json_int_t)j->line, "job",
			    crontab_params(&j->spec)));
		if (ct->format == CRONTAB_SYSTEM && j->spec.user != NULL &&
		    !crontab_user_known(j->spec.user))
			crontab_problem(warns, abs, j->line, 1, "no user \"%s\" "
			    "on this host (is the user field missing?)",
			    j->spec.user);
	}
	if (out == NULL && ct->nerrors == 0)
		printf("%s: %zu job%s, %s crontab%s%s\n", abs, ct->njobs,
		    ct->njobs == 1 ? "" : "s", ct->format == CRONTAB_USER ?
		    "user" : "system", ct->user != NULL ? " of " : "",
		    ct->user != NULL ? ct->user : "");
	nerrors = ct->nerrors;
	crontab_free(ct);
	free(abs);
	return nerrors;
}

/*
 * check [--user USER | --system] FILE...: problems on stderr as
 * FILE:LINE: reason, exit 1 when any is an error; a line per good file.
 */
static int
cmd_check(struct globals *g, int argc, char **argv)
{
	const struct command	*c = command_find("check");
	struct crontab_args	 a;
	json_t			*out = NULL;
	size_t			 nerrors = 0;
	int			 i, ret;

	if ((ret = crontab_options(g, c, 0, argc, argv, &a)) != -1)
		return ret;
	if (g->json)
		out = json_pack("{s:[]}", "files");
	for (i = optind; i < argc; i++)
		nerrors += check_file(&a, argv[i], out);
	if (out != NULL) {
		json_object_set_new(out, "errors", json_integer(
		    (json_int_t)nerrors));
		print_json(out);
		json_decref(out);
	} else if (nerrors > 0)
		fprintf(stderr, "sqcron: %zu error%s: bad lines are left out\n",
		    nerrors, nerrors == 1 ? "" : "s");
	if (fflush(stdout) == EOF)
		err(EXIT_FAILED, "stdout");
	return nerrors > 0 ? EXIT_FAILED : EXIT_OK;
}

/*
 * API jobs have no stdin option, so a job with input after '%' gets it
 * from a here-document around its command: "{ CMD\n} <<'SQCRON_INPUT'".
 * The shell ends the input with a newline when it has none.
 */
static char *
import_heredoc(const char *cmd, const char *input)
{
	char		 delim[48], *out;
	const char	*s;
	size_t		 dlen, n = 0;
	int		 found;

	for (;;) {
		if (n == 0)
			snprintf(delim, sizeof delim, "SQCRON_INPUT");
		else
			snprintf(delim, sizeof delim, "SQCRON_INPUT_%zu", n);
		dlen = strlen(delim);
		found = 0;
		for (s = input; s != NULL && !found; s = strchr(s, '\n')) {
			if (*s == '\n')
				s++;
			found = strncmp(s, delim, dlen) == 0 &&
			    (s[dlen] == '\n' || s[dlen] == '\0');
		}
		if (!found)
			break;
		n++;
	}
	xasprintf(&out, "{ %s\n} <<'%s'\n%s%s%s\n", cmd, delim, input,
	    input[strlen(input) - 1] == '\n' ? "" : "\n", delim);
	return out;
}

/* Print params for the dry run: name first, strings as they are. */
static void
import_print(json_t *params, const char *path, unsigned line)
{
	const char	*key;
	json_t		*v, *e;
	size_t		 i;
	char		*text;

	printf("would add %s from %s:%u\n", json_string_value(
	    json_object_get(params, "name")), path, line);
	json_object_foreach(params, key, v) {
		if (strcmp(key, "name") == 0)
			continue;
		if (json_is_array(v)) {
			json_array_foreach(v, i, e)
				printf("  %-18s %s\n", key,
				    json_string_value(e));
		} else if (strchr(json_string_value(v), '\n') == NULL)
			printf("  %-18s %s\n", key, json_string_value(v));
		else {
			text = json_dumps(v, JSON_ENCODE_ANY);
			printf("  %-18s %s\n", key, text != NULL ? text : "?");
			free(text);
		}
	}
}

/*
 * import [--user USER | --system] [--apply] FILE...: the jobs of the
 * files as job.add params.  Without --apply only shows them.  Nothing is
 * added when a file has an error or a name is taken; after that, jobs
 * are added one by one, stopping at the first the daemon refuses.
 */
static int
cmd_import(struct globals *g, int argc, char **argv)
{
	const struct command	*c = command_find("import");
	struct crontab_args	 a;
	struct crontab		**cts;
	struct crontab_job	*j;
	json_t			*all, *params, *res = NULL, *added, *job;
	json_t			*taken;
	const char		*name;
	char			*abs, *cause = NULL, *cmd;
	size_t			 nerrors = 0, njobs = 0, nfiles, f, i, k, n;
	int			 ret;

	if ((ret = crontab_options(g, c, 1, argc, argv, &a)) != -1)
		return ret;
	nfiles = (size_t)(argc - optind);
	cts = xcalloc(nfiles, sizeof *cts);
	all = json_array();
	for (f = 0; f < nfiles; f++) {
		abs = crontab_abspath(argv[optind + (int)f]);
		cts[f] = crontab_load(&a, abs, &cause);
		free(abs);
		if (cts[f] == NULL) {
			fprintf(stderr, "sqcron: %s\n", cause);
			free(cause);
			cause = NULL;
			nerrors++;
			continue;
		}
		for (i = 0; i < cts[f]->ndiags; i++)
			fprintf(stderr, "%s\n", cts[f]->diags[i].text);
		nerrors += cts[f]->nerrors;
		for (i = 0; i < cts[f]->njobs; i++) {
			j = &cts[f]->jobs[i];
			params = crontab_params(&j->spec);
			if (j->spec.stdin_data != NULL) {
				cmd = import_heredoc(j->spec.command,
				    j->spec.stdin_data);
				json_object_set_new(params, "command",
				    json_string(cmd));
				free(cmd);
				crontab_problem(NULL, cts[f]->path, j->line, 1,
				    "the input after %% is given to the command "
				    "by a here-document (API jobs have no stdin)");
			}
			if (j->spec.mailto != NULL && *j->spec.mailto == '\0') {
				json_object_del(params, "mailto");
				crontab_problem(NULL, cts[f]->path, j->line, 1,
				    "MAILTO=\"\" (no mail) cannot be given "
				    "through the API: the job gets sqcrond's "
				    "mailto");
			}
			json_array_append_new(all, json_pack("{s:o,s:s,s:i}",
			    "params", params, "path", cts[f]->path, "line",
			    (json_int_t)j->line));
		}
	}
	njobs = json_array_size(all);
	if (nerrors > 0) {
		fprintf(stderr, "sqcron: %zu error%s: nothing %s\n", nerrors,
		    nerrors == 1 ? "" : "s", a.apply ? "imported" :
		    "would be imported");
		ret = EXIT_FAILED;
		goto out;
	}

	/* Two jobs of one name would half-apply: refuse up front. */
	taken = json_object();
	json_array_foreach(all, i, job) {
		name = json_string_value(json_object_get(json_object_get(job,
		    "params"), "name"));
		if ((params = json_object_get(taken, name)) == NULL) {
			json_object_set(taken, name, job);
			continue;
		}
		fprintf(stderr, "sqcron: two jobs named \"%s\": %s:%lld and "
		    "%s:%lld; nothing %s\n", name, json_string_value(
		    json_object_get(params, "path")), (long long)
		    json_integer_value(json_object_get(params, "line")),
		    json_string_value(json_object_get(job, "path")),
		    (long long)json_integer_value(json_object_get(job, "line")),
		    a.apply ? "imported" : "would be imported");
		json_decref(taken);
		ret = EXIT_FAILED;
		goto out;
	}
	json_decref(taken);

	if (!a.apply) {
		if (g->json) {
			res = json_pack("{s:b,s:[]}", "dry_run", 1, "jobs");
			json_array_foreach(all, i, job)
				json_array_append(json_object_get(res, "jobs"),
				    json_object_get(job, "params"));
			ret = print_json(res);
			goto out;
		}
		json_array_foreach(all, i, job)
			import_print(json_object_get(job, "params"),
			    json_string_value(json_object_get(job, "path")),
			    (unsigned)json_integer_value(json_object_get(job,
			    "line")));
		printf("dry run: nothing was added; sqcron import --apply adds "
		    "%s %zu job%s\n", njobs == 1 ? "this" : "these", njobs,
		    njobs == 1 ? "" : "s");
		ret = EXIT_OK;
		goto out;
	}

	/* Names the daemon already has: refuse before adding any. */
	if ((ret = client_call(g, "job.list", NULL, &res, NULL, NULL)) !=
	    EXIT_OK)
		goto out;
	taken = json_object();
	json_array_foreach(json_object_get(res, "jobs"), k, job) {
		if ((name = json_string_value(json_object_get(job, "name"))) !=
		    NULL)
			json_object_set(taken, name, json_object_get(job,
			    "source"));
	}
	json_decref(res);
	res = NULL;
	json_array_foreach(all, i, job) {
		name = json_string_value(json_object_get(json_object_get(job,
		    "params"), "name"));
		if (json_object_get(taken, name) == NULL)
			continue;
		fprintf(stderr, "sqcron: a job named \"%s\" exists (source %s); "
		    "%s:%lld is not imported, nor is any other\n", name,
		    json_string_value(json_object_get(taken, name)),
		    json_string_value(json_object_get(job, "path")),
		    (long long)json_integer_value(json_object_get(job,
		    "line")));
		json_decref(taken);
		ret = EXIT_FAILED;
		goto out;
	}
	json_decref(taken);

	added = json_array();
	n = 0;
	json_array_foreach(all, i, job) {
		ret = client_call(g, "job.add", json_incref(json_object_get(job,
		    "params")), &res, NULL, NULL);
		if (ret != EXIT_OK) {
			fprintf(stderr, "sqcron: %s:%lld was refused; %zu of "
			    "%zu jobs were added before it\n",
			    json_string_value(json_object_get(job, "path")),
			    (long long)json_integer_value(json_object_get(job,
			    "line")), n, njobs);
			json_decref(added);
			goto out;
		}
		n++;
		if (!g->json)
			printf("added job %s from %s:%lld\n", json_string_value(
			    json_object_get(json_object_get(res, "job"),
			    "name")), json_string_value(json_object_get(job,
			    "path")), (long long)json_integer_value(
			    json_object_get(job, "line")));
		json_array_append(added, json_object_get(res, "job"));
		json_decref(res);
		res = NULL;
	}
	if (g->json) {
		res = json_pack("{s:b,s:o}", "dry_run", 0, "jobs", added);
		ret = print_json(res);
	} else {
		json_decref(added);
		printf("imported %zu job%s\n", n, n == 1 ? "" : "s");
	}
out:
	json_decref(res);
	json_decref(all);
	for (f = 0; f < nfiles; f++)
		crontab_free(cts[f]);
	free(cts);
	if (fflush(stdout) == EOF)
		err(EXIT_FAILED, "stdout");
	return ret;
}

static int
cmd_help(struct globals *g, int argc, char **argv)
{
	const struct command	*c;

	if (argc > 1) {
		if ((c = command_find(argv[1])) == NULL) {
			fprintf(stderr, "sqcron: unknown command \"%s\"\n",
			    argv[1]);
			return EXIT_USAGE;
		}
		usage_command(c, stdout);
		printf("%s\n", c->summary);
		return EXIT_OK;
	}
	usage_main(stdout);
	return EXIT_OK;
}

static int
cmd_version(struct globals *g, int argc, char **argv)
{
	printf("sqcron %s (protocol %d)\n", SQCRON_VERSION, PROTOCOL_VERSION);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command	*c;
	struct globals		 g;
	int			 ch, r;

	memset(&g, 0, sizeof g);
	g.color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	if ((g.socket = getenv(SQCRON_SOCKET_ENV)) == NULL || *g.socket == '\0')
		g.socket = SQCRON_SOCKET_PATH;

	/* Global options before the command; "+" stops at the command. */
	while ((ch = getopt_long(argc, argv, "+" GLOBAL_SHORTOPTS "V", longopts,
	    NULL)) != -1) {
		if ((r = global_option(&g, ch)) == 1)
			continue;
		if (r == -1) {
			usage_main(stdout);
			return EXIT_OK;
		}
		if (ch == 'V')
			return cmd_version(&g, 0, NULL);
		usage_main(stderr);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage_main(stderr);
		return EXIT_USAGE;
	}
	if ((c = command_find(argv[0])) == NULL) {
		fprintf(stderr, "sqcron: unknown command \"%s\" (sqcron help "
		    "lists them)\n", argv[0]);
		return EXIT_USAGE;
	}
	optind = 0;	/* glibc: reinitialize for the command's options */
	return c->fn(&g, argc, argv);
}

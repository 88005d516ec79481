/*
 * sqcron.c: the command-line client.
 *
 * A table of commands, one function each.  Every command accepts the
 * global options (-s/--socket, --json, --no-color, -h/--help) wherever
 * they appear, prints a table or the protocol result as JSON, and exits
 * with the codes of DESIGN.md section 11.  Offline commands (next) need
 * no daemon.  The client uses only the leaf modules (cronexpr, duration,
 * tz, protocol), never daemon internals.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cronexpr.h"
#include "duration.h"
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
static int	cmd_ping(struct globals *, int, char **);
static int	cmd_help(struct globals *, int, char **);
static int	cmd_version(struct globals *, int, char **);

static const struct command commands[] = {
	{ "next", cmd_next,
	    "next [--tz ZONE] [--after TIME] [-n COUNT] [--json] EXPR",
	    "print the next fire times of a schedule (offline)" },
	{ "ping", cmd_ping, "ping", "check that sqcrond answers" },
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
			msg = json_loadb(cl->buf, linelen, 0, &jerr);
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
		if ((w = write(cl.fd, text + off, len - off)) <= 0)
			err(EXIT_UNREACHABLE, "write to sqcrond");
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

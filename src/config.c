/*
 * config.c: read sqcrond.conf into a struct config.
 *
 * The file is small and read whole at start and on SIGHUP.  Every key has
 * one row in config_keys saying its type, its bounds and where it lives
 * in the struct; parsing, freeing and dumping all walk that table, so a
 * new key is one row plus its default.  Any error stops the load with the
 * file, the line and the reason, and the caller keeps whatever config it
 * had: nothing is applied until the whole file is good.
 *
 * This file only checks that values are well formed.  It does not look
 * up groups, open the database, test that the zone exists or bind the
 * metrics address: sqcrond does that when it uses them, because a
 * -t check on another host, or before a group exists, must still work.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "duration.h"
#include "log.h"
#include "xmalloc.h"

#define CONFIG_DEFAULT_SHELL	"/bin/sh"
#define CONFIG_DEFAULT_SENDMAIL	"/usr/sbin/sendmail"
#define CONFIG_DEFAULT_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:" \
				"/usr/bin:/sbin:/bin"

/* A socket path must fit sockaddr_un with its terminating NUL. */
#define CONFIG_SOCKET_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

enum config_type {
	CONFIG_STRING,		/* char * */
	CONFIG_PATHNAME,	/* char *, a file name */
	CONFIG_INT,		/* int, min to max */
	CONFIG_MODE,		/* mode_t, octal 0000-0777 */
	CONFIG_DURATION,	/* int64_t milliseconds, min to max */
	CONFIG_SIZE,		/* uint64_t bytes, min to max */
	CONFIG_WORD,		/* int, one of words */
	CONFIG_URLS,		/* notify and nnotify */
	CONFIG_EVENTS,		/* int, CONFIG_EVENT_* bits */
	CONFIG_LISTEN		/* metrics_listen, _host and _port */
};

/* Flags of a key. */
#define CF_NONE		0x01	/* "none" means 0, no limit */
#define CF_EMPTY	0x02	/* empty value kept as "" (disabled) */
#define CF_NULL		0x04	/* empty value means NULL (none) */
#define CF_OFF		0x08	/* "off" or empty means NULL */
#define CF_RESOLVE	0x10	/* relative to the file's directory */
#define CF_ABSOLUTE	0x20	/* must be an absolute path */

struct config_word {
	const char	*name;
	int		 value;
	int		 alias;		/* accepted, never listed or printed */
};

struct config_key {
	const char			*name;
	enum config_type		 type;
	size_t				 off;
	int				 flags;
	int64_t				 min;
	int64_t				 max;
	const struct config_word	*words;
	int				(*valid)(const char *);
	const char			*what;	/* noun for valid's error */
};

/* Where a load is: for messages and for resolving relative paths. */
struct config_ctx {
	const char	*file;
	char		*dir;		/* absolute; computed when needed */
};

static int	config_valid_group(const char *);
static int	config_valid_zone(const char *);

/*
 * Character classes in ASCII, not through <ctype.h>: what a file means
 * must not depend on the locale the daemon or a test happens to run in.
 */
#define CONFIG_BLANK(c)	((c) == ' ' || (c) == '\t')
#define CONFIG_CNTRL(c)	((unsigned char)(c) < 0x20 || (c) == 0x7f)
#define CONFIG_ALNUM(c)							\
	(((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') ||	\
	 ((c) >= '0' && (c) <= '9'))

static const struct config_word config_catchup_words[] = {
	{ "skip", CONFIG_CATCHUP_SKIP, 0 },
	{ "latest", CONFIG_CATCHUP_LATEST, 0 },
	{ "all", CONFIG_CATCHUP_ALL, 0 },
	{ NULL, 0, 0 }
};
static const struct config_word config_cgroup_words[] = {
	{ "auto", CONFIG_CGROUP_AUTO, 0 },
	{ "off", CONFIG_CGROUP_OFF, 0 },
	{ NULL, 0, 0 }
};
static const struct config_word config_durability_words[] = {
	{ "normal", CONFIG_DURABILITY_NORMAL, 0 },
	{ "full", CONFIG_DURABILITY_FULL, 0 },
	{ NULL, 0, 0 }
};
static const struct config_word config_log_words[] = {
	{ "syslog", CONFIG_LOG_SYSLOG, 0 },
	{ "stderr", CONFIG_LOG_STDERR, 0 },
	{ "syslog", CONFIG_LOG_DEFAULT, 1 },	/* how the default prints */
	{ NULL, 0, 0 }
};
static const struct config_word config_level_words[] = {
	{ "error", LOG_LEVEL_ERROR, 0 },
	{ "warn", LOG_LEVEL_WARN, 0 },
	{ "warning", LOG_LEVEL_WARN, 1 },
	{ "info", LOG_LEVEL_INFO, 0 },
	{ "debug", LOG_LEVEL_DEBUG, 0 },
	{ NULL, 0, 0 }
};
static const struct config_word config_format_words[] = {
	{ "text", 0, 0 },
	{ "json", 1, 0 },
	{ NULL, 0, 0 }
};
static const struct config_word config_notify_format_words[] = {
	{ "json", CONFIG_NOTIFY_JSON, 0 },
	{ "slack", CONFIG_NOTIFY_SLACK, 0 },
	{ NULL, 0, 0 }
};
static const struct config_word config_event_words[] = {
	{ "run.failed", CONFIG_EVENT_RUN_FAILED, 0 },
	{ "run.dead", CONFIG_EVENT_RUN_DEAD, 0 },
	{ "job.recovered", CONFIG_EVENT_JOB_RECOVERED, 0 },
	{ "job.stale", CONFIG_EVENT_JOB_STALE, 0 },
	{ "job.paused", CONFIG_EVENT_JOB_PAUSED, 0 },
	{ "run.started", CONFIG_EVENT_RUN_STARTED, 0 },
	{ "run.succeeded", CONFIG_EVENT_RUN_SUCCEEDED, 0 },
	{ NULL, 0, 0 }
};

#define K(f) offsetof(struct config, f)
#define MS_SECOND 1000LL
#define KIB 1024LL

static const struct config_key config_keys[] = {
	{ "db", CONFIG_PATHNAME, K(db), CF_RESOLVE, 0, 0, NULL, NULL, NULL },
	{ "socket", CONFIG_PATHNAME, K(socket), CF_RESOLVE, 0,
	  CONFIG_SOCKET_MAX, NULL, NULL, NULL },
	{ "socket_mode", CONFIG_MODE, K(socket_mode), 0, 0, 0777, NULL, NULL,
	  NULL },
	{ "socket_group", CONFIG_STRING, K(socket_group), CF_NULL, 0, 0, NULL,
	  config_valid_group, "group name" },
	{ "admin_group", CONFIG_STRING, K(admin_group), CF_NULL, 0, 0, NULL,
	  config_valid_group, "group name" },
	{ "timezone", CONFIG_STRING, K(timezone), CF_NULL, 0, 0, NULL,
	  config_valid_zone, "time zone name" },
	{ "max_running", CONFIG_INT, K(max_running), 0, 1, 100000, NULL, NULL,
	  NULL },
	{ "shell", CONFIG_PATHNAME, K(shell), CF_ABSOLUTE, 0, 0, NULL, NULL,
	  NULL },
	{ "path", CONFIG_STRING, K(path), 0, 0, 0, NULL, NULL, NULL },
	{ "crontab", CONFIG_PATHNAME, K(crontab), CF_EMPTY|CF_RESOLVE, 0, 0,
	  NULL, NULL, NULL },
	{ "crontab_dir", CONFIG_PATHNAME, K(crontab_dir), CF_EMPTY|CF_RESOLVE,
	  0, 0, NULL, NULL, NULL },
	{ "user_crontab_dir", CONFIG_PATHNAME, K(user_crontab_dir),
	  CF_EMPTY|CF_RESOLVE, 0, 0, NULL, NULL, NULL },

	{ "timeout", CONFIG_DURATION, K(timeout_ms), CF_NONE, 0, INT64_MAX,
	  NULL, NULL, NULL },
	{ "memory", CONFIG_SIZE, K(memory), CF_NONE, 0, INT64_MAX, NULL, NULL,
	  NULL },
	{ "kill_grace", CONFIG_DURATION, K(kill_grace_ms), 0, 0, INT64_MAX,
	  NULL, NULL, NULL },
	{ "output_max", CONFIG_SIZE, K(output_max), 0, KIB, KIB * KIB * KIB,
	  NULL, NULL, NULL },
	{ "retries", CONFIG_INT, K(retries), 0, 0, 1000, NULL, NULL, NULL },
	{ "backoff", CONFIG_DURATION, K(backoff_ms), 0, 1, INT64_MAX, NULL,
	  NULL, NULL },
	{ "catchup", CONFIG_WORD, K(catchup), 0, 0, 0, config_catchup_words,
	  NULL, NULL },
	{ "keep_runs", CONFIG_INT, K(keep_runs), 0, 0, 100000000, NULL, NULL,
	  NULL },
	{ "keep_days", CONFIG_DURATION, K(keep_days_ms), CF_NONE, 0, INT64_MAX,
	  NULL, NULL, NULL },
	{ "notify", CONFIG_URLS, K(notify), 0, 0, 0, NULL, NULL, NULL },
	{ "notify_on", CONFIG_EVENTS, K(notify_on), 0, 0, 0,
	  config_event_words, NULL, NULL },
	{ "notify_format", CONFIG_WORD, K(notify_format), 0, 0, 0,
	  config_notify_format_words, NULL, NULL },
	{ "mailto", CONFIG_STRING, K(mailto), CF_NULL, 0, 0, NULL, NULL,
	  NULL },
	{ "sendmail", CONFIG_PATHNAME, K(sendmail), CF_EMPTY|CF_ABSOLUTE, 0, 0,
	  NULL, NULL, NULL },

	{ "cgroup", CONFIG_WORD, K(cgroup), 0, 0, 0, config_cgroup_words, NULL,
	  NULL },
	{ "memory_poll", CONFIG_DURATION, K(memory_poll_ms), 0, 10,
	  10 * MS_SECOND, NULL, NULL, NULL },
	{ "durability", CONFIG_WORD, K(durability), 0, 0, 0,
	  config_durability_words, NULL, NULL },
	{ "shutdown_timeout", CONFIG_DURATION, K(shutdown_timeout_ms), 0, 0,
	  INT64_MAX, NULL, NULL, NULL },
	{ "metrics_listen", CONFIG_LISTEN, K(metrics_listen), CF_OFF, 0, 0,
	  NULL, NULL, NULL },
	{ "metrics_textfile", CONFIG_PATHNAME, K(metrics_textfile),
	  CF_OFF|CF_RESOLVE, 0, 0, NULL, NULL, NULL },
	{ "notify_timeout", CONFIG_DURATION, K(notify_timeout_ms), 0, 1,
	  INT64_MAX, NULL, NULL, NULL },
	{ "notify_retries", CONFIG_INT, K(notify_retries), 0, 0, 1000, NULL,
	  NULL, NULL },
	{ "log", CONFIG_WORD, K(log), 0, 0, 0, config_log_words, NULL, NULL },
	{ "log_level", CONFIG_WORD, K(log_level), 0, 0, 0, config_level_words,
	  NULL, NULL },
	{ "log_format", CONFIG_WORD, K(log_json), 0, 0, 0, config_format_words,
	  NULL, NULL },
};
#define CONFIG_NKEYS (sizeof config_keys / sizeof config_keys[0])

#undef K

#define FIELD(cf, k, type) ((type *)(void *)((char *)(cf) + (k)->off))
#define CFIELD(cf, k, type) \
	((type const *)(const void *)((const char *)(cf) + (k)->off))

/* A new config holding the built-in defaults. */
struct config *
config_default(void)
{
	struct config	*cf;

	cf = xcalloc(1, sizeof *cf);
	cf->db = xstrdup(SQCRON_DB_PATH);
	cf->socket = xstrdup(SQCRON_SOCKET_PATH);
	cf->socket_mode = 0660;
	cf->max_running = 32;
	cf->shell = xstrdup(CONFIG_DEFAULT_SHELL);
	cf->path = xstrdup(CONFIG_DEFAULT_PATH);
	cf->crontab = xstrdup("/etc/crontab");
	cf->crontab_dir = xstrdup("/etc/cron.d");
	cf->user_crontab_dir = xstrdup("/var/spool/cron/crontabs");

	cf->timeout_ms = 0;
	cf->memory = 0;
	cf->kill_grace_ms = 10 * MS_SECOND;
	cf->output_max = 256 * KIB;
	cf->retries = 0;
	cf->backoff_ms = 30 * MS_SECOND;
	cf->catchup = CONFIG_CATCHUP_SKIP;
	cf->keep_runs = 1000;
	cf->keep_days_ms = 90 * 86400 * MS_SECOND;
	cf->notify_on = CONFIG_EVENTS_DEFAULT;
	cf->sendmail = xstrdup(CONFIG_DEFAULT_SENDMAIL);
	cf->notify_format = CONFIG_NOTIFY_JSON;

	cf->cgroup = CONFIG_CGROUP_AUTO;
	cf->memory_poll_ms = 100;
	cf->durability = CONFIG_DURABILITY_NORMAL;
	cf->shutdown_timeout_ms = 30 * MS_SECOND;
	cf->notify_timeout_ms = 10 * MS_SECOND;
	cf->notify_retries = 10;
	cf->log = CONFIG_LOG_DEFAULT;
	cf->log_level = LOG_LEVEL_INFO;
	cf->log_json = 0;
	return (cf);
}

static void
config_free_urls(struct config *cf)
{
	size_t	 i;

	for (i = 0; i < cf->nnotify; i++)
		free(cf->notify[i]);
	free(cf->notify);
	cf->notify = NULL;
	cf->nnotify = 0;
}

/* Free a config; accepts NULL. */
void
config_free(struct config *cf)
{
	const struct config_key	*k;

	if (cf == NULL)
		return;
	for (k = config_keys; k < config_keys + CONFIG_NKEYS; k++) {
		switch (k->type) {
		case CONFIG_STRING:
		case CONFIG_PATHNAME:
		case CONFIG_LISTEN:
			free(*FIELD(cf, k, char *));
			break;
		default:
			break;
		}
	}
	config_free_urls(cf);
	free(cf->metrics_host);
	free(cf->file);
	free(cf);
}

static int
config_valid_group(const char *s)
{
	const char	*p;

	/* POSIX portable names, plus the trailing $ of Samba machines. */
	if (*s == '-' || strlen(s) > 255)
		return (0);
	for (p = s; *p != '\0'; p++) {
		if (CONFIG_ALNUM(*p) || strchr("._-", *p) != NULL)
			continue;
		if (*p == '$' && p[1] == '\0' && p != s)
			continue;
		return (0);
	}
	return (1);
}

/*
 * A plausible IANA zone name: [A-Za-z0-9/_+-], at most 255 bytes, no
 * leading '/' and no empty component.  The name becomes a path under
 * the zoneinfo directory, so the character set also keeps it there
 * (no '.', hence no ".." component).
 */
static int
config_valid_zone(const char *s)
{
	const char	*p;

	if (*s == '/' || strlen(s) > 255)
		return (0);
	for (p = s; *p != '\0'; p++) {
		if (CONFIG_ALNUM(*p) || strchr("/_+-", *p) != NULL)
			continue;
		return (0);
	}
	if (strstr(s, "//") != NULL || s[strlen(s) - 1] == '/')
		return (0);
	return (1);
}

/* The absolute directory holding ctx->file, computed once. */
static const char *
config_dir(struct config_ctx *ctx, char **reason)
{
	const char	*slash;
	char		*dir, cwd[PATH_MAX];

	if (ctx->dir != NULL)
		return (ctx->dir);

	if ((slash = strrchr(ctx->file, '/')) == NULL)
		dir = xstrdup(".");
	else if (slash == ctx->file)
		dir = xstrdup("/");
	else
		dir = xstrndup(ctx->file, slash - ctx->file);
	if (*dir != '/') {
		if (getcwd(cwd, sizeof cwd) == NULL) {
			xasprintf(reason, "cannot resolve relative path: "
			    "getcwd: %s", strerror(errno));
			free(dir);
			return (NULL);
		}
		free(ctx->dir);
		if (strcmp(dir, ".") == 0)
			ctx->dir = xstrdup(cwd);
		else if (strcmp(cwd, "/") == 0)
			xasprintf(&ctx->dir, "/%s", dir);
		else
			xasprintf(&ctx->dir, "%s/%s", cwd, dir);
		free(dir);
	} else
		ctx->dir = dir;
	return (ctx->dir);
}

/* value made absolute against the file's directory; NULL on error. */
static char *
config_resolve(struct config_ctx *ctx, const char *value, char **reason)
{
	const char	*dir;
	char		*out;

	if (*value == '/')
		return (xstrdup(value));
	if ((dir = config_dir(ctx, reason)) == NULL)
		return (NULL);
	while (value[0] == '.' && value[1] == '/') {
		value += 2;
		while (*value == '/')
			value++;
	}
	if (*value == '\0' || strcmp(value, ".") == 0)
		return (xstrdup(dir));
	if (strcmp(dir, "/") == 0)
		xasprintf(&out, "/%s", value);
	else
		xasprintf(&out, "%s/%s", dir, value);
	return (out);
}

static const struct config_word *
config_word_find(const struct config_word *words, const char *name)
{
	for (; words->name != NULL; words++) {
		if (strcmp(words->name, name) == 0)
			return (words);
	}
	return (NULL);
}

static const char *
config_word_name(const struct config_word *words, int value)
{
	for (; words->name != NULL; words++) {
		if (words->value == value)
			return (words->name);
	}
	return ("?");
}

int
config_event_bit(const char *name)
{
	const struct config_word	*w;

	w = config_word_find(config_event_words, name);
	return (w != NULL ? w->value : 0);
}

const char *
config_event_name(int bit)
{
	return (config_word_name(config_event_words, bit));
}

/* "skip, latest, all": the words a key accepts, for messages. */
static char *
config_word_list(const struct config_word *words)
{
	char	*list = NULL, *tmp;

	for (; words->name != NULL; words++) {
		if (words->alias)
			continue;
		if (list == NULL)
			list = xstrdup(words->name);
		else {
			xasprintf(&tmp, "%s, %s", list, words->name);
			free(list);
			list = tmp;
		}
	}
	return (list);
}

static int
config_set_string(struct config *cf, const struct config_key *k,
    const char *value, struct config_ctx *ctx, char **reason)
{
	char	**field = FIELD(cf, k, char *), *s;

	if (*value == '\0' ||
	    ((k->flags & CF_OFF) && strcmp(value, "off") == 0)) {
		if (k->flags & (CF_NULL|CF_OFF)) {
			free(*field);
			*field = NULL;
			return (0);
		}
		if (k->flags & CF_EMPTY) {
			free(*field);
			*field = xstrdup("");
			return (0);
		}
		xasprintf(reason, "%s: value is empty", k->name);
		return (-1);
	}
	if (k->valid != NULL && !k->valid(value)) {
		xasprintf(reason, "%s: \"%s\" is not a valid %s", k->name,
		    value, k->what);
		return (-1);
	}
	if (k->type != CONFIG_PATHNAME)
		s = xstrdup(value);
	else {
		if ((k->flags & CF_ABSOLUTE) && *value != '/') {
			xasprintf(reason, "%s: \"%s\" is not an absolute path",
			    k->name, value);
			return (-1);
		}
		if (k->flags & CF_RESOLVE) {
			if ((s = config_resolve(ctx, value, reason)) == NULL)
				return (-1);
		} else
			s = xstrdup(value);
		if (k->max != 0 && strlen(s) > (size_t)k->max) {
			xasprintf(reason, "%s: \"%s\" is longer than %" PRId64
			    " bytes", k->name, s, k->max);
			free(s);
			return (-1);
		}
	}
	free(*field);
	*field = s;
	return (0);
}

static int
config_set_int(struct config *cf, const struct config_key *k,
    const char *value, char **reason)
{
	long long	 n;
	char		*end;
	const char	*p = value;

	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p)) {
		xasprintf(reason, "%s: \"%s\" is not a number", k->name, value);
		return (-1);
	}
	errno = 0;
	n = strtoll(value, &end, 10);
	if (*end != '\0') {
		xasprintf(reason, "%s: \"%s\" is not a number", k->name, value);
		return (-1);
	}
	if (errno == ERANGE || n < k->min || n > k->max) {
		xasprintf(reason, "%s: %s is out of range %" PRId64 "-%" PRId64,
		    k->name, value, k->min, k->max);
		return (-1);
	}
	*FIELD(cf, k, int) = (int)n;
	return (0);
}

static int
config_set_mode(struct config *cf, const struct config_key *k,
    const char *value, char **reason)
{
	const char	*p;
	unsigned long	 mode;

	for (p = value; *p >= '0' && *p <= '7'; p++)
		/* nothing */;
	if (*value == '\0' || *p != '\0' || p - value > 4 ||
	    (mode = strtoul(value, NULL, 8)) > (unsigned long)k->max) {
		xasprintf(reason, "%s: \"%s\" is not an octal mode 0000-%04"
		    PRIo64, k->name, value, (uint64_t)k->max);
		return (-1);
	}
	*FIELD(cf, k, mode_t) = (mode_t)mode;
	return (0);
}

static int
config_set_duration(struct config *cf, const struct config_key *k,
    const char *value, char **reason)
{
	int64_t		 ms;
	const char	*errstr;
	char		 lo[DURATION_BUFLEN], hi[DURATION_BUFLEN];

	if ((k->flags & CF_NONE) && strcmp(value, "none") == 0) {
		*FIELD(cf, k, int64_t) = 0;
		return (0);
	}
	if (duration_parse(value, &ms, &errstr) != 0) {
		xasprintf(reason, "%s: \"%s\" is not a duration (%s)", k->name,
		    value, errstr);
		return (-1);
	}
	if (ms < k->min || ms > k->max) {
		duration_format(k->min, lo, sizeof lo);
		if (k->max == INT64_MAX) {
			xasprintf(reason, "%s: %s is less than %s", k->name,
			    value, lo);
		} else {
			duration_format(k->max, hi, sizeof hi);
			xasprintf(reason, "%s: %s is out of range %s-%s",
			    k->name, value, lo, hi);
		}
		return (-1);
	}
	*FIELD(cf, k, int64_t) = ms;
	return (0);
}

static int
config_set_size(struct config *cf, const struct config_key *k,
    const char *value, char **reason)
{
	uint64_t	 bytes;
	const char	*errstr;
	char		 lo[DURATION_BUFLEN], hi[DURATION_BUFLEN];

	if ((k->flags & CF_NONE) && strcmp(value, "none") == 0) {
		*FIELD(cf, k, uint64_t) = 0;
		return (0);
	}
	if (size_parse(value, &bytes, &errstr) != 0) {
		xasprintf(reason, "%s: \"%s\" is not a size (%s)", k->name,
		    value, errstr);
		return (-1);
	}
	if (bytes < (uint64_t)k->min || bytes > (uint64_t)k->max) {
		size_format((uint64_t)k->min, lo, sizeof lo);
		size_format((uint64_t)k->max, hi, sizeof hi);
		xasprintf(reason, "%s: %s is out of range %s-%s", k->name,
		    value, lo, hi);
		return (-1);
	}
	*FIELD(cf, k, uint64_t) = bytes;
	return (0);
}

static int
config_set_word(struct config *cf, const struct config_key *k,
    const char *value, char **reason)
{
	const struct config_word	*w;
	char				*list;

	if ((w = config_word_find(k->words, value)) == NULL) {
		list = config_word_list(k->words);
		xasprintf(reason, "%s: \"%s\" is not one of %s", k->name, value,
		    list);
		free(list);
		return (-1);
	}
	*FIELD(cf, k, int) = w->value;
	return (0);
}

/*
 * Split a comma-separated list into trimmed, non-empty items.  Returns
 * the number of items; *items is NULL-terminated and the caller frees
 * each item and the array.  -1 when an item is empty.
 */
static int
config_split(const char *value, char ***items)
{
	const char	*p, *end, *start, *stop;
	char		**list = NULL;
	int		 n = 0;

	*items = NULL;
	for (p = value;; p = end + 1) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		for (start = p; start < end && CONFIG_BLANK(*start);)
			start++;
		for (stop = end; stop > start && CONFIG_BLANK(stop[-1]);)
			stop--;
		if (stop == start) {
			while (n > 0)
				free(list[--n]);
			free(list);
			return (-1);
		}
		list = xreallocarray(list, n + 2, sizeof *list);
		list[n++] = xstrndup(start, stop - start);
		list[n] = NULL;
		if (*end == '\0')
			break;
	}
	*items = list;
	return (n);
}

static void
config_free_split(char **items)
{
	char	**p;

	if (items == NULL)
		return;
	for (p = items; *p != NULL; p++)
		free(*p);
	free(items);
}

/* http:// or https://, a host, no spaces: enough to fail early. */
static int
config_valid_url(const char *s)
{
	const char	*p, *rest;

	if (strncasecmp(s, "http://", 7) == 0)
		rest = s + 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		rest = s + 8;
	else
		return (0);
	if (*rest == '\0' || *rest == '/' || *rest == '?' || *rest == '#')
		return (0);
	for (p = s; *p != '\0'; p++) {
		if (CONFIG_BLANK(*p) || CONFIG_CNTRL(*p))
			return (0);
	}
	return (1);
}

static int
config_set_urls(struct config *cf, const struct config_key *k,
    const char *value, char **reason)
{
	char	**items;
	int	 n, i;

	if (*value == '\0' || strcmp(value, "none") == 0) {
		config_free_urls(cf);
		return (0);
	}
	if ((n = config_split(value, &items)) == -1) {
		xasprintf(reason, "%s: empty item in \"%s\"", k->name, value);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		if (!config_valid_url(items[i])) {
			xasprintf(reason, "%s: \"%s\" is not an http:// or "
			    "https:// URL", k->name, items[i]);
			config_free_split(items);
			return (-1);
		}
	}
	config_free_urls(cf);
	cf->notify = items;
	cf->nnotify = n;
	return (0);
}

static int
config_set_events(struct config *cf, const struct config_key *k,
    const char *value, char **reason)
{
	const struct config_word	*w;
	char				**items, *list;
	int				 n, i, bits = 0;

	if (*value == '\0' || strcmp(value, "none") == 0) {
		*FIELD(cf, k, int) = 0;
		return (0);
	}
	if ((n = config_split(value, &items)) == -1) {
		xasprintf(reason, "%s: empty item in \"%s\"", k->name, value);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		if ((w = config_word_find(k->words, items[i])) == NULL) {
			list = config_word_list(k->words);
			xasprintf(reason, "%s: \"%s\" is not one of %s",
			    k->name, items[i], list);
			free(list);
			config_free_split(items);
			return (-1);
		}
		bits |= w->value;
	}
	config_free_split(items);
	*FIELD(cf, k, int) = bits;
	return (0);
}

/*
 * metrics_listen grammar:
 *
 *	value	= "off" | "" | host ":" port
 *	host	= IPv4-dotted-quad | "[" IPv6 "]" | "localhost"
 *	port	= 1-65535
 */
static int
config_set_listen(struct config *cf, const struct config_key *k,
    const char *value, char **reason)
{
	const char	*colon, *port;
	char		*host = NULL, *end;
	unsigned char	 addr[sizeof(struct in6_addr)];
	long		 n;

	if (*value == '\0' || strcmp(value, "off") == 0) {
		free(cf->metrics_listen);
		free(cf->metrics_host);
		cf->metrics_listen = cf->metrics_host = NULL;
		cf->metrics_port = 0;
		return (0);
	}
	if (*value == '[') {
		if ((colon = strchr(value, ']')) == NULL || colon[1] != ':')
			goto syntax;
		host = xstrndup(value + 1, colon - value - 1);
		port = colon + 2;
		if (inet_pton(AF_INET6, host, addr) != 1) {
			xasprintf(reason, "%s: \"%s\" is not an IPv6 address",
			    k->name, host);
			goto fail;
		}
	} else {
		if ((colon = strrchr(value, ':')) == NULL)
			goto syntax;
		host = xstrndup(value, colon - value);
		port = colon + 1;
		if (strcmp(host, "localhost") != 0 &&
		    inet_pton(AF_INET, host, addr) != 1) {
			xasprintf(reason, "%s: \"%s\" is not an IPv4 address, "
			    "[IPv6 address] or localhost", k->name, host);
			goto fail;
		}
	}
	if (!isdigit((unsigned char)*port))
		goto syntax;
	errno = 0;
	n = strtol(port, &end, 10);
	if (*end != '\0')
		goto syntax;
	if (errno == ERANGE || n < 1 || n > 65535) {
		xasprintf(reason, "%s: port %s is out of range 1-65535",
		    k->name, port);
		goto fail;
	}
	free(cf->metrics_listen);
	free(cf->metrics_host);
	cf->metrics_listen = xstrdup(value);
	cf->metrics_host = host;
	cf->metrics_port = (int)n;
	return (0);

syntax:
	xasprintf(reason, "%s: \"%s\" is not HOST:PORT", k->name, value);
fail:
	free(host);
	return (-1);
}

static int
config_set(struct config *cf, const struct config_key *k, const char *value,
    struct config_ctx *ctx, char **reason)
{
	switch (k->type) {
	case CONFIG_STRING:
	case CONFIG_PATHNAME:
		return (config_set_string(cf, k, value, ctx, reason));
	default:
		break;
	}
	if (*value == '\0' && k->type != CONFIG_URLS &&
	    k->type != CONFIG_EVENTS && k->type != CONFIG_LISTEN) {
		xasprintf(reason, "%s: value is empty", k->name);
		return (-1);
	}
	switch (k->type) {
	case CONFIG_INT:
		return (config_set_int(cf, k, value, reason));
	case CONFIG_MODE:
		return (config_set_mode(cf, k, value, reason));
	case CONFIG_DURATION:
		return (config_set_duration(cf, k, value, reason));
	case CONFIG_SIZE:
		return (config_set_size(cf, k, value, reason));
	case CONFIG_WORD:
		return (config_set_word(cf, k, value, reason));
	case CONFIG_URLS:
		return (config_set_urls(cf, k, value, reason));
	case CONFIG_EVENTS:
		return (config_set_events(cf, k, value, reason));
	case CONFIG_LISTEN:
		return (config_set_listen(cf, k, value, reason));
	default:
		break;
	}
	xasprintf(reason, "%s: unhandled type", k->name);
	return (-1);
}

/*
 * Read one line into buf (CONFIG_LINE_MAX + 2 bytes) without its line
 * ending; a CRLF ending counts as LF.  Returns 1 for a line, 0 at end of
 * file, -1 with *reason on a bad line, -2 with *reason on a read error.
 */
static int
config_read_line(FILE *f, char *buf, size_t size, char **reason)
{
	size_t	 len = 0;
	int	 ch;

	for (;;) {
		if ((ch = getc(f)) == EOF) {
			if (ferror(f)) {
				xasprintf(reason, "%s", strerror(errno));
				return (-2);
			}
			if (len == 0)
				return (0);
			break;
		}
		if (ch == '\n')
			break;
		if (ch == '\0') {
			xasprintf(reason, "line contains a NUL byte");
			return (-1);
		}
		if (len == size - 1)
			goto toolong;
		buf[len++] = ch;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (len > CONFIG_LINE_MAX)
		goto toolong;
	return (1);

toolong:
	xasprintf(reason, "line is longer than %d bytes", CONFIG_LINE_MAX);
	return (-1);
}

/*
 * The grammar of a line, after the leading byte-order mark of line 1:
 *
 *	line	= ws* ( "#" any* | key ws* "=" ws* value ws* )?
 *	key	= any but "=", trimmed
 *	value	= plain | '"' ( char | '\"' | '\\' )* '"'
 *
 * A plain value runs to the end of the line, trimmed; '#' inside it is
 * data (webhook URLs carry fragments), so comments are whole lines only.
 * Quotes keep leading and trailing blanks.  Control characters other than
 * tab are refused anywhere.  On success *key and *value point into buf,
 * or *key is NULL for a blank or comment line.
 */
static int
config_parse_line(char *buf, char **key, char **value, char **reason)
{
	char	*p, *eq, *end, *out;

	*key = *value = NULL;
	for (p = buf; *p != '\0'; p++) {
		if (CONFIG_CNTRL(*p) && *p != '\t') {
			xasprintf(reason, "line contains control character "
			    "0x%02x", (unsigned char)*p);
			return (-1);
		}
	}

	p = buf;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return (0);
	if ((eq = strchr(p, '=')) == NULL)
		goto syntax;
	for (end = eq; end > p && (end[-1] == ' ' || end[-1] == '\t');)
		end--;
	if (end == p)
		goto syntax;
	*end = '\0';
	*key = p;

	p = eq + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	if (*p != '"') {
		*value = p;
		return (0);
	}

	/* Unquote in place. */
	*value = out = p;
	for (p++; *p != '"'; p++) {
		if (*p == '\0') {
			xasprintf(reason, "unterminated quoted value");
			return (-1);
		}
		if (*p == '\\') {
			p++;
			if (*p != '"' && *p != '\\') {
				xasprintf(reason, "invalid escape in quoted "
				    "value (only \\\" and \\\\)");
				return (-1);
			}
		}
		*out++ = *p;
	}
	if (p[1] != '\0') {
		xasprintf(reason, "unexpected text after quoted value");
		return (-1);
	}
	*out = '\0';
	return (0);

syntax:
	xasprintf(reason, "expected \"key = value\"");
	return (-1);
}

/* Read a file; NULL with *cause ("PATH:LINE: reason") on any error. */
struct config *
config_load(const char *path, char **cause)
{
	struct config		*cf = NULL;
	struct config_ctx	 ctx = { path, NULL };
	const struct config_key	*k;
	FILE			*f;
	char			 buf[CONFIG_LINE_MAX + 2], *line, *key, *value;
	char			*reason = NULL;
	unsigned int		 lineno = 0, seen[CONFIG_NKEYS];
	int			 rc;

	*cause = NULL;
	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	memset(seen, 0, sizeof seen);
	cf = config_default();
	cf->file = xstrdup(path);

	for (;;) {
		lineno++;
		rc = config_read_line(f, buf, sizeof buf, &reason);
		if (rc == -2) {
			xasprintf(cause, "%s: %s", path, reason);
			goto out;
		}
		if (rc == -1)
			goto fail;
		if (rc == 0)
			break;
		line = buf;
		if (lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
			line += 3;
		if (config_parse_line(line, &key, &value, &reason) != 0)
			goto fail;
		if (key == NULL)
			continue;

		for (k = config_keys; k < config_keys + CONFIG_NKEYS; k++) {
			if (strcmp(k->name, key) == 0)
				break;
		}
		if (k == config_keys + CONFIG_NKEYS) {
			xasprintf(&reason, "unknown key \"%s\"", key);
			goto fail;
		}
		if (seen[k - config_keys] != 0) {
			xasprintf(&reason, "duplicate key \"%s\" (first set on "
			    "line %u)", key, seen[k - config_keys]);
			goto fail;
		}
		seen[k - config_keys] = lineno;
		if (config_set(cf, k, value, &ctx, &reason) != 0)
			goto fail;
	}
	fclose(f);
	free(ctx.dir);
	return (cf);

fail:
	xasprintf(cause, "%s:%u: %s", path, lineno, reason);
out:
	free(reason);
	fclose(f);
	free(ctx.dir);
	config_free(cf);
	return (NULL);
}

/* Print a string value, quoted when reading it back needs quotes. */
static void
config_dump_string(FILE *f, const char *name, const char *s)
{
	const char	*p;
	size_t		 len = strlen(s);

	if (len == 0) {
		fprintf(f, "%s =\n", name);
		return;
	}
	if (s[0] != '"' && s[0] != ' ' && s[0] != '\t' &&
	    s[len - 1] != ' ' && s[len - 1] != '\t') {
		fprintf(f, "%s = %s\n", name, s);
		return;
	}
	fprintf(f, "%s = \"", name);
	for (p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputs("\"\n", f);
}

/* Print every key = value in file syntax, as config_load reads it. */
void
config_dump(const struct config *cf, FILE *f)
{
	const struct config_key		*k;
	const struct config_word	*w;
	const char			*s;
	char				 buf[DURATION_BUFLEN];
	int				 bits, first;
	size_t				 i;

	fprintf(f, "# sqcrond configuration: %s\n",
	    cf->file != NULL ? cf->file : "built-in defaults");
	for (k = config_keys; k < config_keys + CONFIG_NKEYS; k++) {
		switch (k->type) {
		case CONFIG_STRING:
		case CONFIG_PATHNAME:
		case CONFIG_LISTEN:
			s = *CFIELD(cf, k, char *);
			if (s == NULL)
				s = (k->flags & CF_OFF) ? "off" : "";
			config_dump_string(f, k->name, s);
			break;
		case CONFIG_INT:
			fprintf(f, "%s = %d\n", k->name, *CFIELD(cf, k, int));
			break;
		case CONFIG_MODE:
			fprintf(f, "%s = %04o\n", k->name,
			    (unsigned int)*CFIELD(cf, k, mode_t));
			break;
		case CONFIG_DURATION:
			if (*CFIELD(cf, k, int64_t) == 0 &&
			    (k->flags & CF_NONE))
				xstrlcpy(buf, "none", sizeof buf);
			else {
				duration_format(*CFIELD(cf, k, int64_t), buf,
				    sizeof buf);
			}
			fprintf(f, "%s = %s\n", k->name, buf);
			break;
		case CONFIG_SIZE:
			if (*CFIELD(cf, k, uint64_t) == 0 &&
			    (k->flags & CF_NONE))
				xstrlcpy(buf, "none", sizeof buf);
			else {
				size_format(*CFIELD(cf, k, uint64_t), buf,
				    sizeof buf);
			}
			fprintf(f, "%s = %s\n", k->name, buf);
			break;
		case CONFIG_WORD:
			fprintf(f, "%s = %s\n", k->name,
			    config_word_name(k->words, *CFIELD(cf, k, int)));
			break;
		case CONFIG_URLS:
			fprintf(f, "%s = ", k->name);
			if (cf->nnotify == 0)
				fputs("none", f);
			for (i = 0; i < cf->nnotify; i++)
				fprintf(f, "%s%s", i ? "," : "", cf->notify[i]);
			fputc('\n', f);
			break;
		case CONFIG_EVENTS:
			fprintf(f, "%s = ", k->name);
			bits = *CFIELD(cf, k, int);
			if (bits == 0)
				fputs("none", f);
			first = 1;
			for (w = k->words; w->name != NULL; w++) {
				if (bits & w->value) {
					fprintf(f, "%s%s", first ? "" : ",",
					    w->name);
					first = 0;
				}
			}
			fputc('\n', f);
			break;
		}
	}
}

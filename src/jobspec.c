/*
 * jobspec.c: every job option of DESIGN.md section 3, read from and
 * written as text.
 *
 * One table names each option, its type and where it lives in struct
 * job_spec; sqcron add/edit flags (--kill-grace 5s), protocol params and
 * crontab directives (# sqcron: kill_grace=5s) all come through
 * jobspec_set, so an option means the same everywhere and is checked
 * the same way.  Pure apart from tz_load for checking zone names.
 */

#include <ctype.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cronexpr.h"
#include "duration.h"
#include "job.h"
#include "jobspec.h"
#include "tz.h"
#include "xmalloc.h"

struct jobspec_opt {
	const char		*name;
	enum jobspec_type	 type;
	size_t			 offset;
	size_t			 width;		/* of numeric fields */
	int64_t			 min;		/* numeric bounds */
	int64_t			 max;
};

#define STR(f)		offsetof(struct job_spec, f), 0
#define NUM(f)		offsetof(struct job_spec, f), \
			sizeof ((struct job_spec *)0)->f
#define DAY		((int64_t)86400 * 1000)
#define GIB		((int64_t)1 << 30)

static const struct jobspec_opt opts[] = {
	{ "name", JOBSPEC_STRING, STR(name), 0, 0 },
	{ "schedule", JOBSPEC_SCHEDULE, STR(schedule), 0, 0 },
	{ "command", JOBSPEC_STRING, STR(command), 0, 0 },
	{ "timezone", JOBSPEC_ZONE, STR(timezone), 0, 0 },
	{ "user", JOBSPEC_STRING, STR(user), 0, 0 },
	{ "env", JOBSPEC_ENV, STR(env), 0, 0 },
	{ "workdir", JOBSPEC_STRING, STR(workdir), 0, 0 },
	{ "timeout", JOBSPEC_DURATION, NUM(timeout_ms), 0, 3650 * DAY },
	{ "memory", JOBSPEC_SIZE, NUM(memory), 0, (int64_t)1 << 50 },
	{ "cpu", JOBSPEC_DURATION, NUM(cpu_ms), 0, 3650 * DAY },
	{ "nofile", JOBSPEC_INT, NUM(nofile), 1, 1 << 24 },
	{ "nproc", JOBSPEC_INT, NUM(nproc), 1, 1 << 24 },
	{ "nice", JOBSPEC_INT, NUM(nice), -20, 19 },
	{ "rlimit_as", JOBSPEC_SIZE, NUM(rlimit_as), 0, (int64_t)1 << 50 },
	{ "kill_grace", JOBSPEC_DURATION, NUM(kill_grace_ms), 0, DAY },
	{ "kill_orphans", JOBSPEC_BOOL, NUM(kill_orphans), 0, 1 },
	{ "overlap", JOBSPEC_OVERLAP, NUM(overlap), 0, 0 },
	{ "retries", JOBSPEC_INT, NUM(retries), 0, 1000 },
	{ "backoff", JOBSPEC_DURATION, NUM(backoff_ms), 1, 365 * DAY },
	{ "backoff_max", JOBSPEC_DURATION, NUM(backoff_max_ms), 1, 365 * DAY },
	{ "no_retry_exit", JOBSPEC_EXITLIST, STR(no_retry_exit), 0, 0 },
	{ "catchup", JOBSPEC_CATCHUP, NUM(catchup), 0, 0 },
	{ "starting_deadline", JOBSPEC_DURATION, NUM(starting_deadline_ms), 0,
	    3650 * DAY },
	{ "jitter", JOBSPEC_DURATION, NUM(jitter_ms), 0, 365 * DAY },
	{ "output_max", JOBSPEC_SIZE, NUM(output_max), 1024, GIB },
	{ "keep_runs", JOBSPEC_INT, NUM(keep_runs), 0, 100000000 },
	{ "keep_days", JOBSPEC_DURATION, NUM(keep_days_ms), 0, 36500 * DAY },
	{ "pause_after", JOBSPEC_INT, NUM(pause_after), 1, 1000000 },
	{ "stale_after", JOBSPEC_DURATION, NUM(stale_after_ms), 1000,
	    36500 * DAY },
	{ "notify", JOBSPEC_URLS, STR(notify), 0, 0 },
	{ "notify_on", JOBSPEC_EVENTS, STR(notify_on), 0, 0 },
	{ "ping_url", JOBSPEC_URLS, STR(ping_url), 0, 0 },
	{ "mailto", JOBSPEC_STRING, STR(mailto), 0, 0 },
	{ "description", JOBSPEC_STRING, STR(description), 0, 0 },
};
#define NOPTS (sizeof opts / sizeof opts[0])

static const char *const events[] = {
	"run.failed", "run.dead", "job.recovered", "job.stale", "job.paused",
	"run.started", "run.succeeded",
};

static const struct jobspec_opt *
jobspec_find(const char *key)
{
	size_t	i;

	for (i = 0; i < NOPTS; i++)
		if (strcmp(opts[i].name, key) == 0)
			return &opts[i];
	return NULL;
}

const char *
jobspec_key(size_t i, enum jobspec_type *type)
{
	if (i >= NOPTS)
		return NULL;
	if (type != NULL)
		*type = opts[i].type;
	return opts[i].name;
}

int
jobspec_known(const char *key)
{
	return jobspec_find(key) != NULL || strcmp(key, "unset_env") == 0;
}

static char **
jobspec_strp(struct job_spec *js, const struct jobspec_opt *o)
{
	return (char **)(void *)((char *)js + o->offset);
}

static void
jobspec_setnum(struct job_spec *js, const struct jobspec_opt *o, int64_t v)
{
	void	*p = (char *)js + o->offset;

	if (o->width == sizeof(int))
		*(int *)p = (int)v;
	else
		*(int64_t *)p = v;
}

static int64_t
jobspec_getnum(const struct job_spec *js, const struct jobspec_opt *o)
{
	const void	*p = (const char *)js + o->offset;

	if (o->width == sizeof(int))
		return *(const int *)p;
	return *(const int64_t *)p;
}

/* "2,64-78": exit statuses 0-255 as a list of values and ranges. */
static int
jobspec_check_exitlist(const char *s, const char **why)
{
	char	*end;
	long	 lo, hi;

	for (;;) {
		if (!isdigit((unsigned char)*s))
			goto bad;
		lo = strtol(s, &end, 10);
		hi = lo;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				goto bad;
			hi = strtol(end + 1, &end, 10);
		}
		if (lo > 255 || hi > 255 || hi < lo) {
			*why = "exit statuses are 0-255, ranges low-high";
			return -1;
		}
		if (*end == '\0')
			return 0;
		if (*end != ',')
			goto bad;
		s = end + 1;
	}
bad:
	*why = "expected a list of exit statuses and ranges, e.g. 2,64-78";
	return -1;
}

int
jobspec_exit_in(const char *list, int status)
{
	const char	*s = list;
	char		*end;
	long		 lo, hi;

	if (s == NULL || status < 0)
		return 0;
	while (*s != '\0') {
		lo = hi = strtol(s, &end, 10);
		if (end == s)
			return 0;
		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		if (status >= lo && status <= hi)
			return 1;
		if (*end != ',')
			return 0;
		s = end + 1;
	}
	return 0;
}

/*
 * Comma-separated http:// or https:// URLs, each with a host and without
 * blanks or control characters: whatever else is wrong with one, the
 * receiver or libcurl says when it is used.
 */
static int
jobspec_check_urls(const char *s, const char **why)
{
	const char	*p = s, *host;
	size_t		 len, i;

	for (;;) {
		len = strcspn(p, ",");
		if (len > 7 && strncasecmp(p, "http://", 7) == 0)
			host = p + 7;
		else if (len > 8 && strncasecmp(p, "https://", 8) == 0)
			host = p + 8;
		else {
			*why = "expected http:// or https:// URLs, "
			    "comma-separated";
			return -1;
		}
		if (strchr("/?#:@", *host) != NULL || host >= p + len) {
			*why = "a URL needs a host after http:// or https://";
			return -1;
		}
		for (i = 0; i < len; i++) {
			if ((unsigned char)p[i] <= ' ' || p[i] == 0x7f) {
				*why = "a URL cannot contain spaces or control "
				    "characters";
				return -1;
			}
		}
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

static int
jobspec_check_events(const char *s, const char **why)
{
	const char	*p = s;
	size_t		 len, i;

	if (strcmp(s, "none") == 0)	/* no webhook for this job */
		return 0;
	for (;;) {
		len = strcspn(p, ",");
		for (i = 0; i < sizeof events / sizeof events[0]; i++)
			if (strlen(events[i]) == len &&
			    strncmp(events[i], p, len) == 0)
				break;
		if (i == sizeof events / sizeof events[0]) {
			*why = "events are run.failed, run.dead, job.recovered, "
			    "job.stale, job.paused, run.started, run.succeeded "
			    "(or none)";
			return -1;
		}
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

/* Add or replace NAME=VALUE, or remove NAME (value NULL). */
static int
jobspec_env(struct job_spec *js, const char *name, size_t nlen,
    const char *assignment)
{
	size_t	i;

	for (i = 0; i < js->nenv; i++) {
		if (strncmp(js->env[i], name, nlen) == 0 &&
		    js->env[i][nlen] == '=')
			break;
	}
	if (assignment == NULL) {
		if (i == js->nenv)
			return -1;
		free(js->env[i]);
		memmove(&js->env[i], &js->env[i + 1],
		    (js->nenv - i - 1) * sizeof *js->env);
		if (--js->nenv == 0) {
			free(js->env);
			js->env = NULL;
		}
		return 0;
	}
	if (i == js->nenv) {
		js->env = xreallocarray(js->env, js->nenv + 1,
		    sizeof *js->env);
		js->nenv++;
	} else
		free(js->env[i]);
	js->env[i] = xstrdup(assignment);
	return 0;
}

static int
jobspec_env_name(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || isdigit((unsigned char)s[0]))
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	/* The job's identity is the daemon's to set. */
	return !(len > 7 && strncmp(s, "SQCRON_", 7) == 0);
}

int
jobspec_set(struct job_spec *js, const char *key, const char *value,
    char **cause)
{
	const struct jobspec_opt	*o;
	struct cronexpr			 ce;
	struct tz			*tz;
	const char			*why = NULL;
	char				 err[CRONEXPR_ERRLEN], *end, *zcause;
	int64_t				 v;
	uint64_t			 size;
	long long			 n;
	size_t				 nlen;

	if (strlen(value) > JOBSPEC_VALUE_MAX) {
		xasprintf(cause, "%s: value too long (at most %d bytes)", key,
		    JOBSPEC_VALUE_MAX);
		return -1;
	}
	if (strcmp(key, "unset_env") == 0) {
		nlen = strlen(value);
		if (jobspec_env(js, value, nlen, NULL) == -1) {
			xasprintf(cause, "unset_env: no variable \"%s\"",
			    value);
			return -1;
		}
		return 0;
	}
	if ((o = jobspec_find(key)) == NULL) {
		xasprintf(cause, "unknown option \"%s\"", key);
		return -1;
	}
	if (*value == '\0' && o->type != JOBSPEC_ENV) {
		if (strcmp(key, "name") == 0 || strcmp(key, "schedule") == 0 ||
		    strcmp(key, "command") == 0) {
			xasprintf(cause, "%s: must not be empty", key);
			return -1;
		}
		if (o->width == 0) {
			free(*jobspec_strp(js, o));
			*jobspec_strp(js, o) = NULL;
		} else
			jobspec_setnum(js, o, strcmp(key, "nice") == 0 ?
			    JOB_NICE_UNSET : JOB_UNSET);
		return 0;
	}

	switch (o->type) {
	case JOBSPEC_STRING:
		if (strcmp(key, "name") == 0 && !job_name_valid(value))
			why = "a name is 1-128 of A-Z a-z 0-9 . _ -";
		else if (strcmp(key, "workdir") == 0 && *value != '/')
			why = "must be an absolute path";
		else if (strcmp(key, "user") == 0 &&
		    strpbrk(value, " :/\t\n") != NULL)
			why = "not a user name";
		else if (strcmp(key, "description") != 0 &&
		    strcmp(key, "command") != 0 && strchr(value, '\n') != NULL)
			why = "must be one line";
		break;
	case JOBSPEC_SCHEDULE:
		if (cronexpr_parse(&ce, value, err, sizeof err) != 0) {
			xasprintf(cause, "invalid schedule: %s", err);
			return -1;
		}
		break;
	case JOBSPEC_ZONE:
		zcause = NULL;
		if ((tz = tz_load(value, &zcause)) == NULL) {
			xasprintf(cause, "timezone: %s", zcause);
			free(zcause);
			return -1;
		}
		tz_free(tz);
		break;
	case JOBSPEC_DURATION:
		if (strcmp(value, "none") == 0)
			v = 0;
		else if (duration_parse(value, &v, &why) != 0) {
			xasprintf(cause, "%s: \"%s\" is not a duration: %s",
			    key, value, why);
			return -1;
		}
		if (strcmp(key, "cpu") == 0 && v % 1000 != 0)
			why = "CPU time is whole seconds";
		else if (v < o->min || v > o->max) {
			char	lo[DURATION_BUFLEN], hi[DURATION_BUFLEN];

			duration_format(o->min, lo, sizeof lo);
			duration_format(o->max, hi, sizeof hi);
			xasprintf(cause, "%s: %s is out of range %s-%s", key,
			    value, lo, hi);
			return -1;
		}
		if (why == NULL)
			jobspec_setnum(js, o, v);
		break;
	case JOBSPEC_SIZE:
		if (strcmp(value, "none") == 0)
			size = 0;
		else if (size_parse(value, &size, &why) != 0) {
			xasprintf(cause, "%s: \"%s\" is not a size: %s", key,
			    value, why);
			return -1;
		}
		if ((int64_t)size < o->min || (int64_t)size > o->max) {
			char	lo[DURATION_BUFLEN], hi[DURATION_BUFLEN];

			size_format((uint64_t)o->min, lo, sizeof lo);
			size_format((uint64_t)o->max, hi, sizeof hi);
			xasprintf(cause, "%s: %s is out of range %s-%s", key,
			    value, lo, hi);
			return -1;
		}
		jobspec_setnum(js, o, (int64_t)size);
		break;
	case JOBSPEC_INT:
		n = strtoll(value, &end, 10);
		if (end == value || *end != '\0' || n < o->min || n > o->max) {
			xasprintf(cause, "%s: \"%s\" is not a number from "
			    "%" PRId64 " to %" PRId64, key, value, o->min,
			    o->max);
			return -1;
		}
		jobspec_setnum(js, o, n);
		break;
	case JOBSPEC_BOOL:
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 ||
		    strcmp(value, "1") == 0)
			jobspec_setnum(js, o, 1);
		else if (strcmp(value, "no") == 0 ||
		    strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
			jobspec_setnum(js, o, 0);
		else
			why = "expected yes or no";
		break;
	case JOBSPEC_OVERLAP: {
		enum job_overlap	ov;

		if (job_overlap_parse(value, &ov) != 0)
			why = "expected skip, queue, replace or allow";
		else
			jobspec_setnum(js, o, ov);
		break;
	}
	case JOBSPEC_CATCHUP: {
		enum job_catchup	cu;

		if (job_catchup_parse(value, &cu) != 0)
			why = "expected skip, latest or all";
		else
			jobspec_setnum(js, o, cu);
		break;
	}
	case JOBSPEC_ENV:
		end = strchr(value, '=');
		if (end == NULL || !jobspec_env_name(value,
		    (size_t)(end - value))) {
			xasprintf(cause, "env: \"%s\" is not NAME=VALUE (NAME "
			    "of letters, digits and _, not SQCRON_*)", value);
			return -1;
		}
		jobspec_env(js, value, (size_t)(end - value), value);
		return 0;
	case JOBSPEC_EXITLIST:
		jobspec_check_exitlist(value, &why);
		break;
	case JOBSPEC_URLS:
		jobspec_check_urls(value, &why);
		if (why == NULL && strcmp(key, "ping_url") == 0 &&
		    strchr(value, ',') != NULL)
			why = "one URL only";
		break;
	case JOBSPEC_EVENTS:
		jobspec_check_events(value, &why);
		break;
	}
	if (why != NULL) {
		xasprintf(cause, "%s: \"%s\": %s", key, value, why);
		return -1;
	}
	if (o->width == 0) {
		free(*jobspec_strp(js, o));
		*jobspec_strp(js, o) = xstrdup(value);
	}
	return 0;
}

int
jobspec_get(const struct job_spec *js, const char *key, char *buf,
    size_t len)
{
	const struct jobspec_opt	*o;
	const char			*s;
	int64_t				 v;

	if ((o = jobspec_find(key)) == NULL || o->type == JOBSPEC_ENV)
		return -1;
	if (o->width == 0) {
		s = *(char *const *)(const void *)((const char *)js +
		    o->offset);
		if (s == NULL)
			return -1;
		snprintf(buf, len, "%s", s);
		return 0;
	}
	v = jobspec_getnum(js, o);
	if (v == (strcmp(key, "nice") == 0 ? JOB_NICE_UNSET : JOB_UNSET))
		return -1;
	switch (o->type) {
	case JOBSPEC_DURATION:
		if (v == 0 && o->min == 0)
			snprintf(buf, len, "none");
		else
			duration_format(v, buf, len);
		break;
	case JOBSPEC_SIZE:
		if (v == 0)
			snprintf(buf, len, "none");
		else
			size_format((uint64_t)v, buf, len);
		break;
	case JOBSPEC_BOOL:
		snprintf(buf, len, "%s", v ? "yes" : "no");
		break;
	case JOBSPEC_OVERLAP:
		snprintf(buf, len, "%s", job_overlap_name((enum job_overlap)v));
		break;
	case JOBSPEC_CATCHUP:
		snprintf(buf, len, "%s", job_catchup_name((enum job_catchup)v));
		break;
	default:
		snprintf(buf, len, "%" PRId64, v);
		break;
	}
	return 0;
}

int
jobspec_check(const struct job_spec *js, char **cause)
{
	if (js->name == NULL) {
		xasprintf(cause, "a job needs a name");
		return -1;
	}
	if (js->schedule == NULL) {
		xasprintf(cause, "%s: a job needs a schedule", js->name);
		return -1;
	}
	if (js->command == NULL) {
		xasprintf(cause, "%s: a job needs a command", js->name);
		return -1;
	}
	if (js->backoff_ms != JOB_UNSET && js->backoff_max_ms != JOB_UNSET &&
	    js->backoff_max_ms < js->backoff_ms) {
		xasprintf(cause, "%s: backoff_max is less than backoff",
		    js->name);
		return -1;
	}
	return 0;
}

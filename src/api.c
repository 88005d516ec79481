/*
 * api.c: the protocol methods.  JSON in, JSON out.
 *
 * Each handler checks its params (a wrong type is invalid_argument naming
 * the parameter), calls into the store and the policy, and answers
 * through control_reply/control_error with the result shapes of
 * DESIGN.md section 8.  It never touches sqlite3 or fork.  Every
 * mutation is written to the audit log with the peer's uid and pid, the
 * params (env values redacted) and the outcome; so is every mutation
 * refused for permission.
 *
 * Authorization (DESIGN.md section 8; the table is in sqcron(1), section
 * AUTHORIZATION).  Admin peers (control.c: root, the daemon's user,
 * admin_group) may do anything.  Any other peer sees and acts on the jobs
 * it owns only, and their runs: lists are filtered (the store's owner
 * filters), a named job or run of someone else is permission_denied
 * (api_may; a name or id that does not exist stays not_found: job names
 * are global, job.add tells a taken name anyway), a job it adds or edits
 * must run as itself (api_may_run_as), and administration of the daemon
 * as a whole is refused (api_admin).  Handlers check this themselves,
 * rather than control.c's admin_only flag, so that refusals of mutations
 * can be audited.
 *
 * Job options travel as in the command line: durations and sizes as
 * strings in the same syntax ("10m", "256M"), counts as integers, yes/no
 * options as booleans, env as an object; an unset option is null (the
 * daemon's default applies).  Times are RFC 3339 UTC with milliseconds.
 */

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <event2/event.h>
#include <inttypes.h>
#include <jansson.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "control.h"
#include "crontabs.h"
#include "job.h"
#include "jobspec.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "protocol.h"
#include "prune.h"
#include "runner.h"
#include "sched.h"
#include "store.h"
#include "tz.h"
#include "xmalloc.h"

#ifndef SQCRON_VERSION
#define SQCRON_VERSION "0"
#endif

#define API_RUNS_DEFAULT	100
#define API_RUNS_MAX		100000

static void	api_emit_job(struct api *, const char *,
		    const struct job_row *, const char *);
static void	api_batch_counts(const struct store_batch *, int *, int *,
		    int *);

/* An RFC 3339 UTC string, or null for an unset time. */
static json_t *
api_time(int64_t ms)
{
	char	buf[TZ_RFC3339_LEN];

	if (ms == JOB_UNSET)
		return json_null();
	tz_format_utc_ms(ms, buf, sizeof buf);
	return json_string(buf);
}

static json_t *
api_int(int64_t v)
{
	return v == JOB_UNSET ? json_null() : json_integer(v);
}

/* Text that may hold any bytes, as a valid UTF-8 JSON string. */
json_t *
api_text(const char *s, size_t len)
{
	json_t		*j;
	char		*buf;
	size_t		 i = 0, o = 0, n, k;
	unsigned char	 c;

	if ((j = json_stringn(s, len)) != NULL)
		return j;
	/* Invalid UTF-8: replace each bad byte with U+FFFD. */
	buf = xreallocarray(NULL, len + 1, 3);
	while (i < len) {
		c = (unsigned char)s[i];
		n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
		    (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		for (k = 1; n > 1 && k < n; k++)
			if (i + k >= len ||
			    ((unsigned char)s[i + k] & 0xc0) != 0x80)
				n = 0;
		if (n == 0 || c == 0xc0 || c == 0xc1 || c > 0xf4) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(buf + o, s + i, n);
		o += n;
		i += n;
	}
	j = json_stringn(buf, o);
	free(buf);
	return j != NULL ? j : json_string("");
}

/* RUN: the fields of DESIGN.md section 5 plus job. */
json_t *
api_run_json(const struct run *r)
{
	const char	*res = run_resolution_name(r->resolution);

	return json_pack("{s:I,s:s,s:i,s:o,s:s,s:i,s:o,s:s,s:o,s:o,s:o,s:o,"
	    "s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
	    "id", (json_int_t)r->id,
	    "job", r->job != NULL ? r->job : "",
	    "job_version", r->job_version,
	    "scheduled_at", api_time(r->scheduled_at),
	    "trigger", run_trigger_name(r->trigger),
	    "attempt", r->attempt,
	    "replay_of", api_int(r->replay_of),
	    "state", run_state_name(r->state),
	    "exit_code", r->exit_code == JOB_UNSET ? json_null() :
	    json_integer(r->exit_code),
	    "signal", r->signal > 0 ?
	    json_string(runner_signal_name(r->signal)) : json_null(),
	    "reason", r->reason != NULL ? json_string(r->reason) : json_null(),
	    "queued_at", api_time(r->queued_at),
	    "started_at", api_time(r->started_at),
	    "ended_at", api_time(r->ended_at),
	    "duration_ms", api_int(r->duration_ms),
	    "pid", api_int(r->pid),
	    "max_rss_kb", api_int(r->max_rss_kb),
	    "user_cpu_ms", api_int(r->user_cpu_ms),
	    "sys_cpu_ms", api_int(r->sys_cpu_ms),
	    "output_bytes", api_int(r->output_bytes),
	    "resolution", res != NULL ? json_string(res) : json_null());
}

/* Every option of a spec, in jobspec's order. */
static void
api_spec_json(json_t *o, const struct job_spec *js)
{
	enum jobspec_type	 type;
	const char		*key;
	json_t			*env;
	char			 buf[JOBSPEC_VALUE_MAX + 1], *eq;
	size_t			 i;

	for (i = 0; (key = jobspec_key(i, &type)) != NULL; i++) {
		if (type == JOBSPEC_ENV) {
			env = json_object();
			for (size_t k = 0; k < js->nenv; k++) {
				eq = strchr(js->env[k], '=');
				if (eq == NULL)
					continue;
				*eq = '\0';
				json_object_set_new(env, js->env[k],
				    json_string(eq + 1));
				*eq = '=';
			}
			json_object_set_new(o, key, env);
			continue;
		}
		if (jobspec_get(js, key, buf, sizeof buf) != 0) {
			json_object_set_new(o, key, json_null());
			continue;
		}
		if (type == JOBSPEC_INT)
			json_object_set_new(o, key,
			    json_integer(strtoll(buf, NULL, 10)));
		else if (type == JOBSPEC_BOOL)
			json_object_set_new(o, key,
			    json_boolean(strcmp(buf, "yes") == 0));
		else
			json_object_set_new(o, key, json_string(buf));
	}
}

/* JOB: every option plus the job's state (DESIGN.md section 8). */
static json_t *
api_job_json(struct api *api, const struct job_row *jr,
    const struct job_health *known)
{
	struct job_health	 h;
	struct run		 last;
	json_t			*o;
	char			*cause = NULL;
	int			 stale;

	o = json_object();
	api_spec_json(o, &jr->spec);
	json_object_set_new(o, "source", json_string(jr->source != NULL ?
	    jr->source : "api"));
	json_object_set_new(o, "line", jr->line > 0 ? json_integer(jr->line) :
	    json_null());
	json_object_set_new(o, "owner", json_integer((json_int_t)jr->owner));
	json_object_set_new(o, "version", json_integer(jr->version));
	json_object_set_new(o, "paused", json_boolean(jr->paused));
	json_object_set_new(o, "paused_until", api_time(jr->paused_until));
	json_object_set_new(o, "paused_reason", jr->paused && jr->paused_reason
	    != NULL ? json_string(jr->paused_reason) : json_null());
	json_object_set_new(o, "next_at", api_time(policy_next_at(api->policy,
	    jr->id)));
	memset(&h, 0, sizeof h);
	h.last_run = h.last_success_at = JOB_UNSET;
	if (known != NULL)
		h = *known;
	else if (store_job_health(api->store, jr->id, &h, &cause) < 0) {
		free(cause);
		cause = NULL;
	}
	memset(&last, 0, sizeof last);
	if (h.last_run != JOB_UNSET &&
	    store_run_get(api->store, h.last_run, &last, &cause) == 0) {
		json_object_set_new(o, "last_run", api_run_json(&last));
		run_clear(&last);
	} else {
		free(cause);
		json_object_set_new(o, "last_run", json_null());
	}
	json_object_set_new(o, "last_success_at", api_time(h.last_success_at));
	json_object_set_new(o, "consecutive_failures",
	    json_integer(h.consecutive_failures));
	/* As sqcron_job_stale says it (metrics_job_stale). */
	stale = metrics_job_stale(jr->paused, jr->created_at, jr->resumed_at,
	    h.last_success_at, jr->spec.stale_after_ms, jr->paused ? 0 :
	    policy_period(api->policy, jr->id), sched_now(), NULL);
	json_object_set_new(o, "stale", json_boolean(stale));
	return o;
}

/* params[key] as a string, NULL when absent; -1 for a wrong type. */
static int
api_str(struct control_req *req, json_t *params, const char *key,
    const char **out, int required)
{
	json_t	*v = json_object_get(params, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		control_error(req, ERR_INVALID_ARGUMENT, "missing \"%s\"", key);
		return -1;
	}
	if (!json_is_string(v)) {
		control_error(req, ERR_INVALID_ARGUMENT, "\"%s\" must be a "
		    "string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* params[key] as a boolean into *out (left alone when absent); -1: bad. */
static int
api_param_bool(struct control_req *req, json_t *params, const char *key,
    int *out)
{
	json_t	*v = json_object_get(params, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		control_error(req, ERR_INVALID_ARGUMENT, "\"%s\" must be a "
		    "boolean", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* params[key] as a time (RFC 3339 string or ms); -1 on a bad value. */
static int
api_param_time(struct control_req *req, json_t *params, const char *key,
    int64_t *ms)
{
	json_t		*v = json_object_get(params, key);
	const char	*errstr;

	*ms = JOB_UNSET;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*ms = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v) || tz_parse_time(json_string_value(v),
	    sched_now(), ms, &errstr) != 0) {
		control_error(req, ERR_INVALID_ARGUMENT, "\"%s\" must be a time "
		    "(RFC 3339 or milliseconds)", key);
		return -1;
	}
	return 0;
}

/* The params as audit text: env values are secrets. */
static char *
api_redact(json_t *params)
{
	json_t		*copy, *env, *v;
	const char	*key;
	size_t		 i;
	char		*text;

	copy = json_deep_copy(params);
	if ((env = json_object_get(copy, "env")) != NULL) {
		if (json_is_object(env)) {
			json_object_foreach(env, key, v)
				json_object_set_new(env, key,
				    json_string("[redacted]"));
		} else if (json_is_array(env)) {
			json_array_foreach(env, i, v) {
				const char	*s = json_string_value(v);
				char		*r;

				if (s == NULL || strchr(s, '=') == NULL)
					continue;
				xasprintf(&r, "%.*s=[redacted]",
				    (int)(strchr(s, '=') - s), s);
				json_array_set_new(env, i, json_string(r));
				free(r);
			}
		} else
			json_object_set_new(copy, "env",
			    json_string("[redacted]"));
	}
	text = json_dumps(copy, JSON_COMPACT);
	json_decref(copy);
	return text != NULL ? text : xstrdup("{}");
}

/* Record a mutation: who, what (params as audit text), how it ended. */
static void
api_audit_as(struct api *api, const struct control_peer *peer,
    const char *method, const char *text, const char *code,
    const char *error)
{
	char	*cause = NULL;

	if (store_audit_insert(api->store, sched_now(), peer->uid, peer->pid,
	    method, text, code == NULL ? "ok" : code, error, NULL,
	    &cause) < 0) {
		log_warnx("audit: cannot record %s: %s", method, cause);
		free(cause);
	}
}

static void
api_audit(struct api *api, struct control_req *req, json_t *params,
    const char *code, const char *error)
{
	char	*text = api_redact(params);

	api_audit_as(api, control_req_peer(req), control_req_method(req), text,
	    code, error);
	free(text);
}

/* Answer an error and audit it (mutations). */
static void
api_fail(struct api *api, struct control_req *req, json_t *params,
    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void
api_fail(struct api *api, struct control_req *req, json_t *params,
    const char *code, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	api_audit(api, req, params, code, msg);
	control_error(req, code, "%s", msg);
	free(msg);
}

/* The code for a store failure. */
static const char *
api_store_code(int rc)
{
	switch (rc) {
	case STORE_NOTFOUND:
		return ERR_NOT_FOUND;
	case STORE_CONSTRAINT:
		return ERR_CONFLICT;
	case STORE_BUSY:
		return ERR_UNAVAILABLE;
	default:
		return ERR_INTERNAL;
	}
}

/* The owner a list is filtered to: JOB_UNSET (all) for admins. */
static int64_t
api_owner(struct control_req *req)
{
	const struct control_peer	*peer = control_req_peer(req);

	return peer->admin ? JOB_UNSET : (int64_t)peer->uid;
}

/*
 * Methods about the daemon as a whole (reload, prune, export): admins
 * only.  Answers permission_denied itself (-1), audited when audit is set
 * (the method would have changed something).
 */
static int
api_admin(struct api *api, struct control_req *req, json_t *params,
    int audit)
{
	const struct control_peer	*peer = control_req_peer(req);

	if (peer->admin)
		return 0;
	if (audit)
		api_fail(api, req, params, ERR_PERMISSION_DENIED, "%s: "
		    "permission denied for uid %ld: administrators only",
		    control_req_method(req), (long)peer->uid);
	else
		control_error(req, ERR_PERMISSION_DENIED, "%s: permission "
		    "denied for uid %ld: administrators only",
		    control_req_method(req), (long)peer->uid);
	return -1;
}

/* ping: the daemon is up; who and since when. */
static void
api_ping(struct control_req *req, json_t *params, void *arg)
{
	struct api	*api = arg;

	control_reply(req, json_pack("{s:b,s:s,s:i,s:I,s:I,s:s}",
	    "pong", 1, "version", SQCRON_VERSION, "protocol", PROTOCOL_VERSION,
	    "pid", (json_int_t)getpid(),
	    "uptime_ms", (json_int_t)(sched_now() - api->started_at),
	    "timezone", api->zone));
}

/*
 * The current problems of the crontab files, those of the peer's own
 * files when it is not an admin.
 */
static json_t *
api_crontab_problems(struct api *api, int64_t owner)
{
	const struct crontabs_problem	*p;
	json_t				*list = json_array();
	size_t				 n = 0, i;

	p = api->crontabs != NULL ? crontabs_problems(api->crontabs, &n) :
	    NULL;
	for (i = 0; i < n; i++) {
		if (owner != JOB_UNSET && (int64_t)p[i].uid != owner)
			continue;
		json_array_append_new(list, json_pack("{s:o,s:o,s:b,s:o,s:o}",
		    "file", api_text(p[i].path, strlen(p[i].path)),
		    "line", p[i].line > 0 ? json_integer(p[i].line) :
		    json_null(), "warning", p[i].warning,
		    "reason", api_text(p[i].reason, strlen(p[i].reason)),
		    "message", api_text(p[i].text, strlen(p[i].text))));
	}
	return list;
}

/*
 * status: the daemon's health at a glance, for people and monitoring:
 * counts, the jobs with open failures and the stale jobs (sqcron status
 * exits 1 when there are any), and the problems of the crontab files.  A
 * peer that is not an admin gets the counts of its own jobs and its own
 * files' problems.
 */
static void
api_status(struct control_req *req, json_t *params, void *arg)
{
	struct api		*api = arg;
	struct store_open_job	*open = NULL;
	struct metrics_stale	*stale = NULL;
	json_t			*failing, *jstale;
	char			*cause = NULL;
	size_t			 n = 0, i, nstale = 0;
	int64_t			 jobs, paused, nopen = 0, owner, pending;
	int			 running, queued;

	(void)params;
	owner = api_owner(req);
	if (store_job_counts(api->store, owner, &jobs, &paused, &cause) < 0 ||
	    store_outbox_count(api->store, owner, &pending, NULL, &cause) < 0 ||
	    metrics_stale_jobs(api->metrics, owner, &stale, &nstale,
	    &cause) < 0 ||
	    store_open_by_job(api->store, owner, &open, &n, &cause) < 0) {
		metrics_stale_free(stale, nstale);
		control_error(req, ERR_UNAVAILABLE, "%s", cause);
		free(cause);
		return;
	}
	if (owner == JOB_UNSET) {
		running = policy_running(api->policy);
		queued = policy_queued(api->policy);
	} else
		policy_live_owned(api->policy, (uid_t)owner, &running, &queued);
	jstale = json_array();
	for (i = 0; i < nstale; i++) {
		json_array_append_new(jstale, json_pack("{s:s,s:o,s:o}", "job",
		    stale[i].job, "last_success_at",
		    api_time(stale[i].last_success_at), "stale_since",
		    api_time(stale[i].stale_at)));
	}
	metrics_stale_free(stale, nstale);
	failing = json_array();
	for (i = 0; i < n; i++) {
		nopen += open[i].open;
		json_array_append_new(failing, json_pack("{s:s,s:I,s:o}",
		    "job", open[i].job, "open", (json_int_t)open[i].open,
		    "last_failed_fire", api_time(open[i].last_at)));
	}
	store_open_jobs_free(open, n);
	control_reply(req, json_pack("{s:s,s:I,s:I,s:o,s:{s:I,s:I,s:i,s:i,"
	    "s:I,s:I},s:o,s:o,s:o}", "version", SQCRON_VERSION, "pid",
	    (json_int_t)getpid(), "uptime_ms", (json_int_t)(sched_now() -
	    api->started_at), "started_at", api_time(api->started_at),
	    "counts", "jobs", (json_int_t)jobs, "paused", (json_int_t)paused,
	    "running", running, "queued", queued, "open_failures",
	    (json_int_t)nopen, "notifications_pending", (json_int_t)pending,
	    "failing", failing, "stale", jstale,
	    "crontab_problems", api_crontab_problems(api, owner)));
}

/*
 * metrics: the Prometheus text exposition of every job (DESIGN.md
 * section 10), as {"text": TEXT}.  Admins only: it covers all jobs.
 */
static void
api_metrics(struct control_req *req, json_t *params, void *arg)
{
	struct api	*api = arg;
	json_t		*text;
	char		*cause = NULL, *s;
	size_t		 len;

	(void)params;
	if ((s = metrics_text(api->metrics, &len, &cause)) == NULL) {
		control_error(req, ERR_UNAVAILABLE, "%s", cause);
		free(cause);
		return;
	}
	text = json_stringn(s, len);
	free(s);
	if (text == NULL) {
		control_error(req, ERR_INTERNAL, "the metrics are not UTF-8");
		return;
	}
	control_reply(req, json_pack("{s:o}", "text", text));
}

/*
 * failures: open failures grouped by job, state, exit status or signal;
 * of the peer's own jobs unless it is an admin.
 */
static void
api_failures(struct control_req *req, json_t *params, void *arg)
{
	struct api		*api = arg;
	struct store_failure	*list = NULL;
	json_t			*groups;
	char			*cause = NULL;
	size_t			 n = 0, i;
	int64_t			 since;
	int			 rc;

	if (api_param_time(req, params, "since", &since) != 0)
		return;
	if ((rc = store_failures(api->store, since, api_owner(req), &list, &n,
	    &cause)) < 0) {
		control_error(req, api_store_code(rc), "%s", cause);
		free(cause);
		return;
	}
	groups = json_array();
	for (i = 0; i < n; i++) {
		json_array_append_new(groups, json_pack("{s:s,s:s,s:o,s:o,s:I,"
		    "s:o,s:o}", "job", list[i].job, "state",
		    run_state_name(list[i].state), "exit_code",
		    api_int(list[i].exit_code), "signal", list[i].signal > 0 ?
		    json_string(runner_signal_name(list[i].signal)) :
		    json_null(), "count", (json_int_t)list[i].count,
		    "first", api_time(list[i].first_at), "last",
		    api_time(list[i].last_at)));
	}
	store_failures_free(list, n);
	control_reply(req, json_pack("{s:o}", "failures", groups));
}

/* reload: read sqcrond.conf again, as SIGHUP does (admins only). */
static void
api_reload(struct control_req *req, json_t *params, void *arg)
{
	struct api	*api = arg;
	char		*cause = NULL;

	if (api_admin(api, req, params, 1) != 0)
		return;
	if (api->reload == NULL || api->reload(api->reload_arg, &cause) != 0) {
		api_fail(api, req, params, ERR_INVALID_ARGUMENT, "%s",
		    cause != NULL ? cause : "reload is not available");
		free(cause);
		return;
	}
	api_audit(api, req, params, NULL, NULL);
	control_reply(req, json_pack("{s:b,s:o}", "reloaded", 1, "file",
	    api->conf->file != NULL ? json_string(api->conf->file) :
	    json_null()));
}

/*
 * audit.list: the audit log, newest first, since/until/limit; a peer that
 * is not an admin sees the entries of its own requests (the log records
 * who asked, not which job was meant).
 */
static void
api_audit_list(struct control_req *req, json_t *params, void *arg)
{
	struct api		*api = arg;
	struct store_audit	*list = NULL;
	json_t			*entries, *v, *p;
	char			*cause = NULL;
	size_t			 n = 0, i, limit = API_RUNS_DEFAULT;
	int64_t			 since, until;
	int			 rc;

	if (api_param_time(req, params, "since", &since) != 0 ||
	    api_param_time(req, params, "until", &until) != 0)
		return;
	if ((v = json_object_get(params, "limit")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > API_RUNS_MAX) {
			control_error(req, ERR_INVALID_ARGUMENT, "\"limit\" "
			    "must be an integer from 1 to %d", API_RUNS_MAX);
			return;
		}
		limit = (size_t)json_integer_value(v);
	}
	if ((rc = store_audit_list(api->store, since, until, api_owner(req),
	    limit, &list, &n, &cause)) < 0) {
		control_error(req, api_store_code(rc), "%s", cause);
		free(cause);
		return;
	}
	entries = json_array();
	for (i = 0; i < n; i++) {
		p = list[i].params != NULL ? json_loads(list[i].params, 0,
		    NULL) : NULL;
		json_array_append_new(entries, json_pack("{s:I,s:o,s:I,s:o,"
		    "s:s,s:o,s:s,s:o}", "id", (json_int_t)list[i].id, "at",
		    api_time(list[i].at), "uid", (json_int_t)list[i].uid, "pid",
		    list[i].pid > 0 ? json_integer(list[i].pid) : json_null(),
		    "method", list[i].method, "params", p != NULL ? p :
		    list[i].params != NULL ? json_string(list[i].params) :
		    json_null(), "outcome", list[i].outcome, "error",
		    list[i].error != NULL ? json_string(list[i].error) :
		    json_null()));
	}
	store_audits_free(list, n);
	control_reply(req, json_pack("{s:o}", "entries", entries));
}

/*
 * Apply params to a spec through jobspec_set: strings as written,
 * integers in decimal, booleans as yes/no, null unsets; env as an object
 * or an array of NAME=VALUE; unset_env as an array of names.
 */
static int
api_apply(struct job_spec *js, json_t *params, int adding, char **cause)
{
	const char	*key;
	json_t		*v, *e;
	char		 num[32], *assign;
	const char	*text;
	size_t		 i;
	int		 rc;

	json_object_foreach(params, key, v) {
		if (strcmp(key, "name") == 0)
			continue;
		if (strcmp(key, "env") == 0 || strcmp(key, "unset_env") == 0) {
			if (json_is_object(v) && strcmp(key, "env") == 0) {
				const char	*name;

				json_object_foreach(v, name, e) {
					if (!json_is_string(e))
						goto envtype;
					xasprintf(&assign, "%s=%s", name,
					    json_string_value(e));
					rc = jobspec_set(js, "env", assign,
					    cause);
					free(assign);
					if (rc != 0)
						return -1;
				}
				continue;
			}
			if (!json_is_array(v))
				goto envtype;
			json_array_foreach(v, i, e) {
				if (!json_is_string(e))
					goto envtype;
				if (jobspec_set(js, key, json_string_value(e),
				    cause) != 0)
					return -1;
			}
			continue;
envtype:
			xasprintf(cause, "%s: expected %s", key,
			    strcmp(key, "env") == 0 ? "an object of strings "
			    "or an array of NAME=VALUE" : "an array of names");
			return -1;
		}
		if (!jobspec_known(key)) {
			xasprintf(cause, "unknown option \"%s\"", key);
			return -1;
		}
		if (json_is_string(v))
			text = json_string_value(v);
		else if (json_is_integer(v)) {
			snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
			    json_integer_value(v));
			text = num;
		} else if (json_is_boolean(v))
			text = json_is_true(v) ? "yes" : "no";
		else if (json_is_null(v) && !adding)
			text = "";
		else {
			xasprintf(cause, "%s: expected a string, a number or a "
			    "boolean", key);
			return -1;
		}
		if (jobspec_set(js, key, text, cause) != 0)
			return -1;
	}
	return 0;
}

/*
 * The peer may see and act on this job, live or removed, and its runs
 * (admins: any; others: their own).  Every handler that names a job or a
 * run asks this before it reads or changes anything.
 */
static int
api_may(struct control_req *req, const struct job_row *jr)
{
	const struct control_peer	*peer = control_req_peer(req);

	return peer->admin || peer->uid == jr->owner;
}

/* Is a limit above what sqcrond itself may raise it to? */
static int
api_over_hard(int resource, int64_t v)
{
	struct rlimit	rl;

	return v != JOB_UNSET && v > 0 && getrlimit(resource, &rl) == 0 &&
	    rl.rlim_max != RLIM_INFINITY && (uint64_t)v > rl.rlim_max;
}

/*
 * A job defined by a peer that is not an admin must run as that peer
 * and ask for nothing a process of its own could not have: its user, if
 * set, is the peer's (unset is the owner, the peer), its niceness is not
 * below 0, its limits are not above sqcrond's hard limits (the child
 * applies them before it drops privileges).  0, or -1 with why.
 */
static int
api_may_run_as(struct control_req *req, const struct job_spec *js,
    char **why)
{
	const struct control_peer	*peer = control_req_peer(req);
	struct passwd			 pw, *res = NULL;
	char				 buf[4096];

	*why = NULL;
	if (peer->admin)
		return 0;
	if (js->user != NULL && (getpwnam_r(js->user, &pw, buf, sizeof buf,
	    &res) != 0 || res == NULL || pw.pw_uid != peer->uid)) {
		xasprintf(why, "uid %ld may add jobs that run as itself only, "
		    "not as \"%s\"", (long)peer->uid, js->user);
		return -1;
	}
	if (js->nice != JOB_NICE_UNSET && js->nice < 0) {
		xasprintf(why, "uid %ld may not give a job a negative nice "
		    "(%d)", (long)peer->uid, js->nice);
		return -1;
	}
	if (api_over_hard(RLIMIT_NOFILE, js->nofile) ||
	    api_over_hard(RLIMIT_NPROC, js->nproc) ||
	    api_over_hard(RLIMIT_AS, js->rlimit_as) ||
	    api_over_hard(RLIMIT_CPU, js->cpu_ms == JOB_UNSET ? JOB_UNSET :
	    (js->cpu_ms + 999) / 1000)) {
		xasprintf(why, "uid %ld may not raise a limit above sqcrond's "
		    "own hard limits", (long)peer->uid);
		return -1;
	}
	return 0;
}

/* Find a live job by params.name; answers the error itself on failure. */
static int
api_find_job(struct api *api, struct control_req *req, json_t *params,
    struct job_row *jr, int audit)
{
	const char	*name;
	char		*cause = NULL;
	int		 rc;

	if (api_str(req, params, "name", &name, 1) != 0)
		return -1;
	if ((rc = store_job_get(api->store, name, jr, &cause)) < 0) {
		char	*msg;

		if (rc == STORE_NOTFOUND)
			xasprintf(&msg, "no job named \"%s\"", name);
		else
			msg = xstrdup(cause);
		if (audit)
			api_fail(api, req, params, api_store_code(rc), "%s",
			    msg);
		else
			control_error(req, api_store_code(rc), "%s", msg);
		free(msg);
		free(cause);
		return -1;
	}
	if (!api_may(req, jr)) {
		store_job_row_clear(jr);
		if (audit)
			api_fail(api, req, params, ERR_PERMISSION_DENIED,
			    "job \"%s\" is not yours", name);
		else
			control_error(req, ERR_PERMISSION_DENIED, "job \"%s\" "
			    "is not yours", name);
		return -1;
	}
	return 0;
}

/* Reply {"job": JOB} for a job id after a change, and audit success. */
static void
api_reply_job(struct api *api, struct control_req *req, json_t *params,
    int64_t id)
{
	struct job_row	 jr;
	char		*cause = NULL;

	if (store_job_get_id(api->store, id, &jr, &cause) < 0) {
		api_fail(api, req, params, ERR_INTERNAL, "%s", cause);
		free(cause);
		return;
	}
	api_audit(api, req, params, NULL, NULL);
	control_reply(req, json_pack("{s:o}", "job", api_job_json(api, &jr, NULL)));
	store_job_row_clear(&jr);
}

/*
 * A job that the API may change: found, the peer's, and not from a
 * crontab file (its file is its source of truth).  Answers errors itself.
 */
static int
api_find_api_job(struct api *api, struct control_req *req, json_t *params,
    struct job_row *jr, const char *where)
{
	if (api_find_job(api, req, params, jr, 1) != 0)
		return -1;
	if (strcmp(jr->source, "api") != 0) {
		api_fail(api, req, params, ERR_CONFLICT, "job \"%s\" is defined "
		    "in %s line %d: %s", jr->spec.name, jr->source, jr->line,
		    where);
		store_job_row_clear(jr);
		return -1;
	}
	return 0;
}

/* After a change in the store: reschedule, audit, reply {"job": JOB}. */
static void
api_job_changed(struct api *api, struct control_req *req, json_t *params,
    const struct job_row *jr)
{
	char	*cause = NULL;

	if (policy_job_changed(api->policy, jr->id, &cause) != 0) {
		log_warnx("%s: changed but not scheduled: %s", jr->spec.name,
		    cause);
		free(cause);
	}
	prune_kick(api->prune, jr->id);		/* keep_runs may be lower */
	api_reply_job(api, req, params, jr->id);
}

static void
api_job_add(struct control_req *req, json_t *params, void *arg)
{
	struct api	*api = arg;
	struct job_row	 jr;
	const char	*name;
	char		*cause = NULL;
	int		 rc;

	if (api_str(req, params, "name", &name, 1) != 0)
		return;
	store_job_row_init(&jr);
	if (jobspec_set(&jr.spec, "name", name, &cause) != 0 ||
	    api_apply(&jr.spec, params, 1, &cause) != 0 ||
	    jobspec_check(&jr.spec, &cause) != 0) {
		api_fail(api, req, params, ERR_INVALID_ARGUMENT, "%s", cause);
		goto out;
	}
	if (api_may_run_as(req, &jr.spec, &cause) != 0) {
		api_fail(api, req, params, ERR_PERMISSION_DENIED, "%s", cause);
		goto out;
	}
	jr.source = xstrdup("api");
	jr.owner = control_req_peer(req)->uid;
	if ((rc = store_job_add(api->store, &jr, sched_now(), &cause)) < 0) {
		if (rc == STORE_CONSTRAINT)
			api_fail(api, req, params, ERR_CONFLICT, "a job named "
			    "\"%s\" exists", name);
		else
			api_fail(api, req, params, api_store_code(rc), "%s",
			    cause);
		goto out;
	}
	api_emit_job(api, "job.added", &jr, NULL);
	api_job_changed(api, req, params, &jr);
out:
	free(cause);
	store_job_row_clear(&jr);
}

static void
api_job_update(struct control_req *req, json_t *params, void *arg)
{
	struct api	*api = arg;
	struct job_row	 jr;
	char		*cause = NULL;
	int		 rc;

	if (api_find_api_job(api, req, params, &jr, "edit the file") != 0)
		return;
	if (api_apply(&jr.spec, params, 0, &cause) != 0 ||
	    jobspec_check(&jr.spec, &cause) != 0) {
		api_fail(api, req, params, ERR_INVALID_ARGUMENT, "%s", cause);
		goto out;
	}
	/*
	 * The job as it would be: an admin may have made one of the peer's
	 * jobs run as someone else, which the peer may then run but not edit.
	 */
	if (api_may_run_as(req, &jr.spec, &cause) != 0) {
		api_fail(api, req, params, ERR_PERMISSION_DENIED, "%s", cause);
		goto out;
	}
	if ((rc = store_job_update(api->store, &jr, sched_now(), &cause)) < 0) {
		api_fail(api, req, params, api_store_code(rc), "%s", cause);
		goto out;
	}
	api_emit_job(api, "job.updated", &jr, NULL);
	api_job_changed(api, req, params, &jr);
out:
	free(cause);
	store_job_row_clear(&jr);
}

static void
api_job_remove(struct control_req *req, json_t *params, void *arg)
{
	struct api	*api = arg;
	struct job_row	 jr;
	char		*cause = NULL;
	int		 rc;

	if (api_find_api_job(api, req, params, &jr,
	    "remove the line from the file") != 0)
		return;
	if ((rc = store_job_remove(api->store, jr.id, sched_now(), &cause)) < 0) {
		api_fail(api, req, params, api_store_code(rc), "%s", cause);
		goto out;
	}
	policy_job_removed(api->policy, jr.id);
	api_emit_job(api, "job.removed", &jr, NULL);
	api_audit(api, req, params, NULL, NULL);
	control_reply(req, json_pack("{s:s}", "removed", jr.spec.name));
out:
	free(cause);
	store_job_row_clear(&jr);
}

static void
api_job_pause(struct control_req *req, json_t *params, void *arg)
{
	struct api	*api = arg;
	struct job_row	 jr;
	char		*cause = NULL;
	int64_t		 until;
	int		 rc, pausing = strcmp(control_req_method(req),
			    "job.pause") == 0;

	if (pausing && api_param_time(req, params, "until", &until) != 0)
		return;
	if (api_find_job(api, req, params, &jr, 1) != 0)
		return;
	if (pausing)
		rc = store_job_pause(api->store, jr.id, until,
		    "paused by request", &cause);
	else
		rc = store_job_resume(api->store, jr.id, sched_now(), &cause);
	if (rc < 0) {
		api_fail(api, req, params, api_store_code(rc), "%s", cause);
		goto out;
	}
	api_emit_job(api, pausing ? "job.paused" : "job.resumed", &jr,
	    pausing ? "paused by request" : "resumed by request");
	api_job_changed(api, req, params, &jr);
out:
	free(cause);
	store_job_row_clear(&jr);
}

static void
api_job_get(struct control_req *req, json_t *params, void *arg)
{
	struct api	*api = arg;
	struct job_row	 jr;

	if (api_find_job(api, req, params, &jr, 0) != 0)
		return;
	control_reply(req, json_pack("{s:o}", "job", api_job_json(api, &jr, NULL)));
	store_job_row_clear(&jr);
}

/* bsearch: a job id against a job_health (sorted by job id). */
static int
api_health_cmp(const void *key, const void *elem)
{
	int64_t				 id = *(const int64_t *)key;
	const struct job_health		*h = elem;

	return id < h->job_id ? -1 : id > h->job_id;
}

static void
api_job_list(struct control_req *req, json_t *params, void *arg)
{
	struct api		*api = arg;
	struct job_row		*rows;
	struct job_health	*health, *h;
	json_t			*jobs;
	char			*cause = NULL;
	size_t			 n, nhealth, i;
	int		 rc;

	if ((rc = store_job_list(api->store, api_owner(req), &rows, &n,
	    &cause)) < 0) {
		control_error(req, api_store_code(rc), "%s", cause);
		free(cause);
		return;
	}
	/* Every job's health in one statement, not one per job. */
	if (store_jobs_health(api->store, api_owner(req), &health, &nhealth,
	    &cause) < 0) {
		log_warnx("job.list: %s", cause);
		free(cause);
		health = NULL;
		nhealth = 0;
	}
	jobs = json_array();
	for (i = 0; i < n; i++) {
		h = nhealth == 0 ? NULL : bsearch(&rows[i].id, health,
		    nhealth, sizeof *health, api_health_cmp);
		json_array_append_new(jobs, api_job_json(api, &rows[i], h));
	}
	free(health);
	store_job_rows_free(rows, n);
	control_reply(req, json_pack("{s:o}", "jobs", jobs));
}

/* job.trigger with wait: the reply waits for the run's end. */
struct api_wait {
	struct api		*api;
	struct control_req	*req;
	int64_t			 run_id;
};

static void
api_trigger_done(const struct run *run, void *arg)
{
	struct api_wait	*w = arg;
	struct run	 r;
	char		*cause = NULL;

	/* The stored row is the truth (with the job's name). */
	if (store_run_get(w->api->store, run->id, &r, &cause) == 0) {
		control_reply(w->req, json_pack("{s:o}", "run",
		    api_run_json(&r)));
		run_clear(&r);
	} else {
		control_reply(w->req, json_pack("{s:o}", "run",
		    api_run_json(run)));
		free(cause);
	}
	free(w);
}

static void
api_trigger_abort(void *arg)
{
	struct api_wait	*w = arg;

	policy_unwait(w->api->policy, w->run_id, api_trigger_done, w);
	free(w);
}

static void
api_job_trigger(struct control_req *req, json_t *params, void *arg)
{
	struct api	*api = arg;
	struct job_row	 jr;
	struct api_wait	*w = NULL;
	struct run	 run;
	json_t		*jwait = json_object_get(params, "wait");
	char		*cause = NULL;

	if (jwait != NULL && !json_is_boolean(jwait)) {
		control_error(req, ERR_INVALID_ARGUMENT, "\"wait\" must be a "
		    "boolean");
		return;
	}
	if (api_find_job(api, req, params, &jr, 1) != 0)
		return;
	if (json_is_true(jwait)) {
		w = xcalloc(1, sizeof *w);
		w->api = api;
		w->req = req;
	}
	if (policy_trigger(api->policy, jr.id, w != NULL ? api_trigger_done :
	    NULL, w, &run, &cause) != 0) {
		api_fail(api, req, params, ERR_UNAVAILABLE, "%s", cause);
		free(cause);
		free(w);
		store_job_row_clear(&jr);
		return;
	}
	api_audit(api, req, params, NULL, NULL);
	if (w != NULL) {
		w->run_id = run.id;
		control_req_on_abort(req, api_trigger_abort, w);
	} else
		control_reply(req, json_pack("{s:o}", "run",
		    api_run_json(&run)));
	run_clear(&run);
	store_job_row_clear(&jr);
}

/*
 * The id of the live job named name that the peer may act on; answers
 * not_found or permission_denied itself (-1), and audits the refusal
 * with params when they are given (a mutation).
 */
static int
api_job_id(struct api *api, struct control_req *req, const char *name,
    int64_t *id, json_t *params)
{
	struct job_row	 jr;
	char		*cause = NULL;
	int		 rc;

	if ((rc = store_job_get(api->store, name, &jr, &cause)) < 0) {
		if (rc == STORE_NOTFOUND)
			control_error(req, ERR_NOT_FOUND, "no job named \"%s\"",
			    name);
		else
			control_error(req, api_store_code(rc), "%s", cause);
		free(cause);
		return -1;
	}
	rc = api_may(req, &jr);
	*id = jr.id;
	store_job_row_clear(&jr);
	if (!rc && params != NULL)
		api_fail(api, req, params, ERR_PERMISSION_DENIED, "job \"%s\" "
		    "is not yours", name);
	else if (!rc)
		control_error(req, ERR_PERMISSION_DENIED, "job \"%s\" is not "
		    "yours", name);
	return rc ? 0 : -1;
}

/* params.state: a state or a list of them, as STORE_STATE bits. */
static int
api_param_states(struct control_req *req, json_t *params, unsigned *mask)
{
	enum run_state	 st;
	json_t		*v, *e;
	size_t		 i;

	if ((v = json_object_get(params, "state")) == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		e = json_array();
		json_array_append(e, v);
		v = e;
	} else if (json_is_array(v))
		json_incref(v);
	else {
		control_error(req, ERR_INVALID_ARGUMENT, "\"state\" must be a "
		    "list of states");
		return -1;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) ||
		    run_state_parse(json_string_value(e), &st) != 0) {
			control_error(req, ERR_INVALID_ARGUMENT, "\"state\": "
			    "unknown state %s", json_is_string(e) ?
			    json_string_value(e) : "(not a string)");
			json_decref(v);
			return -1;
		}
		*mask |= STORE_STATE(st);
	}
	json_decref(v);
	return 0;
}

static void
api_run_list(struct control_req *req, json_t *params, void *arg)
{
	struct api		*api = arg;
	struct store_run_filter	 f;
	struct run		*runs;
	json_t			*v, *list;
	const char		*job;
	char			*cause = NULL;
	size_t			 n, i;
	int			 rc;

	store_run_filter_init(&f);
	f.owner = api_owner(req);
	f.limit = API_RUNS_DEFAULT;
	if (api_str(req, params, "job", &job, 0) != 0 ||
	    api_param_time(req, params, "since", &f.since) != 0 ||
	    api_param_time(req, params, "until", &f.until) != 0)
		return;
	if (api_param_states(req, params, &f.states) != 0)
		return;
	if (api_param_bool(req, params, "open", &f.only_open) != 0)
		return;
	if ((v = json_object_get(params, "limit")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > API_RUNS_MAX) {
			control_error(req, ERR_INVALID_ARGUMENT, "\"limit\" "
			    "must be an integer from 1 to %d", API_RUNS_MAX);
			return;
		}
		f.limit = (size_t)json_integer_value(v);
	}
	if ((v = json_object_get(params, "before")) != NULL) {
		if (!json_is_integer(v)) {
			control_error(req, ERR_INVALID_ARGUMENT, "\"before\" "
			    "must be a run id");
			return;
		}
		f.before_id = json_integer_value(v);
	}
	if (job != NULL && api_job_id(api, req, job, &f.job_id, NULL) != 0)
		return;
	if ((rc = store_run_list(api->store, &f, &runs, &n, &cause)) < 0) {
		control_error(req, api_store_code(rc), "%s", cause);
		free(cause);
		return;
	}
	list = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(list, api_run_json(&runs[i]));
	store_runs_free(runs, n);
	control_reply(req, json_pack("{s:o}", "runs", list));
}

/*
 * A run by params.id that the peer may see; answers errors itself, and
 * audits a refusal when audit is set.
 */
static int
api_find_run(struct api *api, struct control_req *req, json_t *params,
    struct run *r, int audit)
{
	json_t		*v = json_object_get(params, "id");
	struct job_row	 jr;
	char		*cause = NULL;
	int		 rc;

	if (!json_is_integer(v)) {
		control_error(req, ERR_INVALID_ARGUMENT, "\"id\" must be a run "
		    "id");
		return -1;
	}
	if ((rc = store_run_get(api->store, json_integer_value(v), r,
	    &cause)) < 0) {
		if (rc == STORE_NOTFOUND)
			control_error(req, ERR_NOT_FOUND, "no run %"
			    JSON_INTEGER_FORMAT, json_integer_value(v));
		else
			control_error(req, api_store_code(rc), "%s", cause);
		free(cause);
		return -1;
	}
	if (!control_req_peer(req)->admin) {
		if (store_job_get_id(api->store, r->job_id, &jr, NULL) < 0 ||
		    !api_may(req, &jr)) {
			store_job_row_clear(&jr);
			run_clear(r);
			if (audit)
				api_fail(api, req, params,
				    ERR_PERMISSION_DENIED, "run %"
				    JSON_INTEGER_FORMAT " is not yours",
				    json_integer_value(v));
			else
				control_error(req, ERR_PERMISSION_DENIED,
				    "run %" JSON_INTEGER_FORMAT " is not yours",
				    json_integer_value(v));
			return -1;
		}
		store_job_row_clear(&jr);
	}
	return 0;
}

static void
api_run_get(struct control_req *req, json_t *params, void *arg)
{
	struct api	*api = arg;
	struct run	 r;

	if (api_find_run(api, req, params, &r, 0) != 0)
		return;
	control_reply(req, json_pack("{s:o}", "run", api_run_json(&r)));
	run_clear(&r);
}

/* run.kill: stop a live run (killed, and who asked). */
static void
api_run_kill(struct control_req *req, json_t *params, void *arg)
{
	struct api			*api = arg;
	const struct control_peer	*peer = control_req_peer(req);
	struct run			 r;
	char				*cause = NULL, who[96];

	if (api_find_run(api, req, params, &r, 1) != 0)
		return;
	snprintf(who, sizeof who, "killed by sqcron kill (uid %lu, pid %ld)",
	    (unsigned long)peer->uid, (long)peer->pid);
	if (policy_kill(api->policy, r.id, who, &cause) != 0) {
		api_fail(api, req, params, ERR_CONFLICT, "%s", cause);
		free(cause);
		run_clear(&r);
		return;
	}
	api_audit(api, req, params, NULL, NULL);
	control_reply(req, json_pack("{s:I}", "killing", (json_int_t)r.id));
	run_clear(&r);
}

static void
api_run_output(struct control_req *req, json_t *params, void *arg)
{
	struct api		*api = arg;
	struct store_output	 out;
	struct run		 r;
	char			*cause = NULL, *all;
	size_t			 len;
	int			 rc;

	if (api_find_run(api, req, params, &r, 0) != 0)
		return;
	if ((rc = store_run_output(api->store, r.id, &out, &cause)) < 0) {
		control_error(req, api_store_code(rc), "%s", cause);
		free(cause);
		run_clear(&r);
		return;
	}
	len = out.head_len + out.tail_len;
	all = xmalloc(len + 1);
	if (out.head_len > 0)
		memcpy(all, out.head, out.head_len);
	if (out.tail_len > 0)
		memcpy(all + out.head_len, out.tail, out.tail_len);
	control_reply(req, json_pack("{s:I,s:o,s:o,s:I}", "id",
	    (json_int_t)r.id, "output", api_text(all, len), "output_bytes",
	    api_int(r.output_bytes), "omitted", (json_int_t)out.omitted));
	free(all);
	store_output_clear(&out);
	run_clear(&r);
}


/*
 * replay: DESIGN.md section 7.  Targets are runs given by id, or the
 * unresolved ("open") attempts of a job's fires in a range.  Per fire:
 * a live replay is answered in_progress, a succeeded one
 * already_replayed (unless force), a run that is not a failure is
 * not_replayable (unless force and it succeeded), else a new attempt is
 * started (would_replay in a dry run).  A request that is not a dry run
 * is a batch, recorded with its targets; with a key, the first answer is
 * recorded and given again to every request with that key.
 */
#define API_REPLAY_MAX		10000	/* targets of one request */

static const char *
api_replay_status(struct api *api, const struct run *t, int force,
    int64_t *replay_run, char **cause)
{
	int64_t	live, done;

	*replay_run = JOB_UNSET;
	if (!run_state_is_ended(t->state) && t->state != RUN_MISSED)
		return "not_replayable";
	if (!run_state_is_failure(t->state) &&
	    !(force && t->state == RUN_SUCCEEDED))
		return "not_replayable";
	if (store_fire_replays(api->store, t->job_id, t->scheduled_at, &live,
	    &done, cause) < 0)
		return NULL;
	if (live != JOB_UNSET) {
		*replay_run = live;
		return "in_progress";
	}
	if (done != JOB_UNSET && !force) {
		*replay_run = done;
		return "already_replayed";
	}
	return "would_replay";
}

/* The targets of a replay request; answers the error itself (-1). */
static int
api_replay_targets(struct api *api, struct control_req *req, json_t *params,
    struct run **runsp, size_t *np)
{
	struct store_run_filter	 f;
	struct job_row		 jr;
	struct run		*runs = NULL;
	json_t			*ids, *v;
	const char		*job;
	char			*cause = NULL;
	size_t			 n = 0, i;
	int			 rc;

	*runsp = NULL;
	*np = 0;
	ids = json_object_get(params, "runs");
	if (api_str(req, params, "job", &job, 0) != 0)
		return -1;
	if ((ids == NULL) == (job == NULL)) {
		control_error(req, ERR_INVALID_ARGUMENT, "give \"runs\" (a list "
		    "of run ids) or \"job\" (with \"since\", \"until\", "
		    "\"state\"), not both");
		return -1;
	}
	if (ids != NULL) {
		if (!json_is_array(ids) || json_array_size(ids) == 0 ||
		    json_array_size(ids) > API_REPLAY_MAX) {
			control_error(req, ERR_INVALID_ARGUMENT, "\"runs\" must "
			    "be a list of 1 to %d run ids", API_REPLAY_MAX);
			return -1;
		}
		runs = xcalloc(json_array_size(ids), sizeof *runs);
		json_array_foreach(ids, i, v) {
			if (!json_is_integer(v)) {
				control_error(req, ERR_INVALID_ARGUMENT,
				    "\"runs\": run ids are integers");
				goto fail;
			}
			rc = store_run_get(api->store, json_integer_value(v),
			    &runs[n], &cause);
			if (rc < 0) {
				control_error(req, rc == STORE_NOTFOUND ?
				    ERR_NOT_FOUND : api_store_code(rc), "%s",
				    cause);
				free(cause);
				goto fail;
			}
			n++;
			if (control_req_peer(req)->admin)
				continue;
			/* One run of someone else's refuses the request. */
			rc = store_job_get_id(api->store, runs[n - 1].job_id,
			    &jr, NULL) == 0 && api_may(req, &jr);
			store_job_row_clear(&jr);
			if (!rc) {
				api_fail(api, req, params,
				    ERR_PERMISSION_DENIED, "run %" PRId64
				    " is not yours", runs[n - 1].id);
				goto fail;
			}
		}
		*runsp = runs;
		*np = n;
		return 0;
	}
	store_run_filter_init(&f);
	f.only_open = 1;
	f.limit = API_REPLAY_MAX;
	if (api_param_time(req, params, "since", &f.since) != 0 ||
	    api_param_time(req, params, "until", &f.until) != 0 ||
	    api_param_states(req, params, &f.states) != 0)
		return -1;
	if (api_job_id(api, req, job, &f.job_id, params) != 0)
		return -1;
	if ((rc = store_run_list(api->store, &f, runsp, np, &cause)) < 0) {
		control_error(req, api_store_code(rc), "%s", cause);
		free(cause);
		return -1;
	}
	/* Oldest fire first. */
	for (i = 0; i < *np / 2; i++) {
		struct run	tmp = (*runsp)[i];

		(*runsp)[i] = (*runsp)[*np - 1 - i];
		(*runsp)[*np - 1 - i] = tmp;
	}
	return 0;

fail:
	store_runs_free(runs, n);
	return -1;
}

/* The peer may see replay batch id: admins any, others their own. */
static int
api_may_batch(struct api *api, struct control_req *req, int64_t id)
{
	const struct control_peer	*peer = control_req_peer(req);
	struct store_batch		 b;
	int				 may;

	if (peer->admin)
		return 1;
	may = store_batch_get(api->store, id, &b, NULL) == 0 &&
	    b.uid == peer->uid;
	store_batch_clear(&b);
	return may;
}

static void
api_replay(struct control_req *req, json_t *params, void *arg)
{
	struct api			*api = arg;
	const struct control_peer	*peer = control_req_peer(req);
	struct store_batch		 b;
	struct run			*runs = NULL, started;
	json_t				*v, *targets, *result, *t;
	const char			*key, *status;
	char				*cause = NULL, *answer = NULL, *text;
	size_t				 n = 0, i, j;
	int64_t				 batch = JOB_UNSET, replay_run;
	int				 dry_run = 0, force = 0, max_parallel = 1;

	if (api_str(req, params, "key", &key, 0) != 0)
		return;
	if (api_param_bool(req, params, "dry_run", &dry_run) != 0 ||
	    api_param_bool(req, params, "force", &force) != 0)
		return;
	if ((v = json_object_get(params, "max_parallel")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 1000) {
			control_error(req, ERR_INVALID_ARGUMENT,
			    "\"max_parallel\" must be an integer from 1 to "
			    "1000");
			return;
		}
		max_parallel = (int)json_integer_value(v);
	}
	if (key != NULL && (*key == '\0' || strlen(key) > 200)) {
		control_error(req, ERR_INVALID_ARGUMENT, "\"key\" must be 1 to "
		    "200 characters");
		return;
	}
	/*
	 * A key seen before: its first answer, whatever happened since; to
	 * whoever asked first (and admins) only.
	 */
	if (key != NULL && !dry_run && store_batch_by_key(api->store, key,
	    &batch, &answer, NULL) == 0 && !api_may_batch(api, req, batch)) {
		free(answer);
		api_fail(api, req, params, ERR_PERMISSION_DENIED, "replay key "
		    "\"%s\" belongs to another user's request", key);
		return;
	}
	if (answer != NULL) {
		result = json_loads(answer, 0, NULL);
		free(answer);
		if (result != NULL) {
			api_audit(api, req, params, NULL, NULL);
			control_reply(req, result);
			return;
		}
	}
	if (api_replay_targets(api, req, params, &runs, &n) != 0)
		return;

	if (!dry_run) {
		memset(&b, 0, sizeof b);
		b.requested_at = sched_now();
		b.uid = peer->uid;
		b.pid = peer->pid;
		b.key = (char *)(uintptr_t)key;
		text = api_redact(params);
		b.request = text;
		b.max_parallel = max_parallel;
		if (store_batch_add(api->store, &b, &batch, &cause) < 0) {
			api_fail(api, req, params, ERR_INTERNAL, "%s", cause);
			free(cause);
			free(text);
			store_runs_free(runs, n);
			return;
		}
		free(text);
	}
	targets = json_array();
	for (i = 0; i < n; i++) {
		status = api_replay_status(api, &runs[i], force, &replay_run,
		    &cause);
		if (status == NULL) {
			log_warnx("replay of run %" PRId64 ": %s", runs[i].id,
			    cause);
			free(cause);
			cause = NULL;
			status = "not_replayable";
		}
		/* Two targets of one fire in a request: one replay. */
		for (j = 0; j < i; j++) {
			if (runs[j].job_id == runs[i].job_id &&
			    runs[j].scheduled_at == runs[i].scheduled_at)
				break;
		}
		if (j < i && strcmp(status, "would_replay") == 0) {
			t = json_array_get(targets, j);
			if (json_is_integer(json_object_get(t, "replay_run")) ||
			    dry_run) {
				replay_run = json_is_integer(json_object_get(t,
				    "replay_run")) ? json_integer_value(
				    json_object_get(t, "replay_run")) :
				    JOB_UNSET;
				status = "in_progress";
			}
		}
		if (!dry_run && strcmp(status, "would_replay") == 0) {
			if (policy_replay(api->policy, &runs[i], batch,
			    max_parallel, &started, &cause) == 0) {
				status = "started";
				replay_run = started.id;
				run_clear(&started);
			} else {
				log_info("replay of run %" PRId64 ": %s",
				    runs[i].id, cause);
				free(cause);
				cause = NULL;
				status = "not_replayable";
			}
		}
		if (!dry_run)
			store_batch_target(api->store, batch, runs[i].id,
			    status, replay_run, NULL);
		json_array_append_new(targets, json_pack("{s:I,s:s,s:o}",
		    "run", (json_int_t)runs[i].id, "status", status,
		    "replay_run", api_int(replay_run)));
	}
	store_runs_free(runs, n);
	result = json_pack("{s:o,s:b,s:o}", "batch", api_int(batch),
	    "dry_run", dry_run, "targets", targets);
	if (!dry_run) {
		text = json_dumps(result, JSON_COMPACT);
		if (text != NULL)
			store_batch_answer(api->store, batch, text, NULL);
		free(text);
	}
	api_audit(api, req, params, NULL, NULL);
	control_reply(req, result);
}

/* replay.get: a batch and where each of its replays is now. */
static void
api_replay_get(struct control_req *req, json_t *params, void *arg)
{
	struct api			*api = arg;
	const struct control_peer	*peer = control_req_peer(req);
	struct store_batch		 b;
	json_t				*v, *targets, *request;
	char				*cause = NULL;
	size_t				 i;
	int				 rc, done, failed, live;

	v = json_object_get(params, "batch");
	if (!json_is_integer(v)) {
		control_error(req, ERR_INVALID_ARGUMENT, "\"batch\" must be a "
		    "batch id");
		return;
	}
	if ((rc = store_batch_get(api->store, json_integer_value(v), &b,
	    &cause)) < 0) {
		control_error(req, rc == STORE_NOTFOUND ? ERR_NOT_FOUND :
		    api_store_code(rc), "%s", cause);
		free(cause);
		return;
	}
	if (!peer->admin && peer->uid != b.uid) {
		control_error(req, ERR_PERMISSION_DENIED, "batch %" PRId64
		    " is not yours", b.id);
		store_batch_clear(&b);
		return;
	}
	api_batch_counts(&b, &done, &live, &failed);
	targets = json_array();
	for (i = 0; i < b.n; i++) {
		const struct store_replay_target *t = &b.targets[i];

		json_array_append_new(targets, json_pack("{s:I,s:s,s:o,s:o}",
		    "run", (json_int_t)t->run_id, "status", t->status,
		    "replay_run", api_int(t->replay_run), "replay_state",
		    t->replay_state >= 0 ? json_string(run_state_name(
		    (enum run_state)t->replay_state)) : json_null()));
	}
	request = b.request != NULL ? json_loads(b.request, 0, NULL) : NULL;
	control_reply(req, json_pack("{s:I,s:o,s:I,s:o,s:o,s:i,s:o,s:i,s:i,"
	    "s:i,s:i}", "batch", (json_int_t)b.id, "requested_at",
	    api_time(b.requested_at), "uid", (json_int_t)b.uid, "key",
	    b.key != NULL ? json_string(b.key) : json_null(), "request",
	    request != NULL ? request : json_null(), "max_parallel",
	    b.max_parallel, "targets", targets, "total", (int)b.n, "done", done,
	    "running", live, "failed", failed));
	store_batch_clear(&b);
}

/* ack: resolve the open attempts of the fires of these runs. */
static void
api_ack(struct control_req *req, json_t *params, void *arg)
{
	struct api	*api = arg;
	struct run	*runs = NULL;
	json_t		*list;
	size_t		 n = 0, i;
	int		 acked;

	if (json_object_get(params, "job") != NULL) {
		control_error(req, ERR_INVALID_ARGUMENT, "ack takes \"runs\"");
		return;
	}
	if (api_replay_targets(api, req, params, &runs, &n) != 0)
		return;
	list = json_array();
	for (i = 0; i < n; i++) {
		acked = 0;
		if (run_state_is_failure(runs[i].state) &&
		    store_fire_ack(api->store, runs[i].job_id,
		    runs[i].scheduled_at, &acked, NULL) < 0)
			acked = 0;
		json_array_append_new(list, json_pack("{s:I,s:i}", "run",
		    (json_int_t)runs[i].id, "acked", acked));
	}
	store_runs_free(runs, n);
	api_audit(api, req, params, NULL, NULL);
	control_reply(req, json_pack("{s:o}", "runs", list));
}

/* A prune request waiting for its pass to end. */
struct api_prune {
	struct api		*api;
	struct control_req	*req;		/* NULL once the client left */
	struct prune_req	*preq;
	int			 dry_run;
	struct control_peer	 peer;		/* for the audit */
	char			*params;
};

static void
api_prune_done(const struct prune_result *res, const char *error, void *arg)
{
	struct api_prune	*w = arg;
	const char		*code = error != NULL ? ERR_UNAVAILABLE : NULL;
	json_t			*jobs;
	size_t			 i;

	if (!w->dry_run)
		api_audit_as(w->api, &w->peer, "prune", w->params, code, error);
	if (w->req != NULL && error != NULL)
		control_error(w->req, code, "prune stopped: %s", error);
	else if (w->req != NULL) {
		jobs = json_array();
		for (i = 0; i < res->njobs; i++)
			json_array_append_new(jobs, json_pack("{s:s,s:b,s:I}",
			    "job", res->jobs[i].name, "removed",
			    res->jobs[i].removed, "runs",
			    (json_int_t)res->jobs[i].runs));
		control_reply(w->req, json_pack("{s:b,s:o,s:I}", "dry_run",
		    res->dry_run, "jobs", jobs, "total",
		    (json_int_t)res->total));
	}
	free(w->params);
	free(w);
}

/*
 * The client went away: a dry run stops; a real prune goes on to its
 * end, and is audited then.
 */
static void
api_prune_abort(void *arg)
{
	struct api_prune	*w = arg;

	w->req = NULL;
	if (w->dry_run) {
		prune_cancel(w->api->prune, w->preq);
		free(w->params);
		free(w);
	}
}

/*
 * prune: delete now every run that retention lets go (DESIGN.md section
 * 3; the rules are store.h's struct store_retention), every job, live or
 * removed.  params {"dry_run": BOOL}: when true, count and delete
 * nothing (default false).  The work goes a batch at a time on the loop and the reply
 * comes at its end: {"dry_run":BOOL,"jobs":[{"job":NAME,"removed":BOOL,
 * "runs":N}...],"total":N}, the jobs that had runs to delete (or would
 * have), by job id, and their sum.  Admins only; a real prune is audited
 * when it ends (also when its client left before), a refused one at
 * once.
 */
static void
api_prune(struct control_req *req, json_t *params, void *arg)
{
	struct api		*api = arg;
	struct api_prune	*w;
	json_t			*v = json_object_get(params, "dry_run");
	int			 dry_run;

	if (v != NULL && !json_is_boolean(v)) {
		control_error(req, ERR_INVALID_ARGUMENT, "\"dry_run\" must be "
		    "a boolean");
		return;
	}
	dry_run = json_is_true(v);
	if (api_admin(api, req, params, !dry_run) != 0)
		return;
	w = xcalloc(1, sizeof *w);
	w->api = api;
	w->req = req;
	w->dry_run = dry_run;
	w->peer = *control_req_peer(req);
	w->params = api_redact(params);
	w->preq = prune_request(api->prune, dry_run, api_prune_done, w);
	control_req_on_abort(req, api_prune_abort, w);
}

/*
 * Streams: run.follow, events.subscribe and export send event lines for
 * as long as they last.  None of them queues more than API_STREAM_MAX
 * bytes for a client that does not read: past it, run.follow skips
 * output and says how many bytes ({"skipped":N}) before the next piece
 * it sends, events.subscribe drops events and says how many
 * (events.dropped), and export stops reading the store until the client
 * has caught up (control_req_on_drain).  A job never waits for a
 * follower, and a stalled client costs at most API_STREAM_MAX bytes (and
 * one piece of output, or one run) until control drops it after
 * idle_timeout_s without reading.
 */
#define API_STREAM_MAX		(1024 * 1024)
#define API_CHUNK_MAX		(64 * 1024)	/* output bytes per event */
#define API_EXPORT_WINDOW	500		/* runs read in one page */
#define API_EXPORT_TURN		1000		/* runs looked at per turn */

/*
 * How many of the len bytes at s come before a UTF-8 character that is
 * cut at their end (its first bytes are kept back for the next piece, so
 * that a character split between two reads is not replaced).
 */
static size_t
api_utf8_whole(const char *s, size_t len)
{
	unsigned char	c;
	size_t		i, need;

	for (i = 1; i <= 3 && i <= len; i++) {
		c = (unsigned char)s[len - i];
		if ((c & 0xc0) == 0x80)
			continue;
		if (c < 0xc0)
			return len;
		need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		return need > i ? len - i : len;
	}
	return len;
}

/* run.follow of a live run. */
struct api_follow {
	struct api		*api;
	struct control_req	*req;
	int64_t			 run_id;
	char			 carry[4];	/* a character cut by a read */
	size_t			 ncarry;
	int64_t			 skipped;	/* bytes the client missed */
};

/*
 * Send output as {"output":TEXT} events of at most API_CHUNK_MAX bytes,
 * after the carry and, when the client missed some, {"skipped":N}.  A
 * character cut at the end waits for the next piece unless flush.
 */
static void
api_follow_send(struct api_follow *f, const char *buf, size_t len, int flush)
{
	char	*data;
	size_t	 total, end, off, n;

	if (f->skipped > 0) {
		control_event(f->req, json_pack("{s:I}", "skipped",
		    (json_int_t)f->skipped));
		f->skipped = 0;
	}
	total = f->ncarry + len;
	if (total == 0)
		return;
	data = xmalloc(total);
	memcpy(data, f->carry, f->ncarry);
	if (len > 0)
		memcpy(data + f->ncarry, buf, len);
	end = flush ? total : api_utf8_whole(data, total);
	f->ncarry = total - end;
	memcpy(f->carry, data + end, f->ncarry);
	for (off = 0; off < end; off += n) {
		n = end - off;
		if (n > API_CHUNK_MAX) {
			n = api_utf8_whole(data + off, API_CHUNK_MAX);
			if (n == 0)
				n = API_CHUNK_MAX;
		}
		control_event(f->req, json_pack("{s:o}", "output",
		    api_text(data + off, n)));
	}
	free(data);
}

/* A piece of live output. */
static void
api_follow_output(const char *buf, size_t len, void *arg)
{
	struct api_follow	*f = arg;

	if (control_req_pending(f->req) > API_STREAM_MAX) {
		/* The client fell behind: skip, never buffer without end. */
		f->skipped += (int64_t)(f->ncarry + len);
		f->ncarry = 0;
		return;
	}
	api_follow_send(f, buf, len, 0);
}

/* The run ended: the rest, then the run as stored. */
static void
api_follow_done(const struct run *run, void *arg)
{
	struct api_follow	*f = arg;
	struct run		 r;

	api_follow_send(f, NULL, 0, 1);
	if (store_run_get(f->api->store, run->id, &r, NULL) == 0) {
		control_reply(f->req, json_pack("{s:o}", "run",
		    api_run_json(&r)));
		run_clear(&r);
	} else
		control_reply(f->req, json_pack("{s:o}", "run",
		    api_run_json(run)));
	free(f);
}

static void
api_follow_abort(void *arg)
{
	struct api_follow	*f = arg;

	policy_unwait(f->api->policy, f->run_id, api_follow_done, f);
	free(f);
}

/*
 * run.follow {"id":RUN}: the run's output as {"output":TEXT} events --
 * what it wrote so far, then each piece as it comes -- and, when it has
 * ended, the result {"run":RUN}.  For an ended run: its stored output and
 * the result at once.
 */
static void
api_run_follow(struct control_req *req, json_t *params, void *arg)
{
	struct api		*api = arg;
	struct api_follow	*f;
	struct store_output	 out;
	struct run		 r;
	char			*cause = NULL, *sofar;
	size_t			 len;
	int			 rc;

	if (api_find_run(api, req, params, &r, 0) != 0)
		return;
	f = xcalloc(1, sizeof *f);
	f->api = api;
	f->req = req;
	f->run_id = r.id;
	if (policy_follow(api->policy, r.id, api_follow_output,
	    api_follow_done, f, &sofar, &len) == 0) {
		control_req_on_abort(req, api_follow_abort, f);
		api_follow_send(f, sofar, len, 0);
		free(sofar);
		run_clear(&r);
		return;
	}
	if ((rc = store_run_output(api->store, r.id, &out, &cause)) < 0) {
		control_error(req, api_store_code(rc), "%s", cause);
		free(cause);
	} else {
		api_follow_send(f, out.head, out.head_len, 0);
		api_follow_send(f, out.tail, out.tail_len, 1);
		store_output_clear(&out);
		control_reply(req, json_pack("{s:o}", "run", api_run_json(&r)));
	}
	free(f);
	run_clear(&r);
}

/* An events.subscribe client. */
struct api_sub {
	struct api		*api;
	struct control_req	*req;
	char			*job;		/* only this job's, or NULL */
	int64_t			 owner;		/* only its jobs', or JOB_UNSET */
	int64_t			 dropped;	/* events it missed */
	LIST_ENTRY(api_sub)	 entry;
};

/*
 * Hand an event (reference stolen) about job (its id, name and owner;
 * owner JOB_UNSET: look it up if needed) to every subscriber that may
 * see it and wants it.  A user who is not an admin sees its own jobs'
 * events only (job_id JOB_UNSET: none).
 */
static void
api_emit(struct api *api, int64_t job_id, const char *job, int64_t owner,
    json_t *ev)
{
	struct api_sub	*s;
	struct job_row	 jr;

	LIST_FOREACH(s, &api->subs, entry) {
		if (s->job != NULL && (job == NULL || strcmp(job, s->job) != 0))
			continue;
		if (s->owner != JOB_UNSET && owner == JOB_UNSET &&
		    job_id != JOB_UNSET &&
		    store_job_get_id(api->store, job_id, &jr, NULL) == 0) {
			owner = (int64_t)jr.owner;	/* once per event */
			store_job_row_clear(&jr);
		}
		if (s->owner != JOB_UNSET && s->owner != owner)
			continue;
		if (control_req_pending(s->req) > API_STREAM_MAX) {
			s->dropped++;
			continue;
		}
		if (s->dropped > 0) {
			control_event(s->req, json_pack("{s:s,s:o,s:I}",
			    "event", "events.dropped", "time",
			    api_time(sched_now()), "count",
			    (json_int_t)s->dropped));
			s->dropped = 0;
		}
		control_event(s->req, json_incref(ev));
	}
	json_decref(ev);
}

/* {"event":NAME,"time":NOW,"job":JOB}, for the caller to complete. */
static json_t *
api_event_new(const char *name, const char *job)
{
	return json_pack("{s:s,s:o,s:o}", "event", name, "time",
	    api_time(sched_now()), "job", job != NULL ? json_string(job) :
	    json_null());
}

/* A job event of the API's own (job.added, job.removed, ...). */
static void
api_emit_job(struct api *api, const char *name, const struct job_row *jr,
    const char *reason)
{
	json_t	*ev;

	if (LIST_EMPTY(&api->subs))
		return;
	ev = api_event_new(name, jr->spec.name);
	if (reason != NULL)
		json_object_set_new(ev, "reason", json_string(reason));
	api_emit(api, jr->id, jr->spec.name, (int64_t)jr->owner, ev);
}

void
api_job_event(struct api *api, const char *event, const struct job_row *jr,
    const char *reason)
{
	api_emit_job(api, event, jr, reason);
}

/* Where a replay batch stands: its targets done, running, failed. */
static void
api_batch_counts(const struct store_batch *b, int *done, int *live,
    int *failed)
{
	const struct store_replay_target	*t;
	size_t					 i;
	int					 ended;

	*done = *live = *failed = 0;
	for (i = 0; i < b->n; i++) {
		t = &b->targets[i];
		ended = t->replay_state >= 0 &&
		    run_state_is_ended((enum run_state)t->replay_state);
		if (t->replay_state < 0 || ended)
			(*done)++;
		else
			(*live)++;
		if (ended && t->replay_state != RUN_SUCCEEDED &&
		    strcmp(t->status, "started") == 0)
			(*failed)++;
	}
}

/*
 * What the policy tells: run.started; run.succeeded, run.failed (and
 * run.dead when the failure is left open: no retry follows) or
 * run.skipped; job.recovered, job.paused, job.resumed; replay.progress.
 * The names are those of DESIGN.md section 10 where it has them.
 */
static void
api_policy_event_cb(const struct policy_event *e, void *arg)
{
	struct api		*api = arg;
	struct store_batch	 b;
	const char		*name = NULL;
	json_t			*ev;
	int			 done, live, failed;

	switch (e->type) {
	case POLICY_RUN_STARTED:
		name = "run.started";
		break;
	case POLICY_RUN_ENDED:
		if (e->run->state == RUN_SUCCEEDED)
			name = "run.succeeded";
		else if (run_state_is_failure(e->run->state))
			name = "run.failed";
		else
			name = "run.skipped";
		break;
	case POLICY_JOB_RECOVERED:
		name = "job.recovered";
		break;
	case POLICY_JOB_PAUSED:
		name = "job.paused";
		break;
	case POLICY_JOB_RESUMED:
		name = "job.resumed";
		break;
	case POLICY_REPLAY_PROGRESS:
		if (store_batch_get(api->store, e->batch, &b, NULL) < 0)
			return;
		api_batch_counts(&b, &done, &live, &failed);
		ev = api_event_new("replay.progress", e->job);
		json_object_set_new(ev, "batch", json_integer(e->batch));
		json_object_set_new(ev, "total", json_integer((json_int_t)b.n));
		json_object_set_new(ev, "done", json_integer(done));
		json_object_set_new(ev, "running", json_integer(live));
		json_object_set_new(ev, "failed", json_integer(failed));
		store_batch_clear(&b);
		api_emit(api, e->job_id, e->job, JOB_UNSET, ev);
		return;
	}
	ev = api_event_new(name, e->job);
	if (e->run != NULL)
		json_object_set_new(ev, "run", api_run_json(e->run));
	if (e->reason != NULL)
		json_object_set_new(ev, "reason", json_string(e->reason));
	api_emit(api, e->job_id, e->job, JOB_UNSET, ev);
	if (e->type == POLICY_RUN_ENDED && e->run->resolution ==
	    RESOLUTION_OPEN) {
		ev = api_event_new("run.dead", e->job);
		json_object_set_new(ev, "run", api_run_json(e->run));
		api_emit(api, e->job_id, e->job, JOB_UNSET, ev);
	}
}

static void
api_sub_abort(void *arg)
{
	struct api_sub	*s = arg;
	struct api	*api = s->api;

	LIST_REMOVE(s, entry);
	/* Nobody listens: the policy computes nothing more for events. */
	if (LIST_EMPTY(&api->subs))
		policy_set_event_cb(api->policy, NULL, NULL);
	free(s->job);
	free(s);
}

/*
 * events.subscribe {"job":NAME}: events as they happen, until the client
 * goes away (there is no result).  The first is events.subscribed: from
 * then on nothing is missed but what events.dropped counts.  With job,
 * only that job's events (the job need not exist yet).  A user who is
 * not an admin gets its own jobs' events only, and naming someone else's
 * job is permission_denied.
 */
static void
api_events_subscribe(struct control_req *req, json_t *params, void *arg)
{
	struct api	*api = arg;
	struct api_sub	*s;
	struct job_row	 jr;
	const char	*job;
	int		 mine;

	if (api_str(req, params, "job", &job, 0) != 0)
		return;
	if (job != NULL && !job_name_valid(job)) {
		control_error(req, ERR_INVALID_ARGUMENT, "\"job\": not a job "
		    "name");
		return;
	}
	if (job != NULL && store_job_get(api->store, job, &jr, NULL) == 0) {
		mine = api_may(req, &jr);
		store_job_row_clear(&jr);
		if (!mine) {
			control_error(req, ERR_PERMISSION_DENIED, "job \"%s\" "
			    "is not yours", job);
			return;
		}
	}
	s = xcalloc(1, sizeof *s);
	s->api = api;
	s->req = req;
	s->job = job != NULL ? xstrdup(job) : NULL;
	s->owner = api_owner(req);
	if (LIST_EMPTY(&api->subs))
		policy_set_event_cb(api->policy, api_policy_event_cb, api);
	LIST_INSERT_HEAD(&api->subs, s, entry);
	control_req_on_abort(req, api_sub_abort, s);
	control_event(req, api_event_new("events.subscribed", job));
}

/* An export in progress. */
struct api_export {
	struct api		*api;
	struct control_req	*req;
	struct store_run_filter	 f;
	int64_t			 after;		/* the last id looked at */
	int64_t			 last;		/* the newest run at the start */
	struct run		*page;
	size_t			 npage;
	size_t			 i;		/* the next run of the page */
	int64_t			 count;		/* runs sent */
	struct event		*ev;		/* the next turn */
	int			 waiting;	/* for the client to read */
};

static void
api_export_free(struct api_export *x)
{
	store_runs_free(x->page, x->npage);
	if (x->ev != NULL)
		event_free(x->ev);
	free(x);
}

/*
 * One turn of an export: send runs while the client keeps up, at most
 * API_EXPORT_TURN looked at, then let the loop serve others.  Each page
 * is a bounded read (store_run_page); a run's output is read when it is
 * sent, so memory holds one page and one output.
 */
static void
api_export_turn(struct api_export *x)
{
	struct store_output	 out;
	struct run		*r;
	json_t			*ev;
	struct timeval		 zero = { 0, 0 };
	char			*cause = NULL, *all;
	size_t			 looked = 0, len;
	int64_t			 next;
	int			 rc;

	x->waiting = 0;
	while (looked < API_EXPORT_TURN) {
		if (control_req_pending(x->req) > API_STREAM_MAX) {
			x->waiting = 1;		/* api_export_drain goes on */
			return;
		}
		if (x->i == x->npage) {
			store_runs_free(x->page, x->npage);
			x->page = NULL;
			x->npage = x->i = 0;
			rc = store_run_page(x->api->store, &x->f, x->after,
			    x->last, API_EXPORT_WINDOW, &x->page, &x->npage,
			    &next, &cause);
			if (rc < 0)
				goto fail;
			if (next == x->after) {
				control_reply(x->req, json_pack("{s:I}", "runs",
				    (json_int_t)x->count));
				api_export_free(x);
				return;
			}
			x->after = next;
			looked += API_EXPORT_WINDOW;
			continue;
		}
		r = &x->page[x->i++];
		looked++;
		rc = store_run_output(x->api->store, r->id, &out, &cause);
		if (rc == STORE_NOTFOUND) {	/* pruned meanwhile */
			free(cause);
			cause = NULL;
			continue;
		}
		if (rc < 0)
			goto fail;
		len = out.head_len + out.tail_len;
		all = xmalloc(len + 1);
		if (out.head_len > 0)
			memcpy(all, out.head, out.head_len);
		if (out.tail_len > 0)
			memcpy(all + out.head_len, out.tail, out.tail_len);
		ev = json_pack("{s:o,s:o}", "run", api_run_json(r), "output",
		    api_text(all, len));
		free(all);
		store_output_clear(&out);
		control_event(x->req, ev);
		x->count++;
	}
	evtimer_add(x->ev, &zero);
	return;
fail:
	control_error(x->req, api_store_code(rc), "export stopped after %"
	    PRId64 " runs: %s", x->count, cause);
	free(cause);
	api_export_free(x);
}

static void
api_export_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	api_export_turn(arg);
}

static void
api_export_drain(void *arg)
{
	struct api_export	*x = arg;

	if (x->waiting)
		api_export_turn(x);
}

static void
api_export_abort(void *arg)
{
	api_export_free(arg);
}

/*
 * export {"job":NAME,"since":T,"until":T,"state":[S...]}: every run that
 * matches (scheduled_at in [since, until)), oldest first, each as an
 * event {"run":RUN,"output":TEXT}, then the result {"runs":N}.  Runs
 * recorded after the export began are not in it.  A backup before
 * prune: it is read a page at a time from the loop, at the pace the
 * client reads.
 */
static void
api_export(struct control_req *req, json_t *params, void *arg)
{
	struct api			*api = arg;
	struct api_export		*x;
	const char			*job;
	char				*cause = NULL;
	int				 rc;

	x = xcalloc(1, sizeof *x);
	x->api = api;
	x->req = req;
	store_run_filter_init(&x->f);
	x->f.owner = api_owner(req);
	if (api_str(req, params, "job", &job, 0) != 0 ||
	    api_param_time(req, params, "since", &x->f.since) != 0 ||
	    api_param_time(req, params, "until", &x->f.until) != 0 ||
	    api_param_states(req, params, &x->f.states) != 0 ||
	    (job != NULL && api_job_id(api, req, job, &x->f.job_id, NULL) != 0))
		goto fail;
	if ((rc = store_run_last_id(api->store, &x->last, &cause)) < 0) {
		control_error(req, api_store_code(rc), "%s", cause);
		free(cause);
		goto fail;
	}
	if ((x->ev = evtimer_new(api->base, api_export_cb, x)) == NULL) {
		control_error(req, ERR_INTERNAL, "cannot make a timer");
		goto fail;
	}
	control_req_on_abort(req, api_export_abort, x);
	control_req_on_drain(req, api_export_drain, x);
	api_export_turn(x);
	return;
fail:
	api_export_free(x);
}

/*
 * Every method is open to every peer that can reach the socket, and each
 * handler applies the authorization rules itself (api_may, api_owner,
 * api_may_run_as, api_admin: see the top of this file), so that refused
 * mutations are audited.  admin_only (control.c refuses, unaudited) is
 * for methods that only read and are for admins as a whole.
 */
static const struct control_method methods[] = {
	{ "ping", api_ping, 0 },
	{ "status", api_status, 0 },		/* own counts */
	{ "metrics", api_metrics, 1 },		/* every job's */
	{ "failures", api_failures, 0 },	/* own jobs */
	{ "audit.list", api_audit_list, 0 },	/* own requests */
	{ "reload", api_reload, 0 },		/* admins */
	{ "job.list", api_job_list, 0 },	/* own jobs */
	{ "job.get", api_job_get, 0 },
	{ "job.add", api_job_add, 0 },		/* running as itself */
	{ "job.update", api_job_update, 0 },	/* running as itself */
	{ "job.remove", api_job_remove, 0 },
	{ "job.pause", api_job_pause, 0 },
	{ "job.resume", api_job_pause, 0 },
	{ "job.trigger", api_job_trigger, 0 },
	{ "run.list", api_run_list, 0 },	/* own jobs' runs */
	{ "run.get", api_run_get, 0 },
	{ "run.output", api_run_output, 0 },
	{ "run.follow", api_run_follow, 0 },
	{ "run.kill", api_run_kill, 0 },
	{ "replay", api_replay, 0 },
	{ "replay.get", api_replay_get, 0 },	/* own batches */
	{ "run.ack", api_ack, 0 },
	{ "events.subscribe", api_events_subscribe, 0 }, /* own jobs' */
	{ "export", api_export, 1 },		/* every run */
	{ "prune", api_prune, 0 },		/* admins */
};

const struct control_method *
api_methods(size_t *n)
{
	*n = sizeof methods / sizeof methods[0];
	return methods;
}

/*
 * 410-outbox: events become outbox rows, and the store's outbox keeps
 * them, against a real database in a temporary directory.
 *
 * outbox.c: which rows each event makes for a job's notify, notify_on
 * and ping_url (and the daemon's defaults), the ping URLs (/start, /fail,
 * a trailing '/', a query), what the bodies carry, job.recovered decided
 * before the run's end is recorded, rows that roll back with their
 * transaction, Slack's body.  store.c: a run's rows to one URL wait in
 * order, leases, retries, dead rows (the newest OUTBOX_DEAD_KEEP kept),
 * rearming at start, counts.
 */

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "job.h"
#include "outbox.h"
#include "store.h"
#include "xmalloc.h"
#include "tap.h"

#define T0	INT64_C(1764000000000)	/* 2025-11-24T16:00:00Z */

static char	 dir[400];
static char	 dbpath[512];

static void
cleanup(void)
{
	char	path[600];

	snprintf(path, sizeof path, "%s-wal", dbpath);
	unlink(path);
	snprintf(path, sizeof path, "%s-shm", dbpath);
	unlink(path);
	unlink(dbpath);
	rmdir(dir);
}

static int64_t
add_job(struct store *st, const char *name, const char *notify,
    const char *notify_on, const char *ping)
{
	struct job_row	 jr;
	char		*cause = NULL;
	int64_t		 id;

	store_job_row_init(&jr);
	jr.spec.name = xstrdup(name);
	jr.spec.schedule = xstrdup("@daily");
	jr.spec.command = xstrdup("true");
	jr.spec.notify = notify != NULL ? xstrdup(notify) : NULL;
	jr.spec.notify_on = notify_on != NULL ? xstrdup(notify_on) : NULL;
	jr.spec.ping_url = ping != NULL ? xstrdup(ping) : NULL;
	jr.source = xstrdup("api");
	if (store_job_add(st, &jr, T0, &cause) != STORE_OK)
		BAIL_OUT("add job: %s", cause);
	id = jr.id;
	store_job_row_clear(&jr);
	return id;
}

/* A running run of a job, as the policy records it before forking. */
static void
start_run(struct store *st, int64_t job_id, int64_t at, struct run *r)
{
	char	*cause = NULL;

	memset(r, 0, sizeof *r);
	r->job_id = job_id;
	r->job_version = 1;
	r->scheduled_at = at;
	r->trigger = TRIGGER_MANUAL;
	r->attempt = 1;
	r->replay_of = JOB_UNSET;
	r->state = RUN_RUNNING;
	r->exit_code = JOB_UNSET;
	r->queued_at = r->started_at = at;
	r->ended_at = r->duration_ms = r->pid = JOB_UNSET;
	r->max_rss_kb = r->user_cpu_ms = r->sys_cpu_ms = JOB_UNSET;
	r->output_bytes = JOB_UNSET;
	if (store_run_insert(st, r, &cause) != STORE_OK)
		BAIL_OUT("insert run: %s", cause);
}

/* End run r as policy does: its events, then its record, one commit. */
static void
end_run(struct store *st, struct outbox *ob, struct run *r,
    enum run_state state, enum run_resolution res, const char *output)
{
	struct store_output	 out;
	char			*cause = NULL;

	r->state = state;
	r->resolution = res;
	r->exit_code = state == RUN_SUCCEEDED ? 0 : 3;
	r->ended_at = r->started_at + 1500;
	r->duration_ms = 1500;
	r->output_bytes = (int64_t)strlen(output);
	memset(&out, 0, sizeof out);
	out.head = (char *)(uintptr_t)output;
	out.head_len = strlen(output);
	if (store_begin(st, &cause) != STORE_OK)
		BAIL_OUT("begin: %s", cause);
	outbox_run_ended(ob, r, output, strlen(output), r->ended_at);
	if (store_run_finish(st, r, &out, &cause) != STORE_OK ||
	    store_commit(st, &cause) != STORE_OK)
		BAIL_OUT("finish: %s", cause);
}

/* "kind event url" of every ready row, soonest first, a line each. */
static char *
rows(struct store *st)
{
	struct store_outbox	*o = NULL;
	size_t			 n = 0, i;
	char			*s = xstrdup(""), *t;

	if (store_outbox_due(st, INT64_MAX, 1000, &o, &n, NULL) != STORE_OK)
		BAIL_OUT("due");
	for (i = 0; i < n; i++) {
		xasprintf(&t, "%s%s %s %s\n", s, o[i].kind, o[i].event,
		    o[i].url);
		free(s);
		s = t;
	}
	store_outboxes_free(o, n);
	return s;
}

/* Deliver (delete) every ready row; how many. */
static size_t
deliver_ready(struct store *st)
{
	struct store_outbox	*o = NULL;
	size_t			 n = 0, i;

	if (store_outbox_due(st, INT64_MAX, 1000, &o, &n, NULL) != STORE_OK)
		BAIL_OUT("due");
	for (i = 0; i < n; i++)
		store_outbox_done(st, o[i].id, NULL);
	store_outboxes_free(o, n);
	return n;
}

/* The ready row whose url and event are these (id, body), or 0. */
static int64_t
find(struct store *st, const char *event, const char *url, char **body)
{
	struct store_outbox	*o = NULL;
	size_t			 n = 0, i;
	int64_t			 id = 0;

	*body = NULL;
	if (store_outbox_due(st, INT64_MAX, 1000, &o, &n, NULL) != STORE_OK)
		BAIL_OUT("due");
	for (i = 0; i < n; i++) {
		if (strcmp(o[i].event, event) == 0 &&
		    strcmp(o[i].url, url) == 0) {
			id = o[i].id;
			*body = xstrdup(o[i].body);
		}
	}
	store_outboxes_free(o, n);
	return id;
}

static int64_t
pending(struct store *st)
{
	int64_t	p = -1;

	store_outbox_count(st, JOB_UNSET, &p, NULL, NULL);
	return p;
}

static void
test_events(struct store *st, struct config *conf)
{
	struct outbox	*ob;
	struct run	 r, r2, r3;
	json_t		*j;
	char		*s, *body;
	int64_t		 job, id;

	ob = outbox_new(st, conf, NULL);
	job = add_job(st, "j", "http://h.example/a,http://h.example/b",
	    "run.failed,run.dead,job.recovered,job.stale,run.started",
	    "http://hc.example/p/?k=v");

	start_run(st, job, T0, &r);
	ok(outbox_run_started(ob, r.id, T0) == 0, "run started");
	s = rows(st);
	is(s, "webhook run.started http://h.example/a\n"
	    "webhook run.started http://h.example/b\n"
	    "ping run.started http://hc.example/p/start?k=v\n",
	    "run.started to each URL, the ping's /start before its query");
	free(s);

	end_run(st, ob, &r, RUN_FAILED, RESOLUTION_OPEN, "disk full\n");
	is_int(pending(st), 8, "a failure with no retry: run.failed and "
	    "run.dead to each URL, /fail: 8 rows pending");
	s = rows(st);
	is(s, "webhook run.started http://h.example/a\n"
	    "webhook run.started http://h.example/b\n"
	    "ping run.started http://hc.example/p/start?k=v\n",
	    "but only the first of the run's rows to each URL is ready");
	free(s);
	is_int((int64_t)deliver_ready(st), 3, "deliver those");
	s = rows(st);
	is(s, "webhook run.failed http://h.example/a\n"
	    "webhook run.failed http://h.example/b\n"
	    "ping run.failed http://hc.example/p/fail?k=v\n",
	    "then the next of each, in order");
	free(s);
	if ((id = find(st, "run.failed", "http://hc.example/p/fail?k=v",
	    &body)) != 0)
		is(body, "disk full\n", "the /fail ping carries the output");
	else
		ok(0, "the /fail ping carries the output");
	free(body);
	find(st, "run.failed", "http://h.example/a", &body);
	j = json_loads(body != NULL ? body : "", 0, NULL);
	ok(j != NULL, "the webhook body is JSON");
	is(json_string_value(json_object_get(j, "event")), "run.failed",
	    "  event");
	is(json_string_value(json_object_get(json_object_get(j, "job"),
	    "name")), "j", "  job.name");
	is_int(json_integer_value(json_object_get(json_object_get(j, "run"),
	    "id")), r.id, "  run.id");
	is(json_string_value(json_object_get(json_object_get(j, "run"),
	    "output")), "disk full\n", "  run.output");
	ok(json_is_null(json_object_get(j, "reason")), "  reason null");
	json_decref(j);
	free(body);
	deliver_ready(st);
	deliver_ready(st);
	is_int(pending(st), 0, "delivered: nothing pending");

	/* Rows roll back with their transaction. */
	start_run(st, job, T0 + 60000, &r2);
	store_begin(st, NULL);
	r2.state = RUN_FAILED;
	r2.resolution = RESOLUTION_OPEN;
	outbox_run_ended(ob, &r2, "", 0, T0 + 61000);
	ok(pending(st) > 0, "inside a transaction the rows are there");
	store_rollback(st);
	is_int(pending(st), 0, "rolled back, they are gone with it");

	/* job.recovered: decided before the success is recorded. */
	end_run(st, ob, &r2, RUN_SUCCEEDED, RESOLUTION_NONE, "ok\n");
	s = rows(st);
	is(s, "webhook job.recovered http://h.example/a\n"
	    "webhook job.recovered http://h.example/b\n"
	    "ping run.succeeded http://hc.example/p/?k=v\n",
	    "a success after a failure: job.recovered (run.succeeded not "
	    "asked for), the ping URL as given");
	free(s);
	deliver_ready(st);
	start_run(st, job, T0 + 120000, &r3);
	end_run(st, ob, &r3, RUN_SUCCEEDED, RESOLUTION_NONE, "ok\n");
	s = rows(st);
	is(s, "ping run.succeeded http://hc.example/p/?k=v\n",
	    "a second success: no job.recovered");
	free(s);
	deliver_ready(st);

	/* Job events. */
	ok(outbox_job_event(ob, job, CONFIG_EVENT_JOB_STALE,
	    "no success for 2d (stale_after 1d)", T0 + 200000) == 0,
	    "job.stale");
	find(st, "job.stale", "http://h.example/b", &body);
	j = json_loads(body != NULL ? body : "", 0, NULL);
	is(json_string_value(json_object_get(j, "reason")),
	    "no success for 2d (stale_after 1d)", "  with its reason");
	is_int(json_integer_value(json_object_get(json_object_get(j, "run"),
	    "id")), r3.id, "  and the job's last run");
	json_decref(j);
	free(body);
	deliver_ready(st);
	ok(outbox_job_event(ob, job, CONFIG_EVENT_JOB_PAUSED, "x", T0) == 0 &&
	    pending(st) == 0, "job.paused is not in notify_on: nothing");
	ok(outbox_job_event(ob, job, CONFIG_EVENT_RUN_FAILED, "x", T0) == -1,
	    "a run event is not a job event");

	/* Slack's body. */
	conf->notify_format = CONFIG_NOTIFY_SLACK;
	outbox_set_config(ob, conf);
	outbox_job_event(ob, job, CONFIG_EVENT_JOB_STALE, "late <3h> & more",
	    T0);
	find(st, "job.stale", "http://h.example/a", &body);
	j = json_loads(body != NULL ? body : "", 0, NULL);
	ok(j != NULL && json_object_size(j) == 1, "Slack: one key");
	s = (char *)(uintptr_t)json_string_value(json_object_get(j, "text"));
	ok(s != NULL && strstr(s, "] *j*: stale: late &lt;3h&gt; &amp; more")
	    != NULL, "Slack: text, escaped (%s)", s != NULL ? s : "null");
	json_decref(j);
	free(body);
	deliver_ready(st);
	conf->notify_format = CONFIG_NOTIFY_JSON;
	outbox_set_config(ob, conf);

	/* notify_on = none; the daemon's defaults. */
	job = add_job(st, "quiet", "http://h.example/q", "none", NULL);
	start_run(st, job, T0, &r);
	end_run(st, ob, &r, RUN_FAILED, RESOLUTION_OPEN, "");
	is_int(pending(st), 0, "notify_on = none: no row");
	run_clear(&r);
	conf->notify = xreallocarray(NULL, 1, sizeof *conf->notify);
	conf->notify[0] = xstrdup("http://d.example/x");
	conf->nnotify = 1;
	job = add_job(st, "plain", NULL, NULL, NULL);
	start_run(st, job, T0, &r);
	outbox_run_started(ob, r.id, T0);
	end_run(st, ob, &r, RUN_FAILED, RESOLUTION_RETRYING, "");
	s = rows(st);
	is(s, "webhook run.failed http://d.example/x\n",
	    "the daemon's notify and notify_on: run.failed, no run.dead "
	    "while a retry follows, no run.started");
	free(s);
	deliver_ready(st);
	outbox_run_dead(ob, r.id, T0);
	s = rows(st);
	is(s, "webhook run.dead http://d.example/x\n",
	    "run.dead when the retry does not happen");
	free(s);
	deliver_ready(st);
	run_clear(&r);
	run_clear(&r2);
	run_clear(&r3);
	ok(outbox_run_started(NULL, 1, T0) == 0, "a NULL outbox does nothing");
	outbox_free(ob);
}

static void
test_store(struct store *st)
{
	struct store_outbox	 o, *list = NULL;
	size_t			 n = 0, i;
	int64_t			 id, at, p, d;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.created_at = T0;
	o.event = (char *)(uintptr_t)"run.failed";
	o.kind = (char *)(uintptr_t)"webhook";
	o.job_id = 1;
	o.run_id = JOB_UNSET;
	o.url = (char *)(uintptr_t)"http://h.example/s";
	o.content_type = (char *)(uintptr_t)"application/json";
	o.body = (char *)(uintptr_t)"{}";
	o.body_len = 2;
	ok(store_outbox_add(st, &o, &id, &cause) == STORE_OK, "add a row");
	ok(store_outbox_next(st, &at, NULL) == STORE_OK && at == T0,
	    "due at once");
	ok(store_outbox_try(st, id, T0 + 70000, NULL) == STORE_OK,
	    "an attempt begins: a lease");
	store_outbox_due(st, T0 + 1000, 10, &list, &n, NULL);
	is_int((int64_t)n, 0, "  the row is not due during it");
	store_outboxes_free(list, n);
	ok(store_outbox_fail(st, id, T0 + 5000, "HTTP 500", T0 + 1000,
	    NULL) == STORE_OK, "it failed: due again in 4 s");
	store_outbox_due(st, T0 + 5000, 10, &list, &n, NULL);
	ok(n == 1 && list[0].attempts == 1 && list[0].last_error != NULL &&
	    strcmp(list[0].last_error, "HTTP 500") == 0,
	    "  then due, one attempt, the error kept");
	store_outboxes_free(list, n);
	ok(store_outbox_rearm(st, T0 + 2000, NULL) == STORE_OK &&
	    store_outbox_next(st, &at, NULL) == STORE_OK && at == T0 + 2000,
	    "rearm: due now");
	ok(store_outbox_fail(st, id, JOB_UNSET, "gave up", T0 + 3000,
	    NULL) == STORE_OK, "given up");
	ok(store_outbox_count(st, JOB_UNSET, &p, &d, NULL) == STORE_OK &&
	    p == 0 && d == 1, "  dead, not pending");
	ok(store_outbox_next(st, &at, NULL) == STORE_OK && at == JOB_UNSET,
	    "  nothing due");
	ok(store_outbox_fail(st, id, JOB_UNSET, "again", T0, NULL) ==
	    STORE_NOTFOUND, "a dead row cannot fail again");

	store_begin(st, NULL);
	for (i = 0; i < OUTBOX_DEAD_KEEP + 5; i++) {
		store_outbox_add(st, &o, &id, NULL);
		store_outbox_fail(st, id, JOB_UNSET, "x", T0, NULL);
	}
	store_commit(st, NULL);
	store_outbox_count(st, JOB_UNSET, &p, &d, NULL);
	is_int(d, OUTBOX_DEAD_KEEP, "dead rows: the newest %d are kept",
	    OUTBOX_DEAD_KEEP);
	ok(store_outbox_done(st, id, NULL) == STORE_OK &&
	    store_outbox_done(st, id, NULL) == STORE_NOTFOUND,
	    "done deletes, once");
}

int
main(void)
{
	struct store	*st;
	struct config	*conf;
	char		*cause = NULL;
	const char	*tmp;

	tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/sqcron-410.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		BAIL_OUT("mkdtemp %s: %s", dir, strerror(errno));
	atexit(cleanup);
	snprintf(dbpath, sizeof dbpath, "%s/sqcron.db", dir);
	if ((st = store_open(dbpath, 0, &cause)) == NULL)
		BAIL_OUT("%s", cause);
	conf = config_default();

	test_events(st, conf);
	test_store(st);

	config_free(conf);
	store_close(st);
	return done_testing();
}

/*
 * metrics.c: Prometheus metrics (DESIGN.md section 10) in the text
 * exposition format 0.0.4, served three ways: the protocol's metrics
 * method (sqcron metrics), an HTTP listener on the daemon's loop
 * (metrics_listen: GET /metrics and /healthz, libevent's evhttp), and a
 * node_exporter textfile (metrics_textfile).
 *
 * What is counted lives in the database (sql/0005-metrics.sql): the
 * counters are bumped by triggers in the transaction that records a
 * run's end, so they survive restarts and pruning, and rendering reads
 * them with two statements whatever the number of jobs (store.c's
 * store_job_metrics and store_metric_totals).  The gauges of the
 * moment (running, queued) come from policy, staleness is computed here
 * from the schedule's period (sched_period, cached) when asked.
 *
 * Label cardinality is bounded by the number of jobs: labels are job
 * names, run states and replay results, never commands, run ids or
 * reasons.  Every live job has every sqcron_runs_total state from 0, so
 * that increase() sees a job's first OOM kill; a removed job's series
 * disappear (its counters stay in the database, and a job added again
 * under its name starts from 0: Prometheus reads that as a reset).  The
 * duration histogram is shown for jobs that have had a run with a
 * duration.
 *
 * Silent when idle: nothing here wakes up by itself.  The textfile is
 * written at start and after changes (policy tells: a run ended, a job
 * changed), at most once per METRICS_TEXTFILE_INTERVAL_MS, and once more
 * at the moment the next job becomes stale, if one will; it is written
 * to a temporary file in the same directory and renamed over, so
 * node_exporter never reads half a file, and removed when sqcrond stops.
 *
 * The HTTP listener is bounded: headers at METRICS_HTTP_MAX_HEADERS,
 * bodies at METRICS_HTTP_MAX_BODY, a connection idle (or a client not
 * reading) for METRICS_HTTP_TIMEOUT_S is closed, and at most
 * METRICS_HTTP_MAX_CONNS connections are open at once: at the limit the
 * listener stops accepting (clients wait in the kernel's backlog) until
 * one closes, so HTTP clients can never use up the descriptors that jobs
 * need.  libevent 2.1's evhttp neither counts its connections nor says
 * when one closes, so each connection's bufferevent is made here
 * (evhttp_set_bevcb) with a reference of ours: evhttp_free clears its
 * callbacks, which is how a closed one is recognised (and our reference
 * dropped).  It is made without BEV_OPT_CLOSE_ON_FREE because evhttp
 * closes the socket itself when it is done with it, so our reference
 * never keeps a client waiting.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <sys/queue.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "duration.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "policy.h"
#include "sched.h"
#include "store.h"
#include "timer.h"
#include "xmalloc.h"

#define METRICS_HTTP_TIMEOUT_S		10
#define METRICS_HTTP_MAX_HEADERS	8192
#define METRICS_HTTP_MAX_BODY		4096
#define METRICS_HTTP_MAX_CONNS		32
#define METRICS_HTTP_PAUSE_MS		1000	/* listener off: look again */
#define METRICS_CONTENT_TYPE		"text/plain; version=0.0.4; charset=utf-8"

/* An HTTP connection: its bufferevent, on which we hold a reference. */
struct metrics_conn {
	struct bufferevent	*bev;
	TAILQ_ENTRY(metrics_conn) entry;
};
TAILQ_HEAD(metrics_conns, metrics_conn);

struct metrics {
	struct event_base	*base;
	struct store		*store;
	struct policy		*policy;
	char			*db_path;
	char			*db_wal;
	int64_t			 started_at;
	int64_t			(*pending_fn)(void *);
	void			*pending_arg;
	int			 stopping;

	char			*listen;	/* as configured; NULL: off */
	struct evhttp		*http;
	struct evconnlistener	*listener;	/* evhttp's */
	struct metrics_conns	 conns;
	int			 nconns;
	struct event		*ev_pause;	/* listener off until then */
	int			 paused_logged;

	char			*textfile;	/* NULL: off */
	struct event		*ev_textfile;
	int64_t			 textfile_due;	/* timer armed; JOB_UNSET */
	int64_t			 textfile_at;	/* last written */
	int			 textfile_failing; /* logged, not again */
	int64_t			 next_stale_at;	/* of the last rendering */
	char			 le[STORE_DURATION_NBUCKETS][24]; /* "0.1" */

	/* job.stale events: jobs stale at the last look, sorted by id. */
	struct outbox		*outbox;	/* NULL: none sent */
	struct event		*ev_stale;
	int64_t			 stale_due;	/* timer armed; JOB_UNSET */
	int64_t			 stale_look;	/* the last look; JOB_UNSET */
	int64_t			*stale_ids;
	size_t			 nstale_ids;
};

static void	metrics_textfile_cb(evutil_socket_t, short, void *);
static void	metrics_pause_cb(evutil_socket_t, short, void *);
static void	metrics_stale_cb(evutil_socket_t, short, void *);
static void	metrics_stale_arm(struct metrics *, int64_t);

/*
 * The listener's error callback gets evhttp's argument, not ours: the one
 * struct metrics that listens.
 */
static struct metrics	*metrics_listening;

struct metrics *
metrics_new(struct event_base *base, struct store *store,
    struct policy *policy, const char *db_path, int64_t started_at)
{
	struct metrics	*m;
	int64_t		 ms;
	int		 i;

	m = xcalloc(1, sizeof *m);
	m->base = base;
	m->store = store;
	m->policy = policy;
	m->db_path = xstrdup(db_path);
	xasprintf(&m->db_wal, "%s-wal", db_path);
	m->started_at = started_at;
	m->textfile_due = JOB_UNSET;
	m->textfile_at = JOB_UNSET;
	m->next_stale_at = JOB_UNSET;
	/* The histogram's bounds as labels: 100 ms is "0.1", 5 s "5". */
	for (i = 0; i < STORE_DURATION_NBUCKETS; i++) {
		ms = store_duration_bucket_ms[i];
		if (ms % 1000 == 0)
			snprintf(m->le[i], sizeof m->le[i], "%" PRId64,
			    ms / 1000);
		else {
			snprintf(m->le[i], sizeof m->le[i], "%" PRId64 ".%03d",
			    ms / 1000, (int)(ms % 1000));
			while (m->le[i][strlen(m->le[i]) - 1] == '0')
				m->le[i][strlen(m->le[i]) - 1] = '\0';
		}
	}
	TAILQ_INIT(&m->conns);
	m->stale_due = m->stale_look = JOB_UNSET;
	if ((m->ev_textfile = evtimer_new(base, metrics_textfile_cb, m)) ==
	    NULL || (m->ev_pause = evtimer_new(base, metrics_pause_cb, m)) ==
	    NULL || (m->ev_stale = evtimer_new(base, metrics_stale_cb, m)) ==
	    NULL)
		fatalx("evtimer_new failed");
	return m;
}

/* Drop the connections evhttp has closed (it cleared their callbacks). */
static void
metrics_http_reap(struct metrics *m, int all)
{
	struct metrics_conn	*c, *next;
	bufferevent_event_cb	 eventcb;

	for (c = TAILQ_FIRST(&m->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		bufferevent_getcb(c->bev, NULL, NULL, &eventcb, NULL);
		if (eventcb != NULL && !all)
			continue;
		TAILQ_REMOVE(&m->conns, c, entry);
		bufferevent_decref(c->bev);
		free(c);
		m->nconns--;
	}
}

static void
metrics_pause_arm(struct metrics *m)
{
	struct timeval	tv = { 0, METRICS_HTTP_PAUSE_MS * 1000 };

	evconnlistener_disable(m->listener);
	evtimer_add(m->ev_pause, &tv);
}

/* While the listener is off: accept again once a connection is gone. */
static void
metrics_pause_cb(evutil_socket_t fd, short events, void *arg)
{
	struct metrics	*m = arg;

	(void)fd;
	(void)events;
	if (m->listener == NULL)
		return;
	metrics_http_reap(m, 0);
	if (m->nconns >= METRICS_HTTP_MAX_CONNS) {
		metrics_pause_arm(m);
		return;
	}
	evconnlistener_enable(m->listener);
}

/* A new connection (evhttp_set_bevcb): count it, maybe stop accepting. */
static struct bufferevent *
metrics_http_bev_cb(struct event_base *base, void *arg)
{
	struct metrics		*m = arg;
	struct metrics_conn	*c;
	struct bufferevent	*bev;

	metrics_http_reap(m, 0);
	if ((bev = bufferevent_socket_new(base, -1, 0)) == NULL)
		return NULL;	/* evhttp makes one of its own */
	bufferevent_incref(bev);
	c = xcalloc(1, sizeof *c);
	c->bev = bev;
	TAILQ_INSERT_TAIL(&m->conns, c, entry);
	if (++m->nconns >= METRICS_HTTP_MAX_CONNS) {
		if (!m->paused_logged)
			log_warnx("metrics: %d HTTP connections open, the "
			    "most allowed: new ones wait", m->nconns);
		m->paused_logged = 1;
		metrics_pause_arm(m);
	}
	return bev;
}

/* accept() failed (out of descriptors?): pause instead of spinning. */
static void
metrics_http_error_cb(struct evconnlistener *listener, void *arg)
{
	struct metrics	*m = metrics_listening;

	(void)arg;
	log_warn("metrics: accept");
	if (m != NULL && m->listener == listener)
		metrics_pause_arm(m);
}

static void
metrics_unlisten(struct metrics *m)
{
	evtimer_del(m->ev_pause);
	m->listener = NULL;
	if (metrics_listening == m)
		metrics_listening = NULL;
	if (m->http != NULL)
		evhttp_free(m->http);	/* closes its connections */
	m->http = NULL;
	metrics_http_reap(m, 1);
	free(m->listen);
	m->listen = NULL;
}

/* Stop writing the textfile, and remove it: nothing stands behind it. */
static void
metrics_textfile_off(struct metrics *m)
{
	evtimer_del(m->ev_textfile);
	m->textfile_due = JOB_UNSET;
	if (m->textfile != NULL && unlink(m->textfile) == -1 &&
	    errno != ENOENT)
		log_warn("metrics: remove %s", m->textfile);
	free(m->textfile);
	m->textfile = NULL;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	metrics_unlisten(m);
	metrics_textfile_off(m);
	event_free(m->ev_textfile);
	event_free(m->ev_pause);
	event_free(m->ev_stale);
	free(m->stale_ids);
	free(m->db_path);
	free(m->db_wal);
	free(m);
}

void
metrics_set_pending_fn(struct metrics *m, int64_t (*fn)(void *), void *arg)
{
	m->pending_fn = fn;
	m->pending_arg = arg;
}

void
metrics_set_stopping(struct metrics *m)
{
	m->stopping = 1;
}

int
metrics_job_stale(int paused, int64_t created_at, int64_t resumed_at,
    int64_t last_success_at, int64_t stale_after_ms, int64_t period_ms,
    int64_t now, int64_t *stale_at)
{
	int64_t	since, limit;

	if (stale_at != NULL)
		*stale_at = JOB_UNSET;
	limit = stale_after_ms != JOB_UNSET ? stale_after_ms : 2 * period_ms;
	if (paused || limit <= 0)
		return 0;
	/* The latest of the three; JOB_UNSET (-1) is below any time. */
	since = created_at;
	if (resumed_at > since)
		since = resumed_at;
	if (last_success_at > since)
		since = last_success_at;
	if (since < 0)
		return 0;
	if (stale_at != NULL)
		*stale_at = since + limit;
	return now - since > limit;
}

/* A job's staleness from its metrics row. */
static int
metrics_stale_of(struct metrics *m, const struct store_job_metrics *j,
    int64_t now, int64_t *stale_at)
{
	return metrics_job_stale(j->paused, j->created_at, j->resumed_at,
	    j->last_success_at, j->stale_after_ms, j->paused ? 0 :
	    policy_period(m->policy, j->id), now, stale_at);
}

/*
 * The text being rendered: one growing buffer, written with memcpy and
 * integer formatting of our own.  10,000 jobs make about 280,000 lines
 * (15 MB): printf-style formatting was most of the time.
 */
struct metrics_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
mb_add(struct metrics_buf *b, const char *s, size_t n)
{
	if (b->cap - b->len < n + 1) {
		while (b->cap - b->len < n + 1)
			b->cap = b->cap == 0 ? 65536 : b->cap * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
mb_str(struct metrics_buf *b, const char *s)
{
	mb_add(b, s, strlen(s));
}

static void
mb_u64(struct metrics_buf *b, uint64_t v)
{
	char	buf[24], *p = buf + sizeof buf;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	mb_add(b, p, (size_t)(buf + sizeof buf - p));
}

static void
mb_i64(struct metrics_buf *b, int64_t v)
{
	if (v < 0) {
		mb_add(b, "-", 1);
		mb_u64(b, -(uint64_t)v);
	} else
		mb_u64(b, (uint64_t)v);
}

/* Milliseconds as seconds with three decimals, without floating point. */
static void
mb_seconds(struct metrics_buf *b, int64_t ms)
{
	uint64_t	a = ms < 0 ? -(uint64_t)ms : (uint64_t)ms;
	char		frac[4];

	if (ms < 0)
		mb_add(b, "-", 1);
	mb_u64(b, a / 1000);
	frac[0] = '.';
	frac[1] = (char)('0' + a % 1000 / 100);
	frac[2] = (char)('0' + a % 100 / 10);
	frac[3] = (char)('0' + a % 10);
	mb_add(b, frac, sizeof frac);
}

/*
 * A label value as the exposition format wants it: backslash, double
 * quote and newline escaped.  Job names need none of it
 * ([A-Za-z0-9._-]), but nothing here relies on that.
 */
static char *
metrics_label(const char *v)
{
	char		*out, *p;
	const char	*s;

	p = out = xreallocarray(NULL, strlen(v) + 1, 2);
	for (s = v; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"') {
			*p++ = '\\';
			*p++ = *s;
		} else if (*s == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else
			*p++ = *s;
	}
	*p = '\0';
	return out;
}

static void
metrics_family(struct metrics_buf *b, const char *name, const char *type,
    const char *help)
{
	mb_str(b, "# HELP ");
	mb_str(b, name);
	mb_add(b, " ", 1);
	mb_str(b, help);
	mb_str(b, "\n# TYPE ");
	mb_str(b, name);
	mb_add(b, " ", 1);
	mb_str(b, type);
	mb_add(b, "\n", 1);
}

/*
 * The start of a sample, up to its value: NAME{job="JOB",KEY="VALUE"} ,
 * each label left out when NULL (the values are escaped already).
 */
static void
metrics_series(struct metrics_buf *b, const char *name, const char *job,
    const char *key, const char *value)
{
	mb_str(b, name);
	if (job != NULL || key != NULL) {
		mb_add(b, "{", 1);
		if (job != NULL) {
			mb_str(b, "job=\"");
			mb_str(b, job);
			mb_add(b, "\"", 1);
		}
		if (key != NULL) {
			if (job != NULL)
				mb_add(b, ",", 1);
			mb_str(b, key);
			mb_str(b, "=\"");
			mb_str(b, value);
			mb_add(b, "\"", 1);
		}
		mb_add(b, "}", 1);
	}
	mb_add(b, " ", 1);
}

/* A whole sample with an integer value. */
static void
metrics_sample(struct metrics_buf *b, const char *name, const char *job,
    const char *key, const char *value, int64_t v)
{
	metrics_series(b, name, job, key, value);
	mb_i64(b, v);
	mb_add(b, "\n", 1);
}

/* A whole sample of milliseconds, in seconds. */
static void
metrics_sample_ms(struct metrics_buf *b, const char *name, const char *job,
    int64_t ms)
{
	metrics_series(b, name, job, NULL, NULL);
	mb_seconds(b, ms);
	mb_add(b, "\n", 1);
}

/* Per job: the duration histogram, buckets cumulative, +Inf the count. */
static void
metrics_histogram(struct metrics *m, struct metrics_buf *b, const char *job,
    const struct store_job_metrics *j)
{
	int	i;

	for (i = 0; i < STORE_DURATION_NBUCKETS; i++)
		metrics_sample(b, "sqcron_run_duration_seconds_bucket", job,
		    "le", m->le[i], j->duration_le[i]);
	metrics_sample(b, "sqcron_run_duration_seconds_bucket", job, "le",
	    "+Inf", j->duration_count);
	metrics_sample_ms(b, "sqcron_run_duration_seconds_sum", job,
	    j->duration_sum_ms);
	metrics_sample(b, "sqcron_run_duration_seconds_count", job, NULL, NULL,
	    j->duration_count);
}

/* sqcron_db_size_bytes: the database file and its write-ahead log. */
static int
metrics_db_size(struct metrics *m, int64_t *size)
{
	struct stat	sb;

	if (stat(m->db_path, &sb) == -1)
		return -1;
	*size = sb.st_size;
	if (stat(m->db_wal, &sb) == 0)
		*size += sb.st_size;
	return 0;
}

/*
 * Render every family into b, in DESIGN.md's order; sets
 * m->next_stale_at, the earliest moment a job not stale now will be.
 */
static int
metrics_render(struct metrics *m, struct metrics_buf *b, char **cause)
{
	struct store_job_metrics	*jobs = NULL, *j;
	struct store_metric_totals	 t;
	char				**names;
	size_t				 n = 0, i;
	int64_t				 now = sched_now(), at, size;
	int				 s;

	if (store_job_metrics(m->store, JOB_UNSET, &jobs, &n, cause) < 0)
		return -1;
	if (store_metric_totals(m->store, &t, cause) < 0) {
		store_job_metrics_free(jobs, n);
		return -1;
	}
	names = xcalloc(n + 1, sizeof *names);
	for (i = 0; i < n; i++)
		names[i] = metrics_label(jobs[i].name);

	metrics_family(b, "sqcron_runs_total", "counter",
	    "Runs that ended, by job and end state.");
	for (i = 0; i < n; i++) {
		for (s = RUN_SUCCEEDED; s < RUN_NSTATES; s++)
			metrics_sample(b, "sqcron_runs_total", names[i],
			    "state", run_state_name((enum run_state)s),
			    jobs[i].runs[s]);
	}
	metrics_family(b, "sqcron_run_duration_seconds", "histogram",
	    "Wall time of the runs that executed, by job.");
	for (i = 0; i < n; i++) {
		if (jobs[i].duration_count > 0)
			metrics_histogram(m, b, names[i], &jobs[i]);
	}
	metrics_family(b, "sqcron_job_last_success_timestamp_seconds", "gauge",
	    "When the job's last successful run ended (absent: never).");
	for (i = 0; i < n; i++) {
		if (jobs[i].last_success_at != JOB_UNSET)
			metrics_sample_ms(b, "sqcron_job_last_success_"
			    "timestamp_seconds", names[i],
			    jobs[i].last_success_at);
	}
	metrics_family(b, "sqcron_job_last_run_timestamp_seconds", "gauge",
	    "When the job's last executed run ended (absent: never).");
	for (i = 0; i < n; i++) {
		if (jobs[i].last_run_at != JOB_UNSET)
			metrics_sample_ms(b, "sqcron_job_last_run_"
			    "timestamp_seconds", names[i], jobs[i].last_run_at);
	}
	metrics_family(b, "sqcron_job_consecutive_failures", "gauge",
	    "Failed fires of the job since its last success or resume.");
	for (i = 0; i < n; i++)
		metrics_sample(b, "sqcron_job_consecutive_failures", names[i],
		    NULL, NULL, jobs[i].consecutive_failures);
	metrics_family(b, "sqcron_job_stale", "gauge",
	    "1 when the job has not succeeded for stale_after (default "
	    "twice its schedule's longest gap).");
	m->next_stale_at = JOB_UNSET;
	for (i = 0; i < n; i++) {
		j = &jobs[i];
		s = metrics_stale_of(m, j, now, &at);
		if (!s && at != JOB_UNSET && (m->next_stale_at == JOB_UNSET ||
		    at < m->next_stale_at))
			m->next_stale_at = at;
		metrics_sample(b, "sqcron_job_stale", names[i], NULL, NULL, s);
	}
	metrics_family(b, "sqcron_job_paused", "gauge",
	    "1 when the job is paused.");
	for (i = 0; i < n; i++)
		metrics_sample(b, "sqcron_job_paused", names[i], NULL, NULL,
		    jobs[i].paused != 0);

	metrics_family(b, "sqcron_runs_running", "gauge",
	    "Runs executing now.");
	metrics_sample(b, "sqcron_runs_running", NULL, NULL, NULL,
	    policy_running(m->policy));
	metrics_family(b, "sqcron_runs_queued", "gauge",
	    "Runs waiting for a slot (max_running).");
	metrics_sample(b, "sqcron_runs_queued", NULL, NULL, NULL,
	    policy_queued(m->policy));
	metrics_family(b, "sqcron_open_failures", "gauge",
	    "Fires whose failure is open (sqcron runs --open).");
	metrics_sample(b, "sqcron_open_failures", NULL, NULL, NULL,
	    t.open_failures);
	metrics_family(b, "sqcron_replays_total", "counter",
	    "Replay runs that ended, by result.");
	metrics_sample(b, "sqcron_replays_total", NULL, "result", "succeeded",
	    t.replays_succeeded);
	metrics_sample(b, "sqcron_replays_total", NULL, "result", "failed",
	    t.replays_failed);
	metrics_family(b, "sqcron_notifications_pending", "gauge",
	    "Notifications in the outbox, not delivered yet.");
	metrics_sample(b, "sqcron_notifications_pending", NULL, NULL, NULL,
	    m->pending_fn != NULL ? m->pending_fn(m->pending_arg) : 0);
	metrics_family(b, "sqcron_start_time_seconds", "gauge",
	    "When sqcrond started.");
	metrics_sample_ms(b, "sqcron_start_time_seconds", NULL, m->started_at);
	metrics_family(b, "sqcron_db_size_bytes", "gauge",
	    "Size of the database file and its write-ahead log.");
	if (metrics_db_size(m, &size) == 0)
		metrics_sample(b, "sqcron_db_size_bytes", NULL, NULL, NULL,
		    size);

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	store_job_metrics_free(jobs, n);
	log_debug("metrics: %zu jobs, %zu bytes in %" PRId64 " ms", n, b->len,
	    sched_now() - now);
	return 0;
}

char *
metrics_text(struct metrics *m, size_t *len, char **cause)
{
	struct metrics_buf	b;

	memset(&b, 0, sizeof b);
	if (metrics_render(m, &b, cause) != 0) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p != NULL ? b.p : xstrdup("");
}

int
metrics_stale_jobs(struct metrics *m, int64_t owner,
    struct metrics_stale **listp, size_t *np, char **cause)
{
	struct store_job_metrics	*jobs;
	struct metrics_stale		*list = NULL;
	size_t				 n, i, k = 0;
	int64_t				 now = sched_now(), at;

	*listp = NULL;
	*np = 0;
	if (store_job_metrics(m->store, owner, &jobs, &n, cause) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!metrics_stale_of(m, &jobs[i], now, &at))
			continue;
		list = xreallocarray(list, k + 1, sizeof *list);
		list[k].job = xstrdup(jobs[i].name);
		list[k].last_success_at = jobs[i].last_success_at;
		list[k].stale_at = at;
		k++;
	}
	store_job_metrics_free(jobs, n);
	*listp = list;
	*np = k;
	return 0;
}

void
metrics_stale_free(struct metrics_stale *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(list[i].job);
	free(list);
}

/*
 * The textfile.  The timer is armed for the earliest of: a change
 * (METRICS_TEXTFILE_INTERVAL_MS after the last write at the soonest) and
 * the moment the next job becomes stale.
 */
/*
 * Arm ev for at (ms since the epoch) unless it is already due by then;
 * *due is when it is due (JOB_UNSET: not armed; the callback resets it).
 */
static void
metrics_timer_arm(struct event *ev, int64_t *due, int64_t at,
    const char *what)
{
	if (*due != JOB_UNSET && *due <= at)
		return;
	if (timer_add_ms(ev, at - sched_now()) == -1) {
		log_warnx("metrics: cannot arm the %s timer", what);
		return;
	}
	*due = at;
}

static void
metrics_textfile_arm(struct metrics *m, int64_t at)
{
	if (m->textfile != NULL)
		metrics_timer_arm(m->ev_textfile, &m->textfile_due, at,
		    "textfile");
}

void
metrics_changed(void *arg)
{
	struct metrics	*m = arg;
	int64_t		 at = sched_now();

	/*
	 * A success may end a job's staleness, a pause or an edit move it:
	 * look again soon, but not more often than every few seconds (a
	 * look reads every job; the timer catches each deadline anyway).
	 */
	if (m->outbox != NULL)
		metrics_stale_arm(m, m->stale_look != JOB_UNSET &&
		    m->stale_look + METRICS_STALE_INTERVAL_MS > at +
		    METRICS_STALE_SETTLE_MS ? m->stale_look +
		    METRICS_STALE_INTERVAL_MS : at + METRICS_STALE_SETTLE_MS);
	if (m->textfile == NULL)
		return;
	if (m->textfile_at != JOB_UNSET &&
	    at < m->textfile_at + METRICS_TEXTFILE_INTERVAL_MS)
		at = m->textfile_at + METRICS_TEXTFILE_INTERVAL_MS;
	metrics_textfile_arm(m, at);
}

/*
 * job.stale events.  The timer is armed for the moment the next job would
 * become stale, and shortly after a change: never periodically.  Each
 * look reads every job's metrics row in one statement; a job stale now
 * and not at the previous look is told to the outbox (which sends it only
 * to jobs whose notify_on has job.stale).  The previous look is memory:
 * after a restart, a job still stale is told again, once.
 */
static void
metrics_stale_arm(struct metrics *m, int64_t at)
{
	metrics_timer_arm(m->ev_stale, &m->stale_due, at, "staleness");
}

static int
metrics_id_cmp(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
metrics_stale_cb(evutil_socket_t fd, short events, void *arg)
{
	struct metrics			*m = arg;
	struct store_job_metrics	*jobs;
	int64_t				*ids = NULL, now = sched_now(), at;
	int64_t				 next = JOB_UNSET, limit;
	char				*cause = NULL, since[64], after[64];
	char				 reason[256];
	size_t				 n, i, k = 0;

	(void)fd;
	(void)events;
	m->stale_due = JOB_UNSET;
	m->stale_look = now;
	if (m->outbox == NULL)
		return;
	if (store_job_metrics(m->store, JOB_UNSET, &jobs, &n, &cause) < 0) {
		log_warnx("metrics: staleness: %s; trying again in a minute",
		    cause);
		free(cause);
		metrics_stale_arm(m, now + 60000);
		return;
	}
	for (i = 0; i < n; i++) {
		if (!metrics_stale_of(m, &jobs[i], now, &at)) {
			if (at != JOB_UNSET && (next == JOB_UNSET || at < next))
				next = at;
			continue;
		}
		ids = xreallocarray(ids, k + 1, sizeof *ids);
		ids[k++] = jobs[i].id;
		if (m->nstale_ids > 0 && bsearch(&jobs[i].id, m->stale_ids,
		    m->nstale_ids, sizeof *m->stale_ids, metrics_id_cmp) != NULL)
			continue;	/* told already */
		limit = jobs[i].stale_after_ms != JOB_UNSET ?
		    jobs[i].stale_after_ms :
		    2 * policy_period(m->policy, jobs[i].id);
		duration_format((now - at + limit) / 1000 * 1000, since,
		    sizeof since);
		duration_format(limit, after, sizeof after);
		snprintf(reason, sizeof reason, "no success for %s (stale "
		    "after %s%s)", since, after, jobs[i].stale_after_ms !=
		    JOB_UNSET ? "" : ": twice the schedule's longest gap");
		log_info("%s: stale: %s", jobs[i].name, reason);
		outbox_job_event(m->outbox, jobs[i].id, CONFIG_EVENT_JOB_STALE,
		    reason, now);
	}
	store_job_metrics_free(jobs, n);
	if (k > 1)
		qsort(ids, k, sizeof *ids, metrics_id_cmp);
	free(m->stale_ids);
	m->stale_ids = ids;
	m->nstale_ids = k;
	if (next != JOB_UNSET)
		metrics_stale_arm(m, next);
}

void
metrics_set_outbox(struct metrics *m, struct outbox *ob)
{
	m->outbox = ob;
	if (ob != NULL)
		metrics_stale_arm(m, sched_now());
}

/* Write the textfile: a temporary file beside it, renamed over it. */
static int
metrics_textfile_write(struct metrics *m, char **cause)
{
	char	*text, *tmp;
	size_t	 len, off;
	ssize_t	 w;
	int	 fd, ret = -1;

	if ((text = metrics_text(m, &len, cause)) == NULL)
		return -1;
	xasprintf(&tmp, "%s.XXXXXX", m->textfile);	/* not *.prom */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	/* node_exporter runs as another user. */
	if (fchmod(fd, 0644) == -1)
		goto fail;
	for (off = 0; off < len; off += (size_t)w) {
		if ((w = write(fd, text + off, len - off)) == -1) {
			if (errno != EINTR)
				goto fail;
			w = 0;
		}
	}
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, m->textfile) == -1)
		goto fail;
	ret = 0;
	goto out;
fail:
	xasprintf(cause, "%s: %s", tmp, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(text);
	return ret;
}

static void
metrics_textfile_cb(evutil_socket_t fd, short events, void *arg)
{
	struct metrics	*m = arg;
	char		*cause = NULL;

	(void)fd;
	(void)events;
	m->textfile_due = JOB_UNSET;
	if (m->textfile == NULL)
		return;
	m->textfile_at = sched_now();
	if (metrics_textfile_write(m, &cause) != 0) {
		if (!m->textfile_failing)
			log_warnx("metrics: cannot write %s: %s", m->textfile,
			    cause);
		m->textfile_failing = 1;
		free(cause);
		return;		/* again at the next change, not on a timer */
	}
	if (m->textfile_failing)
		log_info("metrics: %s written again", m->textfile);
	m->textfile_failing = 0;
	/* The next job to become stale: write then (just after). */
	if (m->next_stale_at != JOB_UNSET) {
		metrics_textfile_arm(m, m->next_stale_at + 1 >
		    m->textfile_at + METRICS_TEXTFILE_INTERVAL_MS ?
		    m->next_stale_at + 1 : m->textfile_at +
		    METRICS_TEXTFILE_INTERVAL_MS);
	}
}

/*
 * The database is healthy when a read succeeds and no failure is waiting
 * for a successful write; -1 with *reason otherwise.
 */
static int
metrics_health(struct metrics *m, char **reason)
{
	const char	*msg;
	char		*cause = NULL;

	if (m->stopping) {
		*reason = xstrdup("sqcrond is shutting down");
		return -1;
	}
	if (store_ping(m->store, &cause) < 0) {
		xasprintf(reason, "database: %s", cause);
		free(cause);
		return -1;
	}
	if (store_failing(m->store, &msg)) {
		xasprintf(reason, "database: %s", msg);
		return -1;
	}
	return 0;
}

/*
 * Send b (emptied) as the body, of type `type`; a HEAD request gets its
 * headers only (libevent 2.1 would send the body too).
 */
static void
metrics_http_send(struct evhttp_request *req, int code, const char *why,
    const char *type, struct evbuffer *b)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	char			 len[32];

	evhttp_add_header(h, "Content-Type", type);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof len, "%zu", evbuffer_get_length(b));
		evhttp_add_header(h, "Content-Length", len);
		evhttp_send_reply(req, code, why, NULL);
	} else
		evhttp_send_reply(req, code, why, b);
}

/* A plain text answer. */
static void
metrics_http_reply(struct evhttp_request *req, int code, const char *why,
    const char *text)
{
	struct evbuffer	*b;

	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new failed");
	evbuffer_add(b, text, strlen(text));
	metrics_http_send(req, code, why, "text/plain; charset=utf-8", b);
	evbuffer_free(b);
}

static void
metrics_free_text(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)(uintptr_t)data);
}

/*
 * GET (or HEAD) /metrics: the exposition, or 503 when the database
 * cannot be read; /healthz: 200 "ok", or 503 and why.  Other paths are
 * 404, other methods 405.
 */
static void
metrics_http_cb(struct evhttp_request *req, void *arg)
{
	struct metrics		*m = arg;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ? evhttp_uri_get_path(uri) :
				    NULL;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct evbuffer		*b;
	char			*cause = NULL, *text;
	size_t			 len;
	int			 is_metrics;

	metrics_http_reap(m, 0);
	if (path == NULL) {
		metrics_http_reply(req, HTTP_BADREQUEST, "Bad Request",
		    "bad request\n");
		return;
	}
	is_metrics = strcmp(path, "/metrics") == 0;
	if (!is_metrics && strcmp(path, "/healthz") != 0) {
		metrics_http_reply(req, HTTP_NOTFOUND, "Not Found",
		    "not found: sqcrond serves /metrics and /healthz\n");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		metrics_http_reply(req, 405, "Method Not Allowed",
		    "method not allowed: use GET\n");
		return;
	}
	if (!is_metrics) {
		if (metrics_health(m, &cause) == 0)
			metrics_http_reply(req, HTTP_OK, "OK", "ok\n");
		else {
			xasprintf(&text, "%s\n", cause);
			metrics_http_reply(req, HTTP_SERVUNAVAIL,
			    "Service Unavailable", text);
			free(text);
			free(cause);
		}
		return;
	}
	if ((text = metrics_text(m, &len, &cause)) == NULL) {
		xasprintf(&text, "cannot read the database: %s\n", cause);
		metrics_http_reply(req, HTTP_SERVUNAVAIL, "Service Unavailable",
		    text);
		free(text);
		free(cause);
		return;
	}
	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new failed");
	/* The text goes out as it is, and is freed once sent. */
	if (evbuffer_add_reference(b, text, len, metrics_free_text, NULL) == -1)
		fatalx("evbuffer_add_reference failed");
	metrics_http_send(req, HTTP_OK, "OK", METRICS_CONTENT_TYPE, b);
	evbuffer_free(b);
}

/* Listen on host:port (the address of metrics_listen). */
static int
metrics_listen(struct metrics *m, const char *listen, const char *host,
    int port)
{
	struct evhttp_bound_socket	*bound;
	struct sockaddr_storage		 ss;
	socklen_t			 sslen = sizeof ss;
	char				 addr[INET6_ADDRSTRLEN];
	evutil_socket_t			 fd;
	int				 bport = port;

	if ((m->http = evhttp_new(m->base)) == NULL) {
		log_warnx("metrics: evhttp_new failed");
		return -1;
	}
	evhttp_set_timeout(m->http, METRICS_HTTP_TIMEOUT_S);
	evhttp_set_max_headers_size(m->http, METRICS_HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, METRICS_HTTP_MAX_BODY);
	/* Every method reaches metrics_http_cb, which answers 405. */
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(m->http, metrics_http_cb, m);
	evhttp_set_bevcb(m->http, metrics_http_bev_cb, m);
	if ((bound = evhttp_bind_socket_with_handle(m->http, host,
	    (ev_uint16_t)port)) == NULL) {
		log_warn("metrics: cannot listen on %s", listen);
		evhttp_free(m->http);
		m->http = NULL;
		return -1;
	}
	m->listener = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(m->listener, metrics_http_error_cb);
	metrics_listening = m;
	m->paused_logged = 0;
	fd = evhttp_bound_socket_get_fd(bound);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	*addr = '\0';
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof addr);
			bport = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6	*sin6 =
			    (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &sin6->sin6_addr, addr,
			    sizeof addr);
			bport = ntohs(sin6->sin6_port);
		}
	}
	log_info("metrics: listening on %s%s%s:%d (/metrics, /healthz)",
	    strchr(addr, ':') != NULL ? "[" : "", *addr != '\0' ? addr : host,
	    strchr(addr, ':') != NULL ? "]" : "", bport);
	m->listen = xstrdup(listen);
	return 0;
}

void
metrics_set_config(struct metrics *m, const struct config *conf)
{
	const char	*want = conf->metrics_listen;

	if (want == NULL || m->listen == NULL ||
	    strcmp(want, m->listen) != 0) {
		if (m->listen != NULL)
			log_info("metrics: no longer listening on %s",
			    m->listen);
		metrics_unlisten(m);
		if (want != NULL)
			metrics_listen(m, want, conf->metrics_host,
			    conf->metrics_port);
	}
	if (conf->metrics_textfile == NULL || m->textfile == NULL ||
	    strcmp(conf->metrics_textfile, m->textfile) != 0) {
		metrics_textfile_off(m);
		if (conf->metrics_textfile != NULL) {
			m->textfile = xstrdup(conf->metrics_textfile);
			m->textfile_failing = 0;
			metrics_textfile_arm(m, sched_now());
		}
	}
}

/*
 * metrics.h: Prometheus metrics (DESIGN.md section 10): the text
 * exposition, the optional HTTP listener (metrics_listen), the optional
 * node_exporter textfile (metrics_textfile), and staleness.
 */
#ifndef SQCRON_METRICS_H
#define SQCRON_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct event_base;
struct metrics;
struct policy;
struct store;

/* The textfile is rewritten at most this often. */
#define METRICS_TEXTFILE_INTERVAL_MS	5000

/* db_path is the database's file, for sqcron_db_size_bytes. */
struct metrics	*metrics_new(struct event_base *, struct store *,
		    struct policy *, const char *db_path, int64_t started_at);
/* Stop listening, remove the textfile; accepts NULL. */
void		 metrics_free(struct metrics *);
/*
 * Apply metrics_listen and metrics_textfile (at start and on reload): a
 * changed address is bound anew (a failure is logged and leaves no
 * listener until the next reload), a new textfile is written at once and
 * the old one removed.
 */
void		 metrics_set_config(struct metrics *, const struct config *);
/*
 * Where sqcron_notifications_pending comes from (the outbox): fn(arg)
 * returns the number of undelivered notifications; 0 while unset.
 */
void		 metrics_set_pending_fn(struct metrics *, int64_t (*fn)(void *),
		    void *arg);
/* A change is looked at for job.stale this long after it, at most this often. */
#define METRICS_STALE_SETTLE_MS		1000
#define METRICS_STALE_INTERVAL_MS	10000
/*
 * Send job.stale events through ob (NULL: none): each job that becomes
 * stale is told once, at the moment it does, by a timer armed for the
 * next such moment (no periodic wake-up).
 */
struct outbox;
void		 metrics_set_outbox(struct metrics *, struct outbox *);
/* sqcrond is stopping: /healthz answers 503 from now on. */
void		 metrics_set_stopping(struct metrics *);
/*
 * Something the metrics show changed (a struct metrics * as arg, so it
 * can be policy_set_changed_cb's): the textfile is rewritten soon.
 */
void		 metrics_changed(void *);
/*
 * The text exposition (NUL-terminated, *len bytes; the caller frees),
 * or NULL with *cause when the database cannot be read.
 */
char		*metrics_text(struct metrics *, size_t *len, char **cause);

/*
 * Staleness (DESIGN.md section 10): a job is stale when it has not
 * succeeded for stale_after_ms, or when that is JOB_UNSET twice
 * period_ms (its schedule's longest gap), counted from the latest of its
 * last success, when it was added and when it was last resumed (each
 * JOB_UNSET when never).  A paused job never is, nor one with no limit
 * (stale_after 0, or no period: @reboot).  Returns 1 when stale at now;
 * *stale_at (may be NULL) is when it is or will be stale, JOB_UNSET for
 * never.  Pure: needs no timer, it is computed when asked.
 */
int		 metrics_job_stale(int paused, int64_t created_at,
		    int64_t resumed_at, int64_t last_success_at,
		    int64_t stale_after_ms, int64_t period_ms, int64_t now,
		    int64_t *stale_at);

/* A stale job, for status. */
struct metrics_stale {
	char		*job;
	int64_t		 last_success_at;	/* JOB_UNSET: never */
	int64_t		 stale_at;		/* since when */
};
/*
 * The live jobs stale now, all or of owner (JOB_UNSET), by name (free:
 * metrics_stale_free).
 */
int		 metrics_stale_jobs(struct metrics *, int64_t owner,
		    struct metrics_stale **, size_t *, char **cause);
void		 metrics_stale_free(struct metrics_stale *, size_t);

#endif

/*
 * outbox.h: events of DESIGN.md section 10 as rows of the notification
 * outbox, written inside the transaction that records what they tell.
 *
 * Every call here adds the rows of one event, for the job's notify URLs
 * (the job's own, else the daemon's; the events its notify_on, else the
 * daemon's, chooses) and its ping_url, through the store.  Called inside
 * store_begin ... store_commit, the rows commit or roll back with the
 * change they describe, so a crash neither loses an event nor invents
 * one; outside, each row commits on its own.  Rows added, the deliverer
 * (notify.c) is told to look at them on the next turn of the loop, that
 * is after the caller's commit.
 *
 * Every function accepts a NULL outbox and then does nothing, returns 0
 * when it added what the job asks for (possibly nothing), -1 when the
 * store refused a row (already logged by the store).
 */
#ifndef SQCRON_OUTBOX_H
#define SQCRON_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct notify;
struct outbox;
struct run;
struct store;

/* The tail of a run's output that an event carries. */
#define OUTBOX_OUTPUT_MAX	4096

/* notify (may be NULL) hears of new rows. */
struct outbox	*outbox_new(struct store *, const struct config *,
		    struct notify *);
void		 outbox_free(struct outbox *);
/* A new configuration (defaults for notify, notify_on; notify_format). */
void		 outbox_set_config(struct outbox *, const struct config *);
/*
 * A run's child started (call with store_run_start): run.started, and
 * the ping URL/start.
 */
int		 outbox_run_started(struct outbox *, int64_t run_id,
		    int64_t now);
/*
 * Run r ended: call BEFORE store_run_finish records r, in the same
 * transaction (job.recovered is decided from the failures recorded
 * before this run).  run.succeeded and job.recovered, or run.failed and,
 * when no retry follows (resolution open), run.dead; the ping URL or
 * URL/fail, carrying the tail of output (len bytes).
 */
int		 outbox_run_ended(struct outbox *, const struct run *r,
		    const char *output, size_t len, int64_t now);
/*
 * A run that the store just ended without a report (lost at start-up):
 * the events of its end as recorded, with its kept output.
 */
int		 outbox_run_recorded(struct outbox *, int64_t run_id,
		    int64_t now);
/* A failed run whose retry will not happen after all: run.dead. */
int		 outbox_run_dead(struct outbox *, int64_t run_id, int64_t now);
/*
 * A job event, CONFIG_EVENT_JOB_STALE or CONFIG_EVENT_JOB_PAUSED, with
 * a reason in a sentence ("no success for 2h (stale_after 1h)"); the
 * payload's run is the job's last run, or null.
 */
int		 outbox_job_event(struct outbox *, int64_t job_id, int event,
		    const char *reason, int64_t now);

#endif

/*
 * prune.h: retention (DESIGN.md section 3, keep_runs and keep_days), on
 * the event loop, a small batch at a time.
 */
#ifndef SQCRON_PRUNE_H
#define SQCRON_PRUNE_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct event_base;
struct prune;
struct prune_req;
struct store;

/* What a prune request deleted (or would delete) of one job. */
struct prune_count {
	int64_t		 job_id;
	char		*name;
	int		 removed;	/* the job was removed */
	int64_t		 runs;
};

/* A prune request's outcome: the jobs with runs > 0, by id. */
struct prune_result {
	int			 dry_run;
	struct prune_count	*jobs;
	size_t			 njobs;
	int64_t			 total;
};

/* A request ended: error is NULL, or why it stopped part way. */
typedef void	(*prune_done_cb)(const struct prune_result *,
		    const char *error, void *arg);

struct prune	*prune_new(struct event_base *, struct store *,
		    const struct config *);
/* Free it; requests not done are called back with an error. */
void		 prune_free(struct prune *);
/* New defaults: when keep_runs or keep_days changed, prune every job. */
void		 prune_set_config(struct prune *, const struct config *);
/* Prune every job once, in the background (start-up). */
void		 prune_all(struct prune *);
/* A run of a job ended, or its options changed: prune it soon. */
void		 prune_kick(struct prune *, int64_t job_id);
/*
 * Prune every job to its limits now, or with dry_run only count what
 * would go; done is called once, from the loop, when every job has been
 * seen.
 */
struct prune_req *prune_request(struct prune *, int dry_run, prune_done_cb,
		    void *arg);
/*
 * Forget a request's callback (its client went away): a dry run stops,
 * a real one finishes its work.
 */
void		 prune_cancel(struct prune *, struct prune_req *);
/* Steps taken and the longest of them, in microseconds (benchmarks). */
void		 prune_stats(struct prune *, uint64_t *steps,
		    int64_t *longest_us);

#endif

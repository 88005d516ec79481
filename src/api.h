/*
 * api.h: one handler per protocol method (DESIGN.md section 8).
 */
#ifndef SQCRON_API_H
#define SQCRON_API_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

struct api_sub;
struct config;
struct event_base;
struct control_method;
struct crontabs;
struct job_row;
struct metrics;
struct policy;
struct prune;
struct store;
struct tz;

/* What the handlers work on; owned by sqcrond.c. */
struct api {
	const struct config	*conf;
	struct store		*store;
	struct policy		*policy;
	struct prune		*prune;
	struct crontabs		*crontabs;	/* problems for status */
	struct metrics		*metrics;
	const struct tz		*tz;		/* the daemon's time zone */
	int64_t			 started_at;	/* ms */
	const char		*zone;		/* its name */
	/* Read the configuration again (the reload method). */
	int			(*reload)(void *, char **cause);
	void			*reload_arg;
	struct event_base	*base;		/* for streams that take turns */
	LIST_HEAD(, api_sub)	 subs;		/* api.c's: events.subscribe */
};

/*
 * Tell subscribers of a change to a job made elsewhere than through the
 * socket (a crontab file): event is "job.added", "job.updated" or
 * "job.removed"; jr needs the job's id, name and owner.
 */
void		 api_job_event(struct api *, const char *event,
		    const struct job_row *jr, const char *reason);

/* The method table for control_new, with struct api as its argument. */
const struct control_method	*api_methods(size_t *);

/*
 * The JSON shapes that notifications share with the protocol (outbox.c):
 * RUN as run.get returns it, and any bytes as a valid UTF-8 string.
 */
struct json_t;
struct run;
struct json_t	*api_run_json(const struct run *);
struct json_t	*api_text(const char *, size_t);

#endif

/*
 * crontabs.h: sqcrond's file jobs (DESIGN.md sections 3 and 9): the
 * crontab files of the configuration, read at start, on reload and when
 * they change, and the store's file jobs kept in step with them.
 */
#ifndef SQCRON_CRONTABS_H
#define SQCRON_CRONTABS_H

#include <sys/types.h>

#include <stddef.h>

struct config;
struct crontabs;
struct event_base;
struct job_row;
struct policy;
struct store;

/*
 * A file job was added, changed or removed ("job.added", "job.updated",
 * "job.removed"); why says from which file and line.  jr has the job's
 * id, name and owner; it is valid only during the call.
 */
typedef void	(*crontabs_event_cb)(const char *event,
		    const struct job_row *jr, const char *why, void *);

/* One current problem of the crontab files (sqcron status). */
struct crontabs_problem {
	char		*path;
	unsigned	 line;		/* 0: the file as a whole */
	int		 warning;	/* 1: the line loads all the same */
	uid_t		 uid;		/* the file's user (who may see it) */
	char		*reason;
	char		*text;		/* "PATH:LINE: [warning: ]REASON" */
};

/*
 * Read every crontab file that conf names and bring the store's file
 * jobs in step, in one transaction, before policy_start schedules them;
 * then watch the files (inotify) on the loop.  Never fails: a file, a
 * line or a store that refuses is reported (crontabs_problems, the log)
 * and tried again later.
 */
struct crontabs	*crontabs_new(struct event_base *, struct store *,
		    const struct config *);
/* From now on, every change is handed to policy (after policy_start). */
void		 crontabs_start(struct crontabs *, struct policy *);
/* Tell cb of every change to a file job from now on (events.subscribe). */
void		 crontabs_set_event_cb(struct crontabs *, crontabs_event_cb,
		    void *);
/* Stop watching and free; accepts NULL. */
void		 crontabs_free(struct crontabs *);
/*
 * Read every file again, unchanged ones too (SIGHUP, sqcron reload),
 * with conf, which may name other paths.
 */
void		 crontabs_reload(struct crontabs *, const struct config *);
/*
 * The current problems, file by file in the order they are read, by
 * line; valid until the next reload (the loop's next turn).
 */
const struct crontabs_problem *crontabs_problems(struct crontabs *, size_t *);

#endif

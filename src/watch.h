/*
 * watch.h: files and directories watched with inotify on the daemon's
 * loop, their changes settled into one call (for crontabs.c).
 */
#ifndef SQCRON_WATCH_H
#define SQCRON_WATCH_H

struct event_base;
struct watch;

/* Does an entry of a watched directory matter? */
typedef int	(*watch_filter)(const char *name);

/*
 * A watcher that calls changed(arg) once things stop changing: 200 ms
 * after the last event that matters, at most 1 s after the first while
 * events go on.  Without inotify it says so and watches nothing.
 */
struct watch	*watch_new(struct event_base *, void (*changed)(void *),
		    void *arg);
void		 watch_free(struct watch *);
/*
 * Name what is watched: watch_begin, any number of watch_dir and
 * watch_file, watch_end, which stops watching what was not named again.
 * Naming the same things again costs a system call each and loses no
 * event.
 */
void		 watch_begin(struct watch *);
/*
 * A directory's entries: the one named entry, or those filter accepts
 * (NULL: all).  While the directory does not exist (or is not one), its
 * nearest existing ancestor is watched for the next component instead,
 * and a change is reported when it appears.
 */
void		 watch_dir(struct watch *, const char *path, watch_filter,
		    const char *entry);
/* A file, through links: any write, change of mode or owner, removal. */
void		 watch_file(struct watch *, const char *path);
void		 watch_end(struct watch *);
/* Forget a change not reported yet (everything is being read now). */
void		 watch_cancel(struct watch *);

#endif

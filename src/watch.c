/*
 * watch.c: files and directories watched with inotify on the daemon's
 * loop (watch.h), for crontabs.c.
 *
 * One inotify descriptor, read by an EV_READ|EV_PERSIST event.  A
 * directory is watched for entries created, written, moved in or out,
 * removed, or changed in mode or owner, and for its own removal or
 * renaming; a file (through links) for writes, mode and owner changes
 * and its removal.  An event matters when its entry is the one named or
 * passes the filter (a vim swap file in cron.d wakes nothing), or when a
 * watch itself went away (the directory was removed: it is then watched
 * for through its parent).  Events that matter settle: the caller hears
 * of them once, WATCH_SETTLE_MS after the last, and at most
 * WATCH_SETTLE_MAX_MS after the first while they keep coming, so a file
 * written in several steps is read once and whole.
 *
 * Watches are named again as a whole (watch_begin ... watch_end):
 * inotify gives the same inode the same watch descriptor, so naming the
 * same things again changes nothing, and the ones no longer named are
 * removed.  Every directory watch uses one mask and every file watch adds
 * to the mask it finds, so two names of one inode never narrow each
 * other.
 *
 * What this file does not do: read the files, or poll.  Nothing here
 * runs unless the kernel reports an event.
 */

#include <sys/inotify.h>
#include <sys/types.h>

#include <errno.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "watch.h"
#include "xmalloc.h"

#define WATCH_SETTLE_MS		200	/* quiet after the last event */
#define WATCH_SETTLE_MAX_MS	1000	/* longest wait while events go on */

#define WATCH_DIR_MASK							\
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |	\
	 IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define WATCH_FILE_MASK							\
	(IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |	\
	 IN_MASK_ADD)

/* One thing watched through a watch descriptor (several may share one). */
struct watch_item {
	int		 wd;
	int		 file;		/* a file: any event matters */
	char		*entry;		/* a directory's one entry, or NULL */
	watch_filter	 filter;	/* else its entries filter accepts */
};

struct watch {
	struct event_base	*base;
	void			(*changed)(void *);
	void			*arg;
	int			 fd;		/* inotify, or -1 */
	struct event		*ev;
	struct event		*ev_settle;
	int			 settling;
	int64_t			 settle_since;	/* monotonic ms */
	int			 warned;	/* a watch failed: said */
	struct watch_item	*items;		/* in force */
	size_t			 nitems;
	struct watch_item	*next;		/* being named */
	size_t			 nnext;
};

static int64_t
watch_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
watch_items_free(struct watch_item *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i].entry);
	free(v);
}

static void
watch_push(struct watch *w, int wd, int file, const char *entry,
    watch_filter filter)
{
	struct watch_item	*it;

	w->next = xreallocarray(w->next, w->nnext + 1, sizeof *w->next);
	it = &w->next[w->nnext++];
	it->wd = wd;
	it->file = file;
	it->entry = entry != NULL ? xstrdup(entry) : NULL;
	it->filter = filter;
}

/* Does an event matter? */
static int
watch_wanted(struct watch *w, const struct inotify_event *ev)
{
	const struct watch_item	*it;
	size_t			 i;

	if (ev->mask & IN_Q_OVERFLOW)
		return 1;	/* events were lost: anything may have changed */
	for (i = 0; i < w->nitems; i++) {
		it = &w->items[i];
		if (it->wd != ev->wd)
			continue;
		if (it->file ||
		    (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)))
			return 1;
		if (ev->len == 0 || ev->name[0] == '\0')
			continue;	/* the directory itself */
		if (it->entry != NULL ? strcmp(ev->name, it->entry) == 0 :
		    it->filter == NULL || it->filter(ev->name))
			return 1;
	}
	return 0;	/* or a watch just removed: nothing to do */
}

static void
watch_settle_cb(evutil_socket_t fd, short events, void *arg)
{
	struct watch	*w = arg;

	(void)fd;
	(void)events;
	w->settling = 0;
	w->changed(w->arg);
}

static void
watch_settle(struct watch *w)
{
	struct timeval	tv = { 0, WATCH_SETTLE_MS * 1000 };
	int64_t		now = watch_mono_ms();

	if (!w->settling) {
		w->settling = 1;
		w->settle_since = now;
	} else if (now - w->settle_since >= WATCH_SETTLE_MAX_MS)
		return;		/* due soon anyway: do not put it off */
	evtimer_add(w->ev_settle, &tv);
}

static void
watch_read_cb(evutil_socket_t fd, short events, void *arg)
{
	struct watch			*w = arg;
	const struct inotify_event	*ev;
	char				 buf[16384]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t				 n;
	size_t				 off;
	int				 dirty = 0;

	(void)events;
	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (off = 0; off + sizeof *ev <= (size_t)n;
		    off += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)(void *)(buf + off);
			if (!dirty && watch_wanted(w, ev))
				dirty = 1;
		}
	}
	if (dirty)
		watch_settle(w);
}

struct watch *
watch_new(struct event_base *base, void (*changed)(void *), void *arg)
{
	struct watch	*w;

	w = xcalloc(1, sizeof *w);
	w->base = base;
	w->changed = changed;
	w->arg = arg;
	if ((w->ev_settle = evtimer_new(base, watch_settle_cb, w)) == NULL)
		fatalx("evtimer_new failed");
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		log_warn("inotify_init1 (crontab changes are read on reload "
		    "only)");
		return w;
	}
	if ((w->ev = event_new(base, w->fd, EV_READ | EV_PERSIST,
	    watch_read_cb, w)) == NULL || event_add(w->ev, NULL) == -1)
		fatalx("cannot watch the inotify descriptor");
	return w;
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->fd != -1)
		close(w->fd);	/* the kernel's watches go with it */
	event_free(w->ev_settle);
	watch_items_free(w->items, w->nitems);
	watch_items_free(w->next, w->nnext);
	free(w);
}

void
watch_begin(struct watch *w)
{
	watch_items_free(w->next, w->nnext);
	w->next = NULL;
	w->nnext = 0;
}

void
watch_dir(struct watch *w, const char *dir, watch_filter filter,
    const char *entry)
{
	char	*path, *name, *slash;
	size_t	 len;
	int	 wd;

	if (w->fd == -1)
		return;
	path = xstrdup(dir);
	name = entry != NULL ? xstrdup(entry) : NULL;
	for (;;) {
		len = strlen(path);
		while (len > 1 && path[len - 1] == '/')
			path[--len] = '\0';
		if ((wd = inotify_add_watch(w->fd, path,
		    WATCH_DIR_MASK)) != -1) {
			watch_push(w, wd, 0, name, filter);
			break;
		}
		if (errno != ENOENT && errno != ENOTDIR) {
			if (!w->warned)
				log_warn("inotify %s (changes are read on "
				    "reload only)", path);
			w->warned = 1;
			break;
		}
		/* Not there: wait for it in its parent. */
		if ((slash = strrchr(path, '/')) == NULL || len <= 1)
			break;
		free(name);
		name = xstrdup(slash + 1);
		if (slash == path)
			path[1] = '\0';
		else
			*slash = '\0';
	}
	free(name);
	free(path);
}

void
watch_file(struct watch *w, const char *path)
{
	int	wd;

	if (w->fd == -1)
		return;
	/* A file that is not there is seen arriving by its directory's. */
	if ((wd = inotify_add_watch(w->fd, path, WATCH_FILE_MASK)) != -1)
		watch_push(w, wd, 1, NULL, NULL);
}

void
watch_end(struct watch *w)
{
	size_t	i, j;

	for (i = 0; i < w->nitems; i++) {
		for (j = 0; j < w->nnext; j++)
			if (w->next[j].wd == w->items[i].wd)
				break;
		if (j == w->nnext)
			(void)inotify_rm_watch(w->fd, w->items[i].wd);
	}
	watch_items_free(w->items, w->nitems);
	w->items = w->next;
	w->nitems = w->nnext;
	w->next = NULL;
	w->nnext = 0;
}

void
watch_cancel(struct watch *w)
{
	w->settling = 0;
	evtimer_del(w->ev_settle);
}

/*
 * crontabs.c: sqcrond's file jobs (DESIGN.md sections 3 and 9).
 *
 * The configuration names up to three places: crontab (/etc/crontab, a
 * system crontab: a user field on each line), crontab_dir (/etc/cron.d,
 * system crontabs, the files named as run-parts wants) and
 * user_crontab_dir (/var/spool/cron/crontabs, one user crontab per user,
 * named after the user).  This file reads them, as Debian's cron does,
 * and keeps the store's file jobs in step: at start, on SIGHUP and
 * sqcron reload, and 200 ms after the last change inotify reports.
 *
 * Which files are read (Debian's cron(8)): a system crontab must be a
 * regular file owned by root (or by sqcrond's own user, when it is not
 * root), not writable by its group or others; in crontab_dir it may be a
 * symbolic link when the link and the file are both so owned.  A user
 * crontab must be a regular file, not a link, named after an existing
 * user, owned by that user, not writable by its group or others.  Any
 * other file is reported and not loaded, and the jobs it had stop.
 *
 * Sync.  File jobs are keyed by name (the parser's stable names): a new
 * line adds a job (source = the file's path, line, owner = the file's
 * user); a line whose definition changed updates its job to a new
 * version, keeping its runs, history and pause state; a line that only
 * moved updates jobs.line alone; a line or file gone removes its job
 * (removed_at: its history stays).  A name already taken by an API job,
 * or by another file's line, is reported at the line and skipped: the
 * other job is never taken over.  A name that leaves one file for
 * another in one change (name= moved) keeps its job.  All of a reload's
 * changes are one transaction, with an audit entry each ("by":
 * "crontab"); when nothing changed nothing is written.  A store that
 * refuses (busy, full) is retried from a timer, backing off to 5
 * minutes; a line the store refuses is reported and the rest applied.
 *
 * Watching (watch.c): the directories for the entries that would be
 * read, the crontab file and the files that links in crontab_dir name;
 * a directory that does not exist through its nearest existing ancestor,
 * so nothing ever polls.  Changes settle for 200 ms (at most 1 s while
 * they keep coming) before the files are read again; a file whose
 * identity, size, times, owner and mode are unchanged is not parsed
 * again.  The directories are watched before they are read, so that
 * nothing written meanwhile is missed.
 *
 * What this file does not do: parse (crontab.c), watch (watch.c),
 * schedule (policy.c) or run @reboot jobs (policy_reboot, at start only).
 */

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "crontab.h"
#include "crontabs.h"
#include "job.h"
#include "log.h"
#include "policy.h"
#include "sched.h"
#include "store.h"
#include "watch.h"
#include "timer.h"
#include "xmalloc.h"

#define CRONTABS_RETRY_MS	1000	/* first retry of a refused sync */
#define CRONTABS_RETRY_MAX_MS	(300 * 1000)
#define CRONTABS_DIR_MAX	65536	/* files read from one directory */
#define CRONTABS_AUDIT_MAX	2048	/* bytes of an audit entry's params */

/* A file as last read; kept so that an unchanged one is not parsed again. */
struct ctfile {
	char			*path;
	enum crontab_format	 format;
	char			*user;		/* a user crontab's name */
	int			 link;		/* a symbolic link */
	struct stat		 lst;		/* lstat, when read */
	struct stat		 st;		/* stat (through a link) */
	uid_t			 owner;		/* its jobs' owner */
	struct crontab		*ct;		/* NULL: not loaded */
	unsigned char		*skip;		/* lines refused here, by job */
	struct crontabs_problem	*probs;		/* the file's and its lines' */
	size_t			 nprobs;
	struct crontabs_problem	*sprobs;	/* the last sync's, at lines */
	size_t			 nsprobs;
	int			 taken;		/* reused by the new listing */
};

/* A job line that wants to be a job, for the sync. */
struct ctwant {
	const char		*name;
	struct ctfile		*f;
	size_t			 fi;		/* the file's place */
	const struct crontab_job *cj;
};

enum ctop_kind {
	CTOP_REMOVE,
	CTOP_UPDATE,
	CTOP_LINE,
	CTOP_ADD,
};

/* One change of a sync. */
struct ctop {
	enum ctop_kind		 kind;
	int64_t			 id;		/* the job, or the new one's */
	const struct job_row	*row;		/* the job as stored, or NULL */
	struct ctwant		*want;		/* NULL for CTOP_REMOVE */
	int			 done;
};

struct crontabs {
	struct event_base	*base;
	struct store		*store;
	struct policy		*policy;	/* NULL before crontabs_start */
	crontabs_event_cb	 event_cb;	/* changes, for subscribers */
	void			*event_arg;
	const struct config	*conf;
	struct watch		*watch;		/* the files and directories */
	struct event		*ev_retry;	/* a sync the store refused */
	int64_t			 retry_ms;	/* 0: the last sync worked */
	struct ctfile		**files;	/* in the order read */
	size_t			 nfiles;
	struct crontabs_problem	*dprobs;	/* directories', this reload */
	size_t			 ndprobs;
	char			**seen;		/* sync problems logged, sorted */
	size_t			 nseen;
	struct crontabs_problem	*view;		/* crontabs_problems */
	size_t			 nview;
};

/* Control characters as '?', so that a problem prints safely. */
static void
crontabs_printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void crontabs_problem_add(struct crontabs_problem **, size_t *,
    const char *, unsigned, int, uid_t, const char *, ...)
    __attribute__((format(printf, 7, 8)));

static void
crontabs_problem_add(struct crontabs_problem **v, size_t *n,
    const char *path, unsigned line, int warning, uid_t uid,
    const char *fmt, ...)
{
	struct crontabs_problem	*p;
	va_list			 ap;

	*v = xreallocarray(*v, *n + 1, sizeof **v);
	p = &(*v)[(*n)++];
	memset(p, 0, sizeof *p);
	p->path = xstrdup(path);
	p->line = line;
	p->warning = warning;
	p->uid = uid;
	va_start(ap, fmt);
	xvasprintf(&p->reason, fmt, ap);
	va_end(ap);
	crontabs_printable(p->path);
	crontabs_printable(p->reason);
	if (line > 0)
		xasprintf(&p->text, "%s:%u: %s%s", p->path, line,
		    warning ? "warning: " : "", p->reason);
	else
		xasprintf(&p->text, "%s: %s%s", p->path,
		    warning ? "warning: " : "", p->reason);
}

static void
crontabs_problems_free(struct crontabs_problem *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].reason);
		free(v[i].text);
	}
	free(v);
}

static void
crontabs_file_free(struct ctfile *f)
{
	if (f == NULL)
		return;
	free(f->path);
	free(f->user);
	crontab_free(f->ct);
	free(f->skip);
	crontabs_problems_free(f->probs, f->nprobs);
	crontabs_problems_free(f->sprobs, f->nsprobs);
	free(f);
}

static void
crontabs_files_free(struct ctfile **files, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		crontabs_file_free(files[i]);
	free(files);
}

/* dir + "/" + name, without doubling a trailing slash of dir. */
static char *
crontabs_join(const char *dir, const char *name)
{
	size_t	 len = strlen(dir);
	char	*path;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (len == 1 && dir[0] == '/')
		xasprintf(&path, "/%s", name);
	else
		xasprintf(&path, "%.*s/%s", (int)len, dir, name);
	return path;
}

/*
 * Is a name in user_crontab_dir a crontab?  Not dot files, nor what
 * crontab(1) and editors leave while they write (tmp.XXXXXX, #x#, x~).
 */
static int
crontabs_user_wanted(const char *name)
{
	size_t	len = strlen(name);

	return len > 0 && name[0] != '.' && name[0] != '#' &&
	    name[len - 1] != '~' && strncmp(name, "tmp.", 4) != 0;
}

/* Has a file changed since it was read (or is it another file)? */
static int
crontabs_stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_mode == b->st_mode && a->st_uid == b->st_uid &&
	    a->st_nlink == b->st_nlink && a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Is a limit above what sqcrond itself may raise it to? */
static int
crontabs_over_hard(int resource, int64_t v)
{
	struct rlimit	rl;

	return v != JOB_UNSET && v > 0 && getrlimit(resource, &rl) == 0 &&
	    rl.rlim_max != RLIM_INFINITY && (uint64_t)v > rl.rlim_max;
}

/*
 * The jobs of a user crontab run as its user, and may ask for nothing a
 * process of the user's could not have (as job.add for a user that is
 * not an admin): no negative nice, no limit above sqcrond's hard ones,
 * which the child applies before it drops privileges.  Root's crontab,
 * and sqcrond's own user's, may.  NULL, or why the line is refused.
 */
static const char *
crontabs_user_refuses(const struct ctfile *f, const struct job_spec *js)
{
	if (f->format != CRONTAB_USER || f->owner == 0 ||
	    f->owner == geteuid())
		return NULL;
	if (js->nice != JOB_NICE_UNSET && js->nice < 0)
		return "a user crontab may not give a job a negative nice";
	if (crontabs_over_hard(RLIMIT_NOFILE, js->nofile) ||
	    crontabs_over_hard(RLIMIT_NPROC, js->nproc) ||
	    crontabs_over_hard(RLIMIT_AS, js->rlimit_as) ||
	    crontabs_over_hard(RLIMIT_CPU, js->cpu_ms == JOB_UNSET ?
	    JOB_UNSET : (js->cpu_ms + 999) / 1000))
		return "a user crontab may not raise a limit above sqcrond's "
		    "own hard limits";
	return NULL;
}

/* Read an open regular file whole; NULL with *why when it is too large. */
static char *
crontabs_slurp(int fd, off_t size, size_t *len, const char **why)
{
	char	*buf;
	size_t	 cap;
	ssize_t	 n;

	cap = size > 0 && size < CRONTAB_FILE_MAX ? (size_t)size + 1 : 4096;
	buf = xmalloc(cap);
	*len = 0;
	for (;;) {
		if (*len == cap) {
			if (cap > CRONTAB_FILE_MAX) {
				*why = "too large";
				free(buf);
				return NULL;
			}
			cap = cap * 2 > CRONTAB_FILE_MAX + 1 ?
			    CRONTAB_FILE_MAX + 1 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(fd, buf + *len, cap - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*why = strerror(errno);
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	if (*len > CRONTAB_FILE_MAX) {
		*why = "too large";
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * Read and check one file into f (its path, format, user, link and
 * lstat set).  0; or -1 when it vanished meanwhile (it is then as if it
 * had never been listed).
 */
static int
crontabs_load(struct ctfile *f)
{
	struct passwd	*pw = NULL;
	struct stat	 st;
	const char	*why = NULL, *user, *last_user = NULL;
	char		*buf = NULL;
	size_t		 len, i;
	uid_t		 me = geteuid();
	int		 fd, flags, last_ok = 0;

	flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	if (f->format == CRONTAB_USER) {
		if ((pw = getpwnam(f->user)) == NULL) {
			crontabs_problem_add(&f->probs, &f->nprobs, f->path,
			    0, 0, 0, "no user is named \"%s\" (a user crontab "
			    "is named after its user): not loaded", f->user);
			return 0;
		}
		f->owner = pw->pw_uid;
		if (f->link) {
			crontabs_problem_add(&f->probs, &f->nprobs, f->path,
			    0, 0, f->owner, "is a symbolic link (a user "
			    "crontab must be a file of its own): not loaded");
			return 0;
		}
		flags |= O_NOFOLLOW;
	} else {
		f->owner = 0;
		if (f->link && f->lst.st_uid != 0 && f->lst.st_uid != me) {
			crontabs_problem_add(&f->probs, &f->nprobs, f->path,
			    0, 0, 0, "is a symbolic link owned by uid %ld, not "
			    "by root: not loaded", (long)f->lst.st_uid);
			return 0;
		}
	}
	if ((fd = open(f->path, flags)) == -1) {
		if (errno == ENOENT && !f->link)
			return -1;	/* gone since it was listed */
		crontabs_problem_add(&f->probs, &f->nprobs, f->path, 0, 0,
		    f->owner, "cannot open: %s: not loaded", strerror(errno));
		return 0;
	}
	if (fstat(fd, &st) == -1) {
		crontabs_problem_add(&f->probs, &f->nprobs, f->path, 0, 0,
		    f->owner, "cannot stat: %s: not loaded", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		crontabs_problem_add(&f->probs, &f->nprobs, f->path, 0, 0,
		    f->owner, "is %s: not loaded", S_ISDIR(st.st_mode) ?
		    "a directory" : "not a regular file");
		goto out;
	}
	if (f->format == CRONTAB_USER && st.st_uid != f->owner) {
		crontabs_problem_add(&f->probs, &f->nprobs, f->path, 0, 0,
		    f->owner, "is owned by uid %ld, not by %s (uid %ld): not "
		    "loaded", (long)st.st_uid, f->user, (long)f->owner);
		goto out;
	}
	if (f->format == CRONTAB_SYSTEM) {
		if (st.st_uid != 0 && st.st_uid != me) {
			crontabs_problem_add(&f->probs, &f->nprobs, f->path,
			    0, 0, 0, "is owned by uid %ld, not by root: not "
			    "loaded", (long)st.st_uid);
			goto out;
		}
		f->owner = st.st_uid;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		crontabs_problem_add(&f->probs, &f->nprobs, f->path, 0, 0,
		    f->owner, "is writable by its group or by others (mode "
		    "%04o): not loaded", (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if ((buf = crontabs_slurp(fd, st.st_size, &len, &why)) == NULL) {
		crontabs_problem_add(&f->probs, &f->nprobs, f->path, 0, 0,
		    f->owner, "cannot read: %s%s: not loaded", why,
		    strcmp(why, "too large") == 0 ? " (more than 4 MiB)" : "");
		goto out;
	}
	f->ct = crontab_parse(f->path, f->format, f->user, buf, len);
	f->skip = xcalloc(f->ct->njobs > 0 ? f->ct->njobs : 1, 1);
	for (i = 0; i < f->ct->ndiags; i++) {
		crontabs_problem_add(&f->probs, &f->nprobs, f->path,
		    f->ct->diags[i].line, f->ct->diags[i].warning, f->owner,
		    "%s", f->ct->diags[i].reason);
	}
	for (i = 0; i < f->ct->njobs; i++) {
		const struct job_spec	*js = &f->ct->jobs[i].spec;

		if ((why = crontabs_user_refuses(f, js)) != NULL) {
			crontabs_problem_add(&f->probs, &f->nprobs, f->path,
			    f->ct->jobs[i].line, 0, f->owner, "%s: line not "
			    "loaded", why);
			f->skip[i] = 1;
			continue;
		}
		/* A user who is not (yet) here: cron skips; we warn. */
		if (f->format != CRONTAB_SYSTEM || (user = js->user) == NULL)
			continue;
		if (last_user == NULL || strcmp(user, last_user) != 0) {
			last_user = user;
			last_ok = getpwnam(user) != NULL;
		}
		if (!last_ok) {
			crontabs_problem_add(&f->probs, &f->nprobs, f->path,
			    f->ct->jobs[i].line, 1, f->owner, "no user is "
			    "named \"%s\" on this host: its runs fail until "
			    "there is", user);
		}
	}
	f->st = st;
out:
	free(buf);
	close(fd);
	return 0;
}

/* Log a freshly read file's problems. */
static void
crontabs_log_file(const struct ctfile *f)
{
	size_t	i;

	for (i = 0; i < f->nprobs; i++) {
		if (f->probs[i].warning)
			log_info("%s", f->probs[i].text);
		else
			log_warnx("%s", f->probs[i].text);
	}
}

static int
crontabs_file_cmp(const void *a, const void *b)
{
	const struct ctfile	*fa = *(struct ctfile *const *)a;
	const struct ctfile	*fb = *(struct ctfile *const *)b;

	return strcmp(fa->path, fb->path);
}

static int
crontabs_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Listing of one file: the new list's, from the old one when unchanged. */
struct ctlist {
	struct crontabs		 *ct;
	struct ctfile		**files;
	size_t			  nfiles;
	struct ctfile		**old;		/* by path, for lookups */
	size_t			  nold;
	int			  fresh;	/* read everything again */
};

static void
crontabs_list_file(struct ctlist *l, const char *path,
    enum crontab_format format, const char *user)
{
	struct ctfile	 key, *kp = &key, **found, *f;
	struct stat	 lst, st;
	int		 link;

	if (lstat(path, &lst) == -1) {
		/* Gone, or never there: no jobs, nothing to say. */
		if (errno != ENOENT && errno != ENOTDIR)
			crontabs_problem_add(&l->ct->dprobs, &l->ct->ndprobs,
			    path, 0, 0, 0, "cannot stat: %s: not loaded",
			    strerror(errno));
		return;
	}
	link = S_ISLNK(lst.st_mode);
	if (link && stat(path, &st) == -1)
		memset(&st, 0, sizeof st);	/* dangling: read to report */
	key.path = (char *)(uintptr_t)path;
	found = l->fresh || l->nold == 0 ? NULL : bsearch(&kp, l->old, l->nold,
	    sizeof *l->old, crontabs_file_cmp);
	if (found != NULL && !(f = *found)->taken && f->format == format &&
	    crontabs_stat_same(&f->lst, &lst) &&
	    (!link || crontabs_stat_same(&f->st, &st))) {
		f->taken = 1;		/* moved to the new list */
		crontabs_problems_free(f->sprobs, f->nsprobs);
		f->sprobs = NULL;
		f->nsprobs = 0;
	} else {
		f = xcalloc(1, sizeof *f);
		f->path = xstrdup(path);
		f->format = format;
		f->user = user != NULL ? xstrdup(user) : NULL;
		f->link = link;
		f->lst = lst;
		if (crontabs_load(f) == -1) {
			crontabs_file_free(f);
			return;
		}
		if (link)
			f->st = st;	/* what it named when checked */
		crontabs_log_file(f);
	}
	l->files = xreallocarray(l->files, l->nfiles + 1, sizeof *l->files);
	l->files[l->nfiles++] = f;
}

/* The wanted entries of a directory, by name. */
static void
crontabs_list_dir(struct crontabs *ct, struct ctlist *l, const char *dir,
    enum crontab_format format)
{
	struct dirent	 *de;
	DIR		 *d;
	char		**names = NULL, *path;
	size_t		  n = 0, i;
	int		  wanted;

	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT) {
			crontabs_problem_add(&ct->dprobs, &ct->ndprobs, dir, 0,
			    0, 0, "cannot read the directory: %s",
			    strerror(errno));
		}
		return;
	}
	while ((de = readdir(d)) != NULL) {
		wanted = format == CRONTAB_SYSTEM ?
		    crontab_dirent_wanted(de->d_name) :
		    crontabs_user_wanted(de->d_name);
		if (!wanted)
			continue;
		if (n == CRONTABS_DIR_MAX) {
			crontabs_problem_add(&ct->dprobs, &ct->ndprobs, dir, 0,
			    0, 0, "more than %d files: the others are not "
			    "read", CRONTABS_DIR_MAX);
			break;
		}
		names = xreallocarray(names, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof *names, crontabs_name_cmp);
	for (i = 0; i < n; i++) {
		path = crontabs_join(dir, names[i]);
		crontabs_list_file(l, path, format, format == CRONTAB_USER ?
		    names[i] : NULL);
		free(path);
		free(names[i]);
	}
	free(names);
}

/* Read the files of the configuration (reusing unchanged ones). */
static void
crontabs_read(struct crontabs *ct, int fresh)
{
	const struct config	*c = ct->conf;
	struct ctlist		 l;
	size_t			 i;

	memset(&l, 0, sizeof l);
	l.ct = ct;
	l.fresh = fresh;
	l.old = ct->files;
	l.nold = ct->nfiles;
	if (l.nold > 0)
		qsort(l.old, l.nold, sizeof *l.old, crontabs_file_cmp);
	crontabs_problems_free(ct->dprobs, ct->ndprobs);
	ct->dprobs = NULL;
	ct->ndprobs = 0;

	if (c->crontab != NULL && *c->crontab != '\0')
		crontabs_list_file(&l, c->crontab, CRONTAB_SYSTEM, NULL);
	if (c->crontab_dir != NULL && *c->crontab_dir != '\0')
		crontabs_list_dir(ct, &l, c->crontab_dir, CRONTAB_SYSTEM);
	if (c->user_crontab_dir != NULL && *c->user_crontab_dir != '\0')
		crontabs_list_dir(ct, &l, c->user_crontab_dir, CRONTAB_USER);

	for (i = 0; i < l.nold; i++) {
		if (!l.old[i]->taken)
			crontabs_file_free(l.old[i]);
	}
	free(l.old);
	for (i = 0; i < l.nfiles; i++)
		l.files[i]->taken = 0;
	ct->files = l.files;
	ct->nfiles = l.nfiles;
}

/* A JSON string for audit params, every byte outside printable ASCII escaped. */
static void
crontabs_json_str(char *buf, size_t size, const char *s)
{
	size_t	len = 0;

	if (size < 3)
		return;
	buf[len++] = '"';
	for (; *s != '\0' && len + 8 < size; s++) {
		unsigned char	c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[len++] = '\\';
			buf[len++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f)
			len += (size_t)snprintf(buf + len, size - len,
			    "\\u%04x", c);
		else
			buf[len++] = (char)c;
	}
	buf[len++] = '"';
	buf[len] = '\0';
}

/* Record a sync's change in the audit log, as sqcrond's own. */
static void
crontabs_audit(struct crontabs *ct, const char *method, const char *name,
    const char *path, int line, int64_t now)
{
	char	params[CRONTABS_AUDIT_MAX], qname[300], qpath[1500];

	crontabs_json_str(qname, sizeof qname, name);
	crontabs_json_str(qpath, sizeof qpath, path);
	snprintf(params, sizeof params, "{\"name\":%s,\"source\":%s,"
	    "\"line\":%d,\"by\":\"crontab\"}", qname, qpath, line);
	store_audit_insert(ct->store, now, geteuid(), getpid(), method, params,
	    "ok", NULL, NULL, NULL);
}

static int
crontabs_want_cmp(const void *a, const void *b)
{
	const struct ctwant	*wa = a, *wb = b;
	int			 c;

	if ((c = strcmp(wa->name, wb->name)) != 0)
		return c;
	if (wa->fi != wb->fi)
		return wa->fi < wb->fi ? -1 : 1;
	return (wa->cj->line > wb->cj->line) - (wa->cj->line < wb->cj->line);
}

static int
crontabs_row_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct job_row *)elem)->spec.name);
}

/* A sync problem at a line (shown until the next sync). */
static void crontabs_sync_problem(struct ctwant *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
crontabs_sync_problem(struct ctwant *w, const char *fmt, ...)
{
	struct ctfile	*f = w->f;
	va_list		 ap;
	char		*reason;

	va_start(ap, fmt);
	xvasprintf(&reason, fmt, ap);
	va_end(ap);
	crontabs_problem_add(&f->sprobs, &f->nsprobs, f->path, w->cj->line, 0,
	    f->owner, "%s", reason);
	free(reason);
}

/* The row of a want as it should be stored (job_row_clear it). */
static void
crontabs_want_row(const struct ctwant *w, int64_t id, struct job_row *jr)
{
	store_job_row_init(jr);
	jr->id = id;
	job_spec_clear(&jr->spec);
	job_spec_copy(&jr->spec, &w->cj->spec);
	jr->source = xstrdup(w->f->path);
	jr->line = (int)w->cj->line;
	jr->owner = w->f->owner;
}

/*
 * Apply ops in one transaction; -1 with *cause when the store refused
 * the whole (nothing is then changed: try again later).
 */
static int
crontabs_apply(struct crontabs *ct, struct ctop *ops, size_t nops,
    char **cause)
{
	static const char	*methods[] = { "job.remove", "job.update",
				    NULL, "job.add" };
	struct job_row		 jr;
	struct ctop		*op;
	const char		*name, *path;
	int64_t			 now = sched_now();
	size_t			 i;
	int			 rc, line;
	char			*why = NULL;

	if (store_begin(ct->store, cause) < 0)
		return -1;
	for (i = 0; i < nops; i++) {
		op = &ops[i];
		rc = STORE_OK;
		switch (op->kind) {
		case CTOP_REMOVE:
			rc = store_job_remove(ct->store, op->id, now, &why);
			break;
		case CTOP_LINE:
			rc = store_job_set_line(ct->store, op->id,
			    (int)op->want->cj->line, &why);
			break;
		case CTOP_UPDATE:
		case CTOP_ADD:
			crontabs_want_row(op->want, op->id, &jr);
			if (op->kind == CTOP_ADD) {
				rc = store_job_add(ct->store, &jr, now, &why);
				op->id = jr.id;
			} else
				rc = store_job_update(ct->store, &jr, now,
				    &why);
			store_job_row_clear(&jr);
			break;
		}
		if (rc == STORE_ERROR || rc == STORE_BUSY) {
			*cause = why;
			store_rollback(ct->store);
			return -1;
		}
		if (rc < 0) {
			/* This line only: the rest goes on. */
			if (op->want != NULL)
				crontabs_sync_problem(op->want, "cannot be "
				    "stored: %s: line not loaded", why);
			free(why);
			why = NULL;
			continue;
		}
		op->done = 1;
		if (methods[op->kind] == NULL)
			continue;
		if (op->want != NULL) {
			name = op->want->name;
			path = op->want->f->path;
			line = (int)op->want->cj->line;
		} else {
			name = op->row->spec.name;
			path = op->row->source;
			line = op->row->line;
		}
		crontabs_audit(ct, methods[op->kind], name, path, line, now);
	}
	if (store_commit(ct->store, cause) < 0)
		return -1;
	return 0;
}

/* Tell the event listener of a change applied. */
static void
crontabs_event(struct crontabs *ct, const char *event, const struct ctop *op)
{
	struct job_row	 jr;
	char		*why;

	if (ct->event_cb == NULL)
		return;
	memset(&jr, 0, sizeof jr);
	jr.id = op->id;
	if (op->want != NULL) {
		jr.spec.name = (char *)(uintptr_t)op->want->name;
		jr.owner = op->want->f->owner;
		xasprintf(&why, "%s line %u", op->want->f->path,
		    op->want->cj->line);
	} else {
		jr.spec.name = op->row->spec.name;
		jr.owner = op->row->owner;
		xasprintf(&why, "no longer in %s", op->row->source);
	}
	crontabs_printable(why);
	ct->event_cb(event, &jr, why, ct->event_arg);
	free(why);
}

/*
 * Bring the store's file jobs in step with the files read.  -1 with
 * *cause when the store refused (nothing changed; try again).
 */
static int
crontabs_sync(struct crontabs *ct, char **cause)
{
	struct job_row	*rows = NULL, *row;
	struct ctwant	*want = NULL;
	struct ctop	*ops = NULL;
	unsigned char	*keep = NULL;
	struct ctfile	*f;
	size_t		 nrows = 0, nwant = 0, nops = 0, i, j, k, win;
	int		 ret = -1, nadd = 0, nupd = 0, nrem = 0, nline = 0;
	int64_t		 rowi;

	if (store_job_list(ct->store, JOB_UNSET, &rows, &nrows, cause) < 0)
		return -1;
	for (i = 0; i < ct->nfiles; i++) {
		f = ct->files[i];
		if (f->ct == NULL)
			continue;
		for (j = 0; j < f->ct->njobs; j++) {
			if (f->skip[j])
				continue;
			want = xreallocarray(want, nwant + 1, sizeof *want);
			want[nwant].name = f->ct->jobs[j].spec.name;
			want[nwant].f = f;
			want[nwant].fi = i;
			want[nwant].cj = &f->ct->jobs[j];
			nwant++;
		}
	}
	if (nwant > 0)
		qsort(want, nwant, sizeof *want, crontabs_want_cmp);
	keep = xcalloc(nrows > 0 ? nrows : 1, 1);
	/* Room for every want and every row: at most one op each. */
	ops = xcalloc(nwant + nrows + 1, sizeof *ops);

	for (i = 0; i < nwant; i = j) {
		for (j = i + 1; j < nwant &&
		    strcmp(want[j].name, want[i].name) == 0; j++)
			;
		row = nrows == 0 ? NULL : bsearch(want[i].name, rows, nrows,
		    sizeof *rows, crontabs_row_cmp);
		rowi = row != NULL ? row - rows : -1;
		win = i;
		/* The file that has the job keeps it. */
		if (row != NULL && strcmp(row->source, "api") != 0) {
			for (k = i; k < j; k++) {
				if (strcmp(want[k].f->path, row->source) == 0) {
					win = k;
					break;
				}
			}
		}
		for (k = i; k < j; k++) {
			if (k == win)
				continue;
			crontabs_sync_problem(&want[k], "job name \"%s\" is "
			    "already defined in %s line %u: line not loaded",
			    want[k].name, want[win].f->path,
			    want[win].cj->line);
		}
		if (row != NULL && strcmp(row->source, "api") == 0) {
			crontabs_sync_problem(&want[win], "a job named \"%s\" "
			    "was added through the API: line not loaded "
			    "(give it another name=, or sqcron rm the other "
			    "and reload)", want[win].name);
			continue;
		}
		if (row == NULL) {
			ops[nops].kind = CTOP_ADD;
			ops[nops].want = &want[win];
			nops++;
			continue;
		}
		keep[rowi] = 1;
		if (!job_spec_equal(&row->spec, &want[win].cj->spec) ||
		    strcmp(row->source, want[win].f->path) != 0 ||
		    row->owner != want[win].f->owner)
			ops[nops].kind = CTOP_UPDATE;
		else if (row->line != (int)want[win].cj->line)
			ops[nops].kind = CTOP_LINE;
		else
			continue;
		ops[nops].id = row->id;
		ops[nops].row = row;
		ops[nops].want = &want[win];
		nops++;
	}
	for (i = 0; i < nrows; i++) {
		if (keep[i] || strcmp(rows[i].source, "api") == 0)
			continue;
		ops[nops].kind = CTOP_REMOVE;
		ops[nops].id = rows[i].id;
		ops[nops].row = &rows[i];
		nops++;
	}
	if (nops == 0) {
		ret = 0;
		goto out;
	}
	/* Names freed by removals first, then changes, then additions. */
	for (i = 0, k = 0; k < 4; k++) {
		for (j = i; j < nops; j++) {
			if ((int)ops[j].kind == (int)k) {
				struct ctop	tmp = ops[i];

				ops[i++] = ops[j];
				ops[j] = tmp;
			}
		}
	}
	if (crontabs_apply(ct, ops, nops, cause) == -1)
		goto out;
	for (i = 0; i < nops; i++) {
		if (!ops[i].done)
			continue;
		switch (ops[i].kind) {
		case CTOP_REMOVE:
			nrem++;
			log_debug("%s: removed: no longer in %s",
			    ops[i].row->spec.name, ops[i].row->source);
			if (ct->policy != NULL)
				policy_job_removed(ct->policy, ops[i].id);
			crontabs_event(ct, "job.removed", &ops[i]);
			continue;
		case CTOP_LINE:
			nline++;
			continue;
		case CTOP_UPDATE:
			nupd++;
			break;
		case CTOP_ADD:
			nadd++;
			break;
		}
		log_debug("%s: %s from %s line %u", ops[i].want->name,
		    ops[i].kind == CTOP_ADD ? "added" : "changed",
		    ops[i].want->f->path, ops[i].want->cj->line);
		if (ct->policy != NULL &&
		    policy_job_changed(ct->policy, ops[i].id, cause) != 0) {
			log_warnx("%s: not scheduled: %s", ops[i].want->name,
			    *cause);
			free(*cause);
			*cause = NULL;
		}
		crontabs_event(ct, ops[i].kind == CTOP_ADD ? "job.added" :
		    "job.updated", &ops[i]);
	}
	log_info("crontabs: %d jobs added, %d changed, %d removed%s",
	    nadd, nupd, nrem, nline > 0 ? " (and lines moved)" : "");
	ret = 0;
out:
	free(ops);
	free(keep);
	free(want);
	store_job_rows_free(rows, nrows);
	return ret;
}

static int
crontabs_view_cmp(const void *a, const void *b)
{
	const struct crontabs_problem	*pa = a, *pb = b;

	return (pa->line > pb->line) - (pa->line < pb->line);
}

/* Log the sync's problems that were not there the last time. */
static void
crontabs_log_sync(struct crontabs *ct)
{
	char	**seen = NULL;
	size_t	  nseen = 0, i, j;

	for (i = 0; i < ct->nfiles; i++) {
		for (j = 0; j < ct->files[i]->nsprobs; j++) {
			seen = xreallocarray(seen, nseen + 1, sizeof *seen);
			seen[nseen++] = xstrdup(ct->files[i]->sprobs[j].text);
		}
	}
	if (nseen > 0)
		qsort(seen, nseen, sizeof *seen, crontabs_name_cmp);
	for (i = 0; i < nseen; i++) {
		if (ct->nseen == 0 || bsearch(&seen[i], ct->seen, ct->nseen,
		    sizeof *ct->seen, crontabs_name_cmp) == NULL)
			log_warnx("%s", seen[i]);
	}
	for (i = 0; i < ct->nseen; i++)
		free(ct->seen[i]);
	free(ct->seen);
	ct->seen = seen;
	ct->nseen = nseen;
}

/* crontabs_problems' list: directories, then each file's by line. */
static void
crontabs_view(struct crontabs *ct)
{
	struct ctfile	*f;
	size_t		 n, i, start;

	free(ct->view);
	ct->view = NULL;
	n = ct->ndprobs;
	for (i = 0; i < ct->nfiles; i++)
		n += ct->files[i]->nprobs + ct->files[i]->nsprobs;
	ct->nview = 0;
	if (n == 0)
		return;
	ct->view = xreallocarray(NULL, n, sizeof *ct->view);
	if (ct->ndprobs > 0)
		memcpy(ct->view, ct->dprobs, ct->ndprobs * sizeof *ct->view);
	ct->nview = ct->ndprobs;
	for (i = 0; i < ct->nfiles; i++) {
		f = ct->files[i];
		start = ct->nview;
		if (f->nprobs > 0)
			memcpy(ct->view + ct->nview, f->probs,
			    f->nprobs * sizeof *ct->view);
		ct->nview += f->nprobs;
		if (f->nsprobs > 0)
			memcpy(ct->view + ct->nview, f->sprobs,
			    f->nsprobs * sizeof *ct->view);
		ct->nview += f->nsprobs;
		/* A line's problems are few: sort in place, stably. */
		for (n = start + 1; n < ct->nview; n++) {
			struct crontabs_problem	tmp = ct->view[n];
			size_t			m = n;

			while (m > start &&
			    crontabs_view_cmp(&ct->view[m - 1], &tmp) > 0) {
				ct->view[m] = ct->view[m - 1];
				m--;
			}
			ct->view[m] = tmp;
		}
	}
}

/*
 * (Re)watch what the configuration and the files read name: the
 * crontab's directory for its entry, and the file itself; crontab_dir
 * and user_crontab_dir for the entries that would be read; the files
 * that links in crontab_dir name.
 */
static void
crontabs_arm(struct crontabs *ct)
{
	const struct config	*c = ct->conf;
	char			*dir, *slash;
	size_t			 i;

	watch_begin(ct->watch);
	if (c->crontab != NULL && *c->crontab != '\0') {
		dir = xstrdup(c->crontab);
		if ((slash = strrchr(dir, '/')) != NULL && slash[1] != '\0') {
			*slash = '\0';
			watch_dir(ct->watch, slash == dir ? "/" : dir, NULL,
			    slash + 1);
		}
		free(dir);
		watch_file(ct->watch, c->crontab);
	}
	if (c->crontab_dir != NULL && *c->crontab_dir != '\0') {
		watch_dir(ct->watch, c->crontab_dir, crontab_dirent_wanted,
		    NULL);
	}
	if (c->user_crontab_dir != NULL && *c->user_crontab_dir != '\0') {
		watch_dir(ct->watch, c->user_crontab_dir, crontabs_user_wanted,
		    NULL);
	}
	for (i = 0; i < ct->nfiles; i++) {
		if (ct->files[i]->link)
			watch_file(ct->watch, ct->files[i]->path);
	}
	watch_end(ct->watch);
}

/* Read (fresh: every file, else the changed ones), sync, rewatch. */
static void
crontabs_run(struct crontabs *ct, int fresh)
{
	char		*cause = NULL;

	/*
	 * Watch before reading, so that nothing written meanwhile is
	 * missed; again after, for the links just read.
	 */
	crontabs_arm(ct);
	crontabs_read(ct, fresh);
	crontabs_arm(ct);
	if (crontabs_sync(ct, &cause) == -1) {
		ct->retry_ms = ct->retry_ms == 0 ? CRONTABS_RETRY_MS :
		    ct->retry_ms * 2 > CRONTABS_RETRY_MAX_MS ?
		    CRONTABS_RETRY_MAX_MS : ct->retry_ms * 2;
		log_warnx("crontabs: cannot update the jobs (trying again in "
		    "%" PRId64 " s): %s", ct->retry_ms / 1000,
		    cause != NULL ? cause : "unknown error");
		free(cause);
		timer_add_ms(ct->ev_retry, ct->retry_ms);
	} else {
		ct->retry_ms = 0;
		evtimer_del(ct->ev_retry);
	}
	crontabs_log_sync(ct);
	crontabs_view(ct);
}

/* The files changed (watch.c), or a refused sync is due again. */
static void
crontabs_changed(void *arg)
{
	crontabs_run(arg, 0);
}

static void
crontabs_retry_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	crontabs_run(arg, 0);
}

struct crontabs *
crontabs_new(struct event_base *base, struct store *store,
    const struct config *conf)
{
	struct crontabs	*ct;

	ct = xcalloc(1, sizeof *ct);
	ct->base = base;
	ct->store = store;
	ct->conf = conf;
	if ((ct->ev_retry = evtimer_new(base, crontabs_retry_cb, ct)) == NULL)
		fatalx("evtimer_new failed");
	ct->watch = watch_new(base, crontabs_changed, ct);
	crontabs_run(ct, 1);
	return ct;
}

void
crontabs_start(struct crontabs *ct, struct policy *policy)
{
	ct->policy = policy;
}

void
crontabs_set_event_cb(struct crontabs *ct, crontabs_event_cb cb, void *arg)
{
	ct->event_cb = cb;
	ct->event_arg = arg;
}

void
crontabs_reload(struct crontabs *ct, const struct config *conf)
{
	ct->conf = conf;
	watch_cancel(ct->watch);
	crontabs_run(ct, 1);
}

const struct crontabs_problem *
crontabs_problems(struct crontabs *ct, size_t *n)
{
	*n = ct->nview;
	return ct->view;
}

void
crontabs_free(struct crontabs *ct)
{
	size_t	i;

	if (ct == NULL)
		return;
	watch_free(ct->watch);
	event_free(ct->ev_retry);
	crontabs_files_free(ct->files, ct->nfiles);
	crontabs_problems_free(ct->dprobs, ct->ndprobs);
	for (i = 0; i < ct->nseen; i++)
		free(ct->seen[i]);
	free(ct->seen);
	free(ct->view);
	free(ct);
}

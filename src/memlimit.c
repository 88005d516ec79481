/*
 * memlimit.c: memory enforcement for runs, by cgroup when the host allows
 * it and by an RSS watchdog otherwise (DESIGN.md section 6).
 *
 * Detection happens once, at start-up, and is done by trying: a cgroup v2
 * hierarchy whose memory controller can be enabled below the daemon's own
 * cgroup, else the v1 memory hierarchy, each probed by creating and
 * removing a cgroup.  A daemon that is not root, or config cgroup = off,
 * gets the watchdog.  Runs go in <the daemon's cgroup>/sqcron/<pid>/
 * run-<id>: below the daemon, so that a limit put on the daemon (a
 * container, a systemd unit) still covers its jobs, and per daemon, so
 * that two daemons in one cgroup (or the tests of a parallel make check)
 * never share run ids; what dead daemons left there is removed at
 * start-up.  In v2 a cgroup holding processes cannot delegate
 * controllers, so when the daemon's cgroup is such a cgroup the daemon
 * moves itself into a leaf, sqcrond/, beside sqcron/ (what systemd asks
 * of units with Delegate=yes).
 *
 * Per run: v1 memory.limit_in_bytes (and memory.memsw.limit_in_bytes when
 * swap is accounted), an eventfd on memory.oom_control through
 * cgroup.event_control, "oom_kill N" from memory.oom_control and the peak
 * from memory.max_usage_in_bytes; v2 memory.max, memory.swap.max = 0,
 * "oom_kill N" from memory.events and the peak from memory.peak (Linux
 * 5.19 and later; older kernels keep none).  A cgroup that still holds
 * processes when its run ends (kill_orphans = no) is kept, still limited,
 * and removed by memlimit_reap once empty.
 *
 * The watchdog's part here is a snapshot of /proc/PID/stat (about 15 us a
 * process): the runner sums the RSS of a job's processes and kills them.
 * A job's processes are its leader's session, processes whose environment
 * carries its SQCRON_RUN_ID (read only for the daemon's own children,
 * which is where orphans of a double fork land, since the daemon is a
 * child subreaper), and their descendants.  A process that calls setsid()
 * and scrubs or replaces its environment escapes this; so do the pids
 * that are reused between a snapshot and a kill, a window of
 * microseconds.  Summed RSS counts shared pages once per process.  The
 * v1 oom_kill count is not resettable, so a stale run-<id> directory
 * (from a daemon that died) is removed and created anew, never reused.
 *
 * What this file does not do: timers, signals to leaders, classification
 * of outcomes (runner.c).
 */

#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "memlimit.h"
#include "xmalloc.h"

#define MEMLIMIT_DIR		"sqcron"
#define MEMLIMIT_SELF_DIR	"sqcrond"	/* v2 leaf for the daemon */
#define MEMLIMIT_ENV_MAX	65536		/* bytes of environ read */
#define MEMLIMIT_KILL_PASSES	5

struct memlimit_linger {
	char				*path;
	TAILQ_ENTRY(memlimit_linger)	 entry;
};

struct memlimit {
	int				 version;	/* 0, 1 or 2 */
	char				*base;		/* .../sqcron */
	char				*dir;		/* base/<pid> */
	char				*describe;
	TAILQ_HEAD(, memlimit_linger)	 lingering;
};

struct memlimit_cg {
	struct memlimit			*ml;
	char				*path;
	char				*procs;
	int				 efd;		/* v1 OOM eventfd */
	int				 ofd;		/* memory.oom_control */
};

struct memlimit_proc {
	pid_t		 pid;
	pid_t		 ppid;
	pid_t		 pgid;
	pid_t		 sid;
	char		 state;
	int64_t		 rss;		/* bytes */
	int64_t		 starttime;	/* field 22, clock ticks after boot */
	int64_t		 marker;	/* SQCRON_RUN_ID, or -1 */
	int		 mark;
};

struct memlimit_procs {
	struct memlimit_proc	*v;
	size_t			 n;
};

/* Join dir and file into buf; -1 with ENAMETOOLONG when it does not fit. */
static int
memlimit_join(char *buf, size_t len, const char *dir, const char *file)
{
	int	 n;

	n = snprintf(buf, len, "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Write a value to a control file; 0, or -1 with errno. */
static int
memlimit_write(const char *dir, const char *file, const char *value)
{
	char	 path[PATH_MAX];
	size_t	 len = strlen(value);
	ssize_t	 n;
	int	 fd, saved;

	if (memlimit_join(path, sizeof path, dir, file) == -1)
		return -1;
	if ((fd = open(path, O_WRONLY|O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, value, len);
	saved = errno;
	close(fd);
	if (n == -1) {
		errno = saved;
		return -1;
	}
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Read at most len - 1 bytes of a file, terminated; length or -1. */
static ssize_t
memlimit_read(const char *path, char *buf, size_t len)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY|O_CLOEXEC)) == -1)
		return -1;
	while (off < len - 1) {
		n = read(fd, buf + off, len - 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	return (ssize_t)off;
}

/*
 * A number from a control file in dir: the whole file when key is NULL,
 * else the value on the line "key N".  -1 when absent or unreadable.
 */
static int64_t
memlimit_read_value(const char *dir, const char *file, const char *key)
{
	char		 path[PATH_MAX], buf[4096], *line, *next, *end;
	size_t		 klen;
	long long	 v;

	if (memlimit_join(path, sizeof path, dir, file) == -1)
		return -1;
	if (memlimit_read(path, buf, sizeof buf) == -1)
		return -1;
	if (key == NULL) {
		errno = 0;
		v = strtoll(buf, &end, 10);
		if (errno != 0 || end == buf || v < 0)
			return -1;
		return v;
	}
	klen = strlen(key);
	for (line = buf; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, key, klen) != 0 || line[klen] != ' ')
			continue;
		errno = 0;
		v = strtoll(line + klen + 1, &end, 10);
		if (errno != 0 || end == line + klen + 1 || v < 0)
			return -1;
		return v;
	}
	return -1;
}

/* Is word one of the words of a list separated by sep? */
static int
memlimit_has_word(const char *list, const char *word, int sep)
{
	size_t		 len = strlen(word);
	const char	*p = list;

	while (*p != '\0') {
		if (strncmp(p, word, len) == 0 &&
		    (p[len] == '\0' || p[len] == sep || p[len] == '\n'))
			return 1;
		while (*p != '\0' && *p != sep)
			p++;
		if (*p == sep)
			p++;
	}
	return 0;
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void
memlimit_unescape(char *s)
{
	char	*d = s;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 4;
		} else
			*d++ = *s++;
	}
	*d = '\0';
}

/*
 * Find the mount of a hierarchy in /proc/self/mountinfo: cgroup2 when v2,
 * else the v1 hierarchy carrying the memory controller.  Sets the mount
 * point and the root of the mount inside the hierarchy.
 */
static int
memlimit_find_mount(int v2, char *mnt, size_t mntlen, char *root,
    size_t rootlen)
{
	FILE	*f;
	char	*line = NULL, *p, *field[6], *fstype, *superopts, *s;
	size_t	 size = 0;
	int	 i, found = 0;

	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return -1;
	while (!found && getline(&line, &size, f) != -1) {
		line[strcspn(line, "\n")] = '\0';
		p = line;
		for (i = 0; i < 6; i++) {
			if ((field[i] = strsep(&p, " ")) == NULL)
				break;
		}
		if (i != 6 || p == NULL)
			continue;
		/* Optional fields end with a lone "-". */
		while ((s = strsep(&p, " ")) != NULL && strcmp(s, "-") != 0)
			;
		if (s == NULL || (fstype = strsep(&p, " ")) == NULL ||
		    strsep(&p, " ") == NULL || (superopts = p) == NULL)
			continue;
		if (v2 && strcmp(fstype, "cgroup2") != 0)
			continue;
		if (!v2 && (strcmp(fstype, "cgroup") != 0 ||
		    !memlimit_has_word(superopts, "memory", ',')))
			continue;
		memlimit_unescape(field[3]);
		memlimit_unescape(field[4]);
		xstrlcpy(root, field[3], rootlen);
		xstrlcpy(mnt, field[4], mntlen);
		found = 1;
	}
	free(line);
	fclose(f);
	if (!found)
		errno = ENOENT;
	return found ? 0 : -1;
}

/* The daemon's cgroup path in a hierarchy, from /proc/self/cgroup. */
static int
memlimit_self_path(int v2, char *path, size_t len)
{
	FILE	*f;
	char	*line = NULL, *p, *hier, *ctrl;
	size_t	 size = 0;
	int	 found = 0;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return -1;
	while (!found && getline(&line, &size, f) != -1) {
		line[strcspn(line, "\n")] = '\0';
		p = line;
		hier = strsep(&p, ":");
		ctrl = strsep(&p, ":");
		if (hier == NULL || ctrl == NULL || p == NULL)
			continue;
		if (v2 && (strcmp(hier, "0") != 0 || *ctrl != '\0'))
			continue;
		if (!v2 && !memlimit_has_word(ctrl, "memory", ','))
			continue;
		xstrlcpy(path, p, len);
		found = 1;
	}
	free(line);
	fclose(f);
	if (!found)
		errno = ENOENT;
	return found ? 0 : -1;
}

/* The directory of the daemon's own cgroup in a hierarchy. */
static int
memlimit_self_dir(int v2, char *dir, size_t len, char **cause)
{
	char		 mnt[PATH_MAX], root[PATH_MAX], self[PATH_MAX];
	const char	*rel;
	size_t		 rlen;
	int		 n;

	if (memlimit_find_mount(v2, mnt, sizeof mnt, root, sizeof root) ==
	    -1) {
		xasprintf(cause, "no %s mounted", v2 ? "cgroup2 hierarchy" :
		    "v1 memory hierarchy");
		return -1;
	}
	if (memlimit_self_path(v2, self, sizeof self) == -1) {
		xasprintf(cause, "sqcrond's %s cgroup not in /proc/self/cgroup",
		    v2 ? "v2" : "memory");
		return -1;
	}
	rel = self;
	rlen = strlen(root);
	if (strcmp(root, "/") != 0) {
		if (strncmp(self, root, rlen) != 0 ||
		    (self[rlen] != '/' && self[rlen] != '\0')) {
			xasprintf(cause, "sqcrond's cgroup %s is outside the "
			    "mount of %s at %s", self, root, mnt);
			return -1;
		}
		rel = self + rlen;
	}
	if (strcmp(rel, "/") == 0)
		rel = "";
	n = snprintf(dir, len, "%s%s", mnt, rel);
	if (n < 0 || (size_t)n >= len) {
		xasprintf(cause, "cgroup path too long");
		return -1;
	}
	return 0;
}

/* Enable the memory controller for the children of dir (v2). */
static int
memlimit_enable_v2(const char *dir, int *busy)
{
	char	 path[PATH_MAX], buf[1024];

	*busy = 0;
	if (memlimit_join(path, sizeof path, dir, "cgroup.subtree_control") ==
	    -1 || memlimit_read(path, buf, sizeof buf) == -1)
		return -1;
	if (memlimit_has_word(buf, "memory", ' '))
		return 0;
	if (memlimit_write(dir, "cgroup.subtree_control", "+memory") == 0)
		return 0;
	*busy = errno == EBUSY;
	return -1;
}

/* Make a directory of cgroups; in v2 give its children memory. */
static int
memlimit_mkdir(int version, const char *dir, char **cause)
{
	int	 busy;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		xasprintf(cause, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (version == 2 && memlimit_enable_v2(dir, &busy) == -1) {
		xasprintf(cause, "+memory in %s/cgroup.subtree_control: %s",
		    dir, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Make sqcron/ below the daemon's cgroup, shared by every daemon in that
 * cgroup, and this daemon's own sqcron/<pid>/ in it (two daemons, or the
 * tests of a parallel make check, would otherwise share run ids), then
 * prove that a limited cgroup can be made there.
 */
static int
memlimit_make_dirs(struct memlimit *ml, int version, const char *self,
    char **cause)
{
	char		 base[PATH_MAX], dir[PATH_MAX], probe[PATH_MAX];
	const char	*file = version == 2 ? "memory.max" :
			    "memory.limit_in_bytes";
	int		 n;

	if (memlimit_join(base, sizeof base, self, MEMLIMIT_DIR) == -1 ||
	    (n = snprintf(dir, sizeof dir, "%s/%ld", base, (long)getpid())) <
	    0 || (size_t)n >= sizeof dir ||
	    memlimit_join(probe, sizeof probe, dir, "probe") == -1) {
		xasprintf(cause, "cgroup path too long");
		return -1;
	}
	if (memlimit_mkdir(version, base, cause) == -1 ||
	    memlimit_mkdir(version, dir, cause) == -1)
		return -1;
	if (mkdir(probe, 0755) == -1 && errno != EEXIST) {
		xasprintf(cause, "mkdir %s: %s", probe, strerror(errno));
		goto fail;
	}
	if (memlimit_write(probe, file, version == 2 ? "max" : "-1") == -1) {
		xasprintf(cause, "write %s/%s: %s", probe, file,
		    strerror(errno));
		rmdir(probe);
		goto fail;
	}
	if (rmdir(probe) == -1) {
		xasprintf(cause, "rmdir %s: %s", probe, strerror(errno));
		goto fail;
	}
	ml->base = xstrdup(base);
	ml->dir = xstrdup(dir);
	return 0;

fail:
	rmdir(dir);
	return -1;
}

static int
memlimit_setup_v2(struct memlimit *ml, char **cause)
{
	char	 self[PATH_MAX], path[PATH_MAX], buf[1024], leaf[PATH_MAX];
	int	 busy;

	if (memlimit_self_dir(1, self, sizeof self, cause) == -1)
		return -1;
	if (memlimit_join(path, sizeof path, self, "cgroup.controllers") ==
	    -1 || memlimit_read(path, buf, sizeof buf) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!memlimit_has_word(buf, "memory", ' ')) {
		xasprintf(cause, "no memory controller in cgroup2 at %s", self);
		return -1;
	}
	if (memlimit_enable_v2(self, &busy) == -1) {
		if (!busy) {
			xasprintf(cause, "+memory in %s/cgroup.subtree_control:"
			    " %s", self, strerror(errno));
			return -1;
		}
		/* The daemon's cgroup holds processes: move to a leaf. */
		if (memlimit_join(leaf, sizeof leaf, self, MEMLIMIT_SELF_DIR) ==
		    -1 || (mkdir(leaf, 0755) == -1 && errno != EEXIST) ||
		    memlimit_write(leaf, "cgroup.procs", "0") == -1) {
			xasprintf(cause, "moving sqcrond to %s/%s: %s", self,
			    MEMLIMIT_SELF_DIR, strerror(errno));
			return -1;
		}
		log_info("moved sqcrond into cgroup %s to delegate memory",
		    leaf);
		if (memlimit_enable_v2(self, &busy) == -1) {
			xasprintf(cause, "+memory in %s/cgroup.subtree_control:"
			    " %s", self, strerror(errno));
			return -1;
		}
	}
	return memlimit_make_dirs(ml, 2, self, cause);
}

static int
memlimit_setup_v1(struct memlimit *ml, char **cause)
{
	char	 self[PATH_MAX];

	if (memlimit_self_dir(0, self, sizeof self, cause) == -1)
		return -1;
	return memlimit_make_dirs(ml, 1, self, cause);
}

/* Remove the empty run cgroups in dir; 0 if none is left. */
static int
memlimit_clean_dir(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX];
	int		 left = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "run-", 4) != 0 &&
		    strcmp(de->d_name, "probe") != 0)
			continue;
		if (memlimit_join(path, sizeof path, dir, de->d_name) == -1)
			continue;
		if (rmdir(path) == -1 && errno == EBUSY) {
			log_info("cgroup %s still holds processes of an "
			    "earlier sqcrond", path);
			left = 1;
		}
	}
	closedir(d);
	return left ? -1 : 0;
}

/*
 * Remove what daemons that are gone left in sqcron/: the directories of
 * dead pids, and old runs in ours (a dead daemon that had our pid).  The
 * directory of a live daemon is never touched: an empty run cgroup there
 * may be one its child is about to join.
 */
static void
memlimit_clean_stale(struct memlimit *ml)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX], *end;
	long		 pid;

	memlimit_clean_dir(ml->dir);
	if ((d = opendir(ml->base)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		errno = 0;
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || errno != 0 || pid <= 0 || pid == getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (memlimit_join(path, sizeof path, ml->base, de->d_name) ==
		    -1)
			continue;
		if (memlimit_clean_dir(path) == 0)
			rmdir(path);
	}
	closedir(d);
}

struct memlimit *
memlimit_new(int use_cgroup)
{
	struct memlimit	*ml;
	char		*cause2 = NULL, *cause1 = NULL;

	ml = xcalloc(1, sizeof *ml);
	TAILQ_INIT(&ml->lingering);
	if (!use_cgroup) {
		ml->describe = xstrdup("RSS watchdog (cgroup = off)");
		return ml;
	}
	if (geteuid() != 0) {
		ml->describe = xstrdup("RSS watchdog (sqcrond is not root, "
		    "no cgroup)");
		return ml;
	}
	if (memlimit_setup_v2(ml, &cause2) == 0)
		ml->version = 2;
	else if (memlimit_setup_v1(ml, &cause1) == 0)
		ml->version = 1;
	if (ml->version != 0) {
		xasprintf(&ml->describe, "cgroup v%d at %s", ml->version,
		    ml->dir);
		memlimit_clean_stale(ml);
	} else {
		xasprintf(&ml->describe, "RSS watchdog (no usable cgroup: "
		    "v2: %s; v1: %s)", cause2, cause1);
	}
	free(cause2);
	free(cause1);
	return ml;
}

void
memlimit_free(struct memlimit *ml)
{
	struct memlimit_linger	*l;

	if (ml == NULL)
		return;
	memlimit_reap(ml);
	while ((l = TAILQ_FIRST(&ml->lingering)) != NULL) {
		TAILQ_REMOVE(&ml->lingering, l, entry);
		log_info("leaving cgroup %s: it still holds processes",
		    l->path);
		free(l->path);
		free(l);
	}
	if (ml->dir != NULL && rmdir(ml->dir) == -1 && errno != EBUSY &&
	    errno != ENOTEMPTY && errno != ENOENT)
		log_warn("rmdir %s", ml->dir);
	free(ml->dir);
	free(ml->base);
	free(ml->describe);
	free(ml);
}

int
memlimit_cgroup_version(const struct memlimit *ml)
{
	return ml->version;
}

const char *
memlimit_describe(const struct memlimit *ml)
{
	return ml->describe;
}

void
memlimit_reap(struct memlimit *ml)
{
	struct memlimit_linger	*l, *l1;

	for (l = TAILQ_FIRST(&ml->lingering); l != NULL; l = l1) {
		l1 = TAILQ_NEXT(l, entry);
		if (rmdir(l->path) == -1 && errno == EBUSY)
			continue;
		TAILQ_REMOVE(&ml->lingering, l, entry);
		free(l->path);
		free(l);
	}
}

/* Ask for an eventfd notification of OOM in a v1 cgroup. */
static void
memlimit_cg_v1_event(struct memlimit_cg *cg)
{
	char	 path[PATH_MAX], value[64];

	if ((cg->efd = eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK)) == -1)
		goto fail;
	if (memlimit_join(path, sizeof path, cg->path, "memory.oom_control") ==
	    -1 || (cg->ofd = open(path, O_RDONLY|O_CLOEXEC)) == -1)
		goto fail;
	snprintf(value, sizeof value, "%d %d", cg->efd, cg->ofd);
	if (memlimit_write(cg->path, "cgroup.event_control", value) == -1)
		goto fail;
	return;

fail:
	log_warn("%s: no OOM notification (oom_kill is still counted)",
	    cg->path);
	if (cg->efd != -1)
		close(cg->efd);
	if (cg->ofd != -1)
		close(cg->ofd);
	cg->efd = cg->ofd = -1;
}

struct memlimit_cg *
memlimit_cg_new(struct memlimit *ml, int64_t run_id, int64_t limit,
    char **cause)
{
	struct memlimit_cg	*cg;
	char			 value[32], path[PATH_MAX];

	if (ml->version == 0) {
		xasprintf(cause, "no cgroup hierarchy");
		return NULL;
	}
	cg = xcalloc(1, sizeof *cg);
	cg->ml = ml;
	cg->efd = cg->ofd = -1;
	xasprintf(&cg->path, "%s/run-%" PRId64, ml->dir, run_id);
	xasprintf(&cg->procs, "%s/cgroup.procs", cg->path);
	if (mkdir(cg->path, 0755) == -1) {
		/* A stale one keeps its old oom_kill count: make it anew. */
		if (errno != EEXIST || rmdir(cg->path) == -1 ||
		    mkdir(cg->path, 0755) == -1) {
			xasprintf(cause, "mkdir %s: %s", cg->path,
			    strerror(errno));
			goto fail;
		}
	}
	if (limit > 0) {
		snprintf(value, sizeof value, "%" PRId64, limit);
		if (ml->version == 1) {
			if (memlimit_write(cg->path, "memory.limit_in_bytes",
			    value) == -1) {
				xasprintf(cause, "write %s/%s: %s", cg->path,
				    "memory.limit_in_bytes", strerror(errno));
				goto fail_rmdir;
			}
			/* Only when swap is accounted (swapaccount=1). */
			if (memlimit_join(path, sizeof path, cg->path,
			    "memory.memsw.limit_in_bytes") == 0 &&
			    access(path, F_OK) == 0 &&
			    memlimit_write(cg->path,
			    "memory.memsw.limit_in_bytes", value) == -1) {
				xasprintf(cause, "write %s: %s", path,
				    strerror(errno));
				goto fail_rmdir;
			}
		} else {
			if (memlimit_write(cg->path, "memory.max", value) ==
			    -1) {
				xasprintf(cause, "write %s/memory.max: %s",
				    cg->path, strerror(errno));
				goto fail_rmdir;
			}
			if (memlimit_write(cg->path, "memory.swap.max", "0") ==
			    -1 && errno != ENOENT) {
				xasprintf(cause, "write %s/memory.swap.max: %s",
				    cg->path, strerror(errno));
				goto fail_rmdir;
			}
		}
	}
	/*
	 * Without a limit the cgroup only measures (peak, and the oom_kill
	 * count of a kernel OOM kill, read at the end): no live event, which
	 * would cost four system calls and a descriptor a run.
	 */
	if (ml->version == 1 && limit > 0)
		memlimit_cg_v1_event(cg);
	return cg;

fail_rmdir:
	rmdir(cg->path);
fail:
	free(cg->procs);
	free(cg->path);
	free(cg);
	return NULL;
}

void
memlimit_cg_free(struct memlimit_cg *cg)
{
	struct memlimit_linger	*l;

	if (cg == NULL)
		return;
	if (cg->efd != -1)
		close(cg->efd);
	if (cg->ofd != -1)
		close(cg->ofd);
	if (rmdir(cg->path) == -1) {
		if (errno == EBUSY) {
			l = xcalloc(1, sizeof *l);
			l->path = cg->path;
			cg->path = NULL;
			TAILQ_INSERT_TAIL(&cg->ml->lingering, l, entry);
		} else if (errno != ENOENT)
			log_warn("rmdir %s", cg->path);
	}
	free(cg->path);
	free(cg->procs);
	free(cg);
}

const char *
memlimit_cg_path(const struct memlimit_cg *cg)
{
	return cg->path;
}

const char *
memlimit_cg_procs_path(const struct memlimit_cg *cg)
{
	return cg->procs;
}

int
memlimit_cg_event_fd(const struct memlimit_cg *cg)
{
	return cg->efd;
}

int
memlimit_cg_event_read(struct memlimit_cg *cg)
{
	uint64_t	 v;
	ssize_t		 n;

	if (cg->efd == -1)
		return 0;
	n = read(cg->efd, &v, sizeof v);
	return n == (ssize_t)sizeof v && v > 0;
}

int64_t
memlimit_cg_oom_kills(const struct memlimit_cg *cg)
{
	if (cg->ml->version == 1)
		return memlimit_read_value(cg->path, "memory.oom_control",
		    "oom_kill");
	return memlimit_read_value(cg->path, "memory.events", "oom_kill");
}

int64_t
memlimit_cg_peak(const struct memlimit_cg *cg)
{
	if (cg->ml->version == 1)
		return memlimit_read_value(cg->path,
		    "memory.max_usage_in_bytes", NULL);
	return memlimit_read_value(cg->path, "memory.peak", NULL);
}

/* The pids in cgroup.procs; how many were read, or -1. */
static int
memlimit_cg_pids(const struct memlimit_cg *cg, pid_t **pids, size_t *n)
{
	FILE		*f;
	long		 v;
	size_t		 size = 0;

	*pids = NULL;
	*n = 0;
	if ((f = fopen(cg->procs, "re")) == NULL)
		return -1;
	while (fscanf(f, "%ld", &v) == 1) {
		if (*n == size) {
			size = size == 0 ? 16 : size * 2;
			*pids = xreallocarray(*pids, size, sizeof **pids);
		}
		(*pids)[(*n)++] = (pid_t)v;
	}
	fclose(f);
	return (int)*n;
}

int
memlimit_cg_kill(struct memlimit_cg *cg)
{
	char		 path[PATH_MAX];
	pid_t		*pids, *sent = NULL;
	size_t		 n, i, j, nsent = 0;
	int		 pass, fresh;

	if (cg->ml->version == 2 && memlimit_join(path, sizeof path,
	    cg->path, "cgroup.kill") == 0 && access(path, F_OK) == 0) {
		memlimit_cg_pids(cg, &pids, &n);
		free(pids);
		if (memlimit_write(cg->path, "cgroup.kill", "1") == 0)
			return (int)n;
	}
	/*
	 * Without cgroup.kill a process may fork between reading the list
	 * and the kill: read again until a pass finds nothing new.
	 */
	for (pass = 0; pass < MEMLIMIT_KILL_PASSES; pass++) {
		if (memlimit_cg_pids(cg, &pids, &n) == -1)
			break;
		fresh = 0;
		for (i = 0; i < n; i++) {
			if (pids[i] == getpid())
				continue;
			for (j = 0; j < nsent; j++) {
				if (sent[j] == pids[i])
					break;
			}
			if (j < nsent)
				continue;
			if (kill(pids[i], SIGKILL) == 0)
				fresh++;
			sent = xreallocarray(sent, nsent + 1, sizeof *sent);
			sent[nsent++] = pids[i];
		}
		free(pids);
		if (fresh == 0)
			break;
	}
	free(sent);
	return (int)nsent;
}

/* Parse /proc/PID/stat into p; -1 if the process is gone. */
static int
memlimit_proc_stat(pid_t pid, struct memlimit_proc *p)
{
	char		 path[64], buf[2048], *s, *end;
	long long	 v[22];
	long		 page;
	int		 i;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (memlimit_read(path, buf, sizeof buf) == -1)
		return -1;
	/* The command name may hold anything but ends at the last ')'. */
	if ((s = strrchr(buf, ')')) == NULL || s[1] != ' ' || s[2] == '\0')
		return -1;
	p->state = s[2];
	s += 3;
	for (i = 1; i < 22; i++) {
		errno = 0;
		v[i] = strtoll(s, &end, 10);
		if (end == s || errno != 0)
			return -1;
		s = end;
	}
	page = sysconf(_SC_PAGESIZE);
	p->pid = pid;
	p->ppid = (pid_t)v[1];
	p->pgid = (pid_t)v[2];
	p->sid = (pid_t)v[3];
	p->rss = v[21] > 0 ? (int64_t)v[21] * page : 0;
	p->starttime = v[19];
	p->marker = -1;
	p->mark = 0;
	return 0;
}

/* SQCRON_RUN_ID from the start of /proc/PID/environ, or -1. */
static int64_t
memlimit_proc_marker(pid_t pid)
{
	static const char	 key[] = "SQCRON_RUN_ID=";
	char			 path[64], *buf, *p, *end, *nul;
	ssize_t			 n;
	long long		 v;
	int64_t			 marker = -1;

	snprintf(path, sizeof path, "/proc/%ld/environ", (long)pid);
	buf = xmalloc(MEMLIMIT_ENV_MAX);
	if ((n = memlimit_read(path, buf, MEMLIMIT_ENV_MAX)) <= 0)
		goto out;
	for (p = buf; p < buf + n; p = nul + 1) {
		if ((nul = memchr(p, '\0', (size_t)(buf + n - p))) == NULL)
			break;
		if (strncmp(p, key, sizeof key - 1) != 0)
			continue;
		errno = 0;
		v = strtoll(p + sizeof key - 1, &end, 10);
		if (errno == 0 && end != p + sizeof key - 1 && *end == '\0')
			marker = v;
		break;
	}
out:
	free(buf);
	return marker;
}

static int
memlimit_proc_cmp(const void *a, const void *b)
{
	const struct memlimit_proc	*pa = a, *pb = b;

	return (pa->pid > pb->pid) - (pa->pid < pb->pid);
}

struct memlimit_procs *
memlimit_procs_scan(pid_t marker_parent)
{
	struct memlimit_procs	*procs;
	struct memlimit_proc	 p;
	DIR			*d;
	struct dirent		*de;
	size_t			 size = 0;
	char			*end;
	long			 v;
	pid_t			 self = getpid();

	procs = xcalloc(1, sizeof *procs);
	if ((d = opendir("/proc")) == NULL) {
		log_warn("opendir /proc");
		return procs;
	}
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		errno = 0;
		v = strtol(de->d_name, &end, 10);
		if (*end != '\0' || errno != 0 || v <= 0 || v == self)
			continue;
		if (memlimit_proc_stat((pid_t)v, &p) == -1)
			continue;
		if (p.ppid == marker_parent && p.state != 'Z')
			p.marker = memlimit_proc_marker(p.pid);
		if (procs->n == size) {
			size = size == 0 ? 256 : size * 2;
			procs->v = xreallocarray(procs->v, size, sizeof p);
		}
		procs->v[procs->n++] = p;
	}
	closedir(d);
	qsort(procs->v, procs->n, sizeof *procs->v, memlimit_proc_cmp);
	return procs;
}

void
memlimit_procs_free(struct memlimit_procs *procs)
{
	if (procs == NULL)
		return;
	free(procs->v);
	free(procs);
}

/* Mark the processes of a job: see memlimit_procs_rss in the header. */
static void
memlimit_procs_mark(struct memlimit_procs *procs, pid_t leader,
    int64_t run_id)
{
	struct memlimit_proc	*p, *parent, key;
	size_t			 i;
	int			 changed;

	for (i = 0; i < procs->n; i++) {
		p = &procs->v[i];
		p->mark = p->pid == leader || p->sid == leader ||
		    p->pgid == leader || (run_id >= 0 && p->marker == run_id);
	}
	do {
		changed = 0;
		for (i = 0; i < procs->n; i++) {
			p = &procs->v[i];
			if (p->mark)
				continue;
			key.pid = p->ppid;
			parent = bsearch(&key, procs->v, procs->n,
			    sizeof *procs->v, memlimit_proc_cmp);
			if (parent != NULL && parent->mark) {
				p->mark = 1;
				changed = 1;
			}
		}
	} while (changed);
}

int64_t
memlimit_procs_rss(struct memlimit_procs *procs, pid_t leader,
    int64_t run_id, size_t *n)
{
	size_t	 i, count = 0;
	int64_t	 rss = 0;

	memlimit_procs_mark(procs, leader, run_id);
	for (i = 0; i < procs->n; i++) {
		if (!procs->v[i].mark || procs->v[i].state == 'Z')
			continue;
		rss += procs->v[i].rss;
		count++;
	}
	if (n != NULL)
		*n = count;
	return rss;
}

int
memlimit_procs_kill(struct memlimit_procs *procs, pid_t leader,
    int64_t run_id, int sig)
{
	size_t	 i;
	int	 count = 0;

	memlimit_procs_mark(procs, leader, run_id);
	for (i = 0; i < procs->n; i++) {
		if (!procs->v[i].mark || procs->v[i].state == 'Z')
			continue;
		if (kill(procs->v[i].pid, sig) == 0)
			count++;
	}
	return count;
}

int64_t
memlimit_pid_start_time(pid_t pid)
{
	struct memlimit_proc	p;

	if (memlimit_proc_stat(pid, &p) == -1)
		return -1;
	return p.starttime;
}

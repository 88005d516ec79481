/*
 * memlimit.h: memory enforcement for runs (DESIGN.md section 6): a cgroup
 * per run when the host allows it (v2 with the memory controller, or the
 * v1 memory hierarchy), and otherwise the pieces of an RSS watchdog, a
 * snapshot of /proc from which a job's processes and their resident memory
 * are found.  The watchdog's timer and every decision live in runner.c;
 * nothing here uses libevent.
 */
#ifndef SQCRON_MEMLIMIT_H
#define SQCRON_MEMLIMIT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct memlimit;
struct memlimit_cg;
struct memlimit_procs;

/* Detect what the host allows; use_cgroup 0 (cgroup = off): the watchdog. */
struct memlimit	*memlimit_new(int use_cgroup);
/* Free; cgroups of finished runs still holding processes are left behind. */
void		 memlimit_free(struct memlimit *);
/* 2 or 1 for a cgroup hierarchy in use, 0 for the watchdog. */
int		 memlimit_cgroup_version(const struct memlimit *);
/* "cgroup v1 at PATH" or "RSS watchdog (why there is no cgroup)". */
const char	*memlimit_describe(const struct memlimit *);
/* Retry removing cgroups of finished runs that still held processes. */
void		 memlimit_reap(struct memlimit *);

/* Create the cgroup of a run, limited to limit bytes (<= 0: no limit). */
struct memlimit_cg *memlimit_cg_new(struct memlimit *, int64_t run_id,
		    int64_t limit, char **cause);
/* Remove the cgroup, or keep it until memlimit_reap finds it empty. */
void		 memlimit_cg_free(struct memlimit_cg *);
/* The cgroup's directory. */
const char	*memlimit_cg_path(const struct memlimit_cg *);
/* The file the child writes "0" to before exec to join the cgroup. */
const char	*memlimit_cg_procs_path(const struct memlimit_cg *);
/* A descriptor readable on an OOM event (v1 eventfd), or -1. */
int		 memlimit_cg_event_fd(const struct memlimit_cg *);
/* Consume a pending OOM event; 1 if there was one. */
int		 memlimit_cg_event_read(struct memlimit_cg *);
/* How many processes the kernel OOM-killed in the cgroup, or -1. */
int64_t		 memlimit_cg_oom_kills(const struct memlimit_cg *);
/* The cgroup's peak memory in bytes, or -1 when the kernel keeps none. */
int64_t		 memlimit_cg_peak(const struct memlimit_cg *);
/* SIGKILL every process in the cgroup; returns how many were signalled. */
int		 memlimit_cg_kill(struct memlimit_cg *);

/*
 * A snapshot of the processes of the host from /proc/PID/stat.  For the
 * processes whose parent is marker_parent (the daemon: its jobs' leaders
 * and orphans re-parented to it), SQCRON_RUN_ID is read from
 * /proc/PID/environ.
 */
struct memlimit_procs *memlimit_procs_scan(pid_t marker_parent);
void		 memlimit_procs_free(struct memlimit_procs *);
/*
 * Resident bytes of a job's live processes: the session of its leader,
 * processes marked with its run id, and their descendants.  *n (may be
 * NULL) is set to how many processes were counted.
 */
int64_t		 memlimit_procs_rss(struct memlimit_procs *, pid_t leader,
		    int64_t run_id, size_t *n);
/*
 * When a process started (/proc/PID/stat field 22), or -1 if it is gone:
 * with its pid, this tells a process from a later one that reused the pid.
 */
int64_t		 memlimit_pid_start_time(pid_t);
/* Send sig to each live process of the job (as above); returns how many. */
int		 memlimit_procs_kill(struct memlimit_procs *, pid_t leader,
		    int64_t run_id, int sig);

#endif

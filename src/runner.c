/*
 * runner.c: fork/exec of runs with limits, their supervision on the
 * daemon's libevent loop, output capture and the classification of how
 * each run ended (DESIGN.md sections 5 and 6).  It reports to its caller
 * through callbacks and never touches SQLite or JSON; memory enforcement
 * itself is memlimit.c.
 *
 * A run's life:
 *	1. runner_spawn prepares everything the child needs (user, groups,
 *	   environment, rlimits, its cgroup) before fork, so the child only
 *	   makes system calls.  The child: setsid, default signals, join the
 *	   cgroup, stdin, stdout+stderr into one pipe, rlimits, nice, drop
 *	   privileges, chdir, close every other descriptor, execve.  A setup
 *	   failure is written ("chdir /x", errno) to a close-on-exec pipe:
 *	   EOF on that pipe with no message means exec succeeded.
 *	   The vfork itself is made by a spawner thread (one per core, up to
 *	   RUNNER_SPAWNERS_MAX): vfork suspends its caller until the child
 *	   has exec'd, a millisecond or more here, and the loop must not
 *	   wait that long per run when a thousand are due at once.  The
 *	   threads touch nothing but their request; the loop learns of each
 *	   fork through an eventfd and only then watches the child.
 *	2. Output is drained by a plain EV_READ|EV_PERSIST event with read()
 *	   into one 1 MiB buffer, on a pipe raised to 1 MiB; bufferevents read
 *	   4 KiB a call and cost several times the CPU.  The first and last
 *	   output_max/2 bytes are kept, the middle only counted.
 *	3. Timers: wall timeout (SIGTERM to the process group, SIGKILL after
 *	   kill_grace), kill on request (the same, with who asked), and one
 *	   RSS watchdog timer shared by all runs with a memory limit and no
 *	   cgroup, armed only while such runs exist.  Before signalling, a
 *	   timer checks that the leader was not already reaped (its pid could
 *	   be someone else's) and has not already exited (a zombie whose
 *	   SIGCHLD is pending: that run ended by itself).
 *	4. SIGCHLD: one evsignal added before the first fork.  Its callback
 *	   peeks with waitid(WNOWAIT): a run's leader is still a zombie, so
 *	   its pid and process group cannot be reused while the leftovers of
 *	   the job are killed (kill_orphans); then wait4 reaps it with its
 *	   rusage.  Any other child is an orphan re-parented to us (we are a
 *	   child subreaper) and is reaped.  There is no other waitpid.  A
 *	   child can die before its spawner has told the loop its pid: while
 *	   forks are in flight, an unknown child's status is kept (early)
 *	   and given to its run when the pid arrives.
 *	5. The run ends when its leader was reaped and its output pipe hit
 *	   EOF.  A process that survives the leader (kill_orphans = no, or
 *	   one that escaped) may hold the pipe open for ever: the run then
 *	   ends RUNNER_DRAIN_GRACE_MS after its leader, and the pipe is kept
 *	   and drained to nowhere until EOF, so that the survivor neither
 *	   blocks nor dies of SIGPIPE on its next write.
 *
 * Measurements: exit status and CPU times come from wait4 (CPU of the
 * leader and the children it waited for; orphans we reap are not
 * counted).  max_rss_kb is the cgroup's peak, or the largest watchdog
 * sample of a limited run; runs with neither report none, because
 * ru_maxrss includes the daemon's own memory at fork and a sample at exit
 * is impossible (the memory of a zombie is gone).
 */

#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "duration.h"
#include "job.h"
#include "log.h"
#include "memlimit.h"
#include "runner.h"
#include "tz.h"
#include "timer.h"
#include "xmalloc.h"

#define RUNNER_READ_SIZE	(1024 * 1024)
#define RUNNER_READ_BURST	(16 * 1024 * 1024)	/* then yield */
#define RUNNER_PIPE_SIZE	(1024 * 1024)
#define RUNNER_DRAIN_GRACE_MS	1000
#define RUNNER_KILL_GRACE_MS	10000
#define RUNNER_OUTPUT_MAX	(256 * 1024)
#define RUNNER_BOOST		5	/* niceness below the jobs' */
#define RUNNER_POLL_MS		100
#define RUNNER_POLL_MIN_MS	10
#define RUNNER_SHELL		"/bin/sh"
#define RUNNER_PATH		"/usr/local/bin:/usr/bin:/bin"
#define RUNNER_FD_MAX		65536	/* fallback close loop bound */
#define RUNNER_SPAWNERS_MAX	4
#define RUNNER_SPAWNER_STACK	(256 * 1024)	/* the vfork child's too */
#define RUNNER_EARLY_MAX_MS	60000	/* an unclaimed status is an orphan's */

/* What the child sends before exec when its setup fails. */
struct runner_setup_error {
	int	 error;
	char	 call[512];
};

/* Everything the child needs, prepared before fork. */
struct runner_child {
	char		**argv;		/* shell -c command */
	char		**words;	/* the command exec'd directly, or NULL */
	const char	 *search;	/* PATH to search for words[0] */
	char		 *pwd;		/* "PWD=", filled in by the child */
	char		**envp;
	size_t		  nenv;
	const char	 *shell;
	char		 *dir;
	int		  switch_user;
	uid_t		  uid;
	gid_t		  gid;
	gid_t		 *groups;
	int		  ngroups;
	char		 *user;
	struct rlimit	  cpu, nofile, nproc, as;
	int		  set_cpu, set_nofile, set_nproc, set_as;
	int		  nice;
	int		  set_nice;
	const char	 *cg_procs;
};

/*
 * A run handed to a spawner thread.  The thread reads c and the child's
 * descriptors and writes pid, error and pid_start; nothing else.
 */
struct runner_req {
	struct runner_run		*r;
	struct runner_child		 c;
	int				 in_fd;		/* the child's ends */
	int				 out_fd;
	int				 err_fd;
	pid_t				 pid;		/* 0: vfork failed */
	int				 error;
	int64_t				 pid_start;	/* for lost runs */
	int64_t				 exec_at;	/* vfork returned */
	int64_t				 exec_mono;
	STAILQ_ENTRY(runner_req)	 entry;
};
STAILQ_HEAD(runner_reqs, runner_req);

/* A child reaped before the loop knew its pid, kept for its run. */
struct runner_early {
	pid_t				 pid;
	int				 status;
	struct rusage			 ru;
	int64_t				 exit_mono;
	int64_t				 ended_at;
	TAILQ_ENTRY(runner_early)	 entry;
};

/* A pipe of a finished run still held open by a survivor. */
struct runner_drain {
	struct runner			*rn;
	int64_t				 run_id;
	int				 fd;
	struct event			*ev;
	TAILQ_ENTRY(runner_drain)	 entry;
};

struct runner_run {
	struct runner			*rn;
	TAILQ_ENTRY(runner_run)		 entry;

	int64_t				 id;
	char				*job;
	runner_done_cb			 done;
	runner_start_cb			 start;
	runner_output_cb		 output;
	void				*arg;

	int64_t				 timeout_ms;
	int64_t				 kill_grace_ms;
	int64_t				 memory;
	int64_t				 cpu_ms;
	int				 kill_orphans;

	pid_t				 pid;
	int				 spawning;	/* with a spawner */
	int				 forked;
	int				 execd;		/* err pipe EOF, no error */
	int				 reaped;
	int				 status;
	struct rusage			 ru;
	int64_t				 started_at;
	int64_t				 ended_at;
	int64_t				 start_mono;
	int64_t				 exit_mono;

	int				 setup_failed;
	char				 setup_reason[256];

	int				 out_fd;
	int				 err_fd;
	int				 in_fd;
	char				*in_data;
	size_t				 in_len;
	size_t				 in_off;
	struct event			*ev_out;
	struct event			*ev_err;
	struct event			*ev_in;
	struct event			*ev_timeout;
	struct event			*ev_kill;
	struct event			*ev_drain;
	struct event			*ev_oom;
	struct event			*ev_spawn_error;
	int				 drain_expired;

	/* What sqcrond did to it. */
	int				 timeout_hit;	/* TERM sent at timeout */
	char				*kill_who;
	int				 kill_term_sent; /* TERM sent on request */
	int				 kill_sent;	/* KILL after grace */
	int64_t				 term_mono;

	struct memlimit_cg		*cg;
	int				 cg_oom_event;
	int				 watchdog;
	int				 wd_killed;
	int64_t				 wd_rss;	/* bytes, at the kill */
	int64_t				 wd_peak;	/* bytes */

	/* Output: head, then a ring of the tail. */
	char				*head;
	size_t				 head_len;
	size_t				 head_size;	/* allocated */
	size_t				 head_max;
	char				*ring;
	size_t				 ring_len;
	size_t				 ring_pos;
	size_t				 tail_max;
	int64_t				 total;
};

struct runner {
	struct event_base		*base;
	char				*shell;
	int				 shell_is_dash;
	int				 job_nice;	/* jobs' default */
	int				 boosted;	/* we are below it */
	char				*path;
	int64_t				 poll_ms;
	struct memlimit			*ml;
	pid_t				 self;
	char				*self_name;	/* the daemon's user, */
	char				*self_home;	/* looked up once */
	struct event			*ev_sigchld;
	struct event			*ev_watchdog;
	char				*rbuf;
	TAILQ_HEAD(, runner_run)	 runs;
	TAILQ_HEAD(, runner_drain)	 drains;

	/* Spawner threads; the lists are theirs and ours under sp_mu. */
	pthread_t			 sp_threads[RUNNER_SPAWNERS_MAX];
	int				 sp_n;
	pthread_mutex_t			 sp_mu;
	pthread_cond_t			 sp_cv;
	int				 sp_stop;
	struct runner_reqs		 sp_todo;
	struct runner_reqs		 sp_done;
	int				 sp_efd;	/* sp_done not empty */
	struct event			*ev_spawned;
	int				 inflight;	/* handed, not back */
	TAILQ_HEAD(, runner_early)	 early;
};

static void	runner_maybe_finish(struct runner_run *);
static void	runner_watchdog_arm(struct runner *, int);
static void	runner_spawned_cb(evutil_socket_t, short, void *);
static void	runner_leader_exited(struct runner_run *,
		    const struct runner_early *);
static void	runner_kill_now(struct runner_run *);
static void	runner_spawned(struct runner *);

static const char *const runner_signal_names[] = {
	NULL, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT",
	"SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2",
	"SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",
	"SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
	"SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR",
	"SIGSYS",
};
static const char *const runner_rt_names[] = {
	"SIGRTMIN", "SIGRTMIN+1", "SIGRTMIN+2", "SIGRTMIN+3", "SIGRTMIN+4",
	"SIGRTMIN+5", "SIGRTMIN+6", "SIGRTMIN+7", "SIGRTMIN+8", "SIGRTMIN+9",
	"SIGRTMIN+10", "SIGRTMIN+11", "SIGRTMIN+12", "SIGRTMIN+13",
	"SIGRTMIN+14", "SIGRTMIN+15", "SIGRTMIN+16", "SIGRTMIN+17",
	"SIGRTMIN+18", "SIGRTMIN+19", "SIGRTMIN+20", "SIGRTMIN+21",
	"SIGRTMIN+22", "SIGRTMIN+23", "SIGRTMIN+24", "SIGRTMIN+25",
	"SIGRTMIN+26", "SIGRTMIN+27", "SIGRTMIN+28", "SIGRTMIN+29",
	"SIGRTMIN+30", "SIGRTMIN+31", "SIGRTMIN+32",
};

const char *
runner_signal_name(int sig)
{
	size_t	 n = sizeof runner_signal_names / sizeof *runner_signal_names;
	size_t	 nrt = sizeof runner_rt_names / sizeof *runner_rt_names;

	if (sig > 0 && (size_t)sig < n)
		return runner_signal_names[sig];
	if (sig >= SIGRTMIN && sig <= SIGRTMAX &&
	    (size_t)(sig - SIGRTMIN) < nrt)
		return runner_rt_names[sig - SIGRTMIN];
	return "unknown signal";
}

/* The signals that mean the program crashed (DESIGN.md section 5). */
static int
runner_crash_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
	    sig == SIGFPE || sig == SIGABRT || sig == SIGSYS || sig == SIGTRAP;
}

static int64_t
runner_clock_ms(clockid_t id)
{
	struct timespec	 ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A limit exactly ("64 MiB", "1536 KiB") or a measure roughly ("64.0 MiB"). */
static void
runner_format_size(int64_t bytes, int exact, char *buf, size_t len)
{
	static const char	*units[] = { "GiB", "MiB", "KiB" };
	int64_t			 scale;
	int			 i;

	for (i = 0; i < 3; i++) {
		scale = (int64_t)1 << (10 * (3 - i));
		if (exact && bytes >= scale && bytes % scale == 0) {
			snprintf(buf, len, "%" PRId64 " %s", bytes / scale,
			    units[i]);
			return;
		}
		if (!exact && bytes >= scale) {
			snprintf(buf, len, "%.1f %s", (double)bytes / scale,
			    units[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRId64 " bytes", bytes);
}

static struct runner_run *
runner_find_id(struct runner *rn, int64_t id)
{
	struct runner_run	*r;

	TAILQ_FOREACH(r, &rn->runs, entry) {
		if (r->id == id)
			return r;
	}
	return NULL;
}

static struct runner_run *
runner_find_pid(struct runner *rn, pid_t pid)
{
	struct runner_run	*r;

	TAILQ_FOREACH(r, &rn->runs, entry) {
		if (r->forked && !r->reaped && r->pid == pid)
			return r;
	}
	return NULL;
}

/*
 * The child's setup failed: tell the parent and die.  Runs only in the
 * child, which is single-threaded, so snprintf is safe here.
 */
static void __attribute__((noreturn, format(printf, 3, 4)))
runner_child_fail(int fd, int error, const char *fmt, ...)
{
	struct runner_setup_error	 e;
	va_list				 ap;

	memset(&e, 0, sizeof e);
	e.error = error;
	va_start(ap, fmt);
	vsnprintf(e.call, sizeof e.call, fmt, ap);
	va_end(ap);
	if (write(fd, &e, sizeof e) == -1) {
		/* Nothing to do: the parent sees exit 127 without a reason. */
	}
	_exit(127);
}

/* Move a descriptor above 2, so that dup2 onto 0-2 cannot clobber it. */
static int
runner_child_above2(int fd, int errfd)
{
	int	 nfd;

	if (fd > 2)
		return fd;
	if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1)
		runner_child_fail(errfd, errno, "fcntl F_DUPFD_CLOEXEC");
	return nfd;
}

/* Close every descriptor from 3 but keep. */
static void
runner_child_closefrom(int keep)
{
	int	 fd, done = 0;

#ifdef SYS_close_range
	if ((keep == 3 || syscall(SYS_close_range, 3U,
	    (unsigned int)keep - 1, 0U) == 0) &&
	    syscall(SYS_close_range, (unsigned int)keep + 1, ~0U, 0U) == 0)
		done = 1;
#endif
	if (done)
		return;
	for (fd = 3; fd < RUNNER_FD_MAX; fd++) {
		if (fd != keep)
			close(fd);
	}
}

static void
runner_child_rlimit(int errfd, int resource, const char *name,
    const struct rlimit *rl)
{
	if (setrlimit(resource, rl) == -1) {
		runner_child_fail(errfd, errno, "setrlimit %s %llu", name,
		    (unsigned long long)rl->rlim_cur);
	}
}

/*
 * Exec a command with no shell syntax without the shell, as dash would
 * after its fork: the same PATH search (every entry in order, an empty
 * one meaning the current directory) and the same environment (dash adds
 * PWD, the physical working directory, and nothing else).  It returns
 * only when no exec succeeded: the caller then execs the shell with the
 * command, which searches again and fails, or runs a script without #!,
 * exactly as it always did, with its own message and exit status.
 */
static void
runner_child_exec_direct(const struct runner_child *c)
{
	char		 file[PATH_MAX];
	const char	*p, *end, *name = c->words[0];
	size_t		 dlen, nlen = strlen(name);

	if (getcwd(c->pwd + 4, PATH_MAX) == NULL)
		return;
	if (strchr(name, '/') != NULL) {
		execve(name, c->words, c->envp);
		return;
	}
	for (p = c->search; ; p = end + 1) {
		end = strchrnul(p, ':');
		dlen = (size_t)(end - p);
		if (dlen == 0) {
			p = ".";
			dlen = 1;
		}
		if (dlen + 1 + nlen < sizeof file) {
			memcpy(file, p, dlen);
			file[dlen] = '/';
			memcpy(file + dlen + 1, name, nlen + 1);
			execve(file, c->words, c->envp);
			if (errno == ENOEXEC)
				return;	/* a script without #!: the shell's */
		}
		if (*end == '\0')
			return;
	}
}

/* The child, from fork to exec. */
static void __attribute__((noreturn))
runner_child(const struct runner_child *c, int in_fd, int out_fd,
    int err_fd)
{
	struct sigaction	 sa;
	sigset_t		 set;
	int			 sig, fd;

	if (err_fd <= 2 && (err_fd = fcntl(err_fd, F_DUPFD_CLOEXEC, 3)) == -1)
		_exit(127);
	out_fd = runner_child_above2(out_fd, err_fd);
	if (in_fd != -1)
		in_fd = runner_child_above2(in_fd, err_fd);

	if (setsid() == -1)
		runner_child_fail(err_fd, errno, "setsid");
	/* An ignored SIGPIPE or a blocked signal would survive exec. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, &sa, NULL) == -1 && errno == EINVAL) {
			/*
			 * glibc reserves the signals below SIGRTMIN for its
			 * threads and refuses them, but an ignored one is
			 * inherited all the same (a parent may have ignored
			 * it): reset it with the system call.  All-zero is
			 * SIG_DFL with no flags and an empty mask.
			 */
			struct {
				unsigned long	w[4];
			} ksa;

			memset(&ksa, 0, sizeof ksa);
			(void)syscall(SYS_rt_sigaction, sig, &ksa, NULL,
			    (size_t)8);
		}
	}
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);

	if (c->cg_procs != NULL) {
		if ((fd = open(c->cg_procs, O_WRONLY|O_CLOEXEC)) == -1)
			runner_child_fail(err_fd, errno, "open %s", c->cg_procs);
		if (write(fd, "0", 1) != 1)
			runner_child_fail(err_fd, errno, "write %s", c->cg_procs);
		close(fd);
	}

	if (in_fd == -1 && (in_fd = open("/dev/null", O_RDONLY)) == -1)
		runner_child_fail(err_fd, errno, "open /dev/null");
	if (dup2(in_fd, 0) == -1)
		runner_child_fail(err_fd, errno, "dup2 stdin");
	if (dup2(out_fd, 1) == -1 || dup2(out_fd, 2) == -1)
		runner_child_fail(err_fd, errno, "dup2 stdout");

	if (c->set_cpu)
		runner_child_rlimit(err_fd, RLIMIT_CPU, "RLIMIT_CPU", &c->cpu);
	if (c->set_nofile) {
		runner_child_rlimit(err_fd, RLIMIT_NOFILE, "RLIMIT_NOFILE",
		    &c->nofile);
	}
	if (c->set_nproc) {
		runner_child_rlimit(err_fd, RLIMIT_NPROC, "RLIMIT_NPROC",
		    &c->nproc);
	}
	if (c->set_as)
		runner_child_rlimit(err_fd, RLIMIT_AS, "RLIMIT_AS", &c->as);
	if (c->set_nice && setpriority(PRIO_PROCESS, 0, c->nice) == -1)
		runner_child_fail(err_fd, errno, "setpriority %d", c->nice);

	/*
	 * The system calls, not glibc's wrappers: those would ask every
	 * thread of the daemon, whose memory we share, to switch too.
	 */
	if (c->switch_user) {
		if (syscall(SYS_setgroups, (size_t)c->ngroups, c->groups) == -1)
			runner_child_fail(err_fd, errno, "setgroups %s", c->user);
		if (syscall(SYS_setgid, c->gid) == -1) {
			runner_child_fail(err_fd, errno, "setgid %lu",
			    (unsigned long)c->gid);
		}
		if (syscall(SYS_setuid, c->uid) == -1) {
			runner_child_fail(err_fd, errno, "setuid %lu",
			    (unsigned long)c->uid);
		}
	}
	if (chdir(c->dir) == -1)
		runner_child_fail(err_fd, errno, "chdir %s", c->dir);

	runner_child_closefrom(err_fd);
	if (c->words != NULL)
		runner_child_exec_direct(c);
	execve(c->shell, c->argv, c->envp);
	runner_child_fail(err_fd, errno, "execve %s", c->shell);
}

/* Set NAME=VALUE (entry holds both), replacing an earlier NAME. */
static void
runner_env_put(struct runner_child *c, char *entry)
{
	size_t	 i, len = strcspn(entry, "=");

	for (i = 0; i < c->nenv; i++) {
		if (strncmp(c->envp[i], entry, len + 1) == 0) {
			free(c->envp[i]);
			c->envp[i] = entry;
			return;
		}
	}
	c->envp = xreallocarray(c->envp, c->nenv + 2, sizeof *c->envp);
	c->envp[c->nenv++] = entry;
	c->envp[c->nenv] = NULL;
}

/* The value of NAME in the child's environment, or NULL. */
static const char *
runner_env_find(const struct runner_child *c, const char *name)
{
	size_t	 i, len = strlen(name);

	for (i = 0; i < c->nenv; i++) {
		if (strncmp(c->envp[i], name, len) == 0 &&
		    c->envp[i][len] == '=')
			return c->envp[i] + len + 1;
	}
	return NULL;
}

static void __attribute__((format(printf, 3, 4)))
runner_env_set(struct runner_child *c, const char *name, const char *fmt,
    ...)
{
	va_list	 ap;
	char	*value, *entry;

	va_start(ap, fmt);
	xvasprintf(&value, fmt, ap);
	va_end(ap);
	xasprintf(&entry, "%s=%s", name, value);
	free(value);
	runner_env_put(c, entry);
}

static void
runner_child_clear(struct runner_child *c)
{
	size_t	 i;

	if (c->argv != NULL) {
		for (i = 0; c->argv[i] != NULL; i++)
			free(c->argv[i]);
		free(c->argv);
	}
	if (c->words != NULL) {
		for (i = 0; c->words[i] != NULL; i++)
			free(c->words[i]);
		free(c->words);
	}
	for (i = 0; i < c->nenv; i++)
		free(c->envp[i]);
	free(c->envp);
	free(c->dir);
	free(c->groups);
	free(c->user);
}

/* Record a setup failure found in the parent; reported as spawn_error. */
static void __attribute__((format(printf, 2, 3)))
runner_setup_fail(struct runner_run *r, const char *fmt, ...)
{
	va_list	 ap;

	r->setup_failed = 1;
	va_start(ap, fmt);
	vsnprintf(r->setup_reason, sizeof r->setup_reason, fmt, ap);
	va_end(ap);
}

/* The limits of the child; hard CPU limit = soft + kill_grace. */
static void
runner_prepare_limits(struct runner_run *r, const struct runner_job *job,
    struct runner_child *c)
{
	struct rlimit	 cur;
	rlim_t		 grace;

	if (job->cpu_ms > 0) {
		c->set_cpu = 1;
		c->cpu.rlim_cur = (rlim_t)((job->cpu_ms + 999) / 1000);
		grace = (rlim_t)((r->kill_grace_ms + 999) / 1000);
		c->cpu.rlim_max = c->cpu.rlim_cur + (grace > 0 ? grace : 1);
		/* Not root: the hard limit cannot be raised. */
		if (getrlimit(RLIMIT_CPU, &cur) == 0 &&
		    cur.rlim_max != RLIM_INFINITY && geteuid() != 0 &&
		    c->cpu.rlim_max > cur.rlim_max)
			c->cpu.rlim_max = cur.rlim_max;
	}
	if (job->nofile > 0) {
		c->set_nofile = 1;
		c->nofile.rlim_cur = c->nofile.rlim_max = (rlim_t)job->nofile;
	}
	if (job->nproc > 0) {
		c->set_nproc = 1;
		c->nproc.rlim_cur = c->nproc.rlim_max = (rlim_t)job->nproc;
	}
	if (job->rlimit_as > 0) {
		c->set_as = 1;
		c->as.rlim_cur = c->as.rlim_max = (rlim_t)job->rlimit_as;
	}
	if (job->nice != JOB_NICE_UNSET) {
		c->set_nice = 1;
		c->nice = job->nice;
	} else if (r->rn->boosted) {
		c->set_nice = 1;	/* not the daemon's own priority */
		c->nice = r->rn->job_nice;
	}
}

/*
 * The user, the directory and the environment; -1 if the run cannot start.
 * A job runs as its user, or else as its owner (DESIGN.md section 3);
 * switching to anyone but the daemon's own user needs root.
 */
static int
runner_prepare(struct runner_run *r, const struct runner_job *job,
    struct runner_child *c)
{
	struct runner	*rn = r->rn;
	struct passwd	*pw;
	char		 at[TZ_RFC3339_LEN], *home, *name;
	uid_t		 euid = geteuid();
	int		 ngroups, self;
	size_t		 i;

	self = job->user == NULL && (job->owner == JOB_UNSET ||
	    (uid_t)job->owner == euid);
	if (self && rn->self_name == NULL) {
		/*
		 * Jobs of the daemon's own user: look it up once, not at
		 * every spawn (NSS costs a millisecond, in the event loop).
		 */
		errno = 0;
		if ((pw = getpwuid(euid)) != NULL) {
			rn->self_home = xstrdup(pw->pw_dir);
			rn->self_name = xstrdup(pw->pw_name);
		} else {
			/* The daemon's uid has no passwd entry (a container). */
			rn->self_home = xstrdup("/");
			xasprintf(&rn->self_name, "%lu", (unsigned long)euid);
		}
	}
	if (self) {
		name = c->user = xstrdup(rn->self_name);
		home = xstrdup(rn->self_home);
		goto prepared;
	}
	errno = 0;
	if (job->user != NULL)
		pw = getpwnam(job->user);
	else
		pw = getpwuid((uid_t)job->owner);
	if (pw == NULL) {
		if (job->user != NULL)
			runner_setup_fail(r, "getpwnam %s: %s", job->user,
			    errno != 0 ? strerror(errno) : "no such user");
		else
			runner_setup_fail(r, "getpwuid %" PRId64 " (the job's "
			    "owner): %s", job->owner, errno != 0 ?
			    strerror(errno) : "no such user");
		return -1;
	}
	name = c->user = xstrdup(pw->pw_name);
	home = xstrdup(pw->pw_dir);
	if (euid == 0 || pw->pw_uid != euid) {
		if (euid != 0) {
			free(home);
			runner_setup_fail(r, "setuid %s: %s (sqcrond is not "
			    "root)", name, strerror(EPERM));
			return -1;
		}
		c->switch_user = 1;
		c->uid = pw->pw_uid;
		c->gid = pw->pw_gid;
		ngroups = 32;
		for (;;) {
			c->groups = xreallocarray(c->groups, (size_t)ngroups,
			    sizeof *c->groups);
			i = (size_t)ngroups;
			if (getgrouplist(pw->pw_name, pw->pw_gid, c->groups,
			    &ngroups) != -1)
				break;
			if ((size_t)ngroups <= i)
				ngroups = (int)i * 2;
		}
		c->ngroups = ngroups;
	}
prepared:
	c->dir = xstrdup(job->workdir != NULL ? job->workdir : home);
	runner_prepare_limits(r, job, c);

	c->shell = rn->shell;
	c->argv = xcalloc(4, sizeof *c->argv);
	c->argv[0] = xstrdup(rn->shell);
	c->argv[1] = xstrdup("-c");
	c->argv[2] = xstrdup(job->command);

	/*
	 * SQCRON_RUN_ID first: memlimit.c finds orphans by it in the first
	 * bytes of /proc/PID/environ.  The job's env may replace SHELL, PATH
	 * and the rest, but not SQCRON_*, which are set again after it.
	 */
	runner_env_set(c, "SQCRON_RUN_ID", "%" PRId64, r->id);
	runner_env_set(c, "SHELL", "%s", rn->shell);
	runner_env_set(c, "PATH", "%s", rn->path);
	runner_env_set(c, "HOME", "%s", home);
	runner_env_set(c, "LOGNAME", "%s", name);
	runner_env_set(c, "USER", "%s", name);
	free(home);
	for (i = 0; i < job->nenv; i++)
		runner_env_put(c, xstrdup(job->env[i]));
	tz_format_utc_ms(job->scheduled_at != JOB_UNSET ? job->scheduled_at :
	    r->started_at, at, sizeof at);
	runner_env_set(c, "SQCRON_RUN_ID", "%" PRId64, r->id);
	runner_env_set(c, "SQCRON_JOB", "%s", r->job);
	runner_env_set(c, "SQCRON_SCHEDULED_AT", "%s", at);
	runner_env_set(c, "SQCRON_ATTEMPT", "%d",
	    job->attempt > 0 ? job->attempt : 1);
	runner_env_set(c, "SQCRON_TRIGGER", "%s",
	    job->trigger != NULL ? job->trigger : "manual");
	if (job->replay_of != JOB_UNSET) {
		runner_env_set(c, "SQCRON_REPLAY_OF", "%" PRId64,
		    job->replay_of);
	}
	runner_env_set(c, "SQCRON_FIRE_KEY", "%s@%s", r->job, at);

	/*
	 * No shell syntax, and the shell is dash: exec the command itself
	 * (as GNU make does), one process less per run.  Not when the job
	 * sets PWD itself: dash's treatment of it is not worth copying.
	 */
	if (rn->shell_is_dash && runner_env_find(c, "PWD") == NULL &&
	    (c->words = runner_command_words(job->command)) != NULL) {
		c->search = runner_env_find(c, "PATH");
		if (c->search == NULL)
			c->search = "";
		c->pwd = xmalloc(4 + PATH_MAX);
		memcpy(c->pwd, "PWD=", 5);
		runner_env_put(c, c->pwd);
	}
	return 0;
}

/* Record the error the child sent, or learn that exec succeeded. */
static void
runner_err_cb(evutil_socket_t fd, short events, void *arg)
{
	struct runner_run		*r = arg;
	struct runner_setup_error	 e;
	ssize_t				 n;

	(void)events;
	n = read(fd, &e, sizeof e);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n == (ssize_t)sizeof e) {
		e.call[sizeof e.call - 1] = '\0';
		runner_setup_fail(r, "%s: %s", e.call, strerror(e.error));
		return;
	}
	if (n > 0)
		runner_setup_fail(r, "child setup failed (short report)");
	else if (n == -1)
		log_warn("run %" PRId64 ": setup pipe", r->id);
	if (!r->setup_failed)
		r->execd = 1;
	event_free(r->ev_err);
	r->ev_err = NULL;
	close(r->err_fd);
	r->err_fd = -1;
	runner_maybe_finish(r);
}

/* Keep the head, and the tail in a ring; count everything. */
static void
runner_output_add(struct runner_run *r, const char *buf, size_t len)
{
	size_t	 n;

	r->total += (int64_t)len;
	if (r->head_len < r->head_max) {
		n = r->head_max - r->head_len;
		if (n > len)
			n = len;
		if (r->head_len + n > r->head_size) {
			r->head_size = r->head_size == 0 ? 4096 : r->head_size;
			while (r->head_size < r->head_len + n)
				r->head_size *= 2;
			if (r->head_size > r->head_max)
				r->head_size = r->head_max;
			r->head = xreallocarray(r->head, r->head_size, 1);
		}
		memcpy(r->head + r->head_len, buf, n);
		r->head_len += n;
		buf += n;
		len -= n;
	}
	if (len == 0 || r->tail_max == 0)
		return;
	if (r->ring == NULL)
		r->ring = xmalloc(r->tail_max);
	if (len >= r->tail_max) {
		memcpy(r->ring, buf + len - r->tail_max, r->tail_max);
		r->ring_pos = 0;
		r->ring_len = r->tail_max;
		return;
	}
	n = r->tail_max - r->ring_pos;
	if (n > len)
		n = len;
	memcpy(r->ring + r->ring_pos, buf, n);
	memcpy(r->ring, buf + n, len - n);
	r->ring_pos = (r->ring_pos + len) % r->tail_max;
	r->ring_len += len;
	if (r->ring_len > r->tail_max)
		r->ring_len = r->tail_max;
}

/* Head, "[... N bytes omitted ...]" when something was, tail. */
static char *
runner_output_assemble(struct runner_run *r, size_t *lenp)
{
	char	 marker[64], *out;
	size_t	 mlen = 0, len, first;
	int64_t	 omitted;

	omitted = r->total - (int64_t)(r->head_len + r->ring_len);
	if (omitted > 0) {
		mlen = (size_t)snprintf(marker, sizeof marker,
		    "\n[... %" PRId64 " bytes omitted ...]\n", omitted);
	}
	out = xmalloc(r->head_len + mlen + r->ring_len + 1);
	if (r->head_len > 0)
		memcpy(out, r->head, r->head_len);
	len = r->head_len;
	memcpy(out + len, marker, mlen);
	len += mlen;
	if (r->ring_len == 0)
		;
	else if (r->ring_len < r->tail_max) {
		/* Never wrapped: the bytes are in order from 0. */
		memcpy(out + len, r->ring, r->ring_len);
	} else {
		first = r->tail_max - r->ring_pos;
		memcpy(out + len, r->ring + r->ring_pos, first);
		memcpy(out + len + first, r->ring, r->ring_pos);
	}
	len += r->ring_len;
	out[len] = '\0';
	*lenp = len;
	return out;
}

static void
runner_close_out(struct runner_run *r)
{
	if (r->ev_out != NULL) {
		event_free(r->ev_out);
		r->ev_out = NULL;
	}
	if (r->out_fd != -1) {
		close(r->out_fd);
		r->out_fd = -1;
	}
}

static void
runner_out_cb(evutil_socket_t fd, short events, void *arg)
{
	struct runner_run	*r = arg;
	struct runner		*rn = r->rn;
	size_t			 got = 0;
	ssize_t			 n;

	(void)events;
	while (got < RUNNER_READ_BURST) {
		n = read(fd, rn->rbuf, RUNNER_READ_SIZE);
		if (n > 0) {
			got += (size_t)n;
			runner_output_add(r, rn->rbuf, (size_t)n);
			if (r->output != NULL)
				r->output(r->id, rn->rbuf, (size_t)n, r->arg);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1)
			log_warn("run %" PRId64 ": read output", r->id);
		runner_close_out(r);
		runner_maybe_finish(r);
		return;
	}
}

/* Feed stdin_data (crontab %) without blocking. */
static void
runner_in_cb(evutil_socket_t fd, short events, void *arg)
{
	struct runner_run	*r = arg;
	ssize_t			 n;

	(void)events;
	while (r->in_off < r->in_len) {
		n = write(fd, r->in_data + r->in_off, r->in_len - r->in_off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1)
			break;	/* EPIPE: the job did not read it all */
		r->in_off += (size_t)n;
	}
	event_free(r->ev_in);
	r->ev_in = NULL;
	close(r->in_fd);
	r->in_fd = -1;
}

/* Has the leader exited (a zombie not yet reaped)? */
static int
runner_leader_gone(struct runner_run *r)
{
	siginfo_t	 si;

	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)r->pid, &si, WEXITED|WNOHANG|WNOWAIT) == -1)
		return errno == ECHILD;
	return si.si_pid == r->pid;
}

/* Signal the job's process group; -1 if it already ended by itself. */
static int
runner_signal(struct runner_run *r, int sig)
{
	if (!r->forked || r->reaped || runner_leader_gone(r))
		return -1;
	/* Before its setsid the child is not yet a group leader. */
	if (kill(-r->pid, sig) == -1 && kill(r->pid, sig) == -1)
		return -1;
	return 0;
}

static void
runner_kill_cb(evutil_socket_t fd, short events, void *arg)
{
	struct runner_run	*r = arg;

	(void)fd;
	(void)events;
	if (runner_signal(r, SIGKILL) == 0)
		r->kill_sent = 1;
}

/* SIGTERM sent: SIGKILL after kill_grace. */
static void
runner_arm_kill(struct runner_run *r)
{

	r->term_mono = runner_clock_ms(CLOCK_MONOTONIC);
	if (r->ev_kill == NULL)
		r->ev_kill = evtimer_new(r->rn->base, runner_kill_cb, r);
	timer_add_ms(r->ev_kill, r->kill_grace_ms);
}

static void
runner_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	struct runner_run	*r = arg;

	(void)fd;
	(void)events;
	if (runner_signal(r, SIGTERM) == -1)
		return;
	r->timeout_hit = 1;
	runner_arm_kill(r);
}

static void
runner_drain_grace_cb(evutil_socket_t fd, short events, void *arg)
{
	struct runner_run	*r = arg;

	(void)fd;
	(void)events;
	r->drain_expired = 1;
	runner_maybe_finish(r);
}

static void
runner_oom_cb(evutil_socket_t fd, short events, void *arg)
{
	struct runner_run	*r = arg;

	(void)fd;
	(void)events;
	if (memlimit_cg_event_read(r->cg)) {
		r->cg_oom_event = 1;
		log_info("run %" PRId64 " (%s): OOM in its cgroup", r->id,
		    r->job);
	}
}

static void
runner_spawn_error_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	runner_maybe_finish(arg);
}

/*
 * Kill what is left of a job whose leader is a zombie (kill_orphans);
 * group: its process group is still ours to signal.
 */
static void
runner_kill_stragglers(struct runner_run *r, int group)
{
	struct memlimit_procs	*procs;
	int			 n;

	if (r->cg != NULL)
		n = memlimit_cg_kill(r->cg);
	else {
		procs = memlimit_procs_scan(r->rn->self);
		n = memlimit_procs_kill(procs, r->pid, r->id, SIGKILL);
		memlimit_procs_free(procs);
	}
	/* The zombie leader keeps its group id from being reused. */
	if (group)
		kill(-r->pid, SIGKILL);
	if (n > 0) {
		log_debug("run %" PRId64 ": killed %d leftover processes",
		    r->id, n);
	}
}

/*
 * The leader is a zombie: kill leftovers if asked, then reap it.  e: it
 * was reaped already, before its pid was known (its group id may be
 * anyone's now: only the cgroup or the marker find its leftovers).
 */
static void
runner_leader_exited(struct runner_run *r, const struct runner_early *e)
{
	pid_t		 n;

	if (r->kill_orphans)
		runner_kill_stragglers(r, e == NULL);
	if (e != NULL) {
		r->status = e->status;
		r->ru = e->ru;
		r->reaped = 1;
		r->exit_mono = e->exit_mono;
		r->ended_at = e->ended_at;
		goto reaped;
	}
	do
		n = wait4(r->pid, &r->status, WNOHANG, &r->ru);
	while (n == -1 && errno == EINTR);
	if (n != r->pid) {
		log_warn("run %" PRId64 ": wait4 %ld", r->id, (long)r->pid);
		memset(&r->ru, 0, sizeof r->ru);
		r->status = W_EXITCODE(127, 0);
	}
	r->reaped = 1;
	r->exit_mono = runner_clock_ms(CLOCK_MONOTONIC);
	r->ended_at = runner_clock_ms(CLOCK_REALTIME);
reaped:
	if (r->ev_timeout != NULL)
		evtimer_del(r->ev_timeout);
	if (r->ev_kill != NULL)
		evtimer_del(r->ev_kill);
	if (r->out_fd != -1) {
		r->ev_drain = evtimer_new(r->rn->base, runner_drain_grace_cb, r);
		timer_add_ms(r->ev_drain, RUNNER_DRAIN_GRACE_MS);
	}
	runner_maybe_finish(r);
}

static void
runner_sigchld_cb(evutil_socket_t sig, short events, void *arg)
{
	struct runner		*rn = arg;
	struct runner_run	*r;
	struct runner_early	*e;
	struct rusage		 ru;
	siginfo_t		 si;
	pid_t			 n;
	int			 status;

	(void)sig;
	(void)events;
	runner_spawned(rn);	/* the pids of the newest children */
	for (;;) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED|WNOHANG|WNOWAIT) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				log_warn("waitid");
			break;
		}
		if (si.si_pid == 0)
			break;
		if ((r = runner_find_pid(rn, si.si_pid)) != NULL) {
			runner_leader_exited(r, NULL);
			continue;
		}
		/* An orphan re-parented to the subreaper, or a fresh child. */
		do
			n = wait4(si.si_pid, &status, WNOHANG, &ru);
		while (n == -1 && errno == EINTR);
		if (n != si.si_pid) {
			log_warn("wait4 %ld", (long)si.si_pid);
			break;
		}
		if (rn->inflight > 0) {
			/* Maybe a run whose spawner has not reported yet. */
			e = xcalloc(1, sizeof *e);
			e->pid = n;
			e->status = status;
			e->ru = ru;
			e->exit_mono = runner_clock_ms(CLOCK_MONOTONIC);
			e->ended_at = runner_clock_ms(CLOCK_REALTIME);
			TAILQ_INSERT_TAIL(&rn->early, e, entry);
		}
		memlimit_reap(rn->ml);
	}
}

/* Decide the state and reason (DESIGN.md section 5, first match wins). */
static void
runner_classify(struct runner_run *r, struct runner_result *res,
    int64_t oom_kills)
{
	char		 a[32], b[32], how[96], note[64];
	int		 st = r->status, code = -1, sig = 0;
	int64_t		 cpu_ms, elapsed, after;

	res->exit_code = JOB_UNSET;
	if (r->setup_failed) {
		res->state = RUN_SPAWN_ERROR;
		xstrlcpy(res->reason, r->setup_reason, sizeof res->reason);
		return;
	}
	if (WIFEXITED(st))
		res->exit_code = code = WEXITSTATUS(st);
	else if (WIFSIGNALED(st)) {
		res->signal = sig = WTERMSIG(st);
		res->core_dumped = WCOREDUMP(st) != 0;
	}
	cpu_ms = res->user_cpu_ms + res->sys_cpu_ms;
	elapsed = r->term_mono - r->start_mono;
	after = r->exit_mono - r->term_mono;
	if (r->kill_sent) {
		duration_format(r->kill_grace_ms, a, sizeof a);
		snprintf(how, sizeof how, "SIGTERM sent, SIGKILL after "
		    "kill_grace %s", a);
	} else {
		snprintf(how, sizeof how, "SIGTERM sent, exited after %.2fs",
		    (double)after / 1000);
	}
	note[0] = '\0';
	if (r->cg != NULL && oom_kills <= 0 && !r->cg_oom_event)
		xstrlcpy(note, "; the run's cgroup counted no OOM kill",
		    sizeof note);

	if (r->timeout_hit) {
		res->state = RUN_TIMEOUT;
		duration_format(r->timeout_ms, a, sizeof a);
		snprintf(res->reason, sizeof res->reason, "timeout %s reached "
		    "after %.2fs; %s", a, (double)elapsed / 1000, how);
	} else if (r->cpu_ms > 0 && (sig == SIGXCPU ||
	    code == 128 + SIGXCPU || ((sig == SIGKILL || code == 137) &&
	    cpu_ms >= r->cpu_ms))) {
		res->state = RUN_TIMEOUT;
		duration_format(r->cpu_ms, a, sizeof a);
		snprintf(res->reason, sizeof res->reason, "CPU limit %s "
		    "reached: %.2fs of CPU time in %.2fs (%s)", a,
		    (double)cpu_ms / 1000,
		    (double)(r->exit_mono - r->start_mono) / 1000,
		    sig == SIGXCPU ? "SIGXCPU" : code == 128 + SIGXCPU ?
		    "SIGXCPU, exit status 152" : "SIGKILL at the hard limit");
	} else if (r->wd_killed) {
		res->state = RUN_OOM;
		runner_format_size(r->wd_rss, 0, a, sizeof a);
		runner_format_size(r->memory, 1, b, sizeof b);
		snprintf(res->reason, sizeof res->reason, "watchdog: RSS %s "
		    "over limit %s", a, b);
	} else if (oom_kills > 0 || r->cg_oom_event) {
		res->state = RUN_OOM;
		if (res->max_rss_kb >= 0)
			runner_format_size(res->max_rss_kb * 1024, 0, a, sizeof a);
		else
			xstrlcpy(a, "unknown", sizeof a);
		if (r->memory > 0) {
			runner_format_size(r->memory, 1, b, sizeof b);
			snprintf(res->reason, sizeof res->reason, "cgroup "
			    "oom_kill event: limit %s, peak %s", b, a);
		} else {
			snprintf(res->reason, sizeof res->reason, "cgroup "
			    "oom_kill event: no limit on the job (an enclosing "
			    "cgroup ran out), peak %s", a);
		}
	} else if (r->kill_term_sent) {
		res->state = RUN_KILLED;
		snprintf(res->reason, sizeof res->reason, "%s; %s",
		    r->kill_who, how);
	} else if (sig == SIGKILL) {
		res->state = RUN_OOM;
		snprintf(res->reason, sizeof res->reason, "SIGKILL from outside "
		    "sqcrond, most often the kernel OOM killer (inferred from "
		    "SIGKILL not sent by sqcrond%s)", note);
	} else if (code == 137) {
		res->state = RUN_OOM;
		snprintf(res->reason, sizeof res->reason, "exit status 137: a "
		    "process was killed by SIGKILL (inferred from exit status "
		    "137%s)", note);
	} else if (sig != 0 && runner_crash_signal(sig)) {
		res->state = RUN_CRASHED;
		snprintf(res->reason, sizeof res->reason, "killed by %s%s",
		    runner_signal_name(sig),
		    res->core_dumped ? " (core dumped)" : "");
	} else if (code > 128 && runner_crash_signal(code - 128)) {
		res->state = RUN_CRASHED;
		snprintf(res->reason, sizeof res->reason, "exit status %d: a "
		    "process was killed by %s", code,
		    runner_signal_name(code - 128));
	} else if (sig != 0) {
		res->state = RUN_KILLED;
		snprintf(res->reason, sizeof res->reason, "killed by %s",
		    runner_signal_name(sig));
	} else if (code == 0)
		res->state = RUN_SUCCEEDED;
	else if (code == 126) {
		res->state = RUN_FAILED;
		xstrlcpy(res->reason, "command not executable",
		    sizeof res->reason);
	} else if (code == 127) {
		res->state = RUN_FAILED;
		xstrlcpy(res->reason, "command not found", sizeof res->reason);
	} else {
		res->state = RUN_FAILED;
		snprintf(res->reason, sizeof res->reason, "exit status %d",
		    code);
	}
}

static void
runner_drain_cb(evutil_socket_t fd, short events, void *arg)
{
	struct runner_drain	*d = arg;
	struct runner		*rn = d->rn;
	ssize_t			 n;
	size_t			 got = 0;

	(void)events;
	while (got < RUNNER_READ_BURST) {
		n = read(fd, rn->rbuf, RUNNER_READ_SIZE);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		log_debug("run %" PRId64 ": survivors closed its output",
		    d->run_id);
		TAILQ_REMOVE(&rn->drains, d, entry);
		event_free(d->ev);
		close(d->fd);
		free(d);
		return;
	}
}

/* Keep draining a finished run's pipe held open by a survivor. */
static void
runner_drain_keep(struct runner_run *r)
{
	struct runner_drain	*d;

	log_info("run %" PRId64 " (%s): a process outlived the job and holds "
	    "its output open; its output is discarded", r->id, r->job);
	d = xcalloc(1, sizeof *d);
	d->rn = r->rn;
	d->run_id = r->id;
	d->fd = r->out_fd;
	d->ev = event_new(r->rn->base, d->fd, EV_READ|EV_PERSIST,
	    runner_drain_cb, d);
	event_add(d->ev, NULL);
	TAILQ_INSERT_TAIL(&r->rn->drains, d, entry);
	event_free(r->ev_out);
	r->ev_out = NULL;
	r->out_fd = -1;
}

static void
runner_run_free(struct runner_run *r)
{
	struct event	**evs[] = { &r->ev_out, &r->ev_err, &r->ev_in,
	    &r->ev_timeout, &r->ev_kill, &r->ev_drain, &r->ev_oom,
	    &r->ev_spawn_error };
	size_t		  i;

	for (i = 0; i < sizeof evs / sizeof *evs; i++) {
		if (*evs[i] != NULL)
			event_free(*evs[i]);
	}
	if (r->out_fd != -1)
		close(r->out_fd);
	if (r->err_fd != -1)
		close(r->err_fd);
	if (r->in_fd != -1)
		close(r->in_fd);
	memlimit_cg_free(r->cg);
	free(r->in_data);
	free(r->head);
	free(r->ring);
	free(r->kill_who);
	free(r->job);
	free(r);
}

static void
runner_finish(struct runner_run *r)
{
	struct runner		*rn = r->rn;
	struct runner_result	 res;
	char			*out;
	int64_t			 oom_kills = -1, peak = -1;

	TAILQ_REMOVE(&rn->runs, r, entry);
	if (r->out_fd != -1)
		runner_drain_keep(r);
	if (r->ev_oom != NULL) {
		runner_oom_cb(-1, 0, r);
		event_free(r->ev_oom);
		r->ev_oom = NULL;
	}
	if (r->cg != NULL) {
		oom_kills = memlimit_cg_oom_kills(r->cg);
		peak = memlimit_cg_peak(r->cg);
	}

	memset(&res, 0, sizeof res);
	res.run_id = r->id;
	res.pid = r->forked ? r->pid : 0;
	res.started_at = r->started_at;
	if (r->reaped) {
		res.ended_at = r->ended_at;
		/* A spawner may note the exec after the loop saw the exit. */
		res.duration_ms = r->exit_mono > r->start_mono ?
		    r->exit_mono - r->start_mono : 0;
		if (res.ended_at < res.started_at)
			res.ended_at = res.started_at;
	} else {
		res.ended_at = runner_clock_ms(CLOCK_REALTIME);
		res.duration_ms = res.ended_at - r->started_at;
	}
	res.user_cpu_ms = (int64_t)r->ru.ru_utime.tv_sec * 1000 +
	    r->ru.ru_utime.tv_usec / 1000;
	res.sys_cpu_ms = (int64_t)r->ru.ru_stime.tv_sec * 1000 +
	    r->ru.ru_stime.tv_usec / 1000;
	if (peak >= 0)
		res.max_rss_kb = peak / 1024;
	else if (r->watchdog && r->wd_peak > 0)
		res.max_rss_kb = r->wd_peak / 1024;
	else
		res.max_rss_kb = JOB_UNSET;
	runner_classify(r, &res, oom_kills);
	res.output_bytes = r->total;
	out = runner_output_assemble(r, &res.output_len);
	res.output = out;

	log_debug("run %" PRId64 " (%s) pid %ld: %s%s%s", r->id, r->job,
	    (long)res.pid, run_state_name(res.state),
	    res.reason[0] != '\0' ? ": " : "", res.reason);
	r->done(&res, r->arg);
	free(out);
	runner_run_free(r);
	memlimit_reap(rn->ml);
}

static void
runner_maybe_finish(struct runner_run *r)
{
	if (r->spawning)
		return;
	if (r->forked) {
		if (!r->reaped || r->err_fd != -1)
			return;
		if (r->out_fd != -1 && !r->drain_expired)
			return;
	}
	runner_finish(r);
}

/* Is the watchdog needed by this run now? */
static int
runner_watched(const struct runner_run *r)
{
	return r->watchdog && r->forked && !r->reaped && !r->wd_killed;
}

static void
runner_watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
	struct runner		*rn = arg;
	struct runner_run	*r;
	struct memlimit_procs	*procs;
	char			 a[32], b[32];
	int64_t			 rss;
	size_t			 n;
	int			 near = 0;

	(void)fd;
	(void)events;
	procs = memlimit_procs_scan(rn->self);
	TAILQ_FOREACH(r, &rn->runs, entry) {
		/* Before exec the child is a copy of the daemon. */
		if (!runner_watched(r) || !r->execd)
			continue;
		rss = memlimit_procs_rss(procs, r->pid, r->id, &n);
		if (rss > r->wd_peak)
			r->wd_peak = rss;
		if (rss > r->memory) {
			r->wd_killed = 1;
			r->wd_rss = rss;
			memlimit_procs_kill(procs, r->pid, r->id, SIGKILL);
			runner_signal(r, SIGKILL);
			runner_format_size(rss, 0, a, sizeof a);
			runner_format_size(r->memory, 1, b, sizeof b);
			log_info("run %" PRId64 " (%s): RSS %s over limit %s, "
			    "killed", r->id, r->job, a, b);
		} else if (rss >= r->memory / 2)
			near = 1;
	}
	memlimit_procs_free(procs);
	runner_watchdog_arm(rn, near);
}

/* (Re)arm the watchdog while some run needs it; faster near a limit. */
static void
runner_watchdog_arm(struct runner *rn, int near)
{
	struct runner_run	*r;
	int64_t			 ms = rn->poll_ms;

	TAILQ_FOREACH(r, &rn->runs, entry) {
		if (runner_watched(r))
			break;
	}
	if (r == NULL) {
		evtimer_del(rn->ev_watchdog);
		return;
	}
	if (near) {
		ms /= 4;
		if (ms < RUNNER_POLL_MIN_MS)
			ms = RUNNER_POLL_MIN_MS;
	}
	if (near || !evtimer_pending(rn->ev_watchdog, NULL))
		timer_add_ms(rn->ev_watchdog, ms);
}

static void
runner_req_free(struct runner_req *q)
{
	if (q->in_fd != -1)
		close(q->in_fd);
	if (q->out_fd != -1)
		close(q->out_fd);
	if (q->err_fd != -1)
		close(q->err_fd);
	runner_child_clear(&q->c);
	free(q);
}

/*
 * vfork and exec the child; in a spawner thread, or in the loop when
 * there is none.  Signals stay blocked until the child has reset every
 * handler, so none of ours can run on its borrowed stack.  Only system
 * calls here: no malloc, no log (a spawner shares the daemon's heap).
 */
static void
runner_vfork(struct runner_req *q)
{
	sigset_t	 all, old;
	pid_t		 pid;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pid = vfork();
	if (pid == 0)
		runner_child(&q->c, q->in_fd, q->out_fd, q->err_fd);
	q->error = errno;
	q->exec_at = runner_clock_ms(CLOCK_REALTIME);
	q->exec_mono = runner_clock_ms(CLOCK_MONOTONIC);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	q->pid = pid > 0 ? pid : 0;
	q->pid_start = pid > 0 ? memlimit_pid_start_time(pid) : -1;
}

static void *
runner_spawner(void *arg)
{
	struct runner		*rn = arg;
	struct runner_req	*q;
	uint64_t		 one = 1;
	int			 wake;

	pthread_mutex_lock(&rn->sp_mu);
	for (;;) {
		while ((q = STAILQ_FIRST(&rn->sp_todo)) == NULL &&
		    !rn->sp_stop)
			pthread_cond_wait(&rn->sp_cv, &rn->sp_mu);
		if (q == NULL)
			break;
		STAILQ_REMOVE_HEAD(&rn->sp_todo, entry);
		pthread_mutex_unlock(&rn->sp_mu);

		runner_vfork(q);

		pthread_mutex_lock(&rn->sp_mu);
		wake = STAILQ_EMPTY(&rn->sp_done);
		STAILQ_INSERT_TAIL(&rn->sp_done, q, entry);
		if (wake && write(rn->sp_efd, &one, sizeof one) == -1) {
			/* Full (impossible) or closed at exit: nothing to do. */
		}
	}
	pthread_mutex_unlock(&rn->sp_mu);
	return NULL;
}

/* Start the spawner threads; none (fork in the loop) if that fails. */
static void
runner_spawners_start(struct runner *rn, int n)
{
	pthread_attr_t	 attr;
	sigset_t	 all, old;
	long		 cpus;
	int		 error;

	STAILQ_INIT(&rn->sp_todo);
	STAILQ_INIT(&rn->sp_done);
	rn->sp_efd = -1;
	if (n < 0)
		return;
	if (n == 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? (int)cpus : 1;
	}
	if (n > RUNNER_SPAWNERS_MAX)
		n = RUNNER_SPAWNERS_MAX;
	if ((rn->sp_efd = eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK)) == -1) {
		log_warn("eventfd: forking in the loop instead");
		return;
	}
	pthread_mutex_init(&rn->sp_mu, NULL);
	pthread_cond_init(&rn->sp_cv, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, RUNNER_SPAWNER_STACK);
	/* Signals are the loop's: the threads never take one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	while (rn->sp_n < n) {
		error = pthread_create(&rn->sp_threads[rn->sp_n], &attr,
		    runner_spawner, rn);
		if (error != 0) {
			log_warnx("pthread_create: %s", strerror(error));
			break;
		}
		rn->sp_n++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rn->sp_n == 0) {
		pthread_cond_destroy(&rn->sp_cv);
		pthread_mutex_destroy(&rn->sp_mu);
		close(rn->sp_efd);
		rn->sp_efd = -1;
		return;
	}
	rn->ev_spawned = event_new(rn->base, rn->sp_efd, EV_READ|EV_PERSIST,
	    runner_spawned_cb, rn);
	event_add(rn->ev_spawned, NULL);
	log_debug("runner: %d spawner threads", rn->sp_n);
}

/* Stop and join the spawners; what they had not started is dropped. */
static void
runner_spawners_stop(struct runner *rn)
{
	struct runner_req	*q;
	int			 i;

	if (rn->sp_n == 0)
		return;
	pthread_mutex_lock(&rn->sp_mu);
	rn->sp_stop = 1;
	pthread_cond_broadcast(&rn->sp_cv);
	pthread_mutex_unlock(&rn->sp_mu);
	for (i = 0; i < rn->sp_n; i++)
		pthread_join(rn->sp_threads[i], NULL);
	rn->sp_n = 0;
	while ((q = STAILQ_FIRST(&rn->sp_todo)) != NULL) {
		STAILQ_REMOVE_HEAD(&rn->sp_todo, entry);
		q->r->spawning = 0;
		runner_req_free(q);
	}
	/* Forked, never watched: the caller kills what runner_free finds. */
	while ((q = STAILQ_FIRST(&rn->sp_done)) != NULL) {
		STAILQ_REMOVE_HEAD(&rn->sp_done, entry);
		q->r->spawning = 0;
		if (q->pid > 0) {
			q->r->forked = 1;
			q->r->pid = q->pid;
		}
		runner_req_free(q);
	}
	event_free(rn->ev_spawned);
	rn->ev_spawned = NULL;
	close(rn->sp_efd);
	rn->sp_efd = -1;
	pthread_cond_destroy(&rn->sp_cv);
	pthread_mutex_destroy(&rn->sp_mu);
}

/* The status of a child reaped before its pid was known, or NULL. */
static struct runner_early *
runner_early_take(struct runner *rn, pid_t pid)
{
	struct runner_early	*e;

	TAILQ_FOREACH(e, &rn->early, entry) {
		if (e->pid == pid) {
			TAILQ_REMOVE(&rn->early, e, entry);
			return e;
		}
	}
	return NULL;
}

/* Forget statuses nobody can claim any more: orphans'. */
static void
runner_early_expire(struct runner *rn)
{
	struct runner_early	*e, *next;
	int64_t			 now = runner_clock_ms(CLOCK_MONOTONIC);

	for (e = TAILQ_FIRST(&rn->early); e != NULL; e = next) {
		next = TAILQ_NEXT(e, entry);
		if (rn->inflight == 0 ||
		    now - e->exit_mono > RUNNER_EARLY_MAX_MS) {
			TAILQ_REMOVE(&rn->early, e, entry);
			free(e);
		}
	}
}

/* The fork is done: watch the child, or report that it failed. */
static void
runner_forked(struct runner_run *r, struct runner_req *q)
{
	struct runner		*rn = r->rn;
	struct runner_early	*e;
	pid_t			 pid = q->pid;

	r->spawning = 0;
	if (pid == 0) {
		runner_setup_fail(r, "fork: %s", strerror(q->error));
		runner_req_free(q);
		if (r->out_fd != -1)
			close(r->out_fd);
		if (r->err_fd != -1)
			close(r->err_fd);
		if (r->in_fd != -1)
			close(r->in_fd);
		r->out_fd = r->err_fd = r->in_fd = -1;
		/* Reported from the loop, never from inside runner_spawn. */
		r->ev_spawn_error = evtimer_new(rn->base, runner_spawn_error_cb,
		    r);
		timer_add_ms(r->ev_spawn_error, 0);
		return;
	}
	r->forked = 1;
	r->pid = pid;
	/* It started when it exec'd, not when it was handed over. */
	r->started_at = q->exec_at;
	r->start_mono = q->exec_mono;
	if (r->start != NULL)
		r->start(r->id, pid, r->started_at, q->pid_start, r->arg);
	runner_req_free(q);
	fcntl(r->out_fd, F_SETFL, fcntl(r->out_fd, F_GETFL) | O_NONBLOCK);
	fcntl(r->err_fd, F_SETFL, fcntl(r->err_fd, F_GETFL) | O_NONBLOCK);
	r->ev_out = event_new(rn->base, r->out_fd, EV_READ|EV_PERSIST,
	    runner_out_cb, r);
	event_add(r->ev_out, NULL);
	r->ev_err = event_new(rn->base, r->err_fd, EV_READ|EV_PERSIST,
	    runner_err_cb, r);
	event_add(r->ev_err, NULL);
	if (r->in_fd != -1) {
		fcntl(r->in_fd, F_SETFL, fcntl(r->in_fd, F_GETFL) | O_NONBLOCK);
		r->ev_in = event_new(rn->base, r->in_fd, EV_WRITE|EV_PERSIST,
		    runner_in_cb, r);
		event_add(r->ev_in, NULL);
	}
	if (r->timeout_ms > 0) {
		r->ev_timeout = evtimer_new(rn->base, runner_timeout_cb, r);
		timer_add_ms(r->ev_timeout, r->timeout_ms);
	}
	if (r->cg != NULL && memlimit_cg_event_fd(r->cg) != -1) {
		r->ev_oom = event_new(rn->base, memlimit_cg_event_fd(r->cg),
		    EV_READ|EV_PERSIST, runner_oom_cb, r);
		event_add(r->ev_oom, NULL);
	}
	if (r->watchdog)
		runner_watchdog_arm(rn, 0);
	log_debug("run %" PRId64 " (%s): pid %ld", r->id, r->job, (long)pid);

	if ((e = runner_early_take(rn, pid)) != NULL) {
		/* It is gone already (may finish r: touch it no more). */
		runner_leader_exited(r, e);
		free(e);
		return;
	}
	if (r->kill_who != NULL && !r->kill_term_sent)
		runner_kill_now(r);	/* asked while it was being forked */
}

/* Take every finished fork from the spawners. */
static void
runner_spawned(struct runner *rn)
{
	struct runner_reqs	 done;
	struct runner_req	*q;

	if (rn->sp_n == 0)
		return;
	STAILQ_INIT(&done);
	pthread_mutex_lock(&rn->sp_mu);
	STAILQ_CONCAT(&done, &rn->sp_done);
	pthread_mutex_unlock(&rn->sp_mu);
	while ((q = STAILQ_FIRST(&done)) != NULL) {
		STAILQ_REMOVE_HEAD(&done, entry);
		rn->inflight--;
		runner_forked(q->r, q);
	}
	if (!TAILQ_EMPTY(&rn->early))
		runner_early_expire(rn);
}

static void
runner_spawned_cb(evutil_socket_t fd, short events, void *arg)
{
	uint64_t	 n;

	(void)events;
	if (read(fd, &n, sizeof n) == -1 && errno != EAGAIN)
		log_warn("read spawner eventfd");
	runner_spawned(arg);
}

/*
 * Create the pipes and fork, through a spawner when there is one.  On
 * failure q is freed and r->setup_failed set.
 */
static void
runner_fork(struct runner_run *r, struct runner_req *q)
{
	struct runner	*rn = r->rn;
	int		 out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int		 in[2] = { -1, -1 };

	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1 ||
	    (r->in_data != NULL && pipe2(in, O_CLOEXEC) == -1)) {
		runner_setup_fail(r, "pipe: %s", strerror(errno));
		if (out[0] != -1) {
			close(out[0]);
			close(out[1]);
		}
		if (err[0] != -1) {
			close(err[0]);
			close(err[1]);
		}
		runner_req_free(q);
		return;
	}
	/* Up to pipe-max-size (1 MiB by default); a smaller pipe works. */
	if (fcntl(out[0], F_SETPIPE_SZ, RUNNER_PIPE_SIZE) == -1)
		log_debug("F_SETPIPE_SZ: %s", strerror(errno));
	q->r = r;
	q->out_fd = out[1];
	q->err_fd = err[1];
	q->in_fd = in[0];
	r->out_fd = out[0];
	r->err_fd = err[0];
	r->in_fd = in[1];
	r->started_at = runner_clock_ms(CLOCK_REALTIME);
	r->start_mono = runner_clock_ms(CLOCK_MONOTONIC);
	r->spawning = 1;
	if (rn->sp_n == 0) {
		/*
		 * vfork, not fork: the child borrows our memory until it
		 * execs, so nothing is copied, and we avoid the copy-on-write
		 * faults (and TLB shootdowns on every core) that made a burst
		 * of fork()s cost milliseconds each once the heap had grown.
		 */
		runner_vfork(q);
		runner_forked(r, q);
		return;
	}
	rn->inflight++;
	pthread_mutex_lock(&rn->sp_mu);
	STAILQ_INSERT_TAIL(&rn->sp_todo, q, entry);
	pthread_cond_signal(&rn->sp_cv);
	pthread_mutex_unlock(&rn->sp_mu);
}

/* Check what the caller gave; -1 with *cause. */
static int
runner_check_job(struct runner *rn, const struct runner_job *job,
    char **cause)
{
	size_t	 i;

	if (job->job == NULL || job->command == NULL) {
		xasprintf(cause, "run %" PRId64 ": no job name or command",
		    job->run_id);
		return -1;
	}
	if (runner_find_id(rn, job->run_id) != NULL) {
		xasprintf(cause, "run %" PRId64 " is already running",
		    job->run_id);
		return -1;
	}
	for (i = 0; i < job->nenv; i++) {
		if (job->env[i] == NULL || job->env[i][0] == '=' ||
		    strchr(job->env[i], '=') == NULL) {
			xasprintf(cause, "run %" PRId64 ": bad environment "
			    "entry \"%s\"", job->run_id,
			    job->env[i] != NULL ? job->env[i] : "(null)");
			return -1;
		}
	}
	return 0;
}

int
runner_spawn(struct runner *rn, const struct runner_job *job,
    runner_done_cb done, runner_start_cb start, runner_output_cb output,
    void *arg, char **cause)
{
	struct runner_run	*r;
	struct runner_req	*q;
	char			*why = NULL;
	size_t			 half;

	if (runner_check_job(rn, job, cause) == -1)
		return -1;

	r = xcalloc(1, sizeof *r);
	r->rn = rn;
	r->id = job->run_id;
	r->job = xstrdup(job->job);
	r->done = done;
	r->start = start;
	r->output = output;
	r->arg = arg;
	r->out_fd = r->err_fd = r->in_fd = -1;
	r->timeout_ms = job->timeout_ms;
	r->kill_grace_ms = job->kill_grace_ms >= 0 ? job->kill_grace_ms :
	    RUNNER_KILL_GRACE_MS;
	r->memory = job->memory > 0 ? job->memory : 0;
	r->cpu_ms = job->cpu_ms > 0 ? job->cpu_ms : 0;
	r->kill_orphans = job->kill_orphans != 0;	/* unset: yes */
	half = job->output_max >= 0 ? (size_t)job->output_max :
	    RUNNER_OUTPUT_MAX;
	r->head_max = half / 2;
	r->tail_max = half - half / 2;
	if (job->stdin_data != NULL) {
		r->in_len = strlen(job->stdin_data);
		r->in_data = xstrdup(job->stdin_data);
	}
	r->started_at = runner_clock_ms(CLOCK_REALTIME);
	r->start_mono = runner_clock_ms(CLOCK_MONOTONIC);
	TAILQ_INSERT_TAIL(&rn->runs, r, entry);

	q = xcalloc(1, sizeof *q);
	q->in_fd = q->out_fd = q->err_fd = -1;
	if (runner_prepare(r, job, &q->c) == 0) {
		if (memlimit_cgroup_version(rn->ml) != 0) {
			r->cg = memlimit_cg_new(rn->ml, r->id, r->memory, &why);
			if (r->cg == NULL) {
				log_warnx("run %" PRId64 ": %s; the RSS "
				    "watchdog is used instead", r->id, why);
				free(why);
			} else
				q->c.cg_procs = memlimit_cg_procs_path(r->cg);
		}
		r->watchdog = r->memory > 0 && r->cg == NULL;
		runner_fork(r, q);	/* q is its now */
	} else
		runner_req_free(q);
	if (r->setup_failed && r->ev_spawn_error == NULL) {
		/* Reported from the loop, never from inside runner_spawn. */
		r->ev_spawn_error = evtimer_new(rn->base, runner_spawn_error_cb,
		    r);
		timer_add_ms(r->ev_spawn_error, 0);
	}
	return 0;
}

/* SIGTERM now, SIGKILL after kill_grace, for runner_kill. */
static void
runner_kill_now(struct runner_run *r)
{
	if (r->timeout_hit)
		return;		/* already dying: a timeout it stays */
	if (r->ev_timeout != NULL)
		evtimer_del(r->ev_timeout);
	if (runner_signal(r, SIGTERM) == -1)
		return;
	r->kill_term_sent = 1;
	runner_arm_kill(r);
}

int
runner_kill(struct runner *rn, int64_t run_id, const char *who)
{
	struct runner_run	*r;

	if ((r = runner_find_id(rn, run_id)) == NULL)
		return -1;
	if ((!r->forked && !r->spawning) || r->reaped || r->kill_who != NULL)
		return 0;
	r->kill_who = xstrdup(who);
	if (r->forked)
		runner_kill_now(r);	/* else once it is forked */
	return 0;
}

char *
runner_output(struct runner *rn, int64_t run_id, size_t *len)
{
	struct runner_run	*r;

	*len = 0;
	if ((r = runner_find_id(rn, run_id)) == NULL)
		return NULL;
	return runner_output_assemble(r, len);
}

int
runner_kill_all(struct runner *rn, const char *who)
{
	struct runner_run	*r;
	int			 n = 0;

	TAILQ_FOREACH(r, &rn->runs, entry) {
		if (runner_kill(rn, r->id, who) == 0)
			n++;
	}
	return n;
}

size_t
runner_count(const struct runner *rn)
{
	const struct runner_run	*r;
	size_t			 n = 0;

	TAILQ_FOREACH(r, &rn->runs, entry)
		n++;
	return n;
}

const char *
runner_memory_mode(const struct runner *rn)
{
	return memlimit_describe(rn->ml);
}

int
runner_cgroup_version(const struct runner *rn)
{
	return memlimit_cgroup_version(rn->ml);
}

/*
 * The supervisor before its jobs.  In a burst of fires the daemon, which
 * starts them one after the other, competed as an equal with every job it
 * had already started (each job is a session, so an autogroup of its
 * own): it spent as long waiting for a CPU as running.  As root, it runs
 * at niceness RUNNER_BOOST below what it was started with, and its
 * session (when it leads one: detached, or a systemd service) gets the
 * same autogroup niceness.  Jobs still get the niceness sqcrond was
 * started with, or their own nice option.
 */
static void
runner_boost(struct runner *rn)
{
	char	 value[16];
	int	 fd, len;

	errno = 0;
	rn->job_nice = getpriority(PRIO_PROCESS, 0);
	if (errno != 0 || geteuid() != 0)
		return;
	if (setpriority(PRIO_PROCESS, 0, rn->job_nice - RUNNER_BOOST) == -1) {
		log_debug("setpriority: %s", strerror(errno));
		return;
	}
	rn->boosted = 1;
	if (getsid(0) != getpid())
		return;		/* not our session (sqcrond -f in a terminal) */
	len = snprintf(value, sizeof value, "%d", -RUNNER_BOOST);
	if ((fd = open("/proc/self/autogroup", O_WRONLY|O_CLOEXEC)) == -1)
		return;		/* no autogroups in this kernel */
	if (write(fd, value, (size_t)len) != len)
		log_debug("/proc/self/autogroup: %s", strerror(errno));
	close(fd);
}

/*
 * Commands are exec'd without the shell only when the shell is dash,
 * whose behaviour runner_child_exec_direct reproduces.
 */
static int
runner_shell_is_dash(const char *shell)
{
	char		*real;
	const char	*base;
	int		 dash;

	if ((real = realpath(shell, NULL)) == NULL)
		return 0;
	base = strrchr(real, '/') != NULL ? strrchr(real, '/') + 1 : real;
	dash = strcmp(base, "dash") == 0;
	free(real);
	return dash;
}

/*
 * The words of a command that the shell would exec as they are: only
 * letters, digits and _-./,:+@% in words separated by blanks, "=" except
 * in the first word (an assignment), and a first word that is not a
 * reserved word or a builtin of any common shell.  NULL otherwise.
 */
char **
runner_command_words(const char *command)
{
	static const char *const shell_words[] = {
		".", ":", "[", "[[", "alias", "bg", "bind", "break",
		"builtin", "caller", "case", "cd", "chdir", "command",
		"compgen", "complete", "compopt", "continue", "coproc",
		"declare", "dirs", "disown", "do", "done", "echo", "elif",
		"else", "enable", "esac", "eval", "exec", "exit", "export",
		"false", "fc", "fg", "fi", "for", "function", "getopts",
		"hash", "help", "history", "if", "in", "jobs", "kill", "let",
		"local", "logout", "mapfile", "popd", "printf", "pushd",
		"pwd", "read", "readarray", "readonly", "return", "select",
		"set", "shift", "shopt", "source", "suspend", "test", "then",
		"time", "times", "trap", "true", "type", "typeset", "ulimit",
		"umask", "unalias", "unset", "until", "wait", "while",
	};
	char		**words = NULL;
	const char	 *p, *start;
	size_t		  n = 0, i;

	for (p = command; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t')
			continue;
		if (!isalnum((unsigned char)*p) && strchr("_-./,:+@%=", *p) ==
		    NULL)
			return NULL;
	}
	for (p = command; ; ) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		start = p;
		p += strcspn(p, " \t");
		words = xreallocarray(words, n + 2, sizeof *words);
		words[n++] = xstrndup(start, (size_t)(p - start));
		words[n] = NULL;
	}
	if (n == 0)
		return NULL;
	if (strchr(words[0], '=') == NULL) {
		for (i = 0; i < sizeof shell_words / sizeof shell_words[0]; i++)
			if (strcmp(words[0], shell_words[i]) == 0)
				break;
		if (i == sizeof shell_words / sizeof shell_words[0])
			return words;
	}
	for (i = 0; i < n; i++)
		free(words[i]);
	free(words);
	return NULL;
}

struct runner *
runner_new(struct event_base *base, const struct runner_config *cfg,
    char **cause)
{
	struct runner	*rn;

	rn = xcalloc(1, sizeof *rn);
	rn->base = base;
	rn->shell = xstrdup(cfg->shell != NULL ? cfg->shell : RUNNER_SHELL);
	rn->shell_is_dash = runner_shell_is_dash(rn->shell);
	runner_boost(rn);
	rn->path = xstrdup(cfg->path != NULL ? cfg->path : RUNNER_PATH);
	rn->poll_ms = cfg->memory_poll_ms > 0 ? cfg->memory_poll_ms :
	    RUNNER_POLL_MS;
	rn->self = getpid();
	TAILQ_INIT(&rn->runs);
	TAILQ_INIT(&rn->drains);
	TAILQ_INIT(&rn->early);

	/* Before the first fork, so that no exit goes unnoticed. */
	rn->ev_sigchld = evsignal_new(base, SIGCHLD, runner_sigchld_cb, rn);
	if (rn->ev_sigchld == NULL || evsignal_add(rn->ev_sigchld, NULL) ==
	    -1) {
		xasprintf(cause, "cannot watch SIGCHLD on the event loop");
		if (rn->ev_sigchld != NULL)
			event_free(rn->ev_sigchld);
		free(rn->shell);
		free(rn->path);
		free(rn);
		return NULL;
	}
	/* Orphans of double forks come to us, not to init. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER");
	/* Writing stdin_data to a job that exited must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	rn->ev_watchdog = evtimer_new(base, runner_watchdog_cb, rn);
	rn->rbuf = xmalloc(RUNNER_READ_SIZE);
	rn->ml = memlimit_new(cfg->use_cgroup);
	log_debug("runner: memory limits by %s", memlimit_describe(rn->ml));
	runner_spawners_start(rn, cfg->spawners);
	return rn;
}

void
runner_free(struct runner *rn)
{
	struct runner_run	*r;
	struct runner_drain	*d;
	struct runner_early	*e;

	if (rn == NULL)
		return;
	runner_spawners_stop(rn);
	while ((e = TAILQ_FIRST(&rn->early)) != NULL) {
		TAILQ_REMOVE(&rn->early, e, entry);
		free(e);
	}
	while ((r = TAILQ_FIRST(&rn->runs)) != NULL) {
		TAILQ_REMOVE(&rn->runs, r, entry);
		if (r->forked && !r->reaped) {
			log_warnx("run %" PRId64 " (%s) still running: killed",
			    r->id, r->job);
			kill(-r->pid, SIGKILL);
			kill(r->pid, SIGKILL);
			if (r->cg != NULL)
				memlimit_cg_kill(r->cg);
			while (wait4(r->pid, NULL, 0, NULL) == -1 &&
			    errno == EINTR)
				;
		}
		runner_run_free(r);
	}
	while ((d = TAILQ_FIRST(&rn->drains)) != NULL) {
		TAILQ_REMOVE(&rn->drains, d, entry);
		event_free(d->ev);
		close(d->fd);
		free(d);
	}
	/* Orphans that died since the last SIGCHLD. */
	while (wait4(-1, NULL, WNOHANG, NULL) > 0)
		;
	event_free(rn->ev_sigchld);
	event_free(rn->ev_watchdog);
	memlimit_free(rn->ml);
	free(rn->rbuf);
	free(rn->self_name);
	free(rn->self_home);
	free(rn->shell);
	free(rn->path);
	free(rn);
}

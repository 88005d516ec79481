/*
 * runner.h: the supervised runner (DESIGN.md sections 5 and 6).  It forks
 * each run as a child with limits, supervises it on the daemon's libevent
 * loop, captures its output and reports, through a callback, exactly how
 * it ended.  It knows nothing of SQLite, JSON or policy: the caller gives
 * it a run to execute and gets back a struct runner_result.
 *
 * runner_new makes the daemon a child subreaper, ignores SIGPIPE and
 * installs the SIGCHLD handler: from then on the runner reaps every child
 * of the process, so nothing else may fork and wait.
 */
#ifndef SQCRON_RUNNER_H
#define SQCRON_RUNNER_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "job.h"

struct event_base;
struct runner;

struct runner_config {
	const char	*shell;		/* NULL: "/bin/sh" */
	int		 spawners;	/* threads that fork; 0: one per core
					   (up to 4); -1: none, fork inline */
	const char	*path;		/* PATH for jobs; NULL: a default */
	int		 use_cgroup;	/* cgroup = auto (1) or off (0) */
	int64_t		 memory_poll_ms; /* watchdog interval; <= 0: 100 */
};

/*
 * One run to start.  The runner copies what it keeps: every pointer need
 * only be valid during runner_spawn.  Numbers left JOB_UNSET (nice:
 * JOB_NICE_UNSET) are inherited from the daemon or take the default shown.
 */
struct runner_job {
	int64_t		  run_id;	/* unique among live runs */
	const char	 *job;		/* name, for SQCRON_JOB */
	const char	 *command;	/* run as shell -c command */
	const char	 *user;		/* NULL: the owner */
	int64_t		  owner;	/* uid; JOB_UNSET: the daemon's */
	const char	 *workdir;	/* NULL: the user's home */
	char *const	 *env;		/* extra "NAME=VALUE", nenv of them */
	size_t		  nenv;
	const char	 *stdin_data;	/* NULL: stdin is /dev/null */
	int64_t		  timeout_ms;	/* <= 0: none */
	int64_t		  kill_grace_ms; /* < 0: 10s */
	int64_t		  memory;	/* bytes; <= 0: none */
	int64_t		  cpu_ms;	/* RLIMIT_CPU, rounded up to seconds */
	int64_t		  nofile;
	int64_t		  nproc;
	int64_t		  rlimit_as;	/* bytes */
	int		  nice;		/* absolute niceness */
	int		  kill_orphans;	/* 0, 1; JOB_UNSET: 1 (DESIGN default) */
	int64_t		  output_max;	/* bytes kept; < 0: 256K */
	int64_t		  scheduled_at;	/* the fire; JOB_UNSET: now */
	int		  attempt;	/* <= 0: 1 */
	const char	 *trigger;	/* NULL: "manual" */
	int64_t		  replay_of;	/* run id, or JOB_UNSET */
};

/* How a run ended; every pointer is valid only during the callback. */
struct runner_result {
	int64_t		  run_id;
	enum run_state	  state;	/* an ended state */
	int		  exit_code;	/* JOB_UNSET unless it exited */
	int		  signal;	/* terminating signal, or 0 */
	int		  core_dumped;
	char		  reason[256];	/* "" when it succeeded */
	int64_t		  started_at;	/* ms since the epoch */
	int64_t		  ended_at;
	int64_t		  duration_ms;
	pid_t		  pid;		/* 0 when fork failed */
	int64_t		  max_rss_kb;	/* JOB_UNSET when unknown */
	int64_t		  user_cpu_ms;
	int64_t		  sys_cpu_ms;
	int64_t		  output_bytes;	/* everything it wrote */
	const char	 *output;	/* head, marker, tail; NUL-terminated */
	size_t		  output_len;
};

typedef void	(*runner_done_cb)(const struct runner_result *, void *);
/*
 * The child exists: its pid, when it was forked (ms since the epoch) and
 * its start time in /proc (clock ticks since boot; -1 if unknown).
 */
typedef void	(*runner_start_cb)(int64_t run_id, pid_t pid, int64_t started_at,
		    int64_t pid_start, void *);
typedef void	(*runner_output_cb)(int64_t, const char *, size_t, void *);

/* A runner on an event loop; NULL with *cause if the loop refuses SIGCHLD. */
struct runner	*runner_new(struct event_base *, const struct runner_config *,
		    char **cause);
/* Free; runs still alive are SIGKILLed and reaped without callbacks. */
void		 runner_free(struct runner *);
/*
 * Start a run.  0: done will be called exactly once, later, from the loop
 * (a failed fork or child setup is a spawn_error result), and before it
 * start (may be NULL) once the child exists, which may be before
 * runner_spawn returns (no spawner threads) or later.  -1 with *cause:
 * bad arguments, nothing started, no callback.  output (may be NULL) sees
 * the output live.
 */
int		 runner_spawn(struct runner *, const struct runner_job *,
		    runner_done_cb done, runner_start_cb start,
		    runner_output_cb output, void *arg, char **cause);
/* SIGTERM a run, SIGKILL after kill_grace: killed, reason who; -1: no run. */
int		 runner_kill(struct runner *, int64_t run_id, const char *who);
/*
 * What a live run wrote so far, as it would be kept if it ended now
 * (head, "[... N bytes omitted ...]", tail; *len bytes, NUL-terminated,
 * the caller frees); NULL when no such run is live.  Every byte read
 * after this call goes to the run's output callback.
 */
char		*runner_output(struct runner *, int64_t run_id, size_t *len);
/* runner_kill every live run; returns how many were asked. */
int		 runner_kill_all(struct runner *, const char *who);
/* Live runs: started and not yet reported. */
size_t		 runner_count(const struct runner *);
/* "cgroup v1 at PATH" or "RSS watchdog (why)". */
const char	*runner_memory_mode(const struct runner *);
/* 1 or 2 when runs get a cgroup, 0 when the watchdog enforces memory. */
int		 runner_cgroup_version(const struct runner *);
/*
 * The argv of a command with no shell syntax, which runs are exec'd with
 * directly when the shell is dash; NULL when the shell must parse it.
 */
char		**runner_command_words(const char *);
/* "SIGSEGV" for SIGSEGV, "SIGRTMIN+3", or "unknown signal". */
const char	*runner_signal_name(int);

#endif

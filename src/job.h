/*
 * job.h: jobs and runs as plain C data, shared by the store, the
 * scheduler, the runner and the protocol handlers (DESIGN.md sections 3
 * and 5).  No behaviour lives here: only the shapes, the enums and their
 * names on the wire.
 *
 * Conventions: times are milliseconds since the epoch (UTC) in int64_t
 * fields named *_at, durations are milliseconds in *_ms fields, sizes are
 * bytes.  An absent value is -1 (JOB_UNSET) for numbers that are never
 * negative when present; strings absent are NULL.
 */
#ifndef SQCRON_JOB_H
#define SQCRON_JOB_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define JOB_UNSET	(-1)
#define JOB_NAME_MAX	128

enum job_overlap {
	OVERLAP_SKIP,
	OVERLAP_QUEUE,
	OVERLAP_REPLACE,
	OVERLAP_ALLOW,
};

enum job_catchup {
	CATCHUP_SKIP,
	CATCHUP_LATEST,
	CATCHUP_ALL,
};

/*
 * Every option of a job (DESIGN.md section 3).  Strings are owned by the
 * struct (job_spec_free).  Numeric options left JOB_UNSET take the
 * daemon's default at run time; the store keeps them unset so that a
 * change of default applies to every job that did not choose.
 */
struct job_spec {
	char		 *name;
	char		 *schedule;
	char		 *command;
	char		 *timezone;	/* NULL: the daemon's */
	char		 *user;		/* NULL: the owner */
	char		**env;		/* "NAME=VALUE", nenv of them */
	size_t		  nenv;
	char		 *workdir;	/* NULL: the user's home */
	int64_t		  timeout_ms;
	int64_t		  memory;	/* bytes */
	int64_t		  cpu_ms;	/* RLIMIT_CPU, whole seconds */
	int64_t		  nofile;
	int64_t		  nproc;
	int		  nice;		/* JOB_NICE_UNSET: inherited */
	int64_t		  rlimit_as;	/* bytes */
	int64_t		  kill_grace_ms;
	int		  kill_orphans;	/* 0, 1, or JOB_UNSET */
	int		  overlap;	/* OVERLAP_*, or JOB_UNSET */
	int		  retries;
	int64_t		  backoff_ms;
	int64_t		  backoff_max_ms;
	char		 *no_retry_exit; /* "2,64-78" */
	int		  catchup;	/* CATCHUP_*, or JOB_UNSET */
	int64_t		  starting_deadline_ms;
	int64_t		  jitter_ms;
	int64_t		  output_max;	/* bytes */
	int64_t		  keep_runs;
	int64_t		  keep_days_ms;
	int		  pause_after;
	int64_t		  stale_after_ms;
	char		 *notify;	/* comma-separated URLs */
	char		 *notify_on;	/* comma-separated events */
	char		 *ping_url;
	char		 *mailto;
	char		 *description;
	char		 *stdin_data;	/* crontab "%" input, NULL: /dev/null */
};

#define JOB_NICE_UNSET	(-100)

enum run_state {
	RUN_QUEUED,
	RUN_RUNNING,
	RUN_SUCCEEDED,
	RUN_FAILED,
	RUN_TIMEOUT,
	RUN_OOM,
	RUN_CRASHED,
	RUN_KILLED,
	RUN_LOST,
	RUN_SPAWN_ERROR,
	RUN_SKIPPED,
	RUN_MISSED,
};
#define RUN_NSTATES	(RUN_MISSED + 1)

enum run_trigger {
	TRIGGER_SCHEDULE,
	TRIGGER_RETRY,
	TRIGGER_MANUAL,
	TRIGGER_REPLAY,
	TRIGGER_CATCHUP,
	TRIGGER_REBOOT,
};

enum run_resolution {
	RESOLUTION_NONE,	/* null: not a failure */
	RESOLUTION_RETRYING,
	RESOLUTION_SUPERSEDED,
	RESOLUTION_OPEN,
	RESOLUTION_REPLAYED,
	RESOLUTION_ACKED,
};

/* One run: an execution attempt or non-execution record of a fire. */
struct run {
	int64_t			 id;
	int64_t			 job_id;
	char			*job;		/* name */
	int			 job_version;
	int64_t			 scheduled_at;
	enum run_trigger	 trigger;
	int			 attempt;
	int64_t			 replay_of;	/* run id or JOB_UNSET */
	enum run_state		 state;
	int			 exit_code;	/* JOB_UNSET when none */
	int			 signal;	/* 0 when none */
	int			 core_dumped;
	char			*reason;	/* NULL when none */
	int64_t			 queued_at;
	int64_t			 started_at;
	int64_t			 ended_at;
	int64_t			 duration_ms;
	int64_t			 pid;
	int64_t			 max_rss_kb;
	int64_t			 user_cpu_ms;
	int64_t			 sys_cpu_ms;
	int64_t			 output_bytes;
	enum run_resolution	 resolution;
};

/* Wire names ("succeeded", "retry", "open", "skip", "latest") and back. */
const char	*run_state_name(enum run_state);
int		 run_state_parse(const char *, enum run_state *);
const char	*run_trigger_name(enum run_trigger);
int		 run_trigger_parse(const char *, enum run_trigger *);
const char	*run_resolution_name(enum run_resolution);	/* NULL: none */
int		 run_resolution_parse(const char *, enum run_resolution *);
const char	*job_overlap_name(enum job_overlap);
int		 job_overlap_parse(const char *, enum job_overlap *);
const char	*job_catchup_name(enum job_catchup);
int		 job_catchup_parse(const char *, enum job_catchup *);

/* Failure states: every ended state but succeeded, plus missed. */
int		 run_state_is_failure(enum run_state);
/* Ended states (an execution that finished, whatever its outcome). */
int		 run_state_is_ended(enum run_state);

/* A job name: [A-Za-z0-9._-]{1,128}. */
int		 job_name_valid(const char *);
/* Every option unset, strings NULL. */
void		 job_spec_init(struct job_spec *);
/* Free the strings of a spec (not the struct); accepts NULL. */
void		 job_spec_clear(struct job_spec *);
/* A deep copy into dst (initialized by this call). */
void		 job_spec_copy(struct job_spec *dst, const struct job_spec *);
/* Do two specs say the same, option by option (every field above)? */
int		 job_spec_equal(const struct job_spec *, const struct job_spec *);
/* Free the strings of a run (not the struct); accepts NULL. */
void		 run_clear(struct run *);

#endif

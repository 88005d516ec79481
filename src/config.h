/*
 * config.h: sqcrond.conf, the daemon's configuration (DESIGN.md section
 * 12).
 *
 * The file is "key = value" lines; '#' starts a comment only at the start
 * of a line (values such as URLs may contain '#'); blank lines are
 * ignored; a value in double quotes keeps its surrounding blanks and
 * takes \" and \\ escapes.  Lines are at most CONFIG_LINE_MAX bytes and
 * may end in CRLF (the \r is dropped), so a file edited on Windows loads.
 *
 * config_load returns a complete, validated struct or nothing: a reload
 * builds a new one and swaps it in only on success.  Strings are owned by
 * the struct.  Relative paths in db, socket, metrics_textfile, crontab,
 * crontab_dir and user_crontab_dir are resolved against the directory of
 * the file they were read from, so "db = var/sqcron.db" in
 * /x/etc/sqcrond.conf is /x/etc/var/sqcron.db whatever the daemon's
 * working directory; the struct holds the resolved path.
 */
#ifndef SQCRON_CONFIG_H
#define SQCRON_CONFIG_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef SQCRON_DB_PATH
#define SQCRON_DB_PATH "/var/lib/sqcron/sqcron.db"
#endif
#ifndef SQCRON_SOCKET_PATH
#define SQCRON_SOCKET_PATH "/run/sqcron/sqcron.sock"
#endif

/* Longest line of sqcrond.conf, without its line ending. */
#define CONFIG_LINE_MAX 4096

enum config_catchup {
	CONFIG_CATCHUP_SKIP,
	CONFIG_CATCHUP_LATEST,
	CONFIG_CATCHUP_ALL
};

enum config_cgroup {
	CONFIG_CGROUP_AUTO,
	CONFIG_CGROUP_OFF
};

enum config_durability {
	CONFIG_DURABILITY_NORMAL,	/* WAL, synchronous=NORMAL */
	CONFIG_DURABILITY_FULL
};

enum config_notify_format {
	CONFIG_NOTIFY_JSON,		/* sqcron's payload (DESIGN.md 10) */
	CONFIG_NOTIFY_SLACK		/* {"text": ...} for Slack and alike */
};

enum config_log {
	CONFIG_LOG_DEFAULT,		/* not set: syslog, or stderr with -f */
	CONFIG_LOG_SYSLOG,
	CONFIG_LOG_STDERR
};

/* Events for notify_on (DESIGN.md section 10), as bits. */
#define CONFIG_EVENT_RUN_FAILED		0x01
#define CONFIG_EVENT_RUN_DEAD		0x02
#define CONFIG_EVENT_JOB_RECOVERED	0x04
#define CONFIG_EVENT_JOB_STALE		0x08
#define CONFIG_EVENT_JOB_PAUSED		0x10
#define CONFIG_EVENT_RUN_STARTED	0x20
#define CONFIG_EVENT_RUN_SUCCEEDED	0x40
#define CONFIG_EVENTS_DEFAULT						\
	(CONFIG_EVENT_RUN_FAILED|CONFIG_EVENT_RUN_DEAD|			\
	 CONFIG_EVENT_JOB_RECOVERED|CONFIG_EVENT_JOB_STALE|		\
	 CONFIG_EVENT_JOB_PAUSED)

struct config {
	char		 *file;		/* file read; NULL for the defaults */

	char		 *db;
	char		 *socket;
	mode_t		  socket_mode;
	char		 *socket_group;	/* NULL: none */
	char		 *admin_group;	/* NULL: none */
	char		 *timezone;	/* NULL: TZ or /etc/localtime */
	int		  max_running;
	char		 *shell;
	char		 *path;
	char		 *crontab;	/* "": disabled */
	char		 *crontab_dir;	/* "": disabled */
	char		 *user_crontab_dir; /* "": disabled */

	/* Defaults for job options. */
	int64_t		  timeout_ms;	/* 0: no limit */
	uint64_t	  memory;	/* bytes; 0: no limit */
	int64_t		  kill_grace_ms;
	uint64_t	  output_max;	/* bytes */
	int		  retries;
	int64_t		  backoff_ms;
	int		  catchup;	/* CONFIG_CATCHUP_* */
	int		  keep_runs;	/* 0: unlimited */
	int64_t		  keep_days_ms;	/* 0: unlimited */
	char		**notify;	/* URLs, nnotify of them */
	size_t		  nnotify;
	int		  notify_on;	/* CONFIG_EVENT_* */
	int		  notify_format; /* CONFIG_NOTIFY_* */
	char		 *mailto;	/* NULL: none */
	char		 *sendmail;	/* mail's sendmail -t; "": no mail */

	int		  cgroup;	/* CONFIG_CGROUP_* */
	int64_t		  memory_poll_ms;
	int		  durability;	/* CONFIG_DURABILITY_* */
	int64_t		  shutdown_timeout_ms;
	char		 *metrics_listen; /* as written; NULL: off */
	char		 *metrics_host;	/* its address, no brackets */
	int		  metrics_port;
	char		 *metrics_textfile; /* NULL: off */
	int64_t		  notify_timeout_ms;
	int		  notify_retries;
	int		  log;		/* CONFIG_LOG_* */
	int		  log_level;	/* LOG_LEVEL_* from log.h */
	int		  log_json;	/* log_format = json */
};

/* A new config holding the built-in defaults. */
struct config	*config_default(void);
/* Read a file; NULL with *cause ("PATH:LINE: reason") on any error. */
struct config	*config_load(const char *, char **);
/* Free a config; accepts NULL. */
void		 config_free(struct config *);
/* Print every key = value in file syntax, as config_load reads it. */
void		 config_dump(const struct config *, FILE *);
/* The CONFIG_EVENT_* bit of an event name ("run.failed"); 0: none. */
int		 config_event_bit(const char *);
/* The name of one CONFIG_EVENT_* bit ("?" for anything else). */
const char	*config_event_name(int);

#endif

/*
 * log.h: sqcrond's log, to syslog or stderr, as text or JSON lines.
 *
 * Every function preserves errno.  Until log_init is called messages go to
 * stderr as text at level info.
 */
#ifndef SQCRON_LOG_H
#define SQCRON_LOG_H

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

/* Longest message kept; longer ones are cut and end in "...". */
#define LOG_MSG_MAX 4096

/* (Re)configure: log_init(progname, to_stderr, level, json); repeatable. */
void		 log_init(const char *, int, int, int);
/* Change the threshold only. */
void		 log_set_level(int);
/* The current threshold. */
int		 log_get_level(void);
/* Parse error, warn, warning, info or debug; 0, or -1 if unknown. */
int		 log_level_parse(const char *, int *);
/* The name of a level: "error", "warn", "info" or "debug". */
const char	*log_level_name(int);
/* Warning with ": strerror(errno)" appended. */
void		 log_warn(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
/* Warning without errno. */
void		 log_warnx(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
/* Informational message. */
void		 log_info(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
/* Debugging message, dropped unless the level is debug. */
void		 log_debug(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
/* Log at error level with ": strerror(errno)" and exit(1). */
void		 fatal(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
/* Log at error level and exit(1). */
void		 fatalx(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

#endif

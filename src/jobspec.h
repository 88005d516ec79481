/*
 * jobspec.h: job options as text ("timeout" = "10m"), the one parser
 * behind sqcron add/edit flags, protocol params and crontab directives.
 */
#ifndef SQCRON_JOBSPEC_H
#define SQCRON_JOBSPEC_H

#include <stddef.h>

struct job_spec;

#define JOBSPEC_VALUE_MAX	4096

enum jobspec_type {
	JOBSPEC_STRING,
	JOBSPEC_SCHEDULE,
	JOBSPEC_ZONE,
	JOBSPEC_DURATION,
	JOBSPEC_SIZE,
	JOBSPEC_INT,
	JOBSPEC_BOOL,
	JOBSPEC_OVERLAP,
	JOBSPEC_CATCHUP,
	JOBSPEC_ENV,
	JOBSPEC_EXITLIST,
	JOBSPEC_URLS,
	JOBSPEC_EVENTS,
};

/* The i-th option's name (NULL past the last) and type. */
const char	*jobspec_key(size_t i, enum jobspec_type *);
/* Is this an option name? */
int		 jobspec_known(const char *);
/*
 * Set one option from text.  "env" takes NAME=VALUE and adds or replaces
 * one variable; "unset_env" takes NAME.  An empty value unsets the option
 * (the daemon's default applies); "none" means no limit for limits.
 * Returns -1 with *cause ("timeout: \"10x\" is not a duration: ...").
 */
int		 jobspec_set(struct job_spec *, const char *key,
		    const char *value, char **cause);
/*
 * The option as text, in the form jobspec_set reads ("1h30m", "256M",
 * "yes"); 0, or -1 when the option is unset.  env is not handled here.
 */
int		 jobspec_get(const struct job_spec *, const char *key, char *,
		    size_t);
/* A complete job: name, schedule and command present and valid. */
int		 jobspec_check(const struct job_spec *, char **cause);
/* Is status in an exit list such as no_retry_exit ("2,64-78")? */
int		 jobspec_exit_in(const char *list, int status);

#endif

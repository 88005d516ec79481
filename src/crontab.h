/*
 * crontab.h: crontab files read into complete job specs (DESIGN.md
 * section 9), for sqcrond's file jobs and for sqcron check and import.
 */
#ifndef SQCRON_CRONTAB_H
#define SQCRON_CRONTAB_H

#include <stddef.h>

#include "job.h"

#define CRONTAB_FILE_MAX	(4 * 1024 * 1024)	/* bytes of one file */
#define CRONTAB_LINE_MAX	16384			/* bytes of one line */

enum crontab_format {
	CRONTAB_SYSTEM,		/* /etc/crontab, cron.d: a user field */
	CRONTAB_USER,		/* a user's crontab: no user field */
};

/* One job line, parsed. */
struct crontab_job {
	struct job_spec	 spec;	/* complete: jobspec_check passes */
	unsigned	 line;	/* of the job line (directives are above) */
	int		 named;	/* 1: name= given; 0: generated */
};

/* One problem.  An error leaves its line out; a warning does not. */
struct crontab_diag {
	unsigned	 line;		/* 1-based */
	int		 warning;
	char		*reason;	/* "invalid schedule: field 2 ..." */
	char		*text;		/* "FILE:LINE: [warning: ]REASON" */
};

/*
 * A parsed file: its jobs in line order, and its problems in line order
 * (control characters in them replaced by '?', so they print safely).
 */
struct crontab {
	char			*path;
	enum crontab_format	 format;
	char			*user;		/* CRONTAB_USER's owner, or NULL */
	struct crontab_job	*jobs;
	size_t			 njobs;
	struct crontab_diag	*diags;
	size_t			 ndiags;
	size_t			 nerrors;	/* diags that are not warnings */
};

/*
 * Parse a crontab held in memory (len bytes; NUL bytes and a missing
 * final newline are handled).  path names the file in messages and in
 * generated job names; user is the owner of a CRONTAB_USER file, set as
 * every job's user (NULL leaves it unset: the caller's).  Never fails:
 * bad lines become diags.
 */
struct crontab	*crontab_parse(const char *path, enum crontab_format,
		    const char *user, const char *buf, size_t len);
/*
 * Read a regular file of at most CRONTAB_FILE_MAX bytes and parse it.
 * NULL with *cause ("PATH: reason") when it cannot be read.
 */
struct crontab	*crontab_read(const char *path, enum crontab_format,
		    const char *user, char **cause);
void		 crontab_free(struct crontab *);
/*
 * Is a file in a cron.d-style directory to be read?  Debian cron's rule,
 * run-parts(8) style: the name is made only of A-Z a-z 0-9 _ and -, so
 * "x.dpkg-old", "x~", ".x.swp" and "x.bak" are skipped.
 */
int		 crontab_dirent_wanted(const char *name);

#endif

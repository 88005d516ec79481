/*
 * mail.h: a run's output mailed as cron mails it (DESIGN.md sections 3,
 * 9 and 10: mailto, MAILTO), through sendmail -t run by the runner.
 */
#ifndef SQCRON_MAIL_H
#define SQCRON_MAIL_H

#include <stddef.h>

#include "job.h"

struct config;
struct mail;
struct runner;
struct store;

struct mail	*mail_new(struct runner *, struct store *,
		    const struct config *);
/*
 * Forget queued messages, once the loop is over (mailers still running
 * are the runner's, which calls nothing back then).
 */
void		 mail_free(struct mail *);
/* A new configuration (after SIGHUP): mailto, sendmail, shell, path. */
void		 mail_set_config(struct mail *, const struct config *);
/*
 * A run ended having written output (len bytes, as kept): mail it when
 * its job has a recipient.  Never blocks and never fails: a message that
 * cannot be sent is logged.
 */
void		 mail_run(struct mail *, const struct run *,
		    const char *output, size_t len);
/* Messages queued or being handed to sendmail. */
size_t		 mail_pending(const struct mail *);
/* Call cb(arg) once no message is pending: at once when none is. */
void		 mail_when_idle(struct mail *, void (*cb)(void *), void *);

#endif

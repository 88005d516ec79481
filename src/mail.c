/*
 * mail.c: a run's output mailed as cron mails it (DESIGN.md sections 3,
 * 9 and 10: mailto, MAILTO).
 *
 * When a run ends having written something, and its job has a
 * recipient, the output is sent through `sendmail -oi -t` (config
 * sendmail) with the headers of Debian's cron: From: root (Cron Daemon)
 * (or the job's MAILFROM), To:, Subject: Cron <USER@HOST> COMMAND, MIME
 * headers, Auto-Submitted, and an X-Cron-Env: <NAME=VALUE> line per
 * variable of the job's environment.  The recipient is the job's mailto,
 * else the daemon's; a file job with neither mails its user, as cron
 * mails the owner of the crontab; mailto "" (MAILTO="") is no mail.
 *
 * sendmail is a run of the runner like any job (a negative run id, no
 * record in the store): the runner reaps every child of sqcrond, so
 * nothing else may fork, and through it the message is written to
 * sendmail's stdin from the loop, never blocking it.  At most
 * MAIL_PARALLEL run at once; up to MAIL_QUEUE_MAX messages wait, more
 * are dropped with a warning.  A failure (no sendmail, a refusal, a
 * timeout) is logged, never fatal.
 *
 * What this file does not do: decide which runs have output (policy
 * tells it), deliver mail itself, or retry a message sendmail refused.
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "job.h"
#include "log.h"
#include "mail.h"
#include "runner.h"
#include "store.h"
#include "xmalloc.h"

#define MAIL_PARALLEL		4	/* sendmails at once */
#define MAIL_QUEUE_MAX		1000	/* messages waiting; more dropped */
#define MAIL_TIMEOUT_MS		(10 * 60 * 1000)
#define MAIL_KILL_GRACE_MS	(10 * 1000)
#define MAIL_COMPLAINT_MAX	4096	/* of what sendmail itself says */
#define MAIL_HEADER_MAX		900	/* bytes of one header's value */

struct mail_msg {
	struct mail			*m;
	int64_t				 run_id;	/* the job's run */
	char				*job;
	char				*to;
	char				*text;		/* headers and body */
	TAILQ_ENTRY(mail_msg)		 entry;
};
TAILQ_HEAD(mail_msgs, mail_msg);

struct mail {
	struct runner			*runner;
	struct store			*store;
	const struct config		*conf;
	struct mail_msgs		 queue;
	struct mail_msgs		 sending;
	size_t				 nqueued;
	size_t				 nsending;
	int64_t				 next_id;	/* mailers' run ids */
	int				 warned;	/* no sendmail: said */
	void				(*idle_cb)(void *);
	void				*idle_arg;
	char				 host[256];	/* first label */
};

static void	mail_kick(struct mail *);

struct mail *
mail_new(struct runner *runner, struct store *store,
    const struct config *conf)
{
	struct mail	*m;

	m = xcalloc(1, sizeof *m);
	m->runner = runner;
	m->store = store;
	m->conf = conf;
	TAILQ_INIT(&m->queue);
	TAILQ_INIT(&m->sending);
	/* Negative: never a run of the store; -1 is JOB_UNSET. */
	m->next_id = -2;
	if (gethostname(m->host, sizeof m->host) == -1)
		xstrlcpy(m->host, "localhost", sizeof m->host);
	m->host[sizeof m->host - 1] = '\0';
	m->host[strcspn(m->host, ".")] = '\0';	/* as cron abbreviates */
	return m;
}

static void
mail_msg_free(struct mail_msg *msg)
{
	free(msg->job);
	free(msg->to);
	free(msg->text);
	free(msg);
}

void
mail_free(struct mail *m)
{
	struct mail_msg	*msg;

	if (m == NULL)
		return;
	while ((msg = TAILQ_FIRST(&m->queue)) != NULL) {
		TAILQ_REMOVE(&m->queue, msg, entry);
		mail_msg_free(msg);
	}
	/* The runner calls no callback once the loop is over. */
	while ((msg = TAILQ_FIRST(&m->sending)) != NULL) {
		TAILQ_REMOVE(&m->sending, msg, entry);
		mail_msg_free(msg);
	}
	free(m);
}

void
mail_set_config(struct mail *m, const struct config *conf)
{
	m->conf = conf;
	m->warned = 0;
}

size_t
mail_pending(const struct mail *m)
{
	return m->nqueued + m->nsending;
}

/* Tell the one waiting for mail_when_idle, once nothing is pending. */
static void
mail_idle(struct mail *m)
{
	void	(*cb)(void *) = m->idle_cb;

	if (cb == NULL || mail_pending(m) > 0)
		return;
	m->idle_cb = NULL;
	cb(m->idle_arg);
}

void
mail_when_idle(struct mail *m, void (*cb)(void *), void *arg)
{
	m->idle_cb = cb;
	m->idle_arg = arg;
	mail_idle(m);
}

/*
 * A recipient cron would mail: letters, digits and @!:%-._,+= with
 * blanks between addresses, starting with a letter or digit (Vixie
 * cron's safe_p, plus what lists of addresses need).
 */
static int
mail_safe(const char *to)
{
	const char	*p;

	for (p = to; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9'))
			continue;
		if (p != to && strchr("@!:%-._,+= ", *p) != NULL)
			continue;
		return 0;
	}
	return p != to;
}

/* A header's value: control characters as blanks, and not too long. */
static void
mail_value(FILE *f, const char *s)
{
	size_t	n;

	for (n = 0; *s != '\0' && n < MAIL_HEADER_MAX; s++, n++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fputc(' ', f);
		else
			fputc(*s, f);
	}
	fputc('\n', f);
}

/* The value of NAME in a job's environment, or NULL. */
static const char *
mail_env(const struct job_spec *js, const char *name)
{
	size_t	i, len = strlen(name);

	for (i = 0; i < js->nenv; i++) {
		if (strncmp(js->env[i], name, len) == 0 &&
		    js->env[i][len] == '=')
			return js->env[i] + len + 1;
	}
	return NULL;
}

/* The charset of the job's locale (LC_ALL, LC_CTYPE, LANG), or UTF-8. */
static void
mail_charset(const struct job_spec *js, char *buf, size_t size)
{
	static const char	*names[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	const char		*v, *dot;
	size_t			 i, n;

	xstrlcpy(buf, "UTF-8", size);
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if ((v = mail_env(js, names[i])) == NULL || *v == '\0')
			continue;
		if ((dot = strchr(v, '.')) != NULL) {
			n = strcspn(dot + 1, "@");
			if (n > 0 && n < size &&
			    strspn(dot + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
			    "klmnopqrstuvwxyz0123456789-_") >= n) {
				memcpy(buf, dot + 1, n);
				buf[n] = '\0';
			}
		}
		return;
	}
}

/* X-Cron-Env: <NAME=VALUE> (name NULL: value is NAME=VALUE). */
static void
mail_env_header(FILE *f, const char *name, const char *value)
{
	const char	*p;

	fputs("X-Cron-Env: <", f);
	if (name != NULL)
		fprintf(f, "%s=", name);
	for (p = value; *p != '\0'; p++)
		fputc((unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p, f);
	fputs(">\n", f);
}

/*
 * The message: cron's headers, then the output (NUL bytes left out:
 * they cannot travel in a mail nor on sendmail's stdin here).
 */
static char *
mail_text(struct mail *m, const struct job_row *jr, const struct run *r,
    const char *user, const char *home, const char *to, const char *output,
    size_t len)
{
	const struct job_spec	*js = &jr->spec;
	const struct config	*c = m->conf;
	const char		*from, *v, *std[5][2];
	char			*buf = NULL, *subject, charset[64];
	size_t			 size = 0, i, k, n;
	int			 file_job = strcmp(jr->source, "api") != 0;
	FILE			*f;

	if ((f = open_memstream(&buf, &size)) == NULL)
		return NULL;
	from = mail_env(js, "MAILFROM");
	fputs("From: ", f);
	mail_value(f, from != NULL && *from != '\0' ? from :
	    "root (Cron Daemon)");
	fputs("To: ", f);
	mail_value(f, to);
	xasprintf(&subject, "Cron <%s@%s> %s", user, m->host, js->command);
	fputs("Subject: ", f);
	mail_value(f, subject);
	free(subject);
	mail_charset(js, charset, sizeof charset);
	fprintf(f, "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=%s\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "Auto-Submitted: auto-generated\n"
	    "X-Sqcron-Job: ", charset);
	mail_value(f, js->name);
	fprintf(f, "X-Sqcron-Run: %" PRId64 "\n", r->id);
	/*
	 * The job's environment as its run had it: the standard variables
	 * (the job's env may set them), then, for a file job, the rest of
	 * its env.  An API job's is left out: it may hold secrets (the
	 * audit log redacts them), where a crontab's environment lines are
	 * what cron mails.
	 */
	std[0][0] = "SHELL";
	std[0][1] = c->shell;
	std[1][0] = "PATH";
	std[1][1] = c->path;
	std[2][0] = "HOME";
	std[2][1] = home;
	std[3][0] = "LOGNAME";
	std[3][1] = user;
	std[4][0] = "USER";
	std[4][1] = user;
	for (i = 0; i < 5; i++) {
		if ((v = mail_env(js, std[i][0])) == NULL)
			v = std[i][1];
		mail_env_header(f, std[i][0], v);
	}
	if (file_job && js->mailto != NULL)
		mail_env_header(f, "MAILTO", js->mailto);
	for (i = 0; file_job && i < js->nenv; i++) {
		n = strcspn(js->env[i], "=");
		for (k = 0; k < 5; k++)
			if (strlen(std[k][0]) == n &&
			    strncmp(js->env[i], std[k][0], n) == 0)
				break;
		if (k == 5)
			mail_env_header(f, NULL, js->env[i]);
	}
	fputc('\n', f);
	for (i = 0; i < len; i++)
		if (output[i] != '\0')
			fputc(output[i], f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void
mail_run(struct mail *m, const struct run *r, const char *output, size_t len)
{
	struct job_row	 jr;
	struct mail_msg	*msg;
	struct passwd	*pw;
	const char	*to, *user, *home = "/";
	char		 uidbuf[32], *text;

	if (m == NULL || output == NULL || len == 0)
		return;
	if (store_job_get_id(m->store, r->job_id, &jr, NULL) < 0)
		return;
	if ((user = jr.spec.user) != NULL)
		pw = getpwnam(user);
	else if ((pw = getpwuid(jr.owner)) != NULL)
		user = pw->pw_name;
	else {
		snprintf(uidbuf, sizeof uidbuf, "%ld", (long)jr.owner);
		user = uidbuf;
	}
	if (pw != NULL && pw->pw_dir != NULL)
		home = pw->pw_dir;
	/* The job's mailto, the daemon's, or for a file job its user. */
	if ((to = jr.spec.mailto) == NULL && (to = m->conf->mailto) == NULL &&
	    strcmp(jr.source, "api") != 0)
		to = user;
	if (to == NULL || *to == '\0' || *m->conf->sendmail == '\0')
		goto out;
	if (!mail_safe(to)) {
		log_warnx("%s: run %" PRId64 ": output not mailed: \"%.100s\" "
		    "is not an address sqcrond mails to", jr.spec.name, r->id,
		    to);
		goto out;
	}
	if (m->nqueued >= MAIL_QUEUE_MAX) {
		log_warnx("%s: run %" PRId64 ": output not mailed: %d messages "
		    "wait for sendmail already", jr.spec.name, r->id,
		    MAIL_QUEUE_MAX);
		goto out;
	}
	if ((text = mail_text(m, &jr, r, user, home, to, output,
	    len)) == NULL) {
		log_warnx("%s: run %" PRId64 ": output not mailed: out of "
		    "memory", jr.spec.name, r->id);
		goto out;
	}
	msg = xcalloc(1, sizeof *msg);
	msg->m = m;
	msg->run_id = r->id;
	msg->job = xstrdup(jr.spec.name);
	msg->to = xstrdup(to);
	msg->text = text;
	TAILQ_INSERT_TAIL(&m->queue, msg, entry);
	m->nqueued++;
	mail_kick(m);
out:
	store_job_row_clear(&jr);
}

static void
mail_done_cb(const struct runner_result *res, void *arg)
{
	struct mail_msg	*msg = arg;
	struct mail	*m = msg->m;
	size_t		 n = 0;

	TAILQ_REMOVE(&m->sending, msg, entry);
	m->nsending--;
	if (res->state != RUN_SUCCEEDED) {
		if (res->output != NULL)
			n = strcspn(res->output, "\n");
		log_warnx("%s: run %" PRId64 ": output not mailed to %s: "
		    "sendmail %s%s%.*s", msg->job, msg->run_id, msg->to,
		    res->reason, n > 0 ? ": " : "", (int)(n > 200 ? 200 : n),
		    res->output != NULL ? res->output : "");
	} else
		log_debug("%s: run %" PRId64 ": output mailed to %s", msg->job,
		    msg->run_id, msg->to);
	mail_msg_free(msg);
	mail_kick(m);
	mail_idle(m);
}

/* sendmail as a shell word (quoted when it has to be), -oi -t. */
static char *
mail_command(const char *path)
{
	const char	*p;
	char		*cmd, *q;

	if (strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789/._+-") == strlen(path)) {
		xasprintf(&cmd, "%s -oi -t", path);
		return cmd;
	}
	cmd = q = xmalloc(strlen(path) * 4 + 16);
	*q++ = '\'';
	for (p = path; *p != '\0'; p++) {
		if (*p == '\'') {
			memcpy(q, "'\\''", 4);
			q += 4;
		} else
			*q++ = *p;
	}
	memcpy(q, "' -oi -t", 9);
	return cmd;
}

/* Hand waiting messages to sendmail, MAIL_PARALLEL at a time. */
static void
mail_kick(struct mail *m)
{
	struct runner_job	 rj;
	struct mail_msg		*msg;
	const char		*sendmail = m->conf->sendmail;
	char			*cause = NULL, *cmd;
	int			 rc;

	while (m->nsending < MAIL_PARALLEL &&
	    (msg = TAILQ_FIRST(&m->queue)) != NULL) {
		TAILQ_REMOVE(&m->queue, msg, entry);
		m->nqueued--;
		if (*sendmail == '\0' || access(sendmail, X_OK) == -1) {
			/* No MTA: said once per configuration, as cron does. */
			if (!m->warned)
				log_info("no sendmail at %s: output is not "
				    "mailed (kept in the runs)", sendmail);
			else
				log_debug("%s: run %" PRId64 ": output not "
				    "mailed: no sendmail", msg->job,
				    msg->run_id);
			m->warned = 1;
			mail_msg_free(msg);
			continue;
		}
		cmd = mail_command(sendmail);
		memset(&rj, 0, sizeof rj);
		rj.run_id = m->next_id--;
		rj.job = "sendmail";
		rj.command = cmd;
		rj.owner = JOB_UNSET;
		rj.workdir = "/";
		rj.stdin_data = msg->text;
		rj.timeout_ms = MAIL_TIMEOUT_MS;
		rj.kill_grace_ms = MAIL_KILL_GRACE_MS;
		rj.cpu_ms = rj.nofile = rj.nproc = rj.rlimit_as = JOB_UNSET;
		rj.nice = JOB_NICE_UNSET;
		rj.kill_orphans = 0;	/* an MTA may deliver in the background */
		rj.output_max = MAIL_COMPLAINT_MAX;
		rj.scheduled_at = JOB_UNSET;
		rj.attempt = 1;
		rj.trigger = "mail";
		rj.replay_of = JOB_UNSET;
		rc = runner_spawn(m->runner, &rj, mail_done_cb, NULL, NULL, msg,
		    &cause);
		free(cmd);
		if (rc == -1) {
			log_warnx("%s: run %" PRId64 ": output not mailed: %s",
			    msg->job, msg->run_id, cause);
			free(cause);
			cause = NULL;
			mail_msg_free(msg);
			continue;
		}
		TAILQ_INSERT_TAIL(&m->sending, msg, entry);
		m->nsending++;
	}
}

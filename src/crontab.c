/*
 * crontab.c: crontab files read into job specs (DESIGN.md section 9).
 *
 * A file is parsed whole, line by line, into complete struct job_spec
 * values and a list of problems, each "FILE:LINE: reason".  A bad line
 * is reported and left out and the rest of the file still loads, as in
 * cron.  Options go through jobspec_set, the one parser of job options
 * as text, so "# sqcron: timeout=10m" means what "--timeout 10m" means.
 *
 * What this file does not do: look up users, check who owns a file or
 * its mode, watch directories, or touch the store.  sqcrond does those
 * with what it knows (section 9); sqcron check adds its own host checks.
 * Pure apart from crontab_read and zone loading for CRON_TZ.
 *
 * The grammar of a line, after a byte-order mark on line 1 and a CR
 * before the LF; blanks are spaces and tabs:
 *
 *	line      = blank* ( comment | directive | env | job )?
 *	comment   = "#" any*
 *	directive = "#" blank* "sqcron:" ( blank* option )* blank*
 *	option    = key "=" ( bare | '"' ( [^"\] | "\" any )* '"'
 *	                        | "'" [^']* "'" )
 *	env       = name blank* "=" blank* value
 *	name      = [^ \t=]+ | '"' [^"]* '"' | "'" [^']* "'"
 *	value     = '"' [^"]* '"' blank* | "'" [^']* "'" blank*
 *	          | any*			(trailing blanks dropped)
 *	job       = when blank+ [ user blank+ ] [ "-n" blank+ ] command
 *	when      = field blank+ field blank+ field blank+ field blank+ field
 *	          | "@every" blank+ DURATION | "@" word
 *	command   = cmdtext [ "%" input ]
 *
 * A line is an env line when its first word is followed by "=", which a
 * schedule field never is (cron's load_env decides the same way).  The
 * user field is there in CRONTAB_SYSTEM files only.  "-n" is cronie's
 * "no mail on success"; sqcron has no such mail mode, so it is dropped
 * with a warning.  In cmdtext "\%" is "%", other backslashes stay; the
 * first unescaped "%" starts the job's input, in which each unescaped
 * "%" is a newline: exactly cron's translation in do_command.c,
 * including its odd corners ("\\%" ends the command with two
 * backslashes, but in the input it is a backslash and a "%").
 *
 * Environment lines apply to the job lines below them.  CRON_TZ becomes
 * the timezone option, RANDOM_DELAY (minutes) jitter, MAILTO mailto
 * (MAILTO="" is mailto "", no mail); every other variable goes into env.
 * A bad CRON_TZ or RANDOM_DELAY also keeps the jobs below from loading,
 * until it is set again, since they would run at the wrong times.
 *
 * "# sqcron:" directives give options to the next job line; env lines,
 * comments and blank lines may stand between.  A bad directive keeps
 * that job from loading, and the error names the directive's line.
 *
 * Jobs without name= get a name from the file and the command:
 * PREFIX-HHHHHH, PREFIX being the base names of the file's directory and
 * of the file ("cron.d-backup", "crontabs-alice") and HHHHHH six hex
 * digits of a hash of the user field (system format) and the command as
 * written, so editing the schedule keeps the name and the job's history.
 * The same command twice gets -2, -3 by order; a generated name never
 * takes one given by name= anywhere in the file.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "crontab.h"
#include "job.h"
#include "jobspec.h"
#include "xmalloc.h"

#define CRONTAB_PREFIX_MAX	100	/* of generated names */
#define CRONTAB_DELAY_MAX	525600	/* RANDOM_DELAY: a year of minutes */

/* ASCII classes: what a file means must not depend on the locale. */
#define CT_BLANK(c)	((c) == ' ' || (c) == '\t')
#define CT_DIGIT(c)	((c) >= '0' && (c) <= '9')
#define CT_ALPHA(c)	(((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))

/* One "key=value" of a directive, waiting for its job line. */
struct crontab_opt {
	char		*key;
	char		*value;
	unsigned	 line;
};

/* Names taken in this file: an open-addressing set of name -> line. */
struct crontab_names {
	const char	**name;
	unsigned	 *line;
	size_t		  size;		/* a power of two, or 0 */
	size_t		  count;
};

struct crontab_parser {
	struct crontab		*ct;
	size_t			 jobcap;
	size_t			 diagcap;
	unsigned		 line;
	struct job_spec		 base;		/* env lines so far */
	unsigned		 tz_bad;	/* line of a bad CRON_TZ, or 0 */
	unsigned		 delay_bad;	/* same for RANDOM_DELAY */
	struct crontab_opt	*opts;		/* pending directive options */
	size_t			 nopts;
	unsigned		 opts_line;	/* first directive line, or 0 */
	char			*opts_bad;	/* why a directive is bad */
	unsigned		 opts_bad_line;
	char			*prefix;	/* of generated names */
	struct crontab_names	 names;
};

static void	crontab_diag(struct crontab_parser *, unsigned, int,
		    const char *, ...) __attribute__((format(printf, 4, 5)));

static uint64_t
crontab_hash(uint64_t h, const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;		/* FNV-1a, 64 bits */
	}
	return h;
}

#define CRONTAB_HASH_INIT	0xcbf29ce484222325ULL

/*
 * FNV-1a leaves the top bits nearly alike for inputs that differ only at
 * the end ("... y" and "... w"); mix them before taking six hex digits
 * (murmur3's 64-bit finalizer).
 */
static uint64_t
crontab_hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static size_t
crontab_names_slot(const struct crontab_names *n, const char *name)
{
	size_t	i;

	i = (size_t)crontab_hash(CRONTAB_HASH_INIT, name, strlen(name)) &
	    (n->size - 1);
	while (n->name[i] != NULL && strcmp(n->name[i], name) != 0)
		i = (i + 1) & (n->size - 1);
	return i;
}

/* The line that took name, or 0. */
static unsigned
crontab_names_find(const struct crontab_names *n, const char *name)
{
	size_t	i;

	if (n->size == 0)
		return 0;
	i = crontab_names_slot(n, name);
	return n->name[i] != NULL ? n->line[i] : 0;
}

/* Take a name; it must not be taken.  The string must outlive the set. */
static void
crontab_names_add(struct crontab_names *n, const char *name, unsigned line)
{
	struct crontab_names	 old = *n;
	size_t			 i;

	if (2 * (n->count + 1) > n->size) {
		n->size = n->size == 0 ? 64 : n->size * 2;
		n->name = xcalloc(n->size, sizeof *n->name);
		n->line = xcalloc(n->size, sizeof *n->line);
		n->count = 0;
		for (i = 0; i < old.size; i++) {
			if (old.name[i] != NULL)
				crontab_names_add(n, old.name[i], old.line[i]);
		}
		free(old.name);
		free(old.line);
	}
	i = crontab_names_slot(n, name);
	n->name[i] = name;
	n->line[i] = line;
	n->count++;
}

/* Control characters would reach a terminal: show them as '?'. */
static void
crontab_clean(char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	}
}

/* Record a problem, keeping the list in line order (stable). */
static void
crontab_diag(struct crontab_parser *p, unsigned line, int warning,
    const char *fmt, ...)
{
	struct crontab		*ct = p->ct;
	struct crontab_diag	 d;
	va_list			 ap;
	size_t			 i;

	va_start(ap, fmt);
	xvasprintf(&d.reason, fmt, ap);
	va_end(ap);
	crontab_clean(d.reason);
	d.line = line;
	d.warning = warning;
	xasprintf(&d.text, "%s:%u: %s%s", ct->path, line, warning ?
	    "warning: " : "", d.reason);
	crontab_clean(d.text);
	if (ct->ndiags == p->diagcap) {
		p->diagcap = p->diagcap == 0 ? 8 : p->diagcap * 2;
		ct->diags = xreallocarray(ct->diags, p->diagcap,
		    sizeof *ct->diags);
	}
	for (i = ct->ndiags; i > 0 && ct->diags[i - 1].line > line; i--)
		ct->diags[i] = ct->diags[i - 1];
	ct->diags[i] = d;
	ct->ndiags++;
	if (!warning)
		ct->nerrors++;
}

static const char *
crontab_skip_blanks(const char *s)
{
	while (CT_BLANK(*s))
		s++;
	return s;
}

/*
 * A quoted string starting at *sp (at the quote).  Returns the contents
 * (allocated) and moves *sp past the closing quote, or NULL when it is
 * not closed.  With escapes, a backslash takes the next byte literally.
 */
static char *
crontab_quoted(const char **sp, int escapes)
{
	const char	*s = *sp;
	char		 q = *s++, *out, *o;

	out = o = xmalloc(strlen(s) + 1);
	for (; *s != q; s++) {
		if (*s == '\0') {
			free(out);
			return NULL;
		}
		if (escapes && *s == '\\' && s[1] != '\0')
			s++;
		*o++ = *s;
	}
	*o = '\0';
	*sp = s + 1;
	return out;
}

/* Is this a name sqcron can put into a job's environment? */
static int
crontab_env_name_ok(const char *s)
{
	const char	*p;

	if (*s == '\0' || CT_DIGIT(*s))
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (!CT_ALPHA(*p) && !CT_DIGIT(*p) && *p != '_')
			return 0;
	}
	return strncmp(s, "SQCRON_", 7) != 0;
}

/*
 * A user name as the user field holds it: letters, digits, ".", "_",
 * "-" and "@", not starting with "-", and an optional final "$" (Samba
 * machine accounts).  Anything else is most often the first word of a
 * command on a line without its user field.
 */
static int
crontab_user_ok(const char *s)
{
	size_t	i, len = strlen(s);

	if (len == 0 || len > 256 || s[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		if (CT_ALPHA(s[i]) || CT_DIGIT(s[i]) || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-' || s[i] == '@')
			continue;
		if (s[i] == '$' && i == len - 1 && i > 0)
			continue;
		return 0;
	}
	return 1;
}

/*
 * The last path component ending at end (trailing slashes and "."
 * components skipped); *len its length, 0 when none is left.
 */
static const char *
crontab_component(const char *path, const char *end, size_t *len)
{
	const char	*s;

	for (;;) {
		while (end > path && end[-1] == '/')
			end--;
		for (s = end; s > path && s[-1] != '/'; s--)
			;
		*len = (size_t)(end - s);
		if (*len != 1 || s[0] != '.')
			return s;
		end = s;
	}
}

/*
 * The prefix of generated names: base names of the file's directory and
 * of the file ("cron.d-backup"), in the characters a job name may hold.
 */
static char *
crontab_prefix(const char *path)
{
	const char	*base, *dir;
	size_t		 blen, dlen, i;
	char		*out;

	base = crontab_component(path, path + strlen(path), &blen);
	dir = crontab_component(path, base, &dlen);
	if (blen == 0)
		xasprintf(&out, "crontab");
	else if (dlen == 0 || (dlen == 2 && strncmp(dir, "..", 2) == 0))
		xasprintf(&out, "%.*s", (int)blen, base);
	else
		xasprintf(&out, "%.*s-%.*s", (int)dlen, dir, (int)blen, base);
	for (i = 0; out[i] != '\0'; i++) {
		if (!CT_ALPHA(out[i]) && !CT_DIGIT(out[i]) && out[i] != '.' &&
		    out[i] != '_' && out[i] != '-')
			out[i] = '_';
	}
	if (i > CRONTAB_PREFIX_MAX)
		out[CRONTAB_PREFIX_MAX] = '\0';
	return out;
}

static void
crontab_opts_clear(struct crontab_parser *p)
{
	size_t	i;

	for (i = 0; i < p->nopts; i++) {
		free(p->opts[i].key);
		free(p->opts[i].value);
	}
	free(p->opts);
	p->opts = NULL;
	p->nopts = 0;
	p->opts_line = 0;
	free(p->opts_bad);
	p->opts_bad = NULL;
	p->opts_bad_line = 0;
}

/* "# sqcron: key=value ...": options waiting for the next job line. */
static void
crontab_directive(struct crontab_parser *p, const char *s)
{
	struct crontab_opt	*o;
	const char		*k;
	char			*value, *why = NULL;
	size_t			 klen;

	if (p->opts_line == 0)
		p->opts_line = p->line;
	for (;;) {
		s = crontab_skip_blanks(s);
		if (*s == '\0')
			break;
		k = s;
		klen = strcspn(s, "= \t");
		s += klen;
		if (*s != '=' || klen == 0) {
			xasprintf(&why, "sqcron directive: expected key=value, "
			    "got \"%.*s\"", (int)(klen + strcspn(s, " \t")), k);
			break;
		}
		s++;
		if (*s == '"' || *s == '\'') {
			if ((value = crontab_quoted(&s, *s == '"')) == NULL) {
				xasprintf(&why, "sqcron directive: %.*s: "
				    "unterminated %c quote", (int)klen, k,
				    s[0]);
				break;
			}
			if (*s != '\0' && !CT_BLANK(*s)) {
				free(value);
				xasprintf(&why, "sqcron directive: %.*s: text "
				    "after the closing quote", (int)klen, k);
				break;
			}
		} else {
			value = xstrndup(s, strcspn(s, " \t"));
			s += strlen(value);
		}
		p->opts = xreallocarray(p->opts, p->nopts + 1,
		    sizeof *p->opts);
		o = &p->opts[p->nopts++];
		o->key = xstrndup(k, klen);
		o->value = value;
		o->line = p->line;
	}
	if (why != NULL && p->opts_bad == NULL) {
		p->opts_bad = why;
		p->opts_bad_line = p->line;
	} else
		free(why);
}

/*
 * An environment line, if s is one (cron's load_env: a word, blanks,
 * "=").  Returns 0 when s is not an env line, 1 when it was handled.
 */
static int
crontab_env(struct crontab_parser *p, const char *s)
{
	const char	*v;
	char		*name, *value = NULL, *assign, *cause = NULL;
	char		 jitter[32];
	size_t		 len;
	int		 quoted;
	long		 minutes;

	if (*s == '"' || *s == '\'') {
		v = s;
		if ((name = crontab_quoted(&v, 0)) == NULL)
			return 0;
	} else {
		len = strcspn(s, "= \t");
		if (len == 0)
			return 0;
		name = xstrndup(s, len);
		v = s + len;
	}
	v = crontab_skip_blanks(v);
	if (*v != '=') {
		free(name);
		return 0;
	}
	v = crontab_skip_blanks(v + 1);
	quoted = *v == '"' || *v == '\'';
	if (quoted) {
		if ((value = crontab_quoted(&v, 0)) == NULL) {
			crontab_diag(p, p->line, 0, "%s: unterminated %c quote "
			    "in the value", name, *v);
			goto out;
		}
		if (*crontab_skip_blanks(v) != '\0') {
			crontab_diag(p, p->line, 0, "%s: text after the closing "
			    "quote of the value (cron allows only blanks)",
			    name);
			goto out;
		}
	} else {
		len = strlen(v);
		while (len > 0 && CT_BLANK(v[len - 1]))
			len--;
		value = xstrndup(v, len);
	}

	if (strcmp(name, "CRON_TZ") == 0) {
		p->tz_bad = 0;
		if (jobspec_set(&p->base, "timezone", value, &cause) != 0) {
			crontab_diag(p, p->line, 0, "CRON_TZ=%s: %s; the jobs "
			    "below are not loaded until CRON_TZ is set again",
			    value, strncmp(cause, "timezone: ", 10) == 0 ?
			    cause + 10 : cause);
			p->tz_bad = p->line;
		}
		goto out;
	}
	if (strcmp(name, "RANDOM_DELAY") == 0) {
		p->delay_bad = 0;
		if (*value == '\0') {
			jobspec_set(&p->base, "jitter", "", &cause);
			goto out;
		}
		minutes = -1;
		if (strspn(value, "0123456789") == strlen(value) &&
		    strlen(value) <= 6)
			minutes = strtol(value, NULL, 10);
		if (minutes < 0 || minutes > CRONTAB_DELAY_MAX) {
			crontab_diag(p, p->line, 0, "RANDOM_DELAY=%s: expected "
			    "a number of minutes from 0 to %d; the jobs below "
			    "are not loaded until RANDOM_DELAY is set again",
			    value, CRONTAB_DELAY_MAX);
			p->delay_bad = p->line;
			goto out;
		}
		snprintf(jitter, sizeof jitter, "%ldm", minutes);
		if (jobspec_set(&p->base, "jitter", jitter, &cause) != 0)
			crontab_diag(p, p->line, 0, "RANDOM_DELAY: %s", cause);
		goto out;
	}
	if (strcmp(name, "MAILTO") == 0) {
		/* MAILTO="" means no mail: kept as "", not as unset. */
		if (*value == '\0') {
			free(p->base.mailto);
			p->base.mailto = xstrdup("");
		} else if (jobspec_set(&p->base, "mailto", value, &cause) != 0)
			crontab_diag(p, p->line, 0, "MAILTO: %s", cause);
		goto out;
	}
	if (strcmp(name, "LOGNAME") == 0 || strcmp(name, "USER") == 0) {
		crontab_diag(p, p->line, 1, "%s is ignored: sqcrond sets it "
		    "from the job's user, as cron does", name);
		goto out;
	}
	if (!crontab_env_name_ok(name)) {
		crontab_diag(p, p->line, 0, "\"%s\" is not a variable name "
		    "sqcron can set (letters, digits and _, not starting with "
		    "a digit, not SQCRON_*)", name);
		goto out;
	}
	if (strcmp(name, "SHELL") == 0 && strcmp(value, "/bin/sh") != 0)
		crontab_diag(p, p->line, 1, "SHELL=%s only sets the variable: "
		    "sqcrond runs commands with its own shell (sqcrond.conf "
		    "\"shell\", /bin/sh by default)", value);
	xasprintf(&assign, "%s=%s", name, value);
	if (jobspec_set(&p->base, "env", assign, &cause) != 0)
		crontab_diag(p, p->line, 0, "%s", cause);
	free(assign);
out:
	free(cause);
	free(value);
	free(name);
	return 1;
}

/*
 * Split a command as cron does: cmd gets the text up to the first
 * unescaped '%' ("\%" is '%'), *input what follows with '%' as newline,
 * or NULL when there is no '%' or nothing after it.
 */
static char *
crontab_percent(const char *s, char **input)
{
	char	*cmd, *c, *in, *o;
	int	 escaped;

	*input = NULL;
	cmd = c = xmalloc(strlen(s) + 1);
	for (; *s != '\0' && *s != '%'; s++) {
		if (*s == '\\' && s[1] != '\0') {
			if (s[1] != '%')
				*c++ = '\\';
			*c++ = *++s;
		} else
			*c++ = *s;
	}
	*c = '\0';
	if (*s != '%' || s[1] == '\0')
		return cmd;

	/* The input, as do_command.c writes it to the job's stdin. */
	in = o = xmalloc(strlen(s) + 1);
	escaped = 0;
	for (s++; *s != '\0'; s++) {
		char	ch = *s;

		if (escaped) {
			if (ch != '%')
				*o++ = '\\';
		} else if (ch == '%')
			ch = '\n';
		escaped = ch == '\\';
		if (!escaped)
			*o++ = ch;
	}
	if (escaped)
		*o++ = '\\';
	*o = '\0';
	*input = in;
	return cmd;
}

static void
crontab_job_add(struct crontab_parser *p, struct job_spec *js, int named)
{
	struct crontab		*ct = p->ct;
	struct crontab_job	*j;

	if (ct->njobs == p->jobcap) {
		p->jobcap = p->jobcap == 0 ? 16 : p->jobcap * 2;
		ct->jobs = xreallocarray(ct->jobs, p->jobcap,
		    sizeof *ct->jobs);
	}
	j = &ct->jobs[ct->njobs++];
	j->spec = *js;
	j->line = p->line;
	j->named = named;
	job_spec_init(js);
	if (named)
		crontab_names_add(&p->names, j->spec.name, j->line);
}

/*
 * Apply the pending directive options to a job about to be read from
 * line p->line.  Returns -1, having said why, when it must not load.
 */
static int
crontab_apply_opts(struct crontab_parser *p, struct job_spec *js,
    int *named, int *set_tz, int *set_jitter)
{
	struct crontab_opt	*o;
	char			*cause = NULL;
	size_t			 i;
	unsigned		 first;

	if (p->opts_bad != NULL) {
		crontab_diag(p, p->opts_bad_line, 0, "%s; the job on line %u is "
		    "not loaded", p->opts_bad, p->line);
		return -1;
	}
	for (i = 0; i < p->nopts; i++) {
		o = &p->opts[i];
		if (strcmp(o->key, "schedule") == 0 ||
		    strcmp(o->key, "command") == 0 ||
		    strcmp(o->key, "user") == 0) {
			crontab_diag(p, o->line, 0, "sqcron directive: \"%s\" "
			    "comes from the job line, not from a directive; "
			    "the job on line %u is not loaded", o->key,
			    p->line);
			return -1;
		}
		if (jobspec_set(js, o->key, o->value, &cause) != 0) {
			crontab_diag(p, o->line, 0, "sqcron directive: %s; the "
			    "job on line %u is not loaded", cause, p->line);
			free(cause);
			return -1;
		}
		if (strcmp(o->key, "name") == 0)
			*named = js->name != NULL;
		else if (strcmp(o->key, "timezone") == 0)
			*set_tz = 1;
		else if (strcmp(o->key, "jitter") == 0)
			*set_jitter = 1;
	}
	if (*named && (first = crontab_names_find(&p->names, js->name)) != 0) {
		for (i = p->nopts; i > 0; i--)
			if (strcmp(p->opts[i - 1].key, "name") == 0)
				break;
		crontab_diag(p, p->opts[i - 1].line, 0, "sqcron directive: "
		    "duplicate job name \"%s\" (first on line %u); the job on "
		    "line %u is not loaded", js->name, first, p->line);
		return -1;
	}
	return 0;
}

/*
 * The schedule at *sp: five fields, "@every DURATION" or "@word", joined
 * by single spaces; *sp moves past it and the blanks after.  NULL, having
 * said why, when the line ends too soon.
 */
static char *
crontab_schedule(struct crontab_parser *p, const char **sp)
{
	const char	*s = *sp, *field[5];
	size_t		 flen[5], nf = 5, i, len = 0;
	char		*out;

	if (*s == '@')
		nf = strncasecmp(s, "@every", 6) == 0 && CT_BLANK(s[6]) ? 2 : 1;
	for (i = 0; i < nf; i++) {
		if (*s == '\0') {
			if (nf == 2)
				crontab_diag(p, p->line, 0, "invalid schedule: "
				    "@every needs a duration, e.g. @every 5m");
			else
				crontab_diag(p, p->line, 0, "%zu field%s: a job "
				    "line has 5 schedule fields, then %s", i,
				    i == 1 ? "" : "s",
				    p->ct->format == CRONTAB_SYSTEM ?
				    "a user and a command" : "a command");
			return NULL;
		}
		field[i] = s;
		flen[i] = strcspn(s, " \t");
		len += flen[i] + 1;
		s = crontab_skip_blanks(s + flen[i]);
	}
	out = xmalloc(len);
	for (i = 0, len = 0; i < nf; i++) {
		if (i > 0)
			out[len++] = ' ';
		memcpy(out + len, field[i], flen[i]);
		len += flen[i];
	}
	out[len] = '\0';
	*sp = s;
	return out;
}

/* A job line: schedule, user (system format), command. */
static void
crontab_job(struct crontab_parser *p, const char *s)
{
	struct crontab		*ct = p->ct;
	struct job_spec		 js;
	const char		*raw;
	char			*schedule = NULL, *user = NULL, *cmd = NULL;
	char			*input = NULL, *cause = NULL, *name;
	size_t			 len;
	uint64_t		 h;
	int			 named = 0, set_tz = 0, set_jitter = 0, bad;

	/*
	 * The environment so far, then the directives above the line, then
	 * the line: every problem is reported, not just the first.
	 */
	job_spec_copy(&js, &p->base);
	bad = crontab_apply_opts(p, &js, &named, &set_tz, &set_jitter) != 0;

	if ((schedule = crontab_schedule(p, &s)) == NULL)
		goto out;
	if (jobspec_set(&js, "schedule", schedule, &cause) != 0) {
		crontab_diag(p, p->line, 0, "%s", cause);
		goto out;
	}

	/* The user field of system crontabs. */
	raw = s;
	if (ct->format == CRONTAB_SYSTEM) {
		if (*s == '\0') {
			crontab_diag(p, p->line, 0, "missing user and command "
			    "after the schedule \"%s\"", schedule);
			goto out;
		}
		len = strcspn(s, " \t");
		user = xstrndup(s, len);
		s = crontab_skip_blanks(s + len);
		if (*user == '*') {
			crontab_diag(p, p->line, 0, "\"%s\" is not a user name: "
			    "six schedule fields? crontab lines have five", user);
			goto out;
		}
		if (!crontab_user_ok(user)) {
			crontab_diag(p, p->line, 0, "\"%s\" is not a user name: a "
			    "system crontab line has a user between the schedule "
			    "and the command (is this a user's crontab?)", user);
			goto out;
		}
		if (*s == '\0') {
			crontab_diag(p, p->line, 0, "missing command after the "
			    "user \"%s\"", user);
			goto out;
		}
		if (jobspec_set(&js, "user", user, &cause) != 0) {
			crontab_diag(p, p->line, 0, "%s", cause);
			goto out;
		}
	} else {
		if (*s == '\0') {
			crontab_diag(p, p->line, 0, "missing command after the "
			    "schedule \"%s\"", schedule);
			goto out;
		}
		if (ct->user != NULL &&
		    jobspec_set(&js, "user", ct->user, &cause) != 0) {
			crontab_diag(p, p->line, 0, "%s", cause);
			goto out;
		}
	}

	/* The command: cronie's -n, then text and input split at '%'. */
	if (s[0] == '-' && s[1] == 'n' && (s[2] == '\0' || CT_BLANK(s[2]))) {
		s = crontab_skip_blanks(s + 2);
		if (*s == '\0') {
			crontab_diag(p, p->line, 0, "missing command after -n");
			goto out;
		}
		crontab_diag(p, p->line, 1, "-n (cronie: no mail when the "
		    "command succeeds) is dropped: sqcron has no such mail "
		    "mode; failures are in sqcron runs --open");
	}
	if (*s == '*') {
		crontab_diag(p, p->line, 0, "the command starts with \"*\": six "
		    "schedule fields? crontab lines have five");
		goto out;
	}
	cmd = crontab_percent(s, &input);
	if (*crontab_skip_blanks(cmd) == '\0') {
		crontab_diag(p, p->line, 0, "empty command: nothing before the "
		    "first %%");
		goto out;
	}
	if (jobspec_set(&js, "command", cmd, &cause) != 0) {
		crontab_diag(p, p->line, 0, "%s", cause);
		goto out;
	}
	js.stdin_data = input;
	input = NULL;

	if (bad)
		goto out;
	if (p->tz_bad != 0 && !set_tz) {
		crontab_diag(p, p->line, 0, "not loaded: CRON_TZ on line %u is "
		    "bad", p->tz_bad);
		goto out;
	}
	if (p->delay_bad != 0 && !set_jitter) {
		crontab_diag(p, p->line, 0, "not loaded: RANDOM_DELAY on line "
		    "%u is bad", p->delay_bad);
		goto out;
	}

	/* A generated name; crontab_names_finish makes it unique. */
	if (!named) {
		h = CRONTAB_HASH_INIT;
		if (user != NULL)
			h = crontab_hash(h, user, strlen(user) + 1);
		len = strlen(raw);
		while (len > 0 && CT_BLANK(raw[len - 1]))
			len--;
		h = crontab_hash_mix(crontab_hash(h, raw, len));
		xasprintf(&name, "%s-%06x", p->prefix, (unsigned)(h >> 40));
		free(js.name);
		js.name = name;
	}
	if (jobspec_check(&js, &cause) != 0) {
		crontab_diag(p, p->line, 0, "%s", cause);
		goto out;
	}
	crontab_job_add(p, &js, named);
out:
	crontab_opts_clear(p);
	job_spec_clear(&js);
	free(cause);
	free(input);
	free(cmd);
	free(user);
	free(schedule);
}

/*
 * Give generated names their -2, -3 where the base is taken.  Given
 * names were taken while parsing; generated ones go in line order.  The
 * next suffix of each base is remembered, so a file of one command
 * repeated is linear, not quadratic.
 */
static void
crontab_names_finish(struct crontab_parser *p)
{
	struct crontab_names	 bases;
	struct crontab_job	*j;
	char			**base, *name;
	size_t			 i, slot, nbase = 0, blen = strlen(p->prefix) + 7;
	unsigned		 n;

	memset(&bases, 0, sizeof bases);
	base = xcalloc(p->ct->njobs + 1, sizeof *base);
	for (i = 0; i < p->ct->njobs; i++) {
		j = &p->ct->jobs[i];
		if (j->named)
			continue;
		/* The slot of this base; its "line" is the last suffix used. */
		if (crontab_names_find(&bases, j->spec.name) == 0) {
			base[nbase] = xstrdup(j->spec.name);
			crontab_names_add(&bases, base[nbase++], 1);
		}
		slot = crontab_names_slot(&bases, j->spec.name);
		n = bases.line[slot];
		while (crontab_names_find(&p->names, j->spec.name) != 0) {
			xasprintf(&name, "%.*s-%u", (int)blen, bases.name[slot],
			    ++n);
			free(j->spec.name);
			j->spec.name = name;
		}
		bases.line[slot] = n;
		crontab_names_add(&p->names, j->spec.name, j->line);
	}
	for (i = 0; i < nbase; i++)
		free(base[i]);
	free(base);
	free(bases.name);
	free(bases.line);
}

/* One line without its ending, NUL-terminated; line is p->line. */
static void
crontab_line(struct crontab_parser *p, const char *s)
{
	s = crontab_skip_blanks(s);
	if (*s == '\0')
		return;
	if (*s == '#') {
		s = crontab_skip_blanks(s + 1);
		if (strncmp(s, "sqcron:", 7) == 0)
			crontab_directive(p, s + 7);
		return;
	}
	if (crontab_env(p, s))
		return;
	crontab_job(p, s);
}

struct crontab *
crontab_parse(const char *path, enum crontab_format format, const char *user,
    const char *buf, size_t len)
{
	struct crontab_parser	 p;
	struct crontab		*ct;
	const char		*s, *nl, *end = buf + len;
	char			*line;
	size_t			 n;

	ct = xcalloc(1, sizeof *ct);
	ct->path = xstrdup(path);
	ct->format = format;
	ct->user = user != NULL && format == CRONTAB_USER ?
	    xstrdup(user) : NULL;

	memset(&p, 0, sizeof p);
	p.ct = ct;
	job_spec_init(&p.base);
	p.prefix = crontab_prefix(path);

	for (s = buf; s < end; s = nl + 1) {
		p.line++;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		n = (size_t)(nl - s);
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (p.line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
			s += 3;
			n -= 3;
		}
		if (memchr(s, '\0', n) != NULL) {
			crontab_diag(&p, p.line, 0, "line contains a NUL byte");
			continue;
		}
		if (n > CRONTAB_LINE_MAX) {
			crontab_diag(&p, p.line, 0, "line is longer than %d "
			    "bytes", CRONTAB_LINE_MAX);
			continue;
		}
		line = xstrndup(s, n);
		if (nl == end && *crontab_skip_blanks(line) != '\0' &&
		    *crontab_skip_blanks(line) != '#')
			crontab_diag(&p, p.line, 1, "no newline at the end of "
			    "the file: cron ignores such a last line, sqcron "
			    "reads it");
		crontab_line(&p, line);
		free(line);
	}
	if (p.opts_line != 0) {
		if (p.opts_bad != NULL)
			crontab_diag(&p, p.opts_bad_line, 0, "%s", p.opts_bad);
		crontab_diag(&p, p.opts_line, 0, "sqcron directive with no job "
		    "line after it");
	}
	crontab_names_finish(&p);

	crontab_opts_clear(&p);
	job_spec_clear(&p.base);
	free(p.names.name);
	free(p.names.line);
	free(p.prefix);
	return ct;
}

struct crontab *
crontab_read(const char *path, enum crontab_format format, const char *user,
    char **cause)
{
	struct crontab	*ct = NULL;
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		xasprintf(cause, "%s: not a regular file", path);
		goto out;
	}
	buf = xmalloc(CRONTAB_FILE_MAX + 1);
	for (;;) {
		n = read(fd, buf + len, CRONTAB_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			xasprintf(cause, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CRONTAB_FILE_MAX) {
			xasprintf(cause, "%s: larger than %d bytes", path,
			    CRONTAB_FILE_MAX);
			goto out;
		}
	}
	ct = crontab_parse(path, format, user, buf, len);
out:
	free(buf);
	close(fd);
	return ct;
}

void
crontab_free(struct crontab *ct)
{
	size_t	i;

	if (ct == NULL)
		return;
	for (i = 0; i < ct->njobs; i++)
		job_spec_clear(&ct->jobs[i].spec);
	free(ct->jobs);
	for (i = 0; i < ct->ndiags; i++) {
		free(ct->diags[i].reason);
		free(ct->diags[i].text);
	}
	free(ct->diags);
	free(ct->user);
	free(ct->path);
	free(ct);
}

int
crontab_dirent_wanted(const char *name)
{
	size_t	n;

	n = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-");
	return n > 0 && name[n] == '\0';
}

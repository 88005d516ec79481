/*
 * outbox.c: what each event of DESIGN.md section 10 becomes in the
 * notification outbox (outbox.h), and what its deliveries will carry.
 *
 * A job asks for two things.  Webhooks: notify (URLs; unset, the
 * daemon's) for the events of notify_on (unset, the daemon's; "none",
 * nothing), each a POST of
 *
 *	{"event": "run.failed", "time": RFC 3339, "host": gethostname,
 *	 "job": {"name", "schedule", "description"},
 *	 "run": RUN as run.get returns it, plus "output" (its last
 *	        OUTBOX_OUTPUT_MAX bytes), or null,
 *	 "reason": why, for job events; null for run events}
 *
 * or, with notify_format = slack, of {"text": one readable line, and
 * the output's end for failures}.  And pings: ping_url, whatever
 * notify_on says, in the healthchecks.io protocol: URL/start when a run's
 * child starts, URL when it succeeds, URL/fail when it fails, the last
 * OUTBOX_OUTPUT_MAX bytes of output as a text/plain body.  The rows of
 * one run to one URL are delivered in order (store.c), so URL/start
 * always comes before the end.
 *
 * The body is built here, when the event happens, and stored with the
 * row: the delivery sends what was true then, whatever became of the job
 * or the run since.  This file adds rows and decides nothing about
 * delivery (notify.c); it never talks HTTP.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "job.h"
#include "log.h"
#include "notify.h"
#include "outbox.h"
#include "store.h"
#include "tz.h"
#include "xmalloc.h"

#define OUTBOX_JSON	"application/json"
#define OUTBOX_TEXT	"text/plain; charset=utf-8"
#define OUTBOX_SLACK_OUTPUT 1024	/* output shown in a Slack message */

struct outbox {
	struct store		*store;
	const struct config	*conf;
	struct notify		*notify;
	char			 host[256];
	int			 added;		/* rows since the last kick */
};

/* What a job asks for. */
struct owants {
	int		  events;	/* CONFIG_EVENT_* of its webhooks */
	char		**urls;
	size_t		  nurls;
	const char	 *ping;		/* NULL: none */
};

/* Where an event's output comes from: bytes, as they were kept. */
struct oout {
	const char	*head;
	size_t		 head_len;
	const char	*tail;
	size_t		 tail_len;
};

struct outbox *
outbox_new(struct store *store, const struct config *conf,
    struct notify *notify)
{
	struct outbox	*ob;

	ob = xcalloc(1, sizeof *ob);
	ob->store = store;
	ob->conf = conf;
	ob->notify = notify;
	if (gethostname(ob->host, sizeof ob->host) == -1 || ob->host[0] == '\0')
		xstrlcpy(ob->host, "localhost", sizeof ob->host);
	ob->host[sizeof ob->host - 1] = '\0';
	return ob;
}

void
outbox_free(struct outbox *ob)
{
	free(ob);
}

void
outbox_set_config(struct outbox *ob, const struct config *conf)
{
	if (ob != NULL)
		ob->conf = conf;
}

/* Split a comma-separated list into *items (n of them). */
static void
outbox_split(const char *s, char ***items, size_t *n)
{
	const char	*p = s;
	size_t		 len;

	*items = NULL;
	*n = 0;
	for (;;) {
		len = strcspn(p, ",");
		if (len > 0) {
			*items = xreallocarray(*items, *n + 1, sizeof **items);
			(*items)[(*n)++] = xstrndup(p, len);
		}
		if (p[len] == '\0')
			return;
		p += len + 1;
	}
}

/* The job's webhooks and events, defaults applied, and its ping URL. */
static void
outbox_wants(const struct outbox *ob, const struct job_spec *js,
    struct owants *w)
{
	const struct config	*c = ob->conf;
	char			**names;
	size_t			 n, i;

	memset(w, 0, sizeof *w);
	w->ping = js->ping_url;
	if (js->notify != NULL)
		outbox_split(js->notify, &w->urls, &w->nurls);
	else if (c->nnotify > 0) {
		w->urls = xreallocarray(NULL, c->nnotify, sizeof *w->urls);
		for (i = 0; i < c->nnotify; i++)
			w->urls[i] = xstrdup(c->notify[i]);
		w->nurls = c->nnotify;
	}
	if (w->nurls == 0)
		return;
	if (js->notify_on == NULL) {
		w->events = c->notify_on;
		return;
	}
	outbox_split(js->notify_on, &names, &n);
	for (i = 0; i < n; i++) {
		w->events |= config_event_bit(names[i]);	/* none: 0 */
		free(names[i]);
	}
	free(names);
}

static void
outbox_wants_clear(struct owants *w)
{
	size_t	i;

	for (i = 0; i < w->nurls; i++)
		free(w->urls[i]);
	free(w->urls);
	memset(w, 0, sizeof *w);
}

/*
 * The last max bytes of the output (head then tail) into *buf (the caller
 * frees), starting on a UTF-8 character when the cut falls inside one.
 */
static size_t
outbox_tail(const struct oout *o, size_t max, char **buf)
{
	size_t	len, from_head, skip = 0;
	char	*p;

	len = o->tail_len >= max ? max : o->tail_len;
	from_head = len < max ? max - len : 0;
	if (from_head > o->head_len)
		from_head = o->head_len;
	p = xmalloc(from_head + len + 1);
	if (from_head > 0)
		memcpy(p, o->head + o->head_len - from_head, from_head);
	if (len > 0)
		memcpy(p + from_head, o->tail + o->tail_len - len, len);
	len += from_head;
	p[len] = '\0';
	if (len == max) {
		while (skip < 3 && skip < len &&
		    ((unsigned char)p[skip] & 0xc0) == 0x80)
			skip++;
		memmove(p, p + skip, len - skip + 1);
		len -= skip;
	}
	*buf = p;
	return len;
}

/* The JSON body of an event (DESIGN.md section 10). */
static char *
outbox_json(const struct outbox *ob, int event, int64_t now,
    const struct job_spec *js, const struct run *r, const struct oout *o,
    const char *reason, size_t *len)
{
	json_t	*body, *run = NULL;
	char	 when[TZ_RFC3339_LEN], *tail, *text;
	size_t	 tlen;

	if (r != NULL) {
		run = api_run_json(r);
		tlen = outbox_tail(o, OUTBOX_OUTPUT_MAX, &tail);
		json_object_set_new(run, "output", api_text(tail, tlen));
		free(tail);
	}
	tz_format_utc_ms(now, when, sizeof when);
	body = json_pack("{s:s,s:s,s:o,s:{s:o,s:o,s:o},s:o,s:o}",
	    "event", config_event_name(event),
	    "time", when,
	    "host", api_text(ob->host, strlen(ob->host)),
	    "job",
	    "name", api_text(js->name, strlen(js->name)),
	    "schedule", api_text(js->schedule, strlen(js->schedule)),
	    "description", js->description != NULL ?
	    api_text(js->description, strlen(js->description)) : json_null(),
	    "run", run != NULL ? run : json_null(),
	    "reason", reason != NULL ? api_text(reason, strlen(reason)) :
	    json_null());
	if (body == NULL)
		fatalx("outbox: cannot build a JSON body");
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL)
		fatalx("outbox: cannot encode a JSON body");
	json_decref(body);
	*len = strlen(text);
	return text;
}

/* Slack's mrkdwn: &, < and > escaped, the rest as it is. */
static void
outbox_slack_put(FILE *f, const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		default:
			fputc(s[i], f);
			break;
		}
	}
}

/* The Slack body: {"text": "[host] job: what happened", with output}. */
static char *
outbox_slack(const struct outbox *ob, int event, const struct job_spec *js,
    const struct run *r, const struct oout *o, const char *reason,
    size_t *len)
{
	FILE	*f;
	json_t	*body;
	char	*buf = NULL, *tail, *text, what[320];
	size_t	 size = 0, tlen;

	if ((f = open_memstream(&buf, &size)) == NULL)
		fatal("outbox: open_memstream");
	fputs("[", f);
	outbox_slack_put(f, ob->host, strlen(ob->host));
	fputs("] *", f);
	outbox_slack_put(f, js->name, strlen(js->name));
	fputs("*: ", f);
	switch (event) {
	case CONFIG_EVENT_RUN_STARTED:
		snprintf(what, sizeof what, "run %" PRId64 " started (%s, "
		    "attempt %d)", r->id, run_trigger_name(r->trigger),
		    r->attempt);
		break;
	case CONFIG_EVENT_RUN_SUCCEEDED:
		snprintf(what, sizeof what, "run %" PRId64 " succeeded in "
		    "%" PRId64 " ms", r->id, r->duration_ms);
		break;
	case CONFIG_EVENT_JOB_RECOVERED:
		snprintf(what, sizeof what, "recovered: run %" PRId64
		    " succeeded", r->id);
		break;
	case CONFIG_EVENT_RUN_FAILED:
	case CONFIG_EVENT_RUN_DEAD:
		snprintf(what, sizeof what, "run %" PRId64 " %s%s: %s", r->id,
		    run_state_name(r->state), event == CONFIG_EVENT_RUN_DEAD ?
		    ", no retry left" : "", r->reason != NULL ? r->reason :
		    run_state_name(r->state));
		break;
	default:
		snprintf(what, sizeof what, "%s: %s", event ==
		    CONFIG_EVENT_JOB_STALE ? "stale" : "paused",
		    reason != NULL ? reason : "");
		break;
	}
	outbox_slack_put(f, what, strlen(what));
	if (r != NULL && run_state_is_failure(r->state) &&
	    event != CONFIG_EVENT_JOB_STALE) {
		tlen = outbox_tail(o, OUTBOX_SLACK_OUTPUT, &tail);
		if (tlen > 0) {
			fputs("\n```\n", f);
			outbox_slack_put(f, tail, tlen);
			fputs("\n```", f);
		}
		free(tail);
	}
	if (fclose(f) != 0)
		fatal("outbox: open_memstream");
	body = json_pack("{s:o}", "text", api_text(buf, size));
	free(buf);
	if (body == NULL || (text = json_dumps(body, JSON_COMPACT)) == NULL)
		fatalx("outbox: cannot build a Slack body");
	json_decref(body);
	*len = strlen(text);
	return text;
}

/* Add one row; ob->added counts it for the kick. */
static int
outbox_add(struct outbox *ob, const char *kind, int event, int64_t job_id,
    int64_t run_id, const char *url, const char *type, char *body,
    size_t len, int64_t now)
{
	struct store_outbox	o;
	int			rc;

	memset(&o, 0, sizeof o);
	o.created_at = now;
	o.event = (char *)(uintptr_t)config_event_name(event);
	o.kind = (char *)(uintptr_t)kind;
	o.job_id = job_id;
	o.run_id = run_id;
	o.url = (char *)(uintptr_t)url;
	o.content_type = (char *)(uintptr_t)type;
	o.body = body;
	o.body_len = len;
	if ((rc = store_outbox_add(ob->store, &o, NULL, NULL)) < 0) {
		log_warnx("%s for job %" PRId64 " not recorded for delivery",
		    o.event, job_id);
		return -1;
	}
	ob->added++;
	return 0;
}

/* One webhook event to each of the job's URLs, when it asks for it. */
static int
outbox_webhook(struct outbox *ob, const struct owants *w, int event,
    int64_t now, int64_t job_id, const struct job_spec *js,
    const struct run *r, const struct oout *o, const char *reason)
{
	char	*body;
	size_t	 len, i;
	int	 ret = 0;

	if (!(w->events & event))
		return 0;
	if (ob->conf->notify_format == CONFIG_NOTIFY_SLACK)
		body = outbox_slack(ob, event, js, r, o, reason, &len);
	else
		body = outbox_json(ob, event, now, js, r, o, reason, &len);
	for (i = 0; i < w->nurls; i++) {
		if (outbox_add(ob, "webhook", event, job_id, r != NULL ? r->id :
		    JOB_UNSET, w->urls[i], OUTBOX_JSON, body, len, now) < 0)
			ret = -1;
	}
	free(body);
	return ret;
}

/*
 * ping_url with a suffix ("", "/start", "/fail") before its query or
 * fragment, without doubling a trailing '/'.
 */
static char *
outbox_ping_url(const char *base, const char *suffix)
{
	size_t	 stem = strcspn(base, "?#"), cut = stem;
	char	*url;

	while (*suffix != '\0' && cut > 0 && base[cut - 1] == '/')
		cut--;
	xasprintf(&url, "%.*s%s%s", (int)cut, base, suffix, base + stem);
	return url;
}

/* A ping of run r: event run.started (/start), succeeded or failed. */
static int
outbox_ping(struct outbox *ob, const struct owants *w, int event,
    int64_t now, const struct run *r, const struct oout *o)
{
	const char	*suffix;
	char		*url, *body = NULL;
	size_t		 len = 0;
	int		 ret;

	if (w->ping == NULL)
		return 0;
	if (event == CONFIG_EVENT_RUN_STARTED)
		suffix = "/start";
	else {
		suffix = event == CONFIG_EVENT_RUN_SUCCEEDED ? "" : "/fail";
		len = outbox_tail(o, OUTBOX_OUTPUT_MAX, &body);
	}
	url = outbox_ping_url(w->ping, suffix);
	ret = outbox_add(ob, "ping", event, r->job_id, r->id, url, OUTBOX_TEXT,
	    body, len, now);
	free(url);
	free(body);
	return ret;
}

/* Rows were added: the deliverer looks at them after this commit. */
static void
outbox_kick(struct outbox *ob)
{
	if (ob->added > 0 && ob->notify != NULL)
		notify_kick(ob->notify);
	ob->added = 0;
}

/* The events of a run's end; recovery is checked when check_recovery. */
static int
outbox_end(struct outbox *ob, const struct job_row *jr, const struct run *r,
    const struct oout *o, int check_recovery, int64_t now)
{
	struct owants		 w;
	struct job_health	 h;
	int			 ret = 0;

	outbox_wants(ob, &jr->spec, &w);
	if (r->state == RUN_SUCCEEDED) {
		if (outbox_webhook(ob, &w, CONFIG_EVENT_RUN_SUCCEEDED, now,
		    jr->id, &jr->spec, r, o, NULL) < 0)
			ret = -1;
		/* Before this run is recorded, its failures are the streak. */
		if (check_recovery && (w.events & CONFIG_EVENT_JOB_RECOVERED) &&
		    store_job_health(ob->store, jr->id, &h, NULL) == 0 &&
		    h.consecutive_failures > 0 &&
		    outbox_webhook(ob, &w, CONFIG_EVENT_JOB_RECOVERED, now,
		    jr->id, &jr->spec, r, o, NULL) < 0)
			ret = -1;
		if (outbox_ping(ob, &w, CONFIG_EVENT_RUN_SUCCEEDED, now, r,
		    o) < 0)
			ret = -1;
	} else if (run_state_is_failure(r->state)) {
		if (outbox_webhook(ob, &w, CONFIG_EVENT_RUN_FAILED, now, jr->id,
		    &jr->spec, r, o, NULL) < 0)
			ret = -1;
		if (r->resolution == RESOLUTION_OPEN &&
		    outbox_webhook(ob, &w, CONFIG_EVENT_RUN_DEAD, now, jr->id,
		    &jr->spec, r, o, NULL) < 0)
			ret = -1;
		if (outbox_ping(ob, &w, CONFIG_EVENT_RUN_FAILED, now, r, o) < 0)
			ret = -1;
	}
	outbox_wants_clear(&w);
	outbox_kick(ob);
	return ret;
}

int
outbox_run_ended(struct outbox *ob, const struct run *r, const char *output,
    size_t len, int64_t now)
{
	struct job_row	jr;
	struct oout	o;
	int		ret;

	if (ob == NULL)
		return 0;
	if (store_job_get_id(ob->store, r->job_id, &jr, NULL) < 0)
		return -1;
	memset(&o, 0, sizeof o);
	o.head = output;
	o.head_len = output != NULL ? len : 0;
	ret = outbox_end(ob, &jr, r, &o, 1, now);
	store_job_row_clear(&jr);
	return ret;
}

/* The output of a recorded run, as the store kept it. */
static void
outbox_read_output(struct outbox *ob, int64_t run_id,
    struct store_output *out, struct oout *o)
{
	memset(o, 0, sizeof *o);
	if (store_run_output(ob->store, run_id, out, NULL) < 0)
		return;
	o->head = out->head;
	o->head_len = out->head_len;
	o->tail = out->tail;
	o->tail_len = out->tail_len;
}

/*
 * The events of a run as the store has it now: its start
 * (CONFIG_EVENT_RUN_STARTED), a retry that will not come
 * (CONFIG_EVENT_RUN_DEAD), or its end (0).
 */
static int
outbox_recorded(struct outbox *ob, int64_t run_id, int event, int64_t now)
{
	struct run		r;
	struct job_row		jr;
	struct store_output	out;
	struct owants		w;
	struct oout		o;
	int			ret = 0;

	if (ob == NULL)
		return 0;
	if (store_run_get(ob->store, run_id, &r, NULL) < 0)
		return -1;
	if (store_job_get_id(ob->store, r.job_id, &jr, NULL) < 0) {
		run_clear(&r);
		return -1;
	}
	memset(&out, 0, sizeof out);
	memset(&o, 0, sizeof o);	/* a start: nothing printed yet */
	if (event != CONFIG_EVENT_RUN_STARTED)
		outbox_read_output(ob, run_id, &out, &o);
	if (event == 0)
		ret = outbox_end(ob, &jr, &r, &o, 0, now);
	else {
		outbox_wants(ob, &jr.spec, &w);
		if (outbox_webhook(ob, &w, event, now, jr.id, &jr.spec, &r, &o,
		    NULL) < 0)
			ret = -1;
		if (event == CONFIG_EVENT_RUN_STARTED &&
		    outbox_ping(ob, &w, event, now, &r, &o) < 0)
			ret = -1;
		outbox_wants_clear(&w);
		outbox_kick(ob);
	}
	store_output_clear(&out);
	store_job_row_clear(&jr);
	run_clear(&r);
	return ret;
}

int
outbox_run_recorded(struct outbox *ob, int64_t run_id, int64_t now)
{
	return outbox_recorded(ob, run_id, 0, now);
}

int
outbox_run_dead(struct outbox *ob, int64_t run_id, int64_t now)
{
	return outbox_recorded(ob, run_id, CONFIG_EVENT_RUN_DEAD, now);
}

int
outbox_run_started(struct outbox *ob, int64_t run_id, int64_t now)
{
	return outbox_recorded(ob, run_id, CONFIG_EVENT_RUN_STARTED, now);
}

int
outbox_job_event(struct outbox *ob, int64_t job_id, int event,
    const char *reason, int64_t now)
{
	struct job_row		 jr;
	struct job_health	 h;
	struct run		 r;
	struct store_output	 out;
	struct owants		 w;
	struct oout		 o;
	int			 ret = 0, have_run = 0;

	if (ob == NULL)
		return 0;
	if (event != CONFIG_EVENT_JOB_STALE && event != CONFIG_EVENT_JOB_PAUSED) {
		log_warnx("outbox: %s is not a job event",
		    config_event_name(event));
		return -1;
	}
	if (store_job_get_id(ob->store, job_id, &jr, NULL) < 0)
		return -1;
	outbox_wants(ob, &jr.spec, &w);
	memset(&o, 0, sizeof o);
	memset(&out, 0, sizeof out);
	if (w.events & event) {
		if (store_job_health(ob->store, job_id, &h, NULL) == 0 &&
		    h.last_run != JOB_UNSET &&
		    store_run_get(ob->store, h.last_run, &r, NULL) == 0) {
			have_run = 1;
			outbox_read_output(ob, r.id, &out, &o);
		}
		ret = outbox_webhook(ob, &w, event, now, job_id, &jr.spec,
		    have_run ? &r : NULL, &o, reason);
	}
	if (have_run)
		run_clear(&r);
	outbox_wants_clear(&w);
	outbox_kick(ob);
	store_output_clear(&out);
	store_job_row_clear(&jr);
	return ret;
}

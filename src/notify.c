/*
 * notify.c: delivers the notification outbox (notify.h) by HTTP POST,
 * through libcurl's multi interface driven by the daemon's libevent loop,
 * after curl's docs/examples/hiperfifo.c: libcurl says which sockets to
 * watch (CURLMOPT_SOCKETFUNCTION) and when to wake it
 * (CURLMOPT_TIMERFUNCTION); each becomes a libevent event that calls
 * curl_multi_socket_action.  No transfer ever blocks the loop, and
 * nothing here loops over curl_multi_perform.
 *
 * A pass looks at the outbox: it takes the rows that are due, oldest
 * first, while fewer than NOTIFY_MAX_TRANSFERS are in flight, and begins
 * an attempt of each.  Beginning one writes a lease to the row (attempts
 * + 1, next_at past the attempt's timeout), so the row is not taken
 * twice, and a daemon that dies mid-attempt still counts it.  A pass
 * runs when rows were added (notify_kick, after the adding transaction
 * committed), when an attempt ends, and at the soonest next_at of the
 * pending rows: one timer, armed only while rows wait, so an idle daemon
 * has no wake-up.
 *
 * An attempt is acknowledged by a 2xx: the row is deleted.  Anything
 * else (no connection, notify_timeout passed, a receiver that closes
 * early or answers garbage, any other status, a redirect: redirects are
 * not followed) is a failure: the row is due again after 1 s, doubled
 * for each attempt it has had, capped at 1 h, +-10%; after
 * 1 + notify_retries attempts, or at once for a URL that libcurl cannot
 * parse, the row is dead and the log says why.  Only http and https are
 * spoken.  A response body is read and dropped, at most
 * NOTIFY_RESPONSE_MAX bytes of it: a receiver that sends more is cut off
 * (a 2xx status already received still counts).  Logs name a URL by its
 * origin only (scheme, host, port): the path of a webhook often holds
 * its secret.
 *
 * At start every pending row is due at once (notify_start); at exit the
 * attempts in flight are abandoned, their rows still pending.  Delivery
 * is at least once: a receiver may see a row again when sqcrond stopped
 * between its answer and the row's deletion; X-Sqcron-Delivery, the
 * row's id, lets it tell.
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "job.h"
#include "log.h"
#include "notify.h"
#include "store.h"
#include "timer.h"
#include "xmalloc.h"

#ifndef SQCRON_VERSION
#define SQCRON_VERSION "0"
#endif

#define NOTIFY_RESPONSE_MAX	(64 * 1024)	/* response bytes read */
#define NOTIFY_SNIPPET		96		/* of a refusal, for the log */
#define NOTIFY_BACKOFF_MS	1000
#define NOTIFY_BACKOFF_MAX_MS	(3600 * 1000)
#define NOTIFY_LEASE_MS		(60 * 1000)	/* beyond the timeout */
#define NOTIFY_BUSY_MS		250		/* database locked: wait */

/* A socket libcurl asked us to watch. */
struct nsock {
	struct notify		*n;
	curl_socket_t		 fd;
	struct event		*ev;
	LIST_ENTRY(nsock)	 entry;
};

/* One attempt in flight. */
struct ntransfer {
	struct notify		*n;
	CURL			*easy;
	struct curl_slist	*headers;
	int64_t			 id;
	int64_t			 job_id;
	char			*event;
	char			*url;
	char			*body;
	size_t			 body_len;
	int			 attempts;	/* this one included */
	size_t			 received;	/* response body bytes */
	int			 capped;	/* cut at NOTIFY_RESPONSE_MAX */
	char			 snippet[NOTIFY_SNIPPET + 1];
	size_t			 nsnippet;
	char			 error[CURL_ERROR_SIZE];
	TAILQ_ENTRY(ntransfer)	 entry;
};

struct notify {
	struct event_base	*base;
	struct store		*store;
	int64_t			 timeout_ms;
	int			 retries;
	CURLM			*multi;
	struct event		*ev_curl;	/* libcurl's timer */
	struct event		*ev_pass;	/* the next look at the outbox */
	int			 started;
	int			 running;	/* libcurl's count */
	LIST_HEAD(, nsock)	 socks;
	TAILQ_HEAD(, ntransfer)	 transfers;
	int			 ntransfers;
};

static void	notify_pass_cb(evutil_socket_t, short, void *);

static int64_t
notify_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
notify_timer_add(struct event *ev, int64_t ms)
{
	if (timer_add_ms(ev, ms) == -1)
		fatalx("notify: evtimer_add failed");
}

/* A pass on the next turn of the loop (or after ms). */
static void
notify_schedule(struct notify *n, int64_t ms)
{
	if (n->started)
		notify_timer_add(n->ev_pass, ms);
}

/* "https://host:port" of a URL, without its user, path or query. */
static void
notify_origin(const char *url, char *buf, size_t size)
{
	const char	*host, *end, *at;
	size_t		 scheme;

	if ((host = strstr(url, "://")) == NULL) {
		snprintf(buf, size, "(not a URL)");
		return;
	}
	scheme = (size_t)(host - url);
	host += 3;
	end = host + strcspn(host, "/?#");
	for (at = host; at < end; at++) {
		if (*at == '@')
			host = at + 1;
	}
	snprintf(buf, size, "%.*s://%.*s", (int)scheme, url,
	    (int)(end - host), host);
}

/* The delay after failed attempt k (1, 2, ...): 1 s doubled, capped. */
static int64_t
notify_backoff(int k)
{
	int64_t	d = NOTIFY_BACKOFF_MS;

	while (--k > 0 && d < NOTIFY_BACKOFF_MAX_MS)
		d *= 2;
	if (d > NOTIFY_BACKOFF_MAX_MS)
		d = NOTIFY_BACKOFF_MAX_MS;
	return d + d * ((int64_t)arc4random_uniform(2001) - 1000) / 10000;
}

static void
notify_transfer_free(struct ntransfer *t)
{
	struct notify	*n = t->n;

	if (t->easy != NULL) {
		curl_multi_remove_handle(n->multi, t->easy);
		curl_easy_cleanup(t->easy);
	}
	curl_slist_free_all(t->headers);
	TAILQ_REMOVE(&n->transfers, t, entry);
	n->ntransfers--;
	free(t->event);
	free(t->url);
	free(t->body);
	free(t);
}

/* Read and drop the response; keep its start for the log. */
static size_t
notify_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct ntransfer	*t = arg;
	size_t			 len = size * nmemb, k;

	k = NOTIFY_SNIPPET - t->nsnippet;
	if (k > len)
		k = len;
	memcpy(t->snippet + t->nsnippet, ptr, k);
	t->nsnippet += k;
	t->snippet[t->nsnippet] = '\0';
	t->received += len;
	if (t->received > NOTIFY_RESPONSE_MAX) {
		t->capped = 1;
		return 0;	/* CURLE_WRITE_ERROR: stop reading */
	}
	return len;
}

/* Why an attempt failed, in a sentence for the row and the log. */
static void
notify_why(const struct ntransfer *t, CURLcode result, long code, char *buf,
    size_t size)
{
	char	 snip[NOTIFY_SNIPPET + 1];
	size_t	 i;

	if (code == 0 || (result != CURLE_OK && !t->capped)) {
		snprintf(buf, size, "%s", t->error[0] != '\0' ? t->error :
		    curl_easy_strerror(result));
		return;
	}
	for (i = 0; i < t->nsnippet; i++) {
		snip[i] = t->snippet[i] >= ' ' && t->snippet[i] < 0x7f ?
		    t->snippet[i] : ' ';
	}
	while (i > 0 && snip[i - 1] == ' ')
		i--;
	snip[i] = '\0';
	snprintf(buf, size, "HTTP %ld%s%s%s", code, code >= 300 && code < 400 ?
	    " (redirects are not followed: give the final URL)" : "",
	    i > 0 ? ": " : "", snip);
}

/* An attempt ended: acknowledge, retry later, or give up. */
static void
notify_done(struct notify *n, struct ntransfer *t, CURLcode result, long code)
{
	int64_t	 now = notify_now(), delay;
	char	 origin[256], why[CURL_ERROR_SIZE + NOTIFY_SNIPPET + 80];
	char	 in[32];
	int	 final;

	notify_origin(t->url, origin, sizeof origin);
	if (code >= 200 && code < 300 && (result == CURLE_OK ||
	    (result == CURLE_WRITE_ERROR && t->capped))) {
		log_debug("notification %" PRId64 " (%s, job %" PRId64 ") "
		    "delivered to %s: HTTP %ld, attempt %d", t->id, t->event,
		    t->job_id, origin, code, t->attempts);
		store_outbox_done(n->store, t->id, NULL);
		return;
	}
	notify_why(t, result, code, why, sizeof why);
	final = result == CURLE_URL_MALFORMAT || t->attempts > n->retries;
	if (final) {
		log_warnx("notification %" PRId64 " (%s, job %" PRId64 ") to "
		    "%s: giving up after %d attempts: %s", t->id, t->event,
		    t->job_id, origin, t->attempts, why);
		store_outbox_fail(n->store, t->id, JOB_UNSET, why, now, NULL);
		return;
	}
	delay = notify_backoff(t->attempts);
	snprintf(in, sizeof in, "%" PRId64 ".%03d s", delay / 1000,
	    (int)(delay % 1000));
	log_info("notification %" PRId64 " (%s, job %" PRId64 ") to %s: "
	    "attempt %d failed: %s; next in %s", t->id, t->event, t->job_id,
	    origin, t->attempts, why, in);
	store_outbox_fail(n->store, t->id, now + delay, why, now, NULL);
}

/* Collect the attempts libcurl finished. */
static void
notify_check(struct notify *n)
{
	struct ntransfer	*t;
	CURLMsg			*msg;
	CURLcode		 result;
	char			*priv;
	long			 code;
	int			 left, ended = 0;

	while ((msg = curl_multi_info_read(n->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		result = msg->data.result;
		priv = NULL;
		code = 0;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
		    &code);
		if ((t = (struct ntransfer *)(void *)priv) == NULL)
			continue;
		notify_done(n, t, result, code);
		notify_transfer_free(t);	/* msg is gone from here */
		ended++;
	}
	if (ended > 0)
		notify_schedule(n, 0);
}

static void
notify_curl_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify	*n = arg;

	(void)fd;
	(void)what;
	curl_multi_socket_action(n->multi, CURL_SOCKET_TIMEOUT, 0, &n->running);
	notify_check(n);
}

static void
notify_socket_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify	*n = arg;
	int		 flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(n->multi, fd, flags, &n->running);
	notify_check(n);
	if (n->running == 0)
		evtimer_del(n->ev_curl);
}

/* libcurl: watch socket s for what, or stop watching it. */
static int
notify_socket_cb(CURL *easy, curl_socket_t s, int what, void *arg,
    void *sockp)
{
	struct notify	*n = arg;
	struct nsock	*ns = sockp;
	short		 kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (ns != NULL) {
			LIST_REMOVE(ns, entry);
			event_free(ns->ev);
			free(ns);
		}
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (ns == NULL) {
		ns = xcalloc(1, sizeof *ns);
		ns->n = n;
		ns->fd = s;
		LIST_INSERT_HEAD(&n->socks, ns, entry);
		curl_multi_assign(n->multi, s, ns);
	} else
		event_free(ns->ev);
	ns->ev = event_new(n->base, s, kind, notify_socket_event_cb, n);
	if (ns->ev == NULL || event_add(ns->ev, NULL) == -1)
		fatalx("notify: cannot watch a socket");
	return 0;
}

/* libcurl: call back in timeout_ms (-1: never). */
static int
notify_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct notify	*n = arg;

	(void)multi;
	if (timeout_ms < 0)
		evtimer_del(n->ev_curl);
	else
		notify_timer_add(n->ev_curl, timeout_ms);
	return 0;
}

struct notify *
notify_new(struct event_base *base, struct store *store,
    const struct config *conf, char **cause)
{
	struct notify			*n;
	const curl_version_info_data	*v;
	CURLcode			 rc;

	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		xasprintf(cause, "libcurl: %s", curl_easy_strerror(rc));
		return NULL;
	}
	n = xcalloc(1, sizeof *n);
	n->base = base;
	n->store = store;
	LIST_INIT(&n->socks);
	TAILQ_INIT(&n->transfers);
	notify_set_config(n, conf);
	if ((n->multi = curl_multi_init()) == NULL) {
		xasprintf(cause, "libcurl: curl_multi_init failed");
		free(n);
		curl_global_cleanup();
		return NULL;
	}
	curl_multi_setopt(n->multi, CURLMOPT_SOCKETFUNCTION, notify_socket_cb);
	curl_multi_setopt(n->multi, CURLMOPT_SOCKETDATA, n);
	curl_multi_setopt(n->multi, CURLMOPT_TIMERFUNCTION, notify_timer_cb);
	curl_multi_setopt(n->multi, CURLMOPT_TIMERDATA, n);
	n->ev_curl = evtimer_new(base, notify_curl_timeout_cb, n);
	n->ev_pass = evtimer_new(base, notify_pass_cb, n);
	if (n->ev_curl == NULL || n->ev_pass == NULL)
		fatalx("notify: evtimer_new failed");
	v = curl_version_info(CURLVERSION_NOW);
	if (v != NULL && !(v->features & CURL_VERSION_ASYNCHDNS))
		log_warnx("notify: this libcurl resolves host names "
		    "synchronously: a slow name server can hold sqcrond's loop "
		    "(use addresses in notify and ping_url URLs)");
	return n;
}

void
notify_free(struct notify *n)
{
	struct ntransfer	*t;
	struct nsock		*ns;

	if (n == NULL)
		return;
	if (n->ntransfers > 0)
		log_info("notify: %d deliveries in flight abandoned; they are "
		    "tried again at the next start", n->ntransfers);
	while ((t = TAILQ_FIRST(&n->transfers)) != NULL)
		notify_transfer_free(t);
	curl_multi_cleanup(n->multi);
	while ((ns = LIST_FIRST(&n->socks)) != NULL) {
		LIST_REMOVE(ns, entry);
		event_free(ns->ev);
		free(ns);
	}
	event_free(n->ev_curl);
	event_free(n->ev_pass);
	free(n);
	curl_global_cleanup();
}

void
notify_set_config(struct notify *n, const struct config *conf)
{
	n->timeout_ms = conf->notify_timeout_ms;
	n->retries = conf->notify_retries;
}

/* Set a libcurl option; a refusal is an attempt that cannot be made. */
#define NOTIFY_SETOPT(t, opt, val) do {					\
	CURLcode	_rc = curl_easy_setopt((t)->easy, opt, val);	\
	if (_rc != CURLE_OK) {						\
		snprintf((t)->error, sizeof (t)->error, "%s: %s", #opt,	\
		    curl_easy_strerror(_rc));				\
		return _rc;						\
	}								\
} while (0)

/* Dress a transfer's handle; CURLE_OK, or why not (in t->error). */
static CURLcode
notify_setup(struct notify *n, struct ntransfer *t, const char *type)
{
	char	 line[128];

	snprintf(line, sizeof line, "Content-Type: %s", type);
	t->headers = curl_slist_append(t->headers, line);
	snprintf(line, sizeof line, "X-Sqcron-Event: %s", t->event);
	t->headers = curl_slist_append(t->headers, line);
	snprintf(line, sizeof line, "X-Sqcron-Delivery: %" PRId64, t->id);
	t->headers = curl_slist_append(t->headers, line);
	t->headers = curl_slist_append(t->headers, "Expect:");
	if (t->headers == NULL) {
		snprintf(t->error, sizeof t->error, "out of memory");
		return CURLE_OUT_OF_MEMORY;
	}
	NOTIFY_SETOPT(t, CURLOPT_PRIVATE, (char *)t);
	NOTIFY_SETOPT(t, CURLOPT_ERRORBUFFER, t->error);
	NOTIFY_SETOPT(t, CURLOPT_URL, t->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	NOTIFY_SETOPT(t, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	NOTIFY_SETOPT(t, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP |
	    CURLPROTO_HTTPS));
#endif
	NOTIFY_SETOPT(t, CURLOPT_FOLLOWLOCATION, 0L);
	NOTIFY_SETOPT(t, CURLOPT_NOSIGNAL, 1L);
	NOTIFY_SETOPT(t, CURLOPT_TIMEOUT_MS, (long)n->timeout_ms);
	NOTIFY_SETOPT(t, CURLOPT_CONNECTTIMEOUT_MS, (long)n->timeout_ms);
	NOTIFY_SETOPT(t, CURLOPT_USERAGENT, "sqcron/" SQCRON_VERSION);
	NOTIFY_SETOPT(t, CURLOPT_HTTPHEADER, t->headers);
	NOTIFY_SETOPT(t, CURLOPT_POST, 1L);
	NOTIFY_SETOPT(t, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body_len);
	NOTIFY_SETOPT(t, CURLOPT_POSTFIELDS, t->body);
	NOTIFY_SETOPT(t, CURLOPT_WRITEFUNCTION, notify_write_cb);
	NOTIFY_SETOPT(t, CURLOPT_WRITEDATA, t);
	return CURLE_OK;
}

/* Begin an attempt of row o; -1 when its lease cannot be written. */
static int
notify_begin(struct notify *n, struct store_outbox *o, int64_t now)
{
	struct ntransfer	*t;
	CURLcode		 rc;
	CURLMcode		 mrc;

	if (store_outbox_try(n->store, o->id, now + n->timeout_ms +
	    NOTIFY_LEASE_MS, NULL) < 0)
		return -1;
	t = xcalloc(1, sizeof *t);
	t->n = n;
	t->id = o->id;
	t->job_id = o->job_id;
	t->event = o->event;
	t->url = o->url;
	t->body = o->body;
	t->body_len = o->body_len;
	t->attempts = o->attempts + 1;
	o->event = o->url = o->body = NULL;	/* the transfer's now */
	TAILQ_INSERT_TAIL(&n->transfers, t, entry);
	n->ntransfers++;
	if ((t->easy = curl_easy_init()) == NULL) {
		snprintf(t->error, sizeof t->error, "curl_easy_init failed");
		rc = CURLE_FAILED_INIT;
	} else
		rc = notify_setup(n, t, o->content_type);
	if (rc == CURLE_OK &&
	    (mrc = curl_multi_add_handle(n->multi, t->easy)) != CURLM_OK) {
		snprintf(t->error, sizeof t->error, "%s",
		    curl_multi_strerror(mrc));
		curl_easy_cleanup(t->easy);
		t->easy = NULL;
		rc = CURLE_FAILED_INIT;
	}
	if (rc != CURLE_OK) {
		notify_done(n, t, rc, 0);
		notify_transfer_free(t);
		return 0;
	}
	return 0;
}

/* Is row id in flight? */
static int
notify_flying(const struct notify *n, int64_t id)
{
	const struct ntransfer	*t;

	TAILQ_FOREACH(t, &n->transfers, entry)
		if (t->id == id)
			return 1;
	return 0;
}

/* Look at the outbox: begin what is due, then sleep until the next. */
static void
notify_pass_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify		*n = arg;
	struct store_outbox	*rows = NULL;
	size_t			 nrows = 0, i;
	int64_t			 now = notify_now(), at = JOB_UNSET;
	int			 room, rc, stuck = 0;

	(void)fd;
	(void)what;
	room = NOTIFY_MAX_TRANSFERS - n->ntransfers;
	if (room <= 0)
		return;		/* an ending attempt calls again */
	rc = store_outbox_due(n->store, now, (size_t)room, &rows, &nrows, NULL);
	if (rc < 0) {
		notify_schedule(n, NOTIFY_BUSY_MS);
		return;
	}
	for (i = 0; i < nrows; i++) {
		if (notify_flying(n, rows[i].id))
			continue;
		if (notify_begin(n, &rows[i], now) < 0)
			stuck = 1;
	}
	store_outboxes_free(rows, nrows);
	if (n->ntransfers >= NOTIFY_MAX_TRANSFERS)
		return;
	/* Something due and not begun (a locked database): not a spin. */
	if (store_outbox_next(n->store, &at, NULL) < 0 || stuck)
		notify_schedule(n, NOTIFY_BUSY_MS);
	else if (at != JOB_UNSET)
		notify_schedule(n, at > now ? at - now : NOTIFY_BUSY_MS);
}

void
notify_start(struct notify *n)
{
	int64_t	pending = 0;

	if (store_outbox_rearm(n->store, notify_now(), NULL) == 0 &&
	    store_outbox_count(n->store, JOB_UNSET, &pending, NULL, NULL) ==
	    0 && pending > 0)
		log_info("notify: %" PRId64 " notifications waiting for "
		    "delivery", pending);
	n->started = 1;
	notify_schedule(n, 0);
}

void
notify_kick(struct notify *n)
{
	if (n != NULL)
		notify_schedule(n, 0);
}

int64_t
notify_pending(struct notify *n)
{
	int64_t	pending;

	if (store_outbox_count(n->store, JOB_UNSET, &pending, NULL,
	    NULL) < 0)
		return -1;
	return pending;
}

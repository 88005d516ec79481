/*
 * control.c: the control socket.  It only moves bytes and checks peers.
 *
 * One JSON object per line in each direction, each at most
 * PROTOCOL_MAX_LINE bytes.  A connection carries any number of requests,
 * answered in order: while one is in progress (a handler may answer
 * later, or stream events) the next lines wait in the input buffer.
 * Handlers live in api.c; they see parsed params and the peer's
 * credentials (SO_PEERCRED, read once at accept) and answer with
 * control_reply/control_error.
 *
 * Robustness: a client that sends half a line and stalls holds only its
 * own connection (every socket is non-blocking and driven by libevent)
 * and is dropped after idle_timeout_s; a line over the limit is answered
 * with too_large and the connection closed; past max_conns a new client
 * gets an "unavailable" error line and is closed at once.
 *
 * Timeouts: while no request is in progress, a client silent for
 * idle_timeout_s is dropped.  While one is (run --wait, logs -f, an
 * events subscription), silence is the client's right and only writing
 * counts: a client that reads nothing of what is queued for it for
 * idle_timeout_s is dropped.  Streaming handlers bound what they queue
 * themselves (control_req_pending, control_req_on_drain).
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <grp.h>
#include <pwd.h>
#include <jansson.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "protocol.h"
#include "xmalloc.h"

struct control_conn;

struct control_req {
	struct control_conn	*conn;
	json_t			*id;
	char			*method;
	void			(*abort_cb)(void *);
	void			*abort_arg;
	void			(*drain_cb)(void *);
	void			*drain_arg;
};

struct control_conn {
	struct control		*ctl;
	struct bufferevent	*bev;
	struct control_peer	 peer;
	struct control_req	*req;		/* in progress, or NULL */
	int			 closing;	/* flush, then close */
	struct control_conn	*next;
	struct control_conn	*prev;
};

struct control {
	struct event_base		*base;
	struct evconnlistener		*listener;
	char				*path;
	const struct control_method	*methods;
	size_t				 nmethods;
	void				*arg;
	gid_t				 admin_gid;
	int				 has_admin_gid;
	int				 max_conns;
	int				 idle_timeout_s;
	int				 nconns;
	struct control_conn		*conns;
};

static void	control_read_cb(struct bufferevent *, void *);
static void	control_write_cb(struct bufferevent *, void *);
static void	control_event_cb(struct bufferevent *, short, void *);
static void	control_process(struct control_conn *);

/*
 * Idle clients time out reading; a client waiting for an answer may stay
 * silent, but must read what it is sent (see the top of the file).
 */
static void
control_timeouts(struct control_conn *c)
{
	struct timeval	tv;

	tv.tv_sec = c->ctl->idle_timeout_s;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, c->req == NULL ? &tv : NULL, &tv);
}

static void
control_conn_free(struct control_conn *c)
{
	struct control		*ctl = c->ctl;
	struct control_req	*req = c->req;

	if (req != NULL) {
		/* The handler still holds req: tell it, then forget it. */
		c->req = NULL;
		if (req->abort_cb != NULL)
			req->abort_cb(req->abort_arg);
		json_decref(req->id);
		free(req->method);
		free(req);
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ctl->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	ctl->nconns--;
	bufferevent_free(c->bev);
	free(c);
	/*
	 * A client's requests may have churned the heap (10,000 job.add):
	 * give free pages back now that it is gone, so the idle daemon
	 * stays small.
	 */
	malloc_trim(0);
}

static int
control_send_cb(const char *buf, size_t len, void *arg)
{
	return evbuffer_add(arg, buf, len);
}

/* Queue one line (compact JSON + "\n") on the connection. */
static void
control_send(struct control_conn *c, json_t *msg)
{
	struct evbuffer	*line;

	/*
	 * Encoded into a buffer of chunks that then moves to the output
	 * without a copy: a reply of 10,000 jobs is never also one string
	 * grown by doubling.  On failure nothing is sent: half a line would
	 * break the framing.
	 */
	if ((line = evbuffer_new()) == NULL ||
	    json_dump_callback(msg, control_send_cb, line, JSON_COMPACT) == -1 ||
	    evbuffer_add(line, "\n", 1) == -1 ||
	    bufferevent_write_buffer(c->bev, line) == -1)
		log_warnx("control: cannot encode a reply");
	if (line != NULL)
		evbuffer_free(line);
	json_decref(msg);
}

static json_t *
control_error_msg(json_t *id, const char *code, const char *message)
{
	return json_pack("{s:O?,s:{s:s,s:s}}", "id", id, "error", "code",
	    code, "message", message);
}

/* Answer an error outside any request (bad line) and maybe close. */
static void
control_fail(struct control_conn *c, json_t *id, const char *code,
    const char *message, int close_after)
{
	control_send(c, control_error_msg(id, code, message));
	if (close_after) {
		c->closing = 1;
		bufferevent_disable(c->bev, EV_READ);
	}
}

static void
control_req_finish(struct control_req *req, json_t *msg)
{
	struct control_conn	*c = req->conn;

	control_send(c, msg);
	c->req = NULL;
	if (req->drain_cb != NULL)
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	control_timeouts(c);
	json_decref(req->id);
	free(req->method);
	free(req);
	/* Lines that arrived meanwhile are next. */
	if (!c->closing)
		control_process(c);
}

void
control_reply(struct control_req *req, json_t *result)
{
	json_t	*msg;

	if (result == NULL)
		result = json_object();
	msg = json_pack("{s:O?,s:o}", "id", req->id, "result", result);
	control_req_finish(req, msg);
}

void
control_error(struct control_req *req, const char *code, const char *fmt,
    ...)
{
	va_list	 ap;
	char	*message;

	va_start(ap, fmt);
	xvasprintf(&message, fmt, ap);
	va_end(ap);
	control_req_finish(req, control_error_msg(req->id, code, message));
	free(message);
}

void
control_event(struct control_req *req, json_t *event)
{
	control_send(req->conn, json_pack("{s:O?,s:o}", "id", req->id,
	    "event", event));
}

const struct control_peer *
control_req_peer(const struct control_req *req)
{
	return &req->conn->peer;
}

const char *
control_req_method(const struct control_req *req)
{
	return req->method;
}

void
control_req_on_abort(struct control_req *req, void (*cb)(void *), void *arg)
{
	req->abort_cb = cb;
	req->abort_arg = arg;
}

size_t
control_req_pending(const struct control_req *req)
{
	return evbuffer_get_length(bufferevent_get_output(req->conn->bev));
}

void
control_req_on_drain(struct control_req *req, void (*cb)(void *), void *arg)
{
	req->drain_cb = cb;
	req->drain_arg = arg;
	bufferevent_setwatermark(req->conn->bev, EV_WRITE,
	    cb != NULL ? CONTROL_DRAIN_LOW : 0, 0);
}

/* Parse one line and hand it to its method's handler. */
static void
control_dispatch(struct control_conn *c, const char *line, size_t len)
{
	struct control		*ctl = c->ctl;
	struct control_req	*req;
	json_error_t		 jerr;
	json_t			*msg, *id, *method, *params;
	const char		*name;
	size_t			 i;
	char			 why[256];

	if ((msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(why, sizeof why, "malformed JSON at column %d: %s",
		    jerr.column, jerr.text);
		control_fail(c, NULL, ERR_INVALID_REQUEST, why, 0);
		return;
	}
	if (!json_is_object(msg)) {
		control_fail(c, NULL, ERR_INVALID_REQUEST,
		    "a request is a JSON object", 0);
		goto out;
	}
	id = json_object_get(msg, "id");
	method = json_object_get(msg, "method");
	params = json_object_get(msg, "params");
	if (!json_is_string(method)) {
		control_fail(c, id, ERR_INVALID_REQUEST,
		    "\"method\" must be a string", 0);
		goto out;
	}
	if (params != NULL && !json_is_object(params) && !json_is_null(params)) {
		control_fail(c, id, ERR_INVALID_REQUEST,
		    "\"params\" must be an object", 0);
		goto out;
	}
	name = json_string_value(method);
	for (i = 0; i < ctl->nmethods; i++)
		if (strcmp(ctl->methods[i].name, name) == 0)
			break;
	if (i == ctl->nmethods) {
		snprintf(why, sizeof why, "unknown method \"%.64s\"", name);
		control_fail(c, id, ERR_UNKNOWN_METHOD, why, 0);
		goto out;
	}
	if (ctl->methods[i].admin_only && !c->peer.admin) {
		snprintf(why, sizeof why, "%s: permission denied for uid %ld",
		    name, (long)c->peer.uid);
		control_fail(c, id, ERR_PERMISSION_DENIED, why, 0);
		goto out;
	}
	req = xcalloc(1, sizeof *req);
	req->conn = c;
	req->id = json_incref(id);
	req->method = xstrdup(name);
	c->req = req;
	control_timeouts(c);
	if (params == NULL || json_is_null(params)) {
		params = json_object();
		ctl->methods[i].handler(req, params, ctl->arg);
		json_decref(params);
	} else
		ctl->methods[i].handler(req, params, ctl->arg);
out:
	json_decref(msg);
}

/* Handle every complete line while no request is in progress. */
static void
control_process(struct control_conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr	 eol;
	size_t			 len;
	char			*line;

	while (c->req == NULL && !c->closing) {
		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos == -1) {
			if (evbuffer_get_length(in) > PROTOCOL_MAX_LINE) {
				evbuffer_drain(in, evbuffer_get_length(in));
				control_fail(c, NULL, ERR_TOO_LARGE,
				    "request line over 1 MiB", 1);
			}
			return;
		}
		len = (size_t)eol.pos;
		if (len > PROTOCOL_MAX_LINE) {
			evbuffer_drain(in, len + 1);
			control_fail(c, NULL, ERR_TOO_LARGE,
			    "request line over 1 MiB", 1);
			return;
		}
		line = xmalloc(len + 1);
		evbuffer_remove(in, line, len);
		evbuffer_drain(in, 1);
		line[len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len > 0)
			control_dispatch(c, line, len);
		free(line);
	}
}

static void
control_read_cb(struct bufferevent *bev, void *arg)
{
	control_process(arg);
}

static void
control_write_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn	*c = arg;

	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			control_conn_free(c);
		return;
	}
	/* A streaming request may queue more now. */
	if (c->req != NULL && c->req->drain_cb != NULL)
		c->req->drain_cb(c->req->drain_arg);
}

static void
control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct control_conn	*c = arg;

	if (what & BEV_EVENT_TIMEOUT)
		log_debug("control: uid %ld idle, closing", (long)c->peer.uid);
	else if (what & BEV_EVENT_ERROR)
		log_debug("control: connection error: %s",
		    strerror(EVUTIL_SOCKET_ERROR()));
	control_conn_free(c);
}

/*
 * Admin peers: root, the daemon's own user, and members of admin_group
 * (primary group, or supplementary groups of the peer's user).
 */
static int
control_is_admin(struct control *ctl, const struct control_peer *p)
{
	struct passwd	 pw, *res = NULL;
	gid_t		 groups[256];
	char		 buf[4096];
	int		 n = (int)(sizeof groups / sizeof groups[0]), i;

	if (p->uid == 0 || p->uid == geteuid())
		return 1;
	if (!ctl->has_admin_gid)
		return 0;
	if (p->gid == ctl->admin_gid)
		return 1;
	if (getpwuid_r(p->uid, &pw, buf, sizeof buf, &res) != 0 || res == NULL)
		return 0;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == ctl->admin_gid)
			return 1;
	return 0;
}

static void
control_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct control		*ctl = arg;
	struct control_conn	*c;
	struct ucred		 cred;
	socklen_t		 len = sizeof cred;
	static const char	 busy[] = "{\"id\":null,\"error\":{\"code\":"
	    "\"unavailable\",\"message\":\"too many connections\"}}\n";

	if (ctl->nconns >= ctl->max_conns) {
		/* Best effort: a fresh socket buffer takes this at once. */
		if (write(fd, busy, sizeof busy - 1) == -1)
			log_debug("control: refusing a client: %s",
			    strerror(errno));
		close(fd);
		log_warnx("control: too many connections (%d), refused one",
		    ctl->nconns);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->ctl = ctl;
	c->peer.uid = cred.uid;
	c->peer.gid = cred.gid;
	c->peer.pid = cred.pid;
	c->peer.admin = control_is_admin(ctl, &c->peer);
	c->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("control: bufferevent_socket_new failed");
		close(fd);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, control_read_cb, control_write_cb,
	    control_event_cb, c);
	control_timeouts(c);
	/* Stop reading a client that is more than a line ahead of us. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, PROTOCOL_MAX_LINE + 2);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = ctl->conns;
	if (c->next != NULL)
		c->next->prev = c;
	ctl->conns = c;
	ctl->nconns++;
}

/* Look a group up by name or number. */
static int
control_group(const char *name, gid_t *gid, char **cause)
{
	struct group	 gr, *res = NULL;
	char		 buf[4096], *end;
	long		 n;

	if (getgrnam_r(name, &gr, buf, sizeof buf, &res) == 0 && res != NULL) {
		*gid = gr.gr_gid;
		return 0;
	}
	errno = 0;
	n = strtol(name, &end, 10);
	if (errno == 0 && *end == '\0' && end != name && n >= 0) {
		*gid = (gid_t)n;
		return 0;
	}
	xasprintf(cause, "unknown group \"%s\"", name);
	return -1;
}

/*
 * Bind path.  A socket file left by a dead daemon is removed (the caller
 * holds the instance lock, so no live daemon owns it); anything else at
 * that path is an error, never deleted.
 */
static int
control_bind(struct control *ctl, const struct control_options *o,
    char **cause)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 old;
	gid_t			 gid;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(o->path) >= sizeof sun.sun_path) {
		xasprintf(cause, "socket path too long: %s", o->path);
		return -1;
	}
	memcpy(sun.sun_path, o->path, strlen(o->path));
	if (lstat(o->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			xasprintf(cause, "%s exists and is not a socket",
			    o->path);
			return -1;
		}
		if (unlink(o->path) == -1) {
			xasprintf(cause, "remove stale socket %s: %s", o->path,
			    strerror(errno));
			return -1;
		}
		log_info("removed stale socket %s", o->path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	/* Never let the socket be reachable with wider permissions. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		umask(old);
		xasprintf(cause, "bind %s: %s", o->path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (o->group != NULL) {
		if (control_group(o->group, &gid, cause) == -1 ||
		    chown(o->path, (uid_t)-1, gid) == -1) {
			if (*cause == NULL)
				xasprintf(cause, "chown %s: %s", o->path,
				    strerror(errno));
			goto fail;
		}
	}
	if (chmod(o->path, o->mode) == -1) {
		xasprintf(cause, "chmod %s: %s", o->path, strerror(errno));
		goto fail;
	}
	ctl->listener = evconnlistener_new(ctl->base, control_accept_cb, ctl,
	    LEV_OPT_CLOSE_ON_FREE, 64, fd);
	if (ctl->listener == NULL) {
		xasprintf(cause, "listen %s: %s", o->path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	close(fd);
	unlink(o->path);
	return -1;
}

struct control *
control_new(struct event_base *base, const struct control_options *o,
    const struct control_method *methods, size_t nmethods, void *arg,
    char **cause)
{
	struct control	*ctl;

	*cause = NULL;
	ctl = xcalloc(1, sizeof *ctl);
	ctl->base = base;
	ctl->methods = methods;
	ctl->nmethods = nmethods;
	ctl->arg = arg;
	ctl->max_conns = o->max_conns > 0 ? o->max_conns : 128;
	ctl->idle_timeout_s = o->idle_timeout_s > 0 ? o->idle_timeout_s : 300;
	if (o->admin_group != NULL) {
		if (control_group(o->admin_group, &ctl->admin_gid, cause) == -1)
			goto fail;
		ctl->has_admin_gid = 1;
	}
	if (control_bind(ctl, o, cause) == -1)
		goto fail;
	ctl->path = xstrdup(o->path);
	return ctl;
fail:
	free(ctl);
	return NULL;
}

void
control_free(struct control *ctl)
{
	if (ctl == NULL)
		return;
	while (ctl->conns != NULL)
		control_conn_free(ctl->conns);
	evconnlistener_free(ctl->listener);
	if (unlink(ctl->path) == -1 && errno != ENOENT)
		log_warn("remove %s", ctl->path);
	free(ctl->path);
	free(ctl);
}

/*
 * control.h: the Unix control socket: NDJSON framing, peer credentials,
 * dispatch to method handlers (DESIGN.md section 8).
 */
#ifndef SQCRON_CONTROL_H
#define SQCRON_CONTROL_H

#include <sys/types.h>

#include <jansson.h>

struct event_base;
struct control;
struct control_req;

/* Who is on the other end, from SO_PEERCRED at accept time. */
struct control_peer {
	uid_t	uid;
	gid_t	gid;
	pid_t	pid;
	int	admin;	/* root, the daemon's user, or in admin_group */
};

/*
 * A method handler.  It must finish the request, now or later, with
 * exactly one control_reply or control_error; streaming methods send
 * control_event lines first.  params is always an object (borrowed).
 */
typedef void	(*control_handler)(struct control_req *, json_t *params,
		    void *arg);

struct control_method {
	const char	*name;
	control_handler	 handler;
	int		 admin_only;	/* refuse non-admin peers */
};

struct control_options {
	const char	*path;
	mode_t		 mode;
	const char	*group;		/* socket's group, NULL: unchanged */
	const char	*admin_group;	/* NULL: none */
	int		 max_conns;	/* 0: 128 */
	int		 idle_timeout_s;	/* 0: 300 */
};

/* Bind the socket (removing a stale one) and start accepting. */
struct control	*control_new(struct event_base *, const struct control_options *,
		    const struct control_method *, size_t, void *arg,
		    char **cause);
/* Close every connection and remove the socket; accepts NULL. */
void		 control_free(struct control *);

/* Finish a request with a result (reference stolen). */
void		 control_reply(struct control_req *, json_t *result);
/* Finish a request with an error code (protocol.h ERR_*) and message. */
void		 control_error(struct control_req *, const char *code,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Send one streaming event line (reference stolen). */
void		 control_event(struct control_req *, json_t *event);
/* The requesting peer. */
const struct control_peer *control_req_peer(const struct control_req *);
/* The method name of the request. */
const char	*control_req_method(const struct control_req *);
/*
 * Called if the client goes away before the request is finished; the
 * request is then freed by control and must not be used again.
 */
void		 control_req_on_abort(struct control_req *,
		    void (*)(void *), void *);
/* Bytes queued for the client and not yet written to its socket. */
size_t		 control_req_pending(const struct control_req *);
/*
 * Streaming: called each time what is queued for the client falls to
 * CONTROL_DRAIN_LOW bytes or below after a write (NULL: no more).  A
 * handler that holds back while control_req_pending is high resumes here.
 */
#define CONTROL_DRAIN_LOW	(64 * 1024)
void		 control_req_on_drain(struct control_req *,
		    void (*)(void *), void *);

#endif

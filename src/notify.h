/*
 * notify.h: delivery of the notification outbox (DESIGN.md section 10)
 * by HTTP POST through libcurl's multi interface on the daemon's libevent
 * loop.  Rows come from outbox.c; this module sends them, deletes what a
 * 2xx acknowledged, and retries the rest with backoff until
 * notify_retries are spent (the row is then dead, and logged).
 */
#ifndef SQCRON_NOTIFY_H
#define SQCRON_NOTIFY_H

#include <stdint.h>

struct config;
struct event_base;
struct notify;
struct store;

/* At most this many deliveries in flight at once. */
#define NOTIFY_MAX_TRANSFERS	8

/*
 * A deliverer on the loop, idle until notify_start; initializes libcurl
 * (curl_global_init), so create it before any thread.  NULL with *cause
 * when libcurl cannot be set up.
 */
struct notify	*notify_new(struct event_base *, struct store *,
		    const struct config *, char **cause);
/*
 * Abandon the deliveries in flight (their rows stay pending and are
 * tried again at the next start), free everything and clean libcurl up;
 * accepts NULL.
 */
void		 notify_free(struct notify *);
/* A new configuration: notify_timeout and notify_retries. */
void		 notify_set_config(struct notify *, const struct config *);
/*
 * Start delivering: every pending row, including those whose backoff or
 * attempt was cut by a stop, is due now.
 */
void		 notify_start(struct notify *);
/* Rows were added: look at the outbox on the next turn of the loop. */
void		 notify_kick(struct notify *);
/* Pending rows (for sqcron_notifications_pending); -1 when unknown. */
int64_t		 notify_pending(struct notify *);

#endif

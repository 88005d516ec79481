/*
 * api.c: the protocol methods.  JSON in, JSON out.
 *
 * Each handler checks its params (wrong types are invalid_argument with
 * the parameter named), calls into the daemon's modules, and answers
 * through control_reply/control_error.  It never touches sqlite3 or
 * fork: the store and the runner do.  Results have the shapes of
 * DESIGN.md section 8.
 */

#include <sys/types.h>

#include <jansson.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "control.h"
#include "protocol.h"

#ifndef SQCRON_VERSION
#define SQCRON_VERSION "0"
#endif

static int64_t
api_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ping: the daemon is up; who and since when. */
static void
api_ping(struct control_req *req, json_t *params, void *arg)
{
	struct api	*api = arg;

	control_reply(req, json_pack("{s:b,s:s,s:i,s:I,s:I,s:s}",
	    "pong", 1, "version", SQCRON_VERSION, "protocol", PROTOCOL_VERSION,
	    "pid", (json_int_t)getpid(),
	    "uptime_ms", (json_int_t)(api_now() - api->started_at),
	    "timezone", api->zone));
}

static const struct control_method methods[] = {
	{ "ping", api_ping, 0 },
};

const struct control_method *
api_methods(size_t *n)
{
	*n = sizeof methods / sizeof methods[0];
	return methods;
}

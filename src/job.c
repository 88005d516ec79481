/*
 * job.c: names, validation and memory of jobs and runs (job.h).
 *
 * The wire names here are normative (DESIGN.md sections 3 and 5): the
 * store keeps them as text, the protocol sends them, the client shows
 * them.  Nothing here does I/O.
 */

#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "xmalloc.h"

static const char *const state_names[] = {
	"queued", "running", "succeeded", "failed", "timeout", "oom",
	"crashed", "killed", "lost", "spawn_error", "skipped", "missed",
};
static const char *const trigger_names[] = {
	"schedule", "retry", "manual", "replay", "catchup", "reboot",
};
static const char *const resolution_names[] = {
	NULL, "retrying", "superseded", "open", "replayed", "acked",
};
static const char *const overlap_names[] = {
	"skip", "queue", "replace", "allow",
};
static const char *const catchup_names[] = {
	"skip", "latest", "all",
};

#define NITEMS(a) (sizeof (a) / sizeof (a)[0])

static int
job_lookup(const char *const *names, size_t n, const char *s, int *v)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (names[i] != NULL && strcmp(names[i], s) == 0) {
			*v = (int)i;
			return 0;
		}
	}
	return -1;
}

const char *
run_state_name(enum run_state s)
{
	return (size_t)s < NITEMS(state_names) ? state_names[s] : "unknown";
}

int
run_state_parse(const char *s, enum run_state *v)
{
	int	i;

	if (job_lookup(state_names, NITEMS(state_names), s, &i) != 0)
		return -1;
	*v = (enum run_state)i;
	return 0;
}

const char *
run_trigger_name(enum run_trigger t)
{
	return (size_t)t < NITEMS(trigger_names) ? trigger_names[t] :
	    "unknown";
}

int
run_trigger_parse(const char *s, enum run_trigger *v)
{
	int	i;

	if (job_lookup(trigger_names, NITEMS(trigger_names), s, &i) != 0)
		return -1;
	*v = (enum run_trigger)i;
	return 0;
}

const char *
run_resolution_name(enum run_resolution r)
{
	return (size_t)r < NITEMS(resolution_names) ? resolution_names[r] :
	    NULL;
}

int
run_resolution_parse(const char *s, enum run_resolution *v)
{
	int	i;

	if (job_lookup(resolution_names, NITEMS(resolution_names), s, &i) != 0)
		return -1;
	*v = (enum run_resolution)i;
	return 0;
}

const char *
job_overlap_name(enum job_overlap o)
{
	return (size_t)o < NITEMS(overlap_names) ? overlap_names[o] :
	    "unknown";
}

int
job_overlap_parse(const char *s, enum job_overlap *v)
{
	int	i;

	if (job_lookup(overlap_names, NITEMS(overlap_names), s, &i) != 0)
		return -1;
	*v = (enum job_overlap)i;
	return 0;
}

const char *
job_catchup_name(enum job_catchup c)
{
	return (size_t)c < NITEMS(catchup_names) ? catchup_names[c] :
	    "unknown";
}

int
job_catchup_parse(const char *s, enum job_catchup *v)
{
	int	i;

	if (job_lookup(catchup_names, NITEMS(catchup_names), s, &i) != 0)
		return -1;
	*v = (enum job_catchup)i;
	return 0;
}

int
run_state_is_failure(enum run_state s)
{
	return s == RUN_MISSED || (run_state_is_ended(s) && s != RUN_SUCCEEDED);
}

int
run_state_is_ended(enum run_state s)
{
	return s >= RUN_SUCCEEDED && s <= RUN_SPAWN_ERROR;
}

int
job_name_valid(const char *name)
{
	size_t	n;

	n = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-");
	return n > 0 && n <= JOB_NAME_MAX && name[n] == '\0';
}

void
job_spec_init(struct job_spec *js)
{
	memset(js, 0, sizeof *js);
	js->timeout_ms = JOB_UNSET;
	js->memory = JOB_UNSET;
	js->cpu_ms = JOB_UNSET;
	js->nofile = JOB_UNSET;
	js->nproc = JOB_UNSET;
	js->nice = JOB_NICE_UNSET;
	js->rlimit_as = JOB_UNSET;
	js->kill_grace_ms = JOB_UNSET;
	js->kill_orphans = JOB_UNSET;
	js->overlap = JOB_UNSET;
	js->retries = JOB_UNSET;
	js->backoff_ms = JOB_UNSET;
	js->backoff_max_ms = JOB_UNSET;
	js->catchup = JOB_UNSET;
	js->starting_deadline_ms = JOB_UNSET;
	js->jitter_ms = JOB_UNSET;
	js->output_max = JOB_UNSET;
	js->keep_runs = JOB_UNSET;
	js->keep_days_ms = JOB_UNSET;
	js->pause_after = JOB_UNSET;
	js->stale_after_ms = JOB_UNSET;
}

void
job_spec_clear(struct job_spec *js)
{
	size_t	i;

	if (js == NULL)
		return;
	free(js->name);
	free(js->schedule);
	free(js->command);
	free(js->timezone);
	free(js->user);
	for (i = 0; i < js->nenv; i++)
		free(js->env[i]);
	free(js->env);
	free(js->workdir);
	free(js->no_retry_exit);
	free(js->notify);
	free(js->notify_on);
	free(js->ping_url);
	free(js->mailto);
	free(js->description);
	free(js->stdin_data);
	job_spec_init(js);
}

static char *
job_strdup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
job_spec_copy(struct job_spec *dst, const struct job_spec *src)
{
	size_t	i;

	*dst = *src;
	dst->name = job_strdup(src->name);
	dst->schedule = job_strdup(src->schedule);
	dst->command = job_strdup(src->command);
	dst->timezone = job_strdup(src->timezone);
	dst->user = job_strdup(src->user);
	dst->env = src->nenv > 0 ?
	    xreallocarray(NULL, src->nenv, sizeof *dst->env) : NULL;
	for (i = 0; i < src->nenv; i++)
		dst->env[i] = xstrdup(src->env[i]);
	dst->workdir = job_strdup(src->workdir);
	dst->no_retry_exit = job_strdup(src->no_retry_exit);
	dst->notify = job_strdup(src->notify);
	dst->notify_on = job_strdup(src->notify_on);
	dst->ping_url = job_strdup(src->ping_url);
	dst->mailto = job_strdup(src->mailto);
	dst->description = job_strdup(src->description);
	dst->stdin_data = job_strdup(src->stdin_data);
}

static int
job_str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
job_spec_equal(const struct job_spec *a, const struct job_spec *b)
{
	size_t	i;

	if (a->nenv != b->nenv)
		return 0;
	for (i = 0; i < a->nenv; i++)
		if (strcmp(a->env[i], b->env[i]) != 0)
			return 0;
	return job_str_equal(a->name, b->name) &&
	    job_str_equal(a->schedule, b->schedule) &&
	    job_str_equal(a->command, b->command) &&
	    job_str_equal(a->timezone, b->timezone) &&
	    job_str_equal(a->user, b->user) &&
	    job_str_equal(a->workdir, b->workdir) &&
	    a->timeout_ms == b->timeout_ms && a->memory == b->memory &&
	    a->cpu_ms == b->cpu_ms && a->nofile == b->nofile &&
	    a->nproc == b->nproc && a->nice == b->nice &&
	    a->rlimit_as == b->rlimit_as &&
	    a->kill_grace_ms == b->kill_grace_ms &&
	    a->kill_orphans == b->kill_orphans && a->overlap == b->overlap &&
	    a->retries == b->retries && a->backoff_ms == b->backoff_ms &&
	    a->backoff_max_ms == b->backoff_max_ms &&
	    job_str_equal(a->no_retry_exit, b->no_retry_exit) &&
	    a->catchup == b->catchup &&
	    a->starting_deadline_ms == b->starting_deadline_ms &&
	    a->jitter_ms == b->jitter_ms && a->output_max == b->output_max &&
	    a->keep_runs == b->keep_runs &&
	    a->keep_days_ms == b->keep_days_ms &&
	    a->pause_after == b->pause_after &&
	    a->stale_after_ms == b->stale_after_ms &&
	    job_str_equal(a->notify, b->notify) &&
	    job_str_equal(a->notify_on, b->notify_on) &&
	    job_str_equal(a->ping_url, b->ping_url) &&
	    job_str_equal(a->mailto, b->mailto) &&
	    job_str_equal(a->description, b->description) &&
	    job_str_equal(a->stdin_data, b->stdin_data);
}

void
run_clear(struct run *r)
{
	if (r == NULL)
		return;
	free(r->job);
	free(r->reason);
	r->job = NULL;
	r->reason = NULL;
}

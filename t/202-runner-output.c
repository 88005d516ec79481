/*
 * 202-runner-output: output capture.  A job writing 1 GB is drained
 * without blocking it or growing the daemon (this process's RSS is
 * sampled from a timer during the run), its size counted exactly and only
 * head + tail kept; small patterned outputs check which bytes are kept
 * around the "[... N bytes omitted ...]" marker, at the boundaries; a
 * survivor holding the pipe open keeps writing after the run ended.
 */

#include <sys/resource.h>
#include <sys/types.h>

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job.h"
#include "runner.h"
#include "tap.h"

#define SAFETY_MS	60000
#define GIGA		INT64_C(1000000000)

struct outcome {
	int			 done;
	struct runner_result	 res;
	char			*output;
	int64_t			 live_bytes;
};

static struct event_base	*base;
static struct runner		*rn;
static int64_t			 next_id = 1;
static long			 rss_max_kb;
static long			 rss_samples;

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long
rss_kb(void)
{
	FILE	*f;
	long	 size = 0, resident = 0;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void
rss_cb(evutil_socket_t fd, short events, void *arg)
{
	long	 kb = rss_kb();

	(void)fd;
	(void)events;
	(void)arg;
	if (kb > rss_max_kb)
		rss_max_kb = kb;
	rss_samples++;
}

static void
done_cb(const struct runner_result *res, void *arg)
{
	struct outcome	*o = arg;

	o->res = *res;
	o->output = malloc(res->output_len + 1);
	memcpy(o->output, res->output, res->output_len);
	o->output[res->output_len] = '\0';
	o->res.output = o->output;
	o->done = 1;
}

static void
output_cb(int64_t run_id, const char *buf, size_t len, void *arg)
{
	struct outcome	*o = arg;

	(void)run_id;
	(void)buf;
	o->live_bytes += (int64_t)len;
}

static void
job_init(struct runner_job *j, const char *command, int64_t output_max)
{
	memset(j, 0, sizeof *j);
	j->run_id = next_id++;
	j->job = "t202";
	j->command = command;
	j->workdir = "/";
	j->timeout_ms = 60000;
	j->kill_grace_ms = 1000;
	j->memory = JOB_UNSET;
	j->cpu_ms = JOB_UNSET;
	j->nofile = JOB_UNSET;
	j->nproc = JOB_UNSET;
	j->rlimit_as = JOB_UNSET;
	j->nice = JOB_NICE_UNSET;
	j->owner = JOB_UNSET;
	j->kill_orphans = 1;
	j->output_max = output_max;
	j->scheduled_at = JOB_UNSET;
	j->replay_of = JOB_UNSET;
}

static void
run(const struct runner_job *j, struct outcome *o)
{
	char	*cause = NULL;
	int64_t	 end = now_ms() + SAFETY_MS;

	memset(o, 0, sizeof *o);
	if (runner_spawn(rn, j, done_cb, NULL, output_cb, o, &cause) != 0)
		BAIL_OUT("runner_spawn: %s", cause);
	while (!o->done && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	if (!o->done)
		BAIL_OUT("run not reported within %d ms", SAFETY_MS);
}

static void
outcome_clear(struct outcome *o)
{
	free(o->output);
	memset(o, 0, sizeof *o);
}

static void
loop_for(int64_t ms)
{
	struct timeval	 tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Is this process run by valgrind (whose RSS is its own, not ours)? */
static int
under_valgrind(void)
{
	const char	*p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL;
}

/* "1\n2\n...\nN\n", as seq writes it. */
static char *
seq_text(int n, size_t *len)
{
	char	*s, *p;
	int	 i;

	s = p = malloc((size_t)n * 12 + 1);
	for (i = 1; i <= n; i++)
		p += snprintf(p, 12, "%d\n", i);
	*len = (size_t)(p - s);
	return s;
}

/* What the runner should keep of text with output_max max. */
static char *
expected(const char *text, size_t len, size_t max, size_t *elen)
{
	size_t	 head = max / 2, tail = max - max / 2;
	char	*e, marker[64];
	int	 m;

	if (len <= max) {
		*elen = len;
		e = malloc(len + 1);
		memcpy(e, text, len);
		e[len] = '\0';
		return e;
	}
	m = snprintf(marker, sizeof marker, "\n[... %zu bytes omitted ...]\n",
	    len - max);
	*elen = head + (size_t)m + tail;
	e = malloc(*elen + 1);
	memcpy(e, text, head);
	memcpy(e + head, marker, (size_t)m);
	memcpy(e + head + (size_t)m, text + len - tail, tail);
	e[*elen] = '\0';
	return e;
}

static void
check_kept(const char *what, const char *cmd, const char *text, size_t len,
    size_t max)
{
	struct runner_job	 j;
	struct outcome		 o;
	char			*e;
	size_t			 elen;

	job_init(&j, cmd, (int64_t)max);
	run(&j, &o);
	e = expected(text, len, max, &elen);
	is_int(o.res.output_bytes, (int64_t)len, "%s: output_bytes", what);
	is_int((int64_t)o.res.output_len, (int64_t)elen, "%s: kept length",
	    what);
	ok(o.res.output_len == elen && memcmp(o.output, e, elen) == 0,
	    "%s: head, marker and tail are the right bytes", what);
	if (o.res.output_len != elen || memcmp(o.output, e, elen) != 0) {
		diag("got: %.200s", o.output);
		diag("expected: %.200s", e);
	}
	free(e);
	outcome_clear(&o);
}

static void
test_patterns(void)
{
	char	*text, cmd[64];
	size_t	 len;

	text = seq_text(20000, &len);
	check_kept("seq 20000, output_max 1000", "seq 1 20000", text, len,
	    1000);
	check_kept("seq 20000, output_max 1001 (odd)", "seq 1 20000", text,
	    len, 1001);
	check_kept("seq 20000, output_max 256K (all kept)", "seq 1 20000",
	    text, len, 256 * 1024);
	check_kept("seq 20000, output_max 0 (only the count)", "seq 1 20000",
	    text, len, 0);
	check_kept("exactly output_max", "seq 1 20000", text, len, len);
	check_kept("output_max + 1", "seq 1 20000", text, len, len - 1);
	free(text);

	/* Written in small pieces so the ring wraps many times. */
	text = seq_text(3000, &len);
	snprintf(cmd, sizeof cmd, "for i in $(seq 1 3000); do echo $i; done");
	check_kept("3000 small writes, output_max 100", cmd, text, len, 100);
	free(text);
}

static void
test_giga(void)
{
	struct runner_job	 j;
	struct outcome		 o;
	struct event		*ev;
	struct timeval		 tv = { 0, 50000 };
	struct rusage		 ru0, ru1;
	char			 marker[64];
	size_t			 mlen, i;
	long			 before;
	int64_t			 t0, ms, cpu;
	int			 zeros = 1;

	before = rss_kb();
	ev = event_new(base, -1, EV_PERSIST, rss_cb, NULL);
	event_add(ev, &tv);
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_ms();
	job_init(&j, "head -c 1000000000 /dev/zero", JOB_UNSET);
	run(&j, &o);
	ms = now_ms() - t0;
	getrusage(RUSAGE_SELF, &ru1);
	event_free(ev);
	cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1000 +
	    (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1000 +
	    (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1000 +
	    (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1000;

	is(run_state_name(o.res.state), "succeeded", "1 GB: succeeded");
	is_int(o.res.output_bytes, GIGA, "1 GB: output_bytes exact");
	is_int(o.live_bytes, GIGA, "1 GB: the live callback saw every byte");
	mlen = (size_t)snprintf(marker, sizeof marker,
	    "\n[... %lld bytes omitted ...]\n",
	    (long long)(GIGA - 256 * 1024));
	is_int((int64_t)o.res.output_len, 256 * 1024 + (int64_t)mlen,
	    "1 GB: kept 256K (the default output_max) plus the marker");
	ok(o.res.output_len > 128 * 1024 + mlen &&
	    memcmp(o.output + 128 * 1024, marker, mlen) == 0,
	    "1 GB: marker between head and tail");
	for (i = 0; i < o.res.output_len; i++) {
		if ((i < 128 * 1024 || i >= 128 * 1024 + mlen) &&
		    o.output[i] != '\0')
			zeros = 0;
	}
	ok(zeros, "1 GB: head and tail hold the job's bytes");
	diag("1 GB in %lld ms, this process used %lld ms of CPU; RSS before "
	    "%ld kB, max during %ld kB (%ld samples)", (long long)ms,
	    (long long)cpu, before, rss_max_kb, rss_samples);
	ok(rss_samples > 0, "1 GB: RSS sampled during the run");
	if (under_valgrind()) {
		skip(1, "valgrind: RSS is valgrind's own");
	} else {
		ok(rss_max_kb > 0 && rss_max_kb < 20 * 1024,
		    "1 GB: this process stayed under 20 MB RSS (%ld kB)",
		    rss_max_kb);
	}
	ok(rss_max_kb - before < 8 * 1024,
	    "1 GB: RSS grew by less than 8 MB (%ld kB)", rss_max_kb - before);
	outcome_clear(&o);
}

static void
test_survivor(void)
{
	struct runner_job	 j;
	struct outcome		 o;
	pid_t			 pid;
	char			*p;

	job_init(&j, "sh -c 'while :; do echo x; sleep 0.02; done' & "
	    "echo pid=$!", 4096);
	j.kill_orphans = 0;
	run(&j, &o);
	is(run_state_name(o.res.state), "succeeded",
	    "survivor writing to the pipe: the run ends");
	p = strstr(o.output, "pid=");
	pid = p != NULL ? (pid_t)strtol(p + 4, NULL, 10) : 0;
	loop_for(500);
	ok(pid > 0 && kill(pid, 0) == 0,
	    "the survivor keeps writing without blocking or SIGPIPE");
	if (pid > 0)
		kill(pid, SIGKILL);
	loop_for(200);
	ok(pid > 0 && kill(pid, 0) == -1 && errno == ESRCH,
	    "the survivor, killed, is reaped");
	outcome_clear(&o);
}

int
main(void)
{
	struct runner_config	 cfg;
	char			*cause = NULL;
	int64_t			 t0 = now_ms();

	if ((base = event_base_new()) == NULL)
		BAIL_OUT("event_base_new");
	memset(&cfg, 0, sizeof cfg);
	cfg.use_cgroup = 1;
	if ((rn = runner_new(base, &cfg, &cause)) == NULL)
		BAIL_OUT("runner_new: %s", cause);

	test_patterns();
	test_giga();
	test_survivor();

	runner_free(rn);
	event_base_free(base);
	diag("total %lld ms", (long long)(now_ms() - t0));
	return done_testing();
}

/*
 * bench-prune: how long does retention hold the event loop?
 *
 * Builds a database of 1,000,000 runs in a temporary directory: 100 jobs
 * with 10,000 runs each, fires one every 30 minutes back from now (so a
 * little over half are older than the default keep_days of 90 days),
 * every 20th an open failure, every run with a few hundred bytes of
 * output.  The jobs are added through the store; the runs are inserted
 * in bulk with one SQL statement each (a fixture, not the daemon's path:
 * the store would take minutes to build it run by run), and checks that
 * on a table this size every retention statement still searches an
 * index (EXPLAIN QUERY PLAN).  On that full table it also times
 * run.list's query for one job and 50 rows (2,000 calls: p50, p99, max)
 * and prints its plan.
 *
 * Then, on a libevent loop with the daemon's defaults (keep_runs 1000,
 * keep_days 90d), a dry run and then a real prune request, while a 1 ms
 * timer measures the loop: the longest gap between two of its callbacks,
 * less the 1 ms, is the longest time the loop was held.  Prints the
 * counts, the total times, the longest pause, how many pauses passed 5,
 * 10 and 20 ms, the longest single prune step, the bytes the process
 * wrote (wchar of /proc/self/io: the WAL and checkpoints), and what one
 * run's end costs once every job is at its limit (the bounds and a
 * one-run delete).
 *
 *	bench-prune [RUNS]	(default 1000000)
 */

#include <sys/stat.h>

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "job.h"
#include "log.h"
#include "prune.h"
#include "sched.h"
#include "store.h"
#include "xmalloc.h"

#define NJOBS		100
#define STEP_MS		(30 * 60 * 1000)

static char		 dir[256];
static char		 path[512];

struct probe {
	struct event_base	*base;
	struct event		*tick;
	int64_t			 last_us;
	int64_t			 worst_us;
	uint64_t		 over[3];	/* pauses over 5, 10, 20 ms */
	uint64_t		 ticks;
	int			 done;
	struct prune_result	 res;
};

static int64_t
mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
cleanup(void)
{
	static const char *const files[] = { "b.db", "b.db-wal", "b.db-shm" };
	char	p[600];
	size_t	i;

	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void
raw_exec(sqlite3 *db, const char *sql)
{
	char	*err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "bench-prune: %s\n", err);
		exit(1);
	}
}

/* The fixture: NJOBS jobs through the store, nruns runs in bulk. */
static void
build(struct store *st, long nruns)
{
	struct job_row	 jr;
	sqlite3		*db;
	char		*cause = NULL, name[32], sql[1024];
	int64_t		 now = sched_now();
	int		 i;

	for (i = 0; i < NJOBS; i++) {
		store_job_row_init(&jr);
		snprintf(name, sizeof name, "job-%03d", i);
		jr.spec.name = xstrdup(name);
		jr.spec.schedule = xstrdup("*/30 * * * *");
		jr.spec.command = xstrdup("true");
		jr.source = xstrdup("api");
		if (store_job_add(st, &jr, now, &cause) != STORE_OK) {
			fprintf(stderr, "bench-prune: %s\n", cause);
			exit(1);
		}
		store_job_row_clear(&jr);
	}
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "bench-prune: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	sqlite3_busy_timeout(db, 10000);
	raw_exec(db, "BEGIN");
	/* Run x of job (x % NJOBS) + 1, its fire k = x / NJOBS steps ago. */
	snprintf(sql, sizeof sql,
	    "INSERT INTO runs (job_id, job_version, scheduled_at, trigger, "
	    "attempt, state, exit_code, reason, queued_at, started_at, "
	    "ended_at, duration_ms, output_bytes, resolution) "
	    "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c "
	    "WHERE x < %ld - 1) "
	    "SELECT 1 + x %% %d, 1, %" PRId64 " - (x / %d) * %d, 'schedule', 1, "
	    "CASE WHEN x %% 20 = 7 THEN 'failed' ELSE 'succeeded' END, "
	    "CASE WHEN x %% 20 = 7 THEN 1 ELSE 0 END, "
	    "CASE WHEN x %% 20 = 7 THEN 'exit status 1' END, "
	    "%" PRId64 " - (x / %d) * %d, %" PRId64 " - (x / %d) * %d, "
	    "%" PRId64 " - (x / %d) * %d + 1500, 1500, 300, "
	    "CASE WHEN x %% 20 = 7 THEN 'open' END FROM c ORDER BY x DESC",
	    nruns, NJOBS, now, NJOBS, STEP_MS, now, NJOBS, STEP_MS, now,
	    NJOBS, STEP_MS, now, NJOBS, STEP_MS);
	raw_exec(db, sql);
	raw_exec(db, "INSERT INTO run_output (run_id, head, tail, omitted) "
	    "SELECT id, randomblob(150), randomblob(150), 0 FROM runs");
	raw_exec(db, "COMMIT");
	raw_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	sqlite3_close(db);
}

static void
probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*pr = arg;
	int64_t		 now = mono_us();

	int64_t		 gap = pr->last_us != 0 ? now - pr->last_us - 1000 : 0;

	if (gap > pr->worst_us)
		pr->worst_us = gap;
	pr->over[0] += gap > 5000;
	pr->over[1] += gap > 10000;
	pr->over[2] += gap > 20000;
	pr->last_us = now;
	pr->ticks++;
}

static void
done_cb(const struct prune_result *res, const char *error, void *arg)
{
	struct probe	*pr = arg;

	if (error != NULL) {
		fprintf(stderr, "bench-prune: %s\n", error);
		exit(1);
	}
	pr->done = 1;
	pr->res.total = res->total;
	pr->res.njobs = res->njobs;
	event_base_loopbreak(pr->base);
}

/* Bytes this process has written through system calls. */
static long long
written(void)
{
	FILE		*f;
	char		 line[128];
	long long	 v = -1;

	if ((f = fopen("/proc/self/io", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "wchar: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* One request on the loop, measured. */
static void
measure(struct event_base *base, struct prune *p, int dry_run,
    const char *what)
{
	struct timeval	 ms = { 0, 1000 };
	struct probe	 pr;
	uint64_t	 steps0, steps;
	int64_t		 t0, longest;
	long long	 w0;

	memset(&pr, 0, sizeof pr);
	pr.base = base;
	pr.tick = event_new(base, -1, EV_PERSIST, probe_cb, &pr);
	event_add(pr.tick, &ms);
	prune_stats(p, &steps0, &longest);
	w0 = written();
	t0 = mono_us();
	prune_request(p, dry_run, done_cb, &pr);
	while (!pr.done)
		event_base_loop(base, EVLOOP_ONCE);
	t0 = mono_us() - t0;
	prune_stats(p, &steps, &longest);
	event_free(pr.tick);
	printf("%-9s %7" PRId64 " runs of %3zu jobs in %6.2f s "
	    "(%6.0f runs/s, %" PRIu64 " steps, longest %.2f ms)\n", what,
	    pr.res.total, pr.res.njobs, (double)t0 / 1e6,
	    (double)pr.res.total * 1e6 / (double)t0, steps - steps0,
	    (double)longest / 1e3);
	printf("          loop: longest pause %.2f ms; pauses over 5 ms: "
	    "%" PRIu64 ", 10 ms: %" PRIu64 ", 20 ms: %" PRIu64 " (of %" PRIu64
	    " probes); wrote %.1f MB\n", (double)pr.worst_us / 1e3, pr.over[0],
	    pr.over[1], pr.over[2], pr.ticks, (double)(written() - w0) / 1e6);
}

/* What a run's end costs once a job is at its limit. */
static void
steady(struct store *st, struct config *conf)
{
	struct store_retention	 r;
	struct run		 run;
	int64_t			 t0, worst = 0, sum = 0, now = sched_now();
	size_t			 n;
	int			 i, bad = 0;

	for (i = 1; i <= NJOBS; i++) {
		memset(&run, 0, sizeof run);
		run.job_id = i;
		run.job_version = 1;
		run.scheduled_at = now + 1000;
		run.trigger = TRIGGER_MANUAL;
		run.attempt = 1;
		run.replay_of = JOB_UNSET;
		run.state = RUN_SUCCEEDED;
		run.exit_code = 0;
		run.queued_at = run.started_at = now;
		run.ended_at = now + 1;
		run.duration_ms = 1;
		run.pid = run.max_rss_kb = run.user_cpu_ms = JOB_UNSET;
		run.sys_cpu_ms = run.output_bytes = JOB_UNSET;
		store_run_insert(st, &run, NULL);
		t0 = mono_us();
		store_prune_bounds(st, i, conf->keep_runs, now -
		    conf->keep_days_ms, 1, &r, NULL);
		store_prune_runs(st, &r, 64, &n, NULL);
		t0 = mono_us() - t0;
		sum += t0;
		if (t0 > worst)
			worst = t0;
		bad += n != 1;
	}
	printf("a run's end, a job at its limit: %.0f us (worst %.0f us) to "
	    "read its bounds and delete its oldest run\n", (double)sum / NJOBS,
	    (double)worst);
	if (bad > 0)
		printf("  (in %d jobs none went: the job is within "
		    "keep_runs, or its oldest run is an open failure)\n", bad);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * run.list's query for one job, 50 rows, on the full table (issue 5's
 * target: p99 under 10 ms, through an index): 2,000 calls over the jobs.
 */
static void
run_list_latency(struct store *st)
{
	struct store_run_filter	 f;
	struct run		*runs;
	char			*plan = NULL, *cause = NULL, *nl;
	int64_t			 t[2000], t0;
	size_t			 n, i, rows = 0;

	store_run_filter_init(&f);
	f.job_id = 1;
	f.limit = 50;
	if (store_run_list_plan(st, &f, &plan, &cause) == STORE_OK) {
		for (nl = plan; (nl = strchr(nl, '\n')) != NULL; )
			*nl = ';';
		printf("run.list, one job, 50 rows: plan %s\n", plan);
		free(plan);
	} else
		free(cause);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		f.job_id = (int64_t)(i % NJOBS) + 1;
		t0 = mono_us();
		if (store_run_list(st, &f, &runs, &n, NULL) == STORE_OK) {
			rows += n;
			store_runs_free(runs, n);
		}
		t[i] = mono_us() - t0;
	}
	qsort(t, sizeof t / sizeof t[0], sizeof t[0], cmp_i64);
	printf("run.list, one job, 50 rows, %zu calls on %zu rows returned: "
	    "p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", sizeof t / sizeof t[0],
	    rows, (double)t[999] / 1000, (double)t[1979] / 1000,
	    (double)t[1999] / 1000);
}

int
main(int argc, char **argv)
{
	struct event_base	*base;
	struct store		*st;
	struct config		*conf;
	struct prune		*p;
	struct stat		 sb;
	const char		*tmp = getenv("TMPDIR");
	char			*cause = NULL, *end, *plan = NULL;
	long			 nruns = 1000000;
	int64_t			 t0;

	if (argc > 1) {
		nruns = strtol(argv[1], &end, 10);
		if (*end != '\0' || nruns < NJOBS) {
			fprintf(stderr, "usage: bench-prune [RUNS]\n");
			return 2;
		}
	}
	log_init("bench-prune", 1, LOG_LEVEL_WARN, 0);
	snprintf(dir, sizeof dir, "%s/sqcron-bench-prune.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "bench-prune: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	atexit(cleanup);
	snprintf(path, sizeof path, "%s/b.db", dir);
	if ((st = store_open(path, 0, &cause)) == NULL) {
		fprintf(stderr, "bench-prune: %s\n", cause);
		return 1;
	}
	t0 = mono_us();
	build(st, nruns);
	stat(path, &sb);
	printf("built %ld runs of %d jobs in %.1f s (%.0f MB), in %s\n",
	    nruns, NJOBS, (double)(mono_us() - t0) / 1e6,
	    (double)sb.st_size / 1e6, dir);

	if (store_prune_plan(st, &plan, &cause) != STORE_OK) {
		fprintf(stderr, "bench-prune: %s\n", cause);
		return 1;
	}
	printf("query plans: %s\n", strstr(plan, "SCAN r\n") != NULL ||
	    strstr(plan, "SCAN runs\n") != NULL ? "a full scan of runs!" :
	    "every retention statement searches an index");
	free(plan);

	run_list_latency(st);

	conf = config_default();
	base = event_base_new();
	p = prune_new(base, st, conf);
	measure(base, p, 1, "dry run:");
	measure(base, p, 0, "pruned:");
	measure(base, p, 0, "again:");
	steady(st, conf);

	prune_free(p);
	event_base_free(base);
	config_free(conf);
	store_close(st);
	return 0;
}

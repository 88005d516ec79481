/*
 * 011-sched: the timer heap on a real event loop: per-second fires on
 * time, ordering over many jobs, backlogs after a jump, removal inside a
 * callback, errors.
 */

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"
#include "tz.h"
#include "tap.h"

#define MAXFIRES 8192

struct fire {
	int64_t		job, at, now;
	uint64_t	skipped;
	int		newest;
};

static struct fire	 fires[MAXFIRES];
static int		 nfires;
static struct sched	*S;
static int64_t		 remove_on_fire = -1;

static void
fire_cb(int64_t job, int64_t at, uint64_t skipped, int newest, int64_t now,
    void *arg)
{
	if (nfires < MAXFIRES) {
		fires[nfires].job = job;
		fires[nfires].at = at;
		fires[nfires].now = sched_now();
		fires[nfires].skipped = skipped;
		fires[nfires].newest = newest;
		nfires++;
	}
	(void)now;
	if (job == remove_on_fire)
		sched_remove(S, job);
}

static void
run_for(struct event_base *base, int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

int
main(void)
{
	struct event_base	*base = event_base_new();
	struct tz		*utc;
	char			*cause = NULL;
	int64_t			 now, worst = 0, late;
	int			 i, n, order_ok, counts[100];

	utc = tz_load("UTC", &cause);
	S = sched_new(base, utc, fire_cb, NULL, NULL, &cause);
	if (S == NULL)
		BAIL_OUT("sched_new: %s", cause);

	/* Per-second: three fires in ~3.5 s, each on its second. */
	ok(sched_set(S, 1, "* * * * * *", NULL, 0, sched_now(), &cause) == 0,
	    "per-second job scheduled");
	run_for(base, 3500);
	ok(nfires >= 3 && nfires <= 4, "3.5 s of a per-second job: %d fires",
	    nfires);
	order_ok = 1;
	for (i = 0; i < nfires; i++) {
		late = fires[i].now - fires[i].at;
		if (late > worst)
			worst = late;
		if (fires[i].at % 1000 != 0 || late < 0 ||
		    (i > 0 && fires[i].at != fires[i - 1].at + 1000))
			order_ok = 0;
	}
	ok(order_ok, "fires are consecutive whole seconds, never early");
	ok(worst < 200, "each started within 200 ms of its second (worst %lld "
	    "ms; the benchmark reports the real figure)", (long long)worst);
	sched_remove(S, 1);
	is_int((int64_t)sched_count(S), 0, "removed");

	/* 100 jobs due at once after a 5 s backlog: oldest first per job. */
	nfires = 0;
	now = sched_now();
	for (i = 0; i < 100; i++)
		sched_set(S, 100 + i, "* * * * * *", "Europe/Berlin", 0,
		    now - 5000, &cause);
	is_int((int64_t)sched_count(S), 100, "100 jobs scheduled");
	run_for(base, 300);
	memset(counts, 0, sizeof counts);
	order_ok = 1;
	for (i = 0; i < nfires; i++) {
		counts[fires[i].job - 100]++;
		if (i > 0 && fires[i].job == fires[i - 1].job &&
		    fires[i].at <= fires[i - 1].at)
			order_ok = 0;
	}
	for (i = 0, n = 0; i < 100; i++)
		n += counts[i] >= 5 && counts[i] <= 7;
	is_int(n, 100, "each job reported its 5-6 due fires (backlog)");
	ok(order_ok, "a job's due fires come oldest first");
	for (i = 0; i < 100; i++)
		sched_remove(S, 100 + i);

	/* A long backlog is reported in a bounded batch with a count. */
	nfires = 0;
	now = sched_now();
	sched_set(S, 7, "* * * * * *", NULL, 0, now - 3000 * 1000, &cause);
	run_for(base, 100);
	n = 0;
	for (i = 0; i < nfires; i++)
		if (fires[i].job == 7)
			n++;
	ok(n == SCHED_MAX_BATCH || n == SCHED_MAX_BATCH + 1,
	    "3000 s backlog: %d fires reported (the batch limit, maybe one "
	    "more new second)", n);
	ok(nfires > 0 && fires[SCHED_MAX_BATCH - 1].skipped >= 1999 &&
	    fires[SCHED_MAX_BATCH - 1].skipped <= 2001,
	    "the newest carries the skipped count (%llu)",
	    (unsigned long long)fires[SCHED_MAX_BATCH - 1].skipped);
	for (i = 0, n = 0; i < SCHED_MAX_BATCH; i++)
		n += fires[i].newest;
	ok(n == 1 && fires[SCHED_MAX_BATCH - 1].newest,
	    "only the newest fire of the batch says so (%d)", n);
	sched_remove(S, 7);

	/* Removal from inside the callback. */
	nfires = 0;
	remove_on_fire = 9;
	sched_set(S, 9, "* * * * * *", NULL, 0, sched_now() - 2500, &cause);
	run_for(base, 1500);
	is_int(nfires, 1, "a job removed in its callback fires no more");
	is_int((int64_t)sched_count(S), 0, "and is gone");

	/* Errors and odd schedules. */
	free(cause);
	cause = NULL;
	ok(sched_set(S, 2, "0 24 * * *", NULL, 0, 0, &cause) == -1 &&
	    strcmp(cause, "invalid schedule: field 2 (hour): 24 is out of "
	    "range 0-23") == 0, "a bad schedule is refused with the reason");
	free(cause);
	cause = NULL;
	ok(sched_set(S, 2, "@daily", "Mars/Base", 0, 0, &cause) == -1 &&
	    strcmp(cause, "unknown time zone \"Mars/Base\"") == 0,
	    "an unknown zone is refused");
	free(cause);
	cause = NULL;
	ok(sched_set(S, 3, "@reboot", NULL, 0, 0, &cause) == 0 &&
	    sched_next_at(S, 3) == -1, "@reboot is accepted and never fires");
	ok(sched_set(S, 4, "0 12 * * *", "Asia/Kolkata", 0, 1767225600000LL,
	    &cause) == 0 && sched_next_at(S, 4) == 1767249000000LL,
	    "next_at in the job's zone (12:00 +05:30)");
	ok(sched_jitter("backup", 60000) == sched_jitter("backup", 60000) &&
	    sched_jitter("backup", 60000) < 60000 &&
	    sched_jitter("backup", 60000) != sched_jitter("backup2", 60000),
	    "jitter is fixed per name, in range");
	is_int(sched_jitter("x", 0), 0, "no jitter when none is asked");

	sched_free(S);
	tz_free(utc);
	event_base_free(base);
	return done_testing();
}

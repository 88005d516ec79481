/* 006-job: wire names of states, triggers, resolutions; job names; specs. */

#include <string.h>

#include "job.h"
#include "tap.h"

int
main(void)
{
	static const char *const states[] = {
		"queued", "running", "succeeded", "failed", "timeout", "oom",
		"crashed", "killed", "lost", "spawn_error", "skipped", "missed",
	};
	static const char *const failures[] = {
		"failed", "timeout", "oom", "crashed", "killed", "lost",
		"spawn_error", "missed",
	};
	struct job_spec		 a, b;
	enum run_state		 s;
	enum run_trigger	 t;
	enum run_resolution	 r;
	enum job_overlap	 o;
	enum job_catchup	 c;
	char			 longname[JOB_NAME_MAX + 2];
	size_t			 i;
	int			 nfail = 0;

	for (i = 0; i < sizeof states / sizeof states[0]; i++) {
		ok(run_state_parse(states[i], &s) == 0 &&
		    strcmp(run_state_name(s), states[i]) == 0,
		    "state %s round-trips", states[i]);
		nfail += run_state_is_failure(s);
	}
	is_int(nfail, 8, "eight failure states");
	for (i = 0; i < sizeof failures / sizeof failures[0]; i++)
		ok(run_state_parse(failures[i], &s) == 0 &&
		    run_state_is_failure(s), "%s is a failure", failures[i]);
	ok(run_state_parse("succeeded", &s) == 0 && !run_state_is_failure(s),
	    "succeeded is not a failure");
	ok(run_state_parse("skipped", &s) == 0 && !run_state_is_failure(s) &&
	    !run_state_is_ended(s), "skipped is neither failure nor ended");
	ok(run_state_parse("Succeeded", &s) == -1, "names are exact");
	ok(run_trigger_parse("catchup", &t) == 0 && t == TRIGGER_CATCHUP &&
	    strcmp(run_trigger_name(TRIGGER_REBOOT), "reboot") == 0,
	    "triggers");
	ok(run_resolution_parse("open", &r) == 0 && r == RESOLUTION_OPEN &&
	    run_resolution_name(RESOLUTION_NONE) == NULL, "resolutions");
	ok(job_overlap_parse("replace", &o) == 0 && o == OVERLAP_REPLACE &&
	    job_overlap_parse("never", &o) == -1, "overlap names");
	ok(job_catchup_parse("latest", &c) == 0 && c == CATCHUP_LATEST,
	    "catchup names");

	ok(job_name_valid("backup.db-1_x"), "name with . - _");
	ok(!job_name_valid(""), "empty name");
	ok(!job_name_valid("a b"), "name with a space");
	ok(!job_name_valid("a/b"), "name with a slash");
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	ok(!job_name_valid(longname), "129 characters");
	longname[JOB_NAME_MAX] = '\0';
	ok(job_name_valid(longname), "128 characters");

	job_spec_init(&a);
	a.name = strdup("n");
	a.command = strdup("true");
	a.nenv = 2;
	a.env = calloc(2, sizeof *a.env);
	a.env[0] = strdup("A=1");
	a.env[1] = strdup("B=2");
	a.timeout_ms = 5000;
	job_spec_copy(&b, &a);
	job_spec_clear(&a);
	ok(b.nenv == 2 && strcmp(b.env[1], "B=2") == 0 &&
	    strcmp(b.command, "true") == 0 && b.timeout_ms == 5000 &&
	    b.memory == JOB_UNSET && b.nice == JOB_NICE_UNSET,
	    "spec copies deeply and unset stays unset");
	ok(a.name == NULL && a.env == NULL && a.timeout_ms == JOB_UNSET,
	    "cleared spec is empty");
	job_spec_clear(&b);
	job_spec_clear(NULL);
	return done_testing();
}

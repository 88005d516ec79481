/* 007-jobspec: every job option read from text, checked, and written back. */

#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "jobspec.h"
#include "tap.h"

static void
test_good(void)
{
	static const struct {
		const char	*key;
		const char	*in;
		const char	*out;
	} cases[] = {
		{ "name", "backup.db-1_x", "backup.db-1_x" },
		{ "schedule", "*/5 * * * *", "*/5 * * * *" },
		{ "schedule", "@every 90s", "@every 90s" },
		{ "command", "echo hi; exit 3", "echo hi; exit 3" },
		{ "timezone", "Europe/Berlin", "Europe/Berlin" },
		{ "user", "nobody", "nobody" },
		{ "workdir", "/tmp", "/tmp" },
		{ "timeout", "10m", "10m" },
		{ "timeout", "90", "1m30s" },
		{ "timeout", "none", "none" },
		{ "memory", "64M", "64M" },
		{ "memory", "1048576", "1M" },
		{ "cpu", "1h", "1h" },
		{ "nofile", "1024", "1024" },
		{ "nproc", "64", "64" },
		{ "nice", "-5", "-5" },
		{ "nice", "19", "19" },
		{ "rlimit_as", "2G", "2G" },
		{ "kill_grace", "5s", "5s" },
		{ "kill_orphans", "no", "no" },
		{ "kill_orphans", "true", "yes" },
		{ "overlap", "replace", "replace" },
		{ "retries", "3", "3" },
		{ "backoff", "30s", "30s" },
		{ "backoff_max", "1h", "1h" },
		{ "no_retry_exit", "2,64-78", "2,64-78" },
		{ "catchup", "latest", "latest" },
		{ "starting_deadline", "2m", "2m" },
		{ "jitter", "30s", "30s" },
		{ "output_max", "256K", "256K" },
		{ "keep_runs", "0", "0" },
		{ "keep_days", "90d", "90d" },
		{ "pause_after", "5", "5" },
		{ "stale_after", "2h", "2h" },
		{ "notify", "https://h.example/a,http://127.0.0.1:8080/x",
		    "https://h.example/a,http://127.0.0.1:8080/x" },
		{ "notify_on", "run.failed,run.succeeded",
		    "run.failed,run.succeeded" },
		{ "notify_on", "none", "none" },
		{ "ping_url", "https://hc-ping.example/uuid",
		    "https://hc-ping.example/uuid" },
		{ "ping_url", "HTTP://[::1]:8080/p?x=1",
		    "HTTP://[::1]:8080/p?x=1" },
		{ "mailto", "ops@example.net", "ops@example.net" },
		{ "description", "nightly dump\nof the db", "nightly dump\nof "
		    "the db" },
	};
	struct job_spec	 js;
	char		 buf[JOBSPEC_VALUE_MAX + 1], *cause;
	size_t		 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		job_spec_init(&js);
		cause = NULL;
		if (!ok(jobspec_set(&js, cases[i].key, cases[i].in, &cause) == 0,
		    "%s = %s accepted", cases[i].key, cases[i].in)) {
			diag("%s", cause);
			free(cause);
			continue;
		}
		buf[0] = '\0';
		ok(jobspec_get(&js, cases[i].key, buf, sizeof buf) == 0,
		    "  and set");
		is(buf, cases[i].out, "  reads back as %s", cases[i].out);
		ok(jobspec_set(&js, cases[i].key, "", &cause) == 0 ||
		    strcmp(cases[i].key, "name") == 0 ||
		    strcmp(cases[i].key, "schedule") == 0 ||
		    strcmp(cases[i].key, "command") == 0,
		    "  an empty value unsets it");
		free(cause);
		job_spec_clear(&js);
	}
}

static void
test_bad(void)
{
	static const struct {
		const char	*key;
		const char	*in;
		const char	*err;
	} cases[] = {
		{ "colour", "red", "unknown option \"colour\"" },
		{ "name", "a b", "name: \"a b\": a name is 1-128 of A-Z a-z 0-9 "
		    ". _ -" },
		{ "name", "", "name: must not be empty" },
		{ "schedule", "0 24 * * *", "invalid schedule: field 2 (hour): "
		    "24 is out of range 0-23" },
		{ "timezone", "Mars/Base", "timezone: unknown time zone "
		    "\"Mars/Base\"" },
		{ "workdir", "tmp", "workdir: \"tmp\": must be an absolute "
		    "path" },
		{ "user", "a:b", "user: \"a:b\": not a user name" },
		{ "timeout", "10x", "timeout: \"10x\" is not a duration: "
		    "unknown unit (expected ms, s, m, h, d or w)" },
		{ "timeout", "4000d", "timeout: 4000d is out of range "
		    "0s-3650d" },
		{ "memory", "lots", "memory: \"lots\" is not a size: expected "
		    "a number" },
		{ "cpu", "1500ms", "cpu: \"1500ms\": CPU time is whole "
		    "seconds" },
		{ "nice", "20", "nice: \"20\" is not a number from -20 to 19" },
		{ "nofile", "0", "nofile: \"0\" is not a number from 1 to "
		    "16777216" },
		{ "retries", "many", "retries: \"many\" is not a number from 0 "
		    "to 1000" },
		{ "kill_orphans", "maybe", "kill_orphans: \"maybe\": expected "
		    "yes or no" },
		{ "overlap", "never", "overlap: \"never\": expected skip, "
		    "queue, replace or allow" },
		{ "catchup", "some", "catchup: \"some\": expected skip, latest "
		    "or all" },
		{ "no_retry_exit", "2,300", "no_retry_exit: \"2,300\": exit "
		    "statuses are 0-255, ranges low-high" },
		{ "no_retry_exit", "2,,3", "no_retry_exit: \"2,,3\": expected a "
		    "list of exit statuses and ranges, e.g. 2,64-78" },
		{ "output_max", "100", "output_max: 100 is out of range 1K-1G" },
		{ "backoff", "0", "backoff: 0 is out of range 1ms-365d" },
		{ "notify", "ftp://x", "notify: \"ftp://x\": expected http:// or "
		    "https:// URLs, comma-separated" },
		{ "ping_url", "http://a,http://b", "ping_url: "
		    "\"http://a,http://b\": one URL only" },
		{ "notify_on", "run.exploded", "notify_on: \"run.exploded\": "
		    "events are run.failed, run.dead, job.recovered, job.stale, "
		    "job.paused, run.started, run.succeeded (or none)" },
		{ "notify", "https:///path", "notify: \"https:///path\": a URL "
		    "needs a host after http:// or https://" },
		{ "notify", "http://a.example/x,http://", "notify: "
		    "\"http://a.example/x,http://\": expected http:// or "
		    "https:// URLs, comma-separated" },
		{ "ping_url", "http://hc.example/a b", "ping_url: "
		    "\"http://hc.example/a b\": a URL cannot contain spaces or "
		    "control characters" },
		{ "ping_url", "http://hc.example/\tx", "ping_url: "
		    "\"http://hc.example/\tx\": a URL cannot contain spaces or "
		    "control characters" },
		{ "ping_url", "gopher://hc.example/", "ping_url: "
		    "\"gopher://hc.example/\": expected http:// or https:// "
		    "URLs, comma-separated" },
		{ "env", "NOEQUALS", "env: \"NOEQUALS\" is not NAME=VALUE (NAME "
		    "of letters, digits and _, not SQCRON_*)" },
		{ "env", "SQCRON_JOB=x", "env: \"SQCRON_JOB=x\" is not "
		    "NAME=VALUE (NAME of letters, digits and _, not SQCRON_*)" },
		{ "env", "1A=x", "env: \"1A=x\" is not NAME=VALUE (NAME of "
		    "letters, digits and _, not SQCRON_*)" },
		{ "unset_env", "NOPE", "unset_env: no variable \"NOPE\"" },
		{ "mailto", "a\nb", "mailto: \"a\nb\": must be one line" },
	};
	struct job_spec	 js;
	char		*cause;
	size_t		 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		job_spec_init(&js);
		cause = NULL;
		ok(jobspec_set(&js, cases[i].key, cases[i].in, &cause) == -1,
		    "%s = %s refused", cases[i].key, cases[i].in);
		is(cause, cases[i].err, "  with the reason");
		free(cause);
		job_spec_clear(&js);
	}
}

static void
test_env_and_check(void)
{
	struct job_spec	 js;
	char		*cause = NULL;

	job_spec_init(&js);
	jobspec_set(&js, "env", "A=1", &cause);
	jobspec_set(&js, "env", "B=two=2", &cause);
	jobspec_set(&js, "env", "A=3", &cause);
	ok(js.nenv == 2 && strcmp(js.env[0], "A=3") == 0 &&
	    strcmp(js.env[1], "B=two=2") == 0, "env adds and replaces");
	ok(jobspec_set(&js, "unset_env", "A", &cause) == 0 && js.nenv == 1 &&
	    strcmp(js.env[0], "B=two=2") == 0, "unset_env removes");
	ok(jobspec_check(&js, &cause) == -1 && strcmp(cause, "a job needs a "
	    "name") == 0, "a job needs a name");
	free(cause);
	cause = NULL;
	jobspec_set(&js, "name", "j", &cause);
	jobspec_set(&js, "schedule", "@daily", &cause);
	ok(jobspec_check(&js, &cause) == -1 && strcmp(cause, "j: a job needs "
	    "a command") == 0, "and a command");
	free(cause);
	cause = NULL;
	jobspec_set(&js, "command", "true", &cause);
	jobspec_set(&js, "backoff", "1h", &cause);
	jobspec_set(&js, "backoff_max", "1m", &cause);
	ok(jobspec_check(&js, &cause) == -1 && strcmp(cause, "j: backoff_max "
	    "is less than backoff") == 0, "backoff_max below backoff");
	free(cause);
	cause = NULL;
	jobspec_set(&js, "backoff_max", "2h", &cause);
	ok(jobspec_check(&js, &cause) == 0, "a complete job passes");
	ok(jobspec_known("kill_grace") && jobspec_known("unset_env") &&
	    !jobspec_known("kill-grace"), "option names use _");
	job_spec_clear(&js);
}

static void
test_exit_in(void)
{
	ok(jobspec_exit_in("2,64-78", 2), "2 in 2,64-78");
	ok(jobspec_exit_in("2,64-78", 64), "64 in 2,64-78");
	ok(jobspec_exit_in("2,64-78", 70), "70 in 2,64-78");
	ok(jobspec_exit_in("2,64-78", 78), "78 in 2,64-78");
	ok(!jobspec_exit_in("2,64-78", 1), "1 not in 2,64-78");
	ok(!jobspec_exit_in("2,64-78", 79), "79 not in 2,64-78");
	ok(!jobspec_exit_in("2,64-78", 63), "63 not in 2,64-78");
	ok(jobspec_exit_in("0", 0), "0 in 0");
	ok(!jobspec_exit_in(NULL, 2), "nothing in an unset list");
	ok(!jobspec_exit_in("", 2), "nothing in an empty list");
	ok(!jobspec_exit_in("2", -1), "no exit status: not in any list");
}

int
main(void)
{
	test_exit_in();
	test_good();
	test_bad();
	test_env_and_check();
	return done_testing();
}

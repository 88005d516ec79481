/*
 * 201-runner: the supervised runner end to end, one case per row of the
 * classification table (DESIGN.md section 5) and per rule of the
 * execution environment (section 6), with real children on a libevent
 * loop.
 *
 * Two runners, one after the other (a process has one SIGCHLD owner):
 * first cgroup = auto (a cgroup per run when the host allows it, checked
 * for real as root with the v1 memory hierarchy), then cgroup = off (the
 * RSS watchdog and the /proc scan for leftovers).  The memory hog is this
 * program itself, run as "201-runner.t --memhog MIB": it allocates and
 * touches 1 MiB every 2 ms.
 */

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job.h"
#include "runner.h"
#include "tap.h"

#define FIRE_AT		INT64_C(1795507200000)	/* 2026-11-24T08:00:00Z */
#define FIRE_TEXT	"2026-11-24T08:00:00.000Z"
#define JOB_PATH	"/usr/local/bin:/usr/bin:/bin"
#define SAFETY_MS	20000

struct outcome {
	int			 started;	/* start calls */
	pid_t			 pid;		/* from start */
	int64_t			 pid_start;
	int			 started_late;	/* start after done */
	int			 done;
	struct runner_result	 res;
	char			*output;
	int64_t			 live_bytes;
};

static struct event_base	*base;
static struct runner		*rn;
static char			 self[PATH_MAX];
static char			 tmpdir[] = "/tmp/sqcron-201.XXXXXX";
static int64_t			 next_id = 1;

static int
memhog(const char *mib, const char *step_ms)
{
	long	 i, n = strtol(mib, NULL, 10), ms = strtol(step_ms, NULL, 10);
	char	*p;
	struct timespec ts = { 0, ms * 1000000L };

	for (i = 0; i < n; i++) {
		if ((p = malloc(1 << 20)) == NULL)
			return 3;
		memset(p, (int)(i & 0x7f) + 1, 1 << 20);
		nanosleep(&ts, NULL);
	}
	printf("survived %ld MiB\n", n);
	fflush(stdout);
	sleep(30);
	return 0;
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
start_cb(int64_t run_id, pid_t pid, int64_t started_at, int64_t pid_start,
    void *arg)
{
	struct outcome	*o = arg;

	(void)run_id;
	(void)started_at;
	o->started++;
	o->pid = pid;
	o->pid_start = pid_start;
	o->started_late = o->done;
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
outcome_clear(struct outcome *o)
{
	free(o->output);
	memset(o, 0, sizeof *o);
}

static void
job_init(struct runner_job *j, const char *command)
{
	memset(j, 0, sizeof *j);
	j->run_id = next_id++;
	j->job = "t201";
	j->command = command;
	j->workdir = tmpdir;
	j->timeout_ms = 10000;
	j->kill_grace_ms = 1000;
	j->memory = JOB_UNSET;
	j->cpu_ms = JOB_UNSET;
	j->nofile = JOB_UNSET;
	j->nproc = JOB_UNSET;
	j->rlimit_as = JOB_UNSET;
	j->nice = JOB_NICE_UNSET;
	j->owner = JOB_UNSET;
	j->kill_orphans = 1;
	j->output_max = 65536;
	j->scheduled_at = FIRE_AT;
	j->attempt = 1;
	j->trigger = "schedule";
	j->replay_of = JOB_UNSET;
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the loop for ms milliseconds. */
static void
loop_for(int64_t ms)
{
	struct timeval	 tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Run the loop until the run is reported (or a safety limit). */
static void
wait_done(struct outcome *o)
{
	int64_t	 end = now_ms() + SAFETY_MS;

	while (!o->done && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	if (!o->done)
		diag("run not reported within %d ms", SAFETY_MS);
}

/* Spawn, wait for the result; returns the pid. */
static pid_t
run(const struct runner_job *j, struct outcome *o)
{
	char	*cause = NULL;

	memset(o, 0, sizeof *o);
	if (runner_spawn(rn, j, done_cb, start_cb, output_cb, o, &cause) != 0) {
		diag("runner_spawn: %s", cause);
		free(cause);
		return 0;
	}
	wait_done(o);
	return o->pid;
}

static int
contains(const char *s, const char *what)
{
	if (s == NULL || strstr(s, what) == NULL) {
		diag("'%s' does not contain '%s'", s != NULL ? s : "(null)",
		    what);
		return 0;
	}
	return 1;
}

/* State of a process ('Z', 'S', ...), or 0 if it does not exist. */
static char
proc_state(pid_t pid)
{
	char	 path[64], buf[512], *p;
	FILE	*f;
	size_t	 n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
		return 0;
	return p[2];
}

/* Children of this process, and how many of them are zombies. */
static int
count_children(int *zombies)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[300], buf[512], *p;
	FILE		*f;
	size_t		 n;
	int		 count = 0;
	long		 ppid;

	*zombies = 0;
	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = '\0';
		if ((p = strrchr(buf, ')')) == NULL || strlen(p) < 5)
			continue;
		ppid = strtol(p + 4, NULL, 10);
		if (ppid != (long)getpid())
			continue;
		count++;
		if (p[2] == 'Z')
			(*zombies)++;
	}
	closedir(d);
	return count;
}

struct kill_after {
	const pid_t	*pid;		/* set by start_cb by then */
	int64_t		 run_id;
	int		 sig;
};

static void
kill_pid_cb(evutil_socket_t fd, short events, void *arg)
{
	struct kill_after	*k = arg;

	(void)fd;
	(void)events;
	if (*k->pid > 0)
		kill(*k->pid, k->sig);
}

static void
kill_run_cb(evutil_socket_t fd, short events, void *arg)
{
	struct kill_after	*k = arg;

	(void)fd;
	(void)events;
	ok(runner_kill(rn, k->run_id, "killed by sqcron kill (uid 0)") == 0,
	    "runner_kill finds the live run");
}

static void
after(int64_t ms, event_callback_fn cb, void *arg)
{
	struct timeval	 tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	event_base_once(base, -1, EV_TIMEOUT, cb, arg, &tv);
}

/* An environment line from env output: "NAME=..." or NULL. */
static const char *
env_get(const char *out, const char *name, char *buf, size_t len)
{
	const char	*p = out;
	size_t		 nlen = strlen(name), n;

	while (p != NULL && *p != '\0') {
		n = strcspn(p, "\n");
		if (n > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			snprintf(buf, len, "%.*s", (int)(n - nlen - 1),
			    p + nlen + 1);
			return buf;
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	return NULL;
}

/* Which commands are exec'd without the shell, and their words. */
static void
test_command_words(void)
{
	static const struct {
		const char	*command;
		const char	*words;	/* joined by "|"; NULL: the shell */
	} t[] = {
		{ "/usr/bin/backup --dest=/srv/b", "/usr/bin/backup|--dest=/srv/b" },
		{ "  run-parts\t/etc/cron.daily  ", "run-parts|/etc/cron.daily" },
		{ "tar czf /b/x.tgz a,b:c@d%e+f_g", "tar|czf|/b/x.tgz|a,b:c@d%e+f_g" },
		{ "./local.sh", "./local.sh" },
		{ "", NULL },
		{ "   ", NULL },
		{ "FOO=1 cmd", NULL },		/* an assignment */
		{ "echo hi", NULL },		/* builtins */
		{ "true", NULL },
		{ "cd /tmp", NULL },
		{ "exec prog", NULL },
		{ "if", NULL },			/* reserved words */
		{ "while x", NULL },
		{ "ls *.log", NULL },		/* expansion and syntax */
		{ "ls a?", NULL },
		{ "ls [ab]", NULL },
		{ "echo $HOME", NULL },
		{ "a `b`", NULL },
		{ "a 'b c'", NULL },
		{ "a \"b\"", NULL },
		{ "a\\ b", NULL },
		{ "a; b", NULL },
		{ "a && b", NULL },
		{ "a | b", NULL },
		{ "a > f", NULL },
		{ "a < f", NULL },
		{ "(a)", NULL },
		{ "{ a; }", NULL },
		{ "a # comment", NULL },
		{ "~/bin/x", NULL },
		{ "! a", NULL },
		{ "a\nb", NULL },
		{ "a ^b", NULL },
		{ "caf\xc3\xa9", NULL },	/* not ASCII: the shell decides */
	};
	char	**w, joined[256];
	size_t	  i, j, len;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		w = runner_command_words(t[i].command);
		joined[0] = '\0';
		for (j = 0, len = 0; w != NULL && w[j] != NULL; j++) {
			len += (size_t)snprintf(joined + len, sizeof joined -
			    len, "%s%s", j > 0 ? "|" : "", w[j]);
			if (len >= sizeof joined)
				BAIL_OUT("words too long");
		}
		if (t[i].words == NULL)
			ok(w == NULL, "shell: \"%s\"", t[i].command);
		else
			is(joined, t[i].words, "direct: \"%s\"",
			    t[i].command);
		for (j = 0; w != NULL && w[j] != NULL; j++)
			free(w[j]);
		free(w);
	}
}

static void
test_basic(void)
{
	struct runner_job	 j;
	struct outcome		 o;
	pid_t			 pid;

	job_init(&j, "echo hello; echo err >&2; echo end");
	pid = run(&j, &o);
	is(run_state_name(o.res.state), "succeeded", "exit 0: succeeded");
	is_int(o.res.exit_code, 0, "exit 0: exit_code 0");
	is_int(o.res.signal, 0, "exit 0: no signal");
	is(o.res.reason, "", "exit 0: empty reason");
	is(o.output, "hello\nerr\nend\n",
	    "stdout and stderr captured, in order, in one stream");
	is_int(o.res.output_bytes, 14, "output_bytes counted");
	is_int(o.live_bytes, 14, "live output callback saw every byte");
	ok(o.res.pid == pid && pid > 0, "result carries the pid");
	ok(o.started == 1 && !o.started_late, "start reported once, before "
	    "the end");

	ok(o.res.started_at > 0 && o.res.ended_at >= o.res.started_at &&
	    o.res.duration_ms >= 0 && o.res.duration_ms < 5000,
	    "times: started %lld, ended %lld, %lld ms",
	    (long long)o.res.started_at, (long long)o.res.ended_at,
	    (long long)o.res.duration_ms);
	is_int((int64_t)runner_count(rn), 0, "no live run left");
	outcome_clear(&o);

	job_init(&j, "exit 3");
	run(&j, &o);
	is(run_state_name(o.res.state), "failed", "exit 3: failed");
	is_int(o.res.exit_code, 3, "exit 3: exit_code 3");
	is(o.res.reason, "exit status 3", "exit 3: reason");
	outcome_clear(&o);

	job_init(&j, "no-such-command-sqcron-201");
	run(&j, &o);
	is(run_state_name(o.res.state), "failed", "not found: failed");
	is_int(o.res.exit_code, 127, "not found: exit 127");
	is(o.res.reason, "command not found", "not found: reason");
	outcome_clear(&o);

	job_init(&j, "/etc/passwd");
	run(&j, &o);
	is(run_state_name(o.res.state), "failed", "not executable: failed");
	is_int(o.res.exit_code, 126, "not executable: exit 126");
	is(o.res.reason, "command not executable", "not executable: reason");
	outcome_clear(&o);
}

static void
test_timeouts(void)
{
	struct runner_job	 j;
	struct outcome		 o;
	int64_t			 t0;

	job_init(&j, "sleep 30");
	j.timeout_ms = 1000;
	t0 = now_ms();
	run(&j, &o);
	is(run_state_name(o.res.state), "timeout", "sleep 30, timeout 1s: timeout");
	ok(contains(o.res.reason, "timeout 1s reached after 1.0") &&
	    contains(o.res.reason, "SIGTERM sent, exited after 0.0"),
	    "timeout reason states limit and elapsed: %s", o.res.reason);
	ok(now_ms() - t0 < 3000, "timeout: ended in %lld ms",
	    (long long)(now_ms() - t0));
	outcome_clear(&o);

	job_init(&j, "trap '' TERM; sleep 30");
	j.timeout_ms = 1000;
	j.kill_grace_ms = 1000;
	t0 = now_ms();
	run(&j, &o);
	is(run_state_name(o.res.state), "timeout",
	    "TERM ignored: still timeout");
	ok(contains(o.res.reason, "SIGKILL after kill_grace 1s"),
	    "TERM ignored: reason says SIGKILL after kill_grace: %s",
	    o.res.reason);
	is_int(o.res.signal, SIGKILL, "TERM ignored: killed by SIGKILL");
	ok(now_ms() - t0 >= 1900 && now_ms() - t0 < 4000,
	    "TERM ignored: SIGKILL came after the grace (%lld ms)",
	    (long long)(now_ms() - t0));
	outcome_clear(&o);

	job_init(&j, "trap 'exit 0' TERM; sleep 30 & wait");
	j.timeout_ms = 1000;
	run(&j, &o);
	is(run_state_name(o.res.state), "timeout",
	    "TERM trapped, exit 0: timeout (decided by what sqcrond sent)");
	is_int(o.res.exit_code, 0, "TERM trapped: exit_code 0 kept");
	outcome_clear(&o);

	job_init(&j, "while :; do :; done");
	j.cpu_ms = 1000;
	run(&j, &o);
	is(run_state_name(o.res.state), "timeout", "CPU limit: timeout");
	ok(contains(o.res.reason, "CPU limit 1s reached") &&
	    contains(o.res.reason, "SIGXCPU"), "CPU limit: reason: %s",
	    o.res.reason);
	/* Not ~1000: under load this VM's accounting has shown 730 ms. */
	ok(o.res.user_cpu_ms + o.res.sys_cpu_ms >= 300 &&
	    o.res.user_cpu_ms + o.res.sys_cpu_ms <= 3000,
	    "CPU limit: CPU times from wait4 (%lld+%lld ms)",
	    (long long)o.res.user_cpu_ms, (long long)o.res.sys_cpu_ms);
	outcome_clear(&o);
}

static void
test_signals(int cgroup)
{
	struct runner_job	 j;
	struct outcome		 o;
	struct kill_after	 k;
	char			*cause = NULL;

	job_init(&j, "exit 137");
	run(&j, &o);
	is(run_state_name(o.res.state), "oom", "exit 137: oom");
	ok(contains(o.res.reason, "exit status 137: a process was killed by "
	    "SIGKILL") && contains(o.res.reason, "inferred from exit status "
	    "137"), "exit 137: reason with evidence: %s", o.res.reason);
	if (cgroup) {
		ok(contains(o.res.reason, "cgroup counted no OOM kill"),
		    "exit 137: the run's cgroup counted no OOM kill");
	} else {
		ok(strstr(o.res.reason, "cgroup") == NULL,
		    "exit 137 without cgroup: no cgroup claim");
	}
	outcome_clear(&o);

	/* Killed from outside sqcrond. */
	job_init(&j, "sleep 30");
	memset(&o, 0, sizeof o);
	if (runner_spawn(rn, &j, done_cb, start_cb, NULL, &o, &cause) != 0)
		BAIL_OUT("runner_spawn: %s", cause);
	k.pid = &o.pid;
	k.sig = SIGKILL;
	after(200, kill_pid_cb, &k);
	wait_done(&o);
	is(run_state_name(o.res.state), "oom", "SIGKILL from outside: oom");
	ok(contains(o.res.reason, "SIGKILL from outside sqcrond") &&
	    contains(o.res.reason, "inferred from SIGKILL not sent by "
	    "sqcrond"), "SIGKILL from outside: reason: %s", o.res.reason);
	if (cgroup) {
		ok(contains(o.res.reason, "cgroup counted no OOM kill"),
		    "SIGKILL from outside: cgroup counted no OOM kill");
	}
	is_int(o.res.signal, SIGKILL, "SIGKILL from outside: signal 9");
	ok(o.started == 1 && o.pid_start > 0, "a live child's start time "
	    "read from /proc: %lld", (long long)o.pid_start);
	outcome_clear(&o);
}

static void
test_crashes(void)
{
	struct runner_job	 j;
	struct outcome		 o;
	struct kill_after	 k;
	char			*cause = NULL;

	job_init(&j, "kill -SEGV $$");
	run(&j, &o);
	is(run_state_name(o.res.state), "crashed", "SIGSEGV: crashed");
	is_int(o.res.signal, SIGSEGV, "SIGSEGV: signal number");
	ok(contains(o.res.reason, "SIGSEGV"), "SIGSEGV: reason names it: %s",
	    o.res.reason);
	is_int(o.res.exit_code, JOB_UNSET, "SIGSEGV: no exit code");
	outcome_clear(&o);

	job_init(&j, "sh -c 'kill -ABRT $$'; exit $?");
	run(&j, &o);
	is(run_state_name(o.res.state), "crashed",
	    "SIGABRT in a child shell (exit 134): crashed");
	is_int(o.res.exit_code, 134, "SIGABRT via shell: exit 134");
	ok(contains(o.res.reason, "exit status 134") &&
	    contains(o.res.reason, "SIGABRT"), "SIGABRT via shell: reason: %s",
	    o.res.reason);
	outcome_clear(&o);

	job_init(&j, "kill -USR1 $$");
	run(&j, &o);
	is(run_state_name(o.res.state), "killed", "SIGUSR1: killed");
	is(o.res.reason, "killed by SIGUSR1", "SIGUSR1: reason");
	outcome_clear(&o);

	/* Killed on request. */
	job_init(&j, "sleep 30");
	memset(&o, 0, sizeof o);
	if (runner_spawn(rn, &j, done_cb, start_cb, NULL, &o, &cause) != 0)
		BAIL_OUT("runner_spawn: %s", cause);
	k.pid = &o.pid;
	k.run_id = j.run_id;
	after(200, kill_run_cb, &k);
	wait_done(&o);
	is(run_state_name(o.res.state), "killed", "runner_kill: killed");
	ok(contains(o.res.reason, "killed by sqcron kill (uid 0)") &&
	    contains(o.res.reason, "SIGTERM sent"),
	    "runner_kill: reason says who asked: %s", o.res.reason);
	is_int(runner_kill(rn, 999999, "nobody"), -1,
	    "runner_kill of an unknown run: -1");
	outcome_clear(&o);

	is(runner_signal_name(SIGSEGV), "SIGSEGV", "runner_signal_name");
	is(runner_signal_name(SIGRTMIN + 3), "SIGRTMIN+3",
	    "runner_signal_name: realtime");
	is(runner_signal_name(1000), "unknown signal",
	    "runner_signal_name: unknown");
}

static void
test_spawn_errors(void)
{
	struct runner_job	 j;
	struct outcome		 o;
	char			*cause = NULL, e0[] = "NOEQUALS";
	char			*bad[] = { e0 }, want[512];
	struct passwd		*pw;
	int			 rc;

	job_init(&j, "true");
	j.workdir = "/nonexistent";
	run(&j, &o);
	is(run_state_name(o.res.state), "spawn_error", "bad workdir: spawn_error");
	is(o.res.reason, "chdir /nonexistent: No such file or directory",
	    "bad workdir: the failing call and errno");
	is_int(o.res.exit_code, JOB_UNSET, "spawn_error: no exit code");
	outcome_clear(&o);

	job_init(&j, "true");
	j.user = "no-such-user-sqcron";
	run(&j, &o);
	is(run_state_name(o.res.state), "spawn_error", "unknown user: spawn_error");
	is(o.res.reason, "getpwnam no-such-user-sqcron: no such user",
	    "unknown user: reason");
	is_int(o.res.pid, 0, "unknown user: nothing forked");
	outcome_clear(&o);

	job_init(&j, "true");
	j.nofile = (int64_t)1 << 40;
	run(&j, &o);
	is(run_state_name(o.res.state), "spawn_error", "bad rlimit: spawn_error");
	ok(contains(o.res.reason, "setrlimit RLIMIT_NOFILE"),
	    "bad rlimit: reason %s", o.res.reason);
	outcome_clear(&o);

	job_init(&j, "true");
	j.env = bad;
	j.nenv = 1;
	memset(&o, 0, sizeof o);
	rc = runner_spawn(rn, &j, done_cb, NULL, NULL, &o, &cause);
	ok(rc == -1 && cause != NULL && strstr(cause, "NOEQUALS") != NULL,
	    "bad env entry refused by runner_spawn: %s", cause);
	free(cause);
	cause = NULL;
	is_int((int64_t)runner_count(rn), 0, "refused run is not live");

	if (geteuid() == 0 && (pw = getpwnam("nobody")) != NULL) {
		job_init(&j, "id -u; id -g; echo $USER $LOGNAME $HOME; pwd");
		j.user = "nobody";
		j.workdir = "/";
		run(&j, &o);
		is(run_state_name(o.res.state), "succeeded",
		    "user nobody: succeeded (%s)", o.res.reason);
		snprintf(want, sizeof want, "%lu\n%lu\nnobody nobody %s\n/\n",
		    (unsigned long)pw->pw_uid, (unsigned long)pw->pw_gid,
		    pw->pw_dir);
		is(o.output, want,
		    "user nobody: uid, gid, USER, LOGNAME, HOME, workdir");
		outcome_clear(&o);
	} else
		skip(2, "not root or no user nobody: cannot switch user");
	if (geteuid() == 0 && (pw = getpwnam("nobody")) != NULL) {
		snprintf(want, sizeof want, "%lu %s\n",
		    (unsigned long)pw->pw_uid, pw->pw_name);
		job_init(&j, "echo $(id -u) $USER");
		j.owner = pw->pw_uid;
		j.workdir = "/";
		run(&j, &o);
		is(o.output, want, "no user: runs as its owner (nobody)");
		outcome_clear(&o);
	} else
		skip(1, "not root or no user nobody: cannot switch user");
	job_init(&j, "true");
	j.owner = 2147480000;
	run(&j, &o);
	ok(o.res.state == RUN_SPAWN_ERROR && o.res.pid == 0,
	    "an owner without a passwd entry: spawn_error, nothing forked");
	is(o.res.reason, "getpwuid 2147480000 (the job's owner): no such user",
	    "the reason names the owner");
	outcome_clear(&o);
	if (geteuid() != 0) {
		job_init(&j, "true");
		j.user = "root";
		run(&j, &o);
		ok(o.res.state == RUN_SPAWN_ERROR &&
		    contains(o.res.reason, "not root"),
		    "a daemon that is not root cannot switch user");
		outcome_clear(&o);
	} else
		skip(1, "root: switching user is allowed");
}

static void
test_environment(void)
{
	struct runner_job	 j;
	struct outcome		 o;
	char			 buf[256], want[64], e0[] = "FOO=bar baz";
	char			 e1[] = "PATH=/job/path", e2[] = "SQCRON_JOB=forged";
	char			*env[] = { e0, e1, e2 };
	const char		*allowed[] = { "SHELL", "PATH", "HOME",
	    "LOGNAME", "USER", "FOO", "PWD", "SQCRON_JOB", "SQCRON_RUN_ID",
	    "SQCRON_SCHEDULED_AT", "SQCRON_ATTEMPT", "SQCRON_TRIGGER",
	    "SQCRON_REPLAY_OF", "SQCRON_FIRE_KEY" };
	const char		*p;
	size_t			 i, n;
	int			 stray = 0;

	setenv("LEAKME", "daemon-secret", 1);
	job_init(&j, "/usr/bin/env");
	j.env = env;
	j.nenv = 3;
	j.attempt = 2;
	j.trigger = "replay";
	j.replay_of = 41;
	run(&j, &o);
	is(run_state_name(o.res.state), "succeeded", "env: succeeded");
	snprintf(want, sizeof want, "%lld", (long long)j.run_id);
	is(env_get(o.output, "SQCRON_RUN_ID", buf, sizeof buf), want,
	    "SQCRON_RUN_ID");
	is(env_get(o.output, "SQCRON_JOB", buf, sizeof buf), "t201",
	    "SQCRON_JOB (the job's env cannot forge it)");
	is(env_get(o.output, "SQCRON_SCHEDULED_AT", buf, sizeof buf), FIRE_TEXT,
	    "SQCRON_SCHEDULED_AT in RFC 3339 UTC with ms");
	is(env_get(o.output, "SQCRON_ATTEMPT", buf, sizeof buf), "2",
	    "SQCRON_ATTEMPT");
	is(env_get(o.output, "SQCRON_TRIGGER", buf, sizeof buf), "replay",
	    "SQCRON_TRIGGER");
	is(env_get(o.output, "SQCRON_REPLAY_OF", buf, sizeof buf), "41",
	    "SQCRON_REPLAY_OF when replaying");
	is(env_get(o.output, "SQCRON_FIRE_KEY", buf, sizeof buf),
	    "t201@" FIRE_TEXT, "SQCRON_FIRE_KEY is JOB@SCHEDULED_AT");
	is(env_get(o.output, "FOO", buf, sizeof buf), "bar baz", "job env");
	is(env_get(o.output, "PATH", buf, sizeof buf), "/job/path",
	    "job env may set PATH");
	is(env_get(o.output, "SHELL", buf, sizeof buf), "/bin/sh", "SHELL");
	ok(env_get(o.output, "HOME", buf, sizeof buf) != NULL &&
	    env_get(o.output, "LOGNAME", buf, sizeof buf) != NULL &&
	    env_get(o.output, "USER", buf, sizeof buf) != NULL,
	    "HOME, LOGNAME, USER set");
	ok(env_get(o.output, "LEAKME", buf, sizeof buf) == NULL,
	    "the daemon's environment does not leak");
	for (p = o.output; *p != '\0'; p += n + (p[n] == '\n')) {
		n = strcspn(p, "\n");
		for (i = 0; i < sizeof allowed / sizeof *allowed; i++) {
			if (strncmp(p, allowed[i], strlen(allowed[i])) == 0 &&
			    p[strlen(allowed[i])] == '=')
				break;
		}
		if (i == sizeof allowed / sizeof *allowed) {
			diag("unexpected: %.*s", (int)n, p);
			stray++;
		}
	}
	is_int(stray, 0, "no other variable in the environment");
	outcome_clear(&o);

	job_init(&j, "env");
	run(&j, &o);
	ok(env_get(o.output, "SQCRON_REPLAY_OF", buf, sizeof buf) == NULL,
	    "no SQCRON_REPLAY_OF when not replaying");
	is(env_get(o.output, "PATH", buf, sizeof buf), JOB_PATH,
	    "PATH from the runner's config");
	outcome_clear(&o);
	unsetenv("LEAKME");
}

static void
test_stdio(void)
{
	struct runner_job	 j;
	struct outcome		 o;
	char			*big, want[32];
	size_t			 i, n = 300000;
	int			 fd;

	job_init(&j, "cat");
	j.stdin_data = "hello\nworld\n";
	run(&j, &o);
	is(o.output, "hello\nworld\n", "stdin_data delivered");
	outcome_clear(&o);

	job_init(&j, "cat");
	run(&j, &o);
	is(o.output, "", "no stdin_data: stdin is /dev/null");
	outcome_clear(&o);

	big = malloc(n + 1);
	for (i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	big[n] = '\0';
	job_init(&j, "wc -c");
	j.stdin_data = big;
	run(&j, &o);
	snprintf(want, sizeof want, "%zu\n", n);
	is(o.output, want, "300 kB of stdin_data delivered whole");
	outcome_clear(&o);

	job_init(&j, "exit 0");
	j.stdin_data = big;
	run(&j, &o);
	is(run_state_name(o.res.state), "succeeded",
	    "a job that does not read its stdin_data: no SIGPIPE anywhere");
	outcome_clear(&o);
	free(big);

	/* A descriptor without close-on-exec, as a careless library leaves. */
	fd = open("/dev/null", O_RDONLY);
	if (fd == -1 || dup2(fd, 50) == -1)
		BAIL_OUT("cannot open a test descriptor");
	job_init(&j, "ls /proc/$$/fd; true");
	run(&j, &o);
	is(o.output, "0\n1\n2\n", "the job sees only descriptors 0, 1, 2");
	outcome_clear(&o);
	close(50);
	close(fd);

	/* exec: dash itself blocks every signal around its own forks. */
	job_init(&j, "exec grep -E '^Sig(Blk|Ign):' /proc/self/status");
	run(&j, &o);
	is(o.output, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n",
	    "no signal blocked or ignored in the job (the daemon ignores "
	    "SIGPIPE and blocks SIGUSR2)");
	outcome_clear(&o);

	job_init(&j, "cat /proc/$$/stat");
	run(&j, &o);
	{
		char	*p = strrchr(o.output, ')');
		long	 ppid = 0, pgrp = 0, sid = 0;

		if (p != NULL)
			sscanf(p + 4, "%ld %ld %ld", &ppid, &pgrp, &sid);
		ok(sid == (long)o.res.pid && pgrp == (long)o.res.pid,
		    "the job leads its own session and process group "
		    "(sid %ld pgrp %ld pid %ld)", sid, pgrp, (long)o.res.pid);
	}
	outcome_clear(&o);
}

static void
test_orphans(const char *mode)
{
	struct runner_job	 j;
	struct outcome		 o;
	pid_t			 orphan;
	int64_t			 t0;

	/* A subshell leaves a sleeper behind: double fork. */
	job_init(&j, "(sleep 30 & echo $!)");
	t0 = now_ms();
	run(&j, &o);
	orphan = (pid_t)strtol(o.output, NULL, 10);
	is(run_state_name(o.res.state), "succeeded",
	    "%s: double fork, kill_orphans: succeeded", mode);
	ok(now_ms() - t0 < 900, "%s: the run ends without the drain grace "
	    "(%lld ms)", mode, (long long)(now_ms() - t0));
	loop_for(200);
	ok(orphan > 0 && proc_state(orphan) == 0,
	    "%s: the leftover sleeper %ld was killed and reaped (state %c)",
	    mode, (long)orphan, proc_state(orphan) ? proc_state(orphan) : '-');
	outcome_clear(&o);

	/* setsid + fork: a new session, found by cgroup or SQCRON_RUN_ID. */
	if (access("/usr/bin/setsid", X_OK) == 0) {
		job_init(&j, "/usr/bin/setsid -f sh -c 'echo $$; exec sleep 30';"
		    " sleep 0.2");
		run(&j, &o);
		orphan = (pid_t)strtol(o.output, NULL, 10);
		loop_for(200);
		ok(orphan > 0 && proc_state(orphan) == 0, "%s: a leftover in "
		    "its own session was killed and reaped", mode);
		outcome_clear(&o);
	} else
		skip(1, "no /usr/bin/setsid");

	/* kill_orphans = no: it survives, and the run still ends. */
	job_init(&j, "(sleep 30 & echo $!)");
	j.kill_orphans = 0;
	t0 = now_ms();
	run(&j, &o);
	orphan = (pid_t)strtol(o.output, NULL, 10);
	is(run_state_name(o.res.state), "succeeded",
	    "%s: kill_orphans=no: succeeded", mode);
	ok(now_ms() - t0 >= 900 && now_ms() - t0 < 3000,
	    "%s: kill_orphans=no: ends after the drain grace though the "
	    "survivor holds the pipe (%lld ms)", mode,
	    (long long)(now_ms() - t0));
	ok(orphan > 0 && proc_state(orphan) != 0 && proc_state(orphan) != 'Z',
	    "%s: kill_orphans=no: the survivor lives", mode);
	if (orphan > 0)
		kill(orphan, SIGKILL);
	loop_for(200);
	ok(orphan > 0 && proc_state(orphan) == 0,
	    "%s: the survivor, killed, is reaped by the runner", mode);
	outcome_clear(&o);
}

static void
test_memory(int cgroup)
{
	struct runner_job	 j;
	struct outcome		 o;
	char			*cmd, want[64];
	const char		*mode = cgroup ? "cgroup" : "watchdog";

	if (asprintf(&cmd, "exec '%s' --memhog 256 2", self) == -1)
		BAIL_OUT("asprintf");
	job_init(&j, cmd);
	j.memory = 64 << 20;
	j.timeout_ms = 10000;
	run(&j, &o);
	is(run_state_name(o.res.state), "oom", "%s: memory hog over 64 MiB: oom",
	    mode);
	ok(contains(o.res.reason, cgroup ? "cgroup oom_kill event: limit 64 "
	    "MiB, peak " : "watchdog: RSS ") && contains(o.res.reason,
	    cgroup ? " MiB" : " MiB over limit 64 MiB"),
	    "%s: reason: %s", mode, o.res.reason);
	ok(o.res.max_rss_kb >= (cgroup ? 60 : 64) * 1024 &&
	    o.res.max_rss_kb < 200 * 1024, "%s: max_rss_kb %lld",
	    mode, (long long)o.res.max_rss_kb);
	diag("%s: %s; max_rss_kb %lld; %lld ms", mode, o.res.reason,
	    (long long)o.res.max_rss_kb, (long long)o.res.duration_ms);
	outcome_clear(&o);
	free(cmd);

	if (asprintf(&cmd, "exec '%s' --memhog 16 1", self) == -1)
		BAIL_OUT("asprintf");
	job_init(&j, cmd);
	j.memory = 64 << 20;
	j.timeout_ms = 1000;
	run(&j, &o);
	is(run_state_name(o.res.state), "timeout",
	    "%s: a job under its limit is not killed for memory", mode);
	ok(contains(o.output, "survived 16 MiB"), "%s: it ran", mode);
	ok(o.res.max_rss_kb >= 16 * 1024 && o.res.max_rss_kb < 64 * 1024,
	    "%s: its peak is measured: %lld kB", mode,
	    (long long)o.res.max_rss_kb);
	outcome_clear(&o);
	free(cmd);

	if (cgroup) {
		job_init(&j, "cat /proc/self/cgroup");
		j.memory = 64 << 20;
		run(&j, &o);
		snprintf(want, sizeof want, "/sqcron/%ld/run-%lld\n",
		    (long)getpid(), (long long)j.run_id);
		ok(contains(o.output, want), "cgroup: the job ran in its "
		    "run cgroup");
		{
			char	*path, line[512], *p;
			FILE	*f = fopen("/proc/self/cgroup", "r");
			int	 gone = 0;

			while (f != NULL && fgets(line, sizeof line, f)) {
				if (strstr(line, ":memory:") == NULL)
					continue;
				line[strcspn(line, "\n")] = '\0';
				p = strchr(strchr(line, ':') + 1, ':') + 1;
				if (asprintf(&path, "/sys/fs/cgroup/memory%s"
				    "/sqcron/%ld/run-%lld", strcmp(p, "/") ?
				    p : "", (long)getpid(),
				    (long long)j.run_id) == -1)
					break;
				gone = access(path, F_OK) == -1;
				if (!gone)
					diag("%s still exists", path);
				free(path);
			}
			if (f != NULL)
				fclose(f);
			ok(gone, "cgroup: the run's cgroup was removed");
		}
		outcome_clear(&o);
	}
}

struct chain {
	struct outcome	 first;
	struct outcome	 second;
	int		 spawned;
};

/* A done callback that starts the next run, as policy does. */
static void
chain_done_cb(const struct runner_result *res, void *arg)
{
	struct chain		*c = arg;
	struct runner_job	 j;
	char			*cause = NULL;

	done_cb(res, &c->first);
	job_init(&j, "echo second");
	c->spawned = runner_spawn(rn, &j, done_cb, NULL, NULL, &c->second,
	    &cause) == 0;
	free(cause);
}

static void
test_concurrency(void)
{
	struct runner_job	 j;
	struct outcome		 o[3], dup;
	struct chain		 c;
	char			*cause = NULL;
	int64_t			 ids[3], t0;
	int			 i, n, all = 1;

	for (i = 0; i < 3; i++) {
		job_init(&j, "sleep 30");
		ids[i] = j.run_id;
		memset(&o[i], 0, sizeof o[i]);
		if (runner_spawn(rn, &j, done_cb, NULL, NULL, &o[i], &cause))
			BAIL_OUT("runner_spawn: %s", cause);
	}
	is_int((int64_t)runner_count(rn), 3, "three live runs");
	j.run_id = ids[1];
	memset(&dup, 0, sizeof dup);
	ok(runner_spawn(rn, &j, done_cb, NULL, NULL, &dup, &cause) == -1 &&
	    cause != NULL, "a live run id cannot be started twice");
	free(cause);
	cause = NULL;
	loop_for(100);
	t0 = now_ms();
	n = runner_kill_all(rn, "shutdown");
	is_int(n, 3, "runner_kill_all asks every live run");
	for (i = 0; i < 3; i++) {
		wait_done(&o[i]);
		if (o[i].res.state != RUN_KILLED ||
		    strncmp(o[i].res.reason, "shutdown; SIGTERM sent", 22) != 0) {
			diag("run %d: %s: %s", i, run_state_name(o[i].res.state),
			    o[i].res.reason);
			all = 0;
		}
		outcome_clear(&o[i]);
	}
	ok(all, "shutdown: three runs killed, reason \"shutdown; ...\"");
	ok(now_ms() - t0 < 2000, "shutdown: all ended at once");
	ok(!dup.done, "the refused duplicate was never reported");

	memset(&c, 0, sizeof c);
	job_init(&j, "echo first");
	if (runner_spawn(rn, &j, chain_done_cb, NULL, NULL, &c, &cause) != 0)
		BAIL_OUT("runner_spawn: %s", cause);
	wait_done(&c.second);
	ok(c.spawned, "a done callback may start another run");
	is(c.first.output, "first\n", "first run reported");
	is(c.second.output, "second\n", "the run started from the callback "
	    "ran");
	outcome_clear(&c.first);
	outcome_clear(&c.second);
}

/* Is this process run by valgrind (which virtualizes some calls)? */
static int
under_valgrind(void)
{
	const char	*p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL;
}

static void
test_limits(int cgroup)
{
	struct runner_job	 j;
	struct outcome		 o;

	job_init(&j, "nice; ulimit -n; ulimit -p; ulimit -v");
	j.nice = 7;
	j.nofile = 100;
	j.nproc = 5000;
	j.rlimit_as = (int64_t)512 << 20;
	run(&j, &o);
	if (under_valgrind() && o.res.state == RUN_SPAWN_ERROR) {
		/* Its setrlimit refuses a new RLIMIT_NOFILE hard limit. */
		skip(1, "valgrind, in the child before exec: %s", o.res.reason);
	} else {
		is(o.output, "7\n100\n5000\n524288\n",
		    "nice, RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_AS applied");
	}
	outcome_clear(&o);

	job_init(&j, "exit 0");
	run(&j, &o);
	if (cgroup) {
		ok(o.res.max_rss_kb > 0, "cgroup: every run has a peak "
		    "(%lld kB)", (long long)o.res.max_rss_kb);
	} else {
		is_int(o.res.max_rss_kb, JOB_UNSET, "watchdog: no peak for a "
		    "run without a memory limit (ru_maxrss is not used)");
	}
	outcome_clear(&o);
}

static void
test_zombies(void)
{
	int	 zombies, n;

	loop_for(100);
	n = count_children(&zombies);
	is_int(n, 0, "no child of the daemon is left");
	is_int(zombies, 0, "no zombie is left");
}

/* The v1 memory cgroup directory of this process, or NULL. */
static char *
memory_cgroup_dir(void)
{
	char	 line[512], *p, *dir = NULL;
	FILE	*f;

	if ((f = fopen("/proc/self/cgroup", "r")) == NULL)
		return NULL;
	while (dir == NULL && fgets(line, sizeof line, f) != NULL) {
		if (strstr(line, ":memory:") == NULL)
			continue;
		line[strcspn(line, "\n")] = '\0';
		p = strchr(strchr(line, ':') + 1, ':') + 1;
		if (asprintf(&dir, "/sys/fs/cgroup/memory%s",
		    strcmp(p, "/") != 0 ? p : "") == -1)
			dir = NULL;
	}
	fclose(f);
	return dir;
}

/* Leave what a dead daemon leaves: sqcron/<dead pid>/run-1; 0 if done. */
static pid_t
fake_dead_daemon(char **path)
{
	char	*dir = memory_cgroup_dir(), *p1 = NULL, *p2 = NULL;
	pid_t	 pid;

	*path = NULL;
	if (geteuid() != 0 || dir == NULL || access(dir, W_OK) == -1) {
		free(dir);
		return 0;
	}
	/* A pid that just died: nothing can have it yet. */
	if ((pid = fork()) == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	if (asprintf(&p1, "%s/sqcron/%ld", dir, (long)pid) == -1 ||
	    asprintf(&p2, "%s/run-1", p1) == -1)
		BAIL_OUT("asprintf");
	mkdir(dir, 0755);
	if (asprintf(path, "%s/sqcron", dir) == -1)
		BAIL_OUT("asprintf");
	mkdir(*path, 0755);
	free(*path);
	*path = p1;
	free(dir);
	if (mkdir(p1, 0755) == -1 || mkdir(p2, 0755) == -1) {
		free(p2);
		return 0;
	}
	free(p2);
	return pid;
}

/*
 * Many runs at once through the spawner threads: each is reported started
 * once, before its end, with the pid of its result, and none is lost, even
 * those that exit before their spawner reports the fork.  A kill asked
 * while a run is still being forked lands once it is.
 */
static void
test_burst(const char *mode)
{
	enum { N = 200 };
	struct runner_job	 j;
	struct outcome		*o, k;
	char			*cause = NULL;
	int			 i, bad = 0, kill_rc;

	o = calloc(N, sizeof *o);
	for (i = 0; i < N; i++) {
		job_init(&j, i % 2 == 0 ? "/bin/true" : "exit 7");
		if (runner_spawn(rn, &j, done_cb, start_cb, NULL, &o[i],
		    &cause) != 0)
			BAIL_OUT("runner_spawn: %s", cause);
	}
	job_init(&j, "sleep 30");
	memset(&k, 0, sizeof k);
	if (runner_spawn(rn, &j, done_cb, start_cb, NULL, &k, &cause) != 0)
		BAIL_OUT("runner_spawn: %s", cause);
	kill_rc = runner_kill(rn, j.run_id, "the burst test");
	for (i = 0; i < N; i++) {
		wait_done(&o[i]);
		if (!o[i].done || o[i].started != 1 || o[i].started_late ||
		    o[i].pid != o[i].res.pid || o[i].res.exit_code !=
		    (i % 2 == 0 ? 0 : 7)) {
			if (bad++ < 5) {
				diag("run %d: done %d started %d late %d pid "
				    "%ld/%ld %s %s", i, o[i].done, o[i].started,
				    o[i].started_late, (long)o[i].pid,
				    (long)o[i].res.pid,
				    run_state_name(o[i].res.state),
				    o[i].res.reason);
			}
		}
		outcome_clear(&o[i]);
	}
	ok(bad == 0, "%s: %d runs at once, each started once before its "
	    "end with its own pid and exit status (%d wrong)", mode, N, bad);
	wait_done(&k);
	ok(kill_rc == 0 && k.res.state == RUN_KILLED &&
	    contains(k.res.reason, "the burst test"), "%s: a kill asked "
	    "before the fork kills the run: %s", mode, k.res.reason);
	outcome_clear(&k);
	is_int((int64_t)runner_count(rn), 0, "%s: no live run left", mode);
	free(o);
}

static struct runner *
make_runner(int use_cgroup, int spawners)
{
	struct runner_config	 cfg;
	struct runner		*r;
	char			*cause = NULL;

	memset(&cfg, 0, sizeof cfg);
	cfg.shell = "/bin/sh";
	cfg.path = JOB_PATH;
	cfg.use_cgroup = use_cgroup;
	cfg.spawners = spawners;
	cfg.memory_poll_ms = 100;
	if ((r = runner_new(base, &cfg, &cause)) == NULL)
		BAIL_OUT("runner_new: %s", cause);
	diag("runner (cgroup=%s, spawners %d): %s", use_cgroup ? "auto" :
	    "off", spawners, runner_memory_mode(r));
	return r;
}

int
main(int argc, char **argv)
{
	struct rlimit	 core = { 0, 0 };
	sigset_t	 set;
	int64_t		 t0 = now_ms();
	char		*stale;
	pid_t		 dead;
	int		 cg;

	if (argc == 4 && strcmp(argv[1], "--memhog") == 0)
		return memhog(argv[2], argv[3]);
	if (realpath(argv[0], self) == NULL)
		BAIL_OUT("realpath %s", argv[0]);
	if (mkdtemp(tmpdir) == NULL)
		BAIL_OUT("mkdtemp");
	setrlimit(RLIMIT_CORE, &core);
	/* The job must not inherit a blocked signal. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((base = event_base_new()) == NULL)
		BAIL_OUT("event_base_new");

	dead = fake_dead_daemon(&stale);
	rn = make_runner(1, 0);
	cg = runner_cgroup_version(rn) != 0;
	if (dead != 0 && cg) {
		ok(access(stale, F_OK) == -1, "cgroups left by a dead daemon "
		    "are removed at start-up");
	} else
		skip(1, "no cgroup to leave stale");
	free(stale);
	test_command_words();
	test_basic();
	test_timeouts();
	test_signals(cg);
	test_crashes();
	test_spawn_errors();
	test_environment();
	test_stdio();
	test_orphans(cg ? "cgroup" : "proc scan");
	test_concurrency();
	test_limits(cg);
	if (cg)
		test_memory(1);
	else {
		skip(7, "no cgroup: %s", runner_memory_mode(rn));
	}
	test_zombies();
	test_burst("spawner threads");
	runner_free(rn);

	/* Forking in the loop, without threads: the same results. */
	rn = make_runner(1, -1);
	test_basic();
	test_crashes();
	test_spawn_errors();
	test_burst("no spawner threads");
	runner_free(rn);

	rn = make_runner(0, 0);
	ok(runner_cgroup_version(rn) == 0, "cgroup = off: the watchdog");
	test_signals(0);
	test_orphans("proc scan");
	test_limits(0);
	test_memory(0);
	test_zombies();
	runner_free(rn);

	event_base_free(base);
	rmdir(tmpdir);
	diag("total %lld ms", (long long)(now_ms() - t0));
	return done_testing();
}

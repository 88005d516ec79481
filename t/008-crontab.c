/*
 * 008-crontab: crontab files into job specs, line by line.
 *
 * A table of small files, system and user format: each loaded job is
 * checked field by field (name, schedule, user, command, input, env,
 * timezone, every other option), and each problem by its line and
 * reason.  Then generated names, environment scope, the cron.d file name
 * rule, reading files, and random input that must never crash the
 * parser or break its promises.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crontab.h"
#include "job.h"
#include "jobspec.h"
#include "tap.h"
#include "xmalloc.h"

#define S	CRONTAB_SYSTEM
#define U	CRONTAB_USER
#define SYS	"/etc/cron.d/t"
#define USR	"/var/spool/cron/crontabs/alice"

struct tcase {
	enum crontab_format	 fmt;
	const char		*text;
	int			 njobs;
	/* The last job loaded, when njobs > 0. */
	const char		*name;
	const char		*schedule;
	const char		*user;
	const char		*command;
	const char		*input;
	const char		*env;		/* "A=1|B=2", "" for none */
	const char		*tz;
	const char		*opts;		/* every other option set */
	/* Problems: "LINE:reason" or "LINE:warning: reason", '\n' between. */
	const char		*diags;
};

static const struct tcase cases[] = {
	/* Schedules, system format. */
	{ S, "0 3 * * * root /usr/local/bin/backup\n", 1,
	    "cron.d-t-6b20ab", "0 3 * * *", "root", "/usr/local/bin/backup",
	    NULL, "", NULL, "", "" },
	{ S, "*/5\t*  * * *\troot\techo hi\n", 1,
	    "cron.d-t-50a858", "*/5 * * * *", "root", "echo hi",
	    NULL, "", NULL, "", "" },
	{ S, "   0 0 1 jan mon root true\n", 1,
	    "cron.d-t-1cb921", "0 0 1 jan mon", "root", "true",
	    NULL, "", NULL, "", "" },
	{ S, "0 9 * * MON-FRI nobody date\n", 1,
	    "cron.d-t-85d3b7", "0 9 * * MON-FRI", "nobody", "date",
	    NULL, "", NULL, "", "" },
	{ S, "0 0-23/2 1,15 */3 sun root x\n", 1,
	    "cron.d-t-11dcba", "0 0-23/2 1,15 */3 sun", "root", "x",
	    NULL, "", NULL, "", "" },
	{ S, "0 12 L * * root month-end\n", 1,
	    "cron.d-t-7d7367", "0 12 L * *", "root", "month-end",
	    NULL, "", NULL, "", "" },
	{ S, "0 9 * * 5L root last-friday\n", 1,
	    "cron.d-t-5f8953", "0 9 * * 5L", "root", "last-friday",
	    NULL, "", NULL, "", "" },
	{ S, "0 9 * * 5#3 root third-friday\n", 1,
	    "cron.d-t-302ff8", "0 9 * * 5#3", "root", "third-friday",
	    NULL, "", NULL, "", "" },
	{ S, "@reboot root /usr/bin/startup\n", 1,
	    "cron.d-t-c6f9ff", "@reboot", "root", "/usr/bin/startup",
	    NULL, "", NULL, "", "" },
	{ S, "@yearly root y\n", 1,
	    "cron.d-t-4f6e1d", "@yearly", "root", "y", NULL, "", NULL, "", "" },
	{ S, "@annually root y\n", 1,
	    "cron.d-t-4f6e1d", "@annually", "root", "y", NULL, "", NULL, "",
	    "" },
	{ S, "@monthly root m\n", 1,
	    "cron.d-t-9f7ba3", "@monthly", "root", "m", NULL, "", NULL, "",
	    "" },
	{ S, "@weekly root w\n", 1,
	    "cron.d-t-c744ba", "@weekly", "root", "w", NULL, "", NULL, "", "" },
	{ S, "@daily root d\n", 1,
	    "cron.d-t-8c4c7a", "@daily", "root", "d", NULL, "", NULL, "", "" },
	{ S, "@midnight root d\n", 1,
	    "cron.d-t-8c4c7a", "@midnight", "root", "d", NULL, "", NULL, "",
	    "" },
	{ S, "@hourly\troot h\n", 1,
	    "cron.d-t-55a346", "@hourly", "root", "h", NULL, "", NULL, "", "" },
	{ S, "@DAILY root up\n", 1,
	    "cron.d-t-a19045", "@DAILY", "root", "up", NULL, "", NULL, "",
	    "" },
	{ S, "@every 90s root poll\n", 1,
	    "cron.d-t-2a872b", "@every 90s", "root", "poll",
	    NULL, "", NULL, "", "" },

	/* Commands: %, \%, cron's odd corners, cronie's -n. */
	{ S, "0 3 * * * root cat >/tmp/x%line1%line2%\n", 1,
	    "cron.d-t-c779d5", "0 3 * * *", "root", "cat >/tmp/x",
	    "line1\nline2\n", "", NULL, "", "" },
	{ S, "0 3 * * * root date +\\%F\\%T\n", 1,
	    "cron.d-t-3006a8", "0 3 * * *", "root", "date +%F%T",
	    NULL, "", NULL, "", "" },
	{ S, "0 22 * * 1-5 root mail -s \"It's 10pm\" joe%Joe,%%Where are "
	    "your kids?%\n", 1,
	    "cron.d-t-2062c4", "0 22 * * 1-5", "root",
	    "mail -s \"It's 10pm\" joe", "Joe,\n\nWhere are your kids?\n",
	    "", NULL, "", "" },
	{ S, "0 3 * * * root echo \\\\%in\\\\%put\\x\n", 1,
	    "cron.d-t-bedc36", "0 3 * * *", "root", "echo \\\\",
	    "in\\%put\\x", "", NULL, "", "" },
	{ S, "0 3 * * * root cmd%\n", 1,
	    "cron.d-t-315140", "0 3 * * *", "root", "cmd", NULL, "", NULL, "",
	    "" },
	{ S, "0 3 * * * root -n backup --all\n", 1,
	    "cron.d-t-014741", "0 3 * * *", "root", "backup --all",
	    NULL, "", NULL, "",
	    "1:warning: -n (cronie: no mail when the command succeeds) is "
	    "dropped: sqcron has no such mail mode; failures are in sqcron "
	    "runs --open" },
	{ S, "0 3 * * * root -nx\n", 1,
	    "cron.d-t-80c0ae", "0 3 * * *", "root", "-nx",
	    NULL, "", NULL, "", "" },

	/* Environment lines. */
	{ S, "SHELL=/bin/sh\nPATH = /usr/bin:/bin  \n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "SHELL=/bin/sh|PATH=/usr/bin:/bin", NULL, "", "" },
	{ S, "Q = '  a b  '\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "Q=  a b  ", NULL, "", "" },
	{ S, "Q=\"x # y\"  \n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "Q=x # y", NULL, "", "" },
	{ S, "\"QN\" = v w\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "QN=v w", NULL, "", "" },
	{ S, "EMPTY=\nA=1\nA=2\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "EMPTY=|A=2", NULL, "", "" },
	{ S, "MAILTO=ops@example.net\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "", NULL, "mailto=ops@example.net", "" },
	{ S, "MAILTO=\"\"\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "", NULL, "mailto=", "" },
	{ S, "CRON_TZ=Europe/Berlin\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "", "Europe/Berlin", "", "" },
	{ S, "CRON_TZ=Mars/Base\nCRON_TZ=UTC\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "", "UTC", "",
	    "1:CRON_TZ=Mars/Base: unknown time zone \"Mars/Base\"; the jobs "
	    "below are not loaded until CRON_TZ is set again" },
	{ S, "RANDOM_DELAY=30\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "", NULL, "jitter=30m", "" },
	{ S, "RANDOM_DELAY=30\nRANDOM_DELAY=\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "", NULL, "", "" },
	{ S, "SHELL=/bin/bash\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "SHELL=/bin/bash", NULL, "",
	    "1:warning: SHELL=/bin/bash only sets the variable: sqcrond runs "
	    "commands with its own shell (sqcrond.conf \"shell\", /bin/sh by "
	    "default)" },
	{ S, "LOGNAME=mallory\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "", NULL, "",
	    "1:warning: LOGNAME is ignored: sqcrond sets it from the job's "
	    "user, as cron does" },
	{ S, "MAILFROM=cron@h.example\nHOME=/srv\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "MAILFROM=cron@h.example|HOME=/srv", NULL, "", "" },

	/* Directives. */
	{ S, "# sqcron: name=backup timeout=10m memory=256M retries=3\n"
	    "0 3 * * * root b\n", 1,
	    "backup", "0 3 * * *", "root", "b",
	    NULL, "", NULL, "timeout=10m memory=256M retries=3", "" },
	{ S, "#sqcron: description=\"nightly \\\"dump\\\"\" overlap='queue'\n"
	    "0 3 * * * root b\n", 1,
	    "cron.d-t-40be73", "0 3 * * *", "root", "b",
	    NULL, "", NULL, "overlap=queue description=nightly \"dump\"", "" },
	{ S, "# sqcron: name=n1\nPATH=/bin\n\n# a comment\n"
	    "0 3 * * * root x\n", 1,
	    "n1", "0 3 * * *", "root", "x",
	    NULL, "PATH=/bin", NULL, "", "" },
	{ S, "# sqcron: kill_grace=5s\n# sqcron: catchup=latest "
	    "no_retry_exit=2,64-78\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "", NULL, "kill_grace=5s no_retry_exit=2,64-78 "
	    "catchup=latest", "" },
	{ S, "CRON_TZ=Europe/Berlin\nRANDOM_DELAY=5\n"
	    "# sqcron: timezone=Asia/Tokyo jitter=1m\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "", "Asia/Tokyo", "jitter=1m", "" },
	{ S, "A=1\n# sqcron: env=B=2 unset_env=A\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "B=2", NULL, "", "" },
	{ S, "CRON_TZ=Mars/Base\n# sqcron: timezone=UTC\n"
	    "0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "", "UTC", "",
	    "1:CRON_TZ=Mars/Base: unknown time zone \"Mars/Base\"; the jobs "
	    "below are not loaded until CRON_TZ is set again" },

	/* Line endings. */
	{ S, "\xef\xbb\xbf" "0 3 * * * root x\r\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "", NULL, "", "" },
	{ S, "0 3 * * * root x", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "", NULL, "",
	    "1:warning: no newline at the end of the file: cron ignores such "
	    "a last line, sqcron reads it" },
	{ S, "\t\n   \n# just a comment\n#sqcron-ish\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "" },

	/* User format. */
	{ U, "0 3 * * * /home/alice/bin/x\n", 1,
	    "crontabs-alice-583625", "0 3 * * *", "alice",
	    "/home/alice/bin/x", NULL, "", NULL, "", "" },
	{ U, "@daily echo hi\n", 1,
	    "crontabs-alice-8842f6", "@daily", "alice", "echo hi",
	    NULL, "", NULL, "", "" },
	{ U, "*/10 * * * * cd /tmp && make%input\n", 1,
	    "crontabs-alice-99b3ff", "*/10 * * * *", "alice",
	    "cd /tmp && make", "input", "", NULL, "", "" },
	{ U, "CRON_TZ=America/New_York\nMAILTO=alice@example.net\n"
	    "0 9 * * 1 report\n", 1,
	    "crontabs-alice-a0bc98", "0 9 * * 1", "alice", "report",
	    NULL, "", "America/New_York", "mailto=alice@example.net", "" },
	{ U, "0 3 * * * root x\n", 1,
	    "crontabs-alice-ea7517", "0 3 * * *", "alice", "root x",
	    NULL, "", NULL, "", "" },
	{ U, "# sqcron: name=alice-report pause_after=5\n@every 1h report\n",
	    1, "alice-report", "@every 1h", "alice", "report",
	    NULL, "", NULL, "pause_after=5", "" },

	/* Bad job lines. */
	{ S, "0 24 * * * root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:invalid schedule: field 2 (hour): 24 is out of range 0-23" },
	{ S, "* * * *\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:4 fields: a job line has 5 schedule fields, then a user and a "
	    "command" },
	{ U, "* * *\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:3 fields: a job line has 5 schedule fields, then a command" },
	{ S, "* * * * root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:invalid schedule: field 5 (day-of-week): unknown name \"root\" "
	    "(expected sun-sat)" },
	{ S, "0 3 * * *\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:missing user and command after the schedule \"0 3 * * *\"" },
	{ S, "0 3 * * * root   \n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:missing command after the user \"root\"" },
	{ U, "@daily\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:missing command after the schedule \"@daily\"" },
	{ S, "0 3 * * * /usr/bin/x --flag\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:\"/usr/bin/x\" is not a user name: a system crontab line has a "
	    "user between the schedule and the command (is this a user's "
	    "crontab?)" },
	{ S, "0 3 * * * r:oot x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:\"r:oot\" is not a user name: a system crontab line has a "
	    "user between the schedule and the command (is this a user's "
	    "crontab?)" },
	{ S, "* * * * * * root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:\"*\" is not a user name: six schedule fields? crontab lines "
	    "have five" },
	{ U, "0 * * * * * x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:the command starts with \"*\": six schedule fields? crontab "
	    "lines have five" },
	{ S, "@often root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:invalid schedule: unknown macro \"@often\" (expected @yearly, "
	    "@annually, @monthly, @weekly, @daily, @midnight, @hourly, "
	    "@reboot or @every DURATION)" },
	{ S, "@every\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:invalid schedule: @every needs a duration, e.g. @every 5m" },
	{ S, "@every   \n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:invalid schedule: @every needs a duration, e.g. @every 5m" },
	{ S, "@every 500ms root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:invalid schedule: @every: duration must be at least 1s" },
	{ S, "0 3 31 2 * root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:invalid schedule: can never fire: day-of-month 31 never occurs "
	    "in feb" },
	{ S, "0 3 * * * root %input only\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:empty command: nothing before the first %" },
	{ S, "0 3 * * * root -n   \n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:missing command after -n" },

	/* Bad environment lines. */
	{ S, "X=\"unterminated\n0 3 * * * root x\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "", NULL, "",
	    "1:X: unterminated \" quote in the value" },
	{ S, "A='x' y\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:A: text after the closing quote of the value (cron allows only "
	    "blanks)" },
	{ S, "my-var=1\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:\"my-var\" is not a variable name sqcron can set (letters, "
	    "digits and _, not starting with a digit, not SQCRON_*)" },
	{ S, "SQCRON_JOB=x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:\"SQCRON_JOB\" is not a variable name sqcron can set (letters, "
	    "digits and _, not starting with a digit, not SQCRON_*)" },
	{ S, "CRON_TZ=Mars/Base\n0 3 * * * root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:CRON_TZ=Mars/Base: unknown time zone \"Mars/Base\"; the jobs "
	    "below are not loaded until CRON_TZ is set again\n"
	    "2:not loaded: CRON_TZ on line 1 is bad" },
	{ S, "RANDOM_DELAY=soon\n0 3 * * * root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:RANDOM_DELAY=soon: expected a number of minutes from 0 to "
	    "525600; the jobs below are not loaded until RANDOM_DELAY is set "
	    "again\n"
	    "2:not loaded: RANDOM_DELAY on line 1 is bad" },
	{ S, "MAILTO=\"a\"b\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:MAILTO: text after the closing quote of the value (cron "
	    "allows only blanks)" },

	/* Bad directives: the job below is left out. */
	{ S, "# sqcron: tmeout=10m\n0 3 * * * root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:sqcron directive: unknown option \"tmeout\"; the job on line 2 "
	    "is not loaded" },
	{ S, "# sqcron: retries=many\n0 3 * * * root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:sqcron directive: retries: \"many\" is not a number from 0 to "
	    "1000; the job on line 2 is not loaded" },
	{ S, "# sqcron: timeout\n0 3 * * * root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:sqcron directive: expected key=value, got \"timeout\"; the job "
	    "on line 2 is not loaded" },
	{ S, "# sqcron: description=\"open\n0 3 * * * root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:sqcron directive: description: unterminated \" quote; the job "
	    "on line 2 is not loaded" },
	{ S, "# sqcron: user=bob\n0 3 * * * root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:sqcron directive: \"user\" comes from the job line, not from a "
	    "directive; the job on line 2 is not loaded" },
	{ S, "# sqcron: name=bad/name\n0 3 * * * root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:sqcron directive: name: \"bad/name\": a name is 1-128 of A-Z "
	    "a-z 0-9 . _ -; the job on line 2 is not loaded" },
	{ S, "# sqcron: timeout=10x\n0 24 * * * root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "1:sqcron directive: timeout: \"10x\" is not a duration: unknown "
	    "unit (expected ms, s, m, h, d or w); the job on line 2 is not "
	    "loaded\n"
	    "2:invalid schedule: field 2 (hour): 24 is out of range 0-23" },
	{ S, "# sqcron: backoff=1h backoff_max=1m\n0 3 * * * root x\n", 0,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "2:cron.d-t-11dcba: backoff_max is less than backoff" },
	{ S, "0 3 * * * root x\n# sqcron: name=orphan\n\n", 1,
	    "cron.d-t-11dcba", "0 3 * * *", "root", "x",
	    NULL, "", NULL, "",
	    "2:sqcron directive with no job line after it" },
	{ S, "# sqcron: name=a\n0 3 * * * root x\n# sqcron: name=a\n"
	    "0 4 * * * root y\n", 1,
	    "a", "0 3 * * *", "root", "x",
	    NULL, "", NULL, "",
	    "3:sqcron directive: duplicate job name \"a\" (first on line 2); "
	    "the job on line 4 is not loaded" },
};
#define NCASES (sizeof cases / sizeof cases[0])

/* The options a case lists in opts: all but those checked on their own. */
static void
other_opts(const struct job_spec *js, char *out, size_t len)
{
	const char		*key;
	enum jobspec_type	 type;
	char			 buf[JOBSPEC_VALUE_MAX + 1];
	size_t			 i, n = 0;

	*out = '\0';
	for (i = 0; (key = jobspec_key(i, &type)) != NULL; i++) {
		if (type == JOBSPEC_ENV || strcmp(key, "name") == 0 ||
		    strcmp(key, "schedule") == 0 ||
		    strcmp(key, "command") == 0 ||
		    strcmp(key, "timezone") == 0 || strcmp(key, "user") == 0)
			continue;
		if (jobspec_get(js, key, buf, sizeof buf) != 0)
			continue;
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s=%s",
		    n > 0 ? " " : "", key, buf);
	}
}

static void
join_env(const struct job_spec *js, char *out, size_t len)
{
	size_t	i, n = 0;

	*out = '\0';
	for (i = 0; i < js->nenv; i++)
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s",
		    i > 0 ? "|" : "", js->env[i]);
}

static void
join_diags(const struct crontab *ct, char *out, size_t len)
{
	size_t	i, n = 0;

	*out = '\0';
	for (i = 0; i < ct->ndiags; i++)
		n += (size_t)snprintf(out + n, n < len ? len - n : 0,
		    "%s%u:%s%s", i > 0 ? "\n" : "", ct->diags[i].line,
		    ct->diags[i].warning ? "warning: " : "",
		    ct->diags[i].reason);
}

static void
test_table(void)
{
	const struct tcase	*c;
	const struct job_spec	*js;
	struct crontab		*ct;
	char			 got[8192];
	size_t			 i, e, n;

	for (i = 0; i < NCASES; i++) {
		c = &cases[i];
		ct = crontab_parse(c->fmt == S ? SYS : USR, c->fmt,
		    c->fmt == U ? "alice" : NULL, c->text, strlen(c->text));
		join_diags(ct, got, sizeof got);
		is(got, c->diags, "case %zu: problems", i + 1);
		for (e = 0, n = 0; e < ct->ndiags; e++)
			n += !ct->diags[e].warning;
		is_int((int64_t)ct->nerrors, (int64_t)n, "case %zu: nerrors "
		    "counts the errors", i + 1);
		if (!is_int((int64_t)ct->njobs, c->njobs, "case %zu: %d job%s",
		    i + 1, c->njobs, c->njobs == 1 ? "" : "s") ||
		    ct->njobs == 0) {
			crontab_free(ct);
			continue;
		}
		js = &ct->jobs[ct->njobs - 1].spec;
		is(js->name, c->name, "case %zu: name", i + 1);
		is(js->schedule, c->schedule, "case %zu: schedule", i + 1);
		is(js->user, c->user, "case %zu: user", i + 1);
		is(js->command, c->command, "case %zu: command", i + 1);
		is(js->stdin_data, c->input, "case %zu: input", i + 1);
		join_env(js, got, sizeof got);
		is(got, c->env, "case %zu: env", i + 1);
		is(js->timezone, c->tz, "case %zu: timezone", i + 1);
		other_opts(js, got, sizeof got);
		is(got, c->opts, "case %zu: other options", i + 1);
		crontab_free(ct);
	}
}

static struct crontab *
parse(const char *path, const char *text)
{
	return crontab_parse(path, S, NULL, text, strlen(text));
}

/* Generated names: stable over schedule edits, distinct, never taken. */
static void
test_names(void)
{
	struct crontab	*a, *b;

	a = parse(SYS, "0 1 * * * root backup\n0 2 * * * root backup\n"
	    "0 3 * * * root backup\n0 4 * * * nobody backup\n");
	is_int((int64_t)a->njobs, 4, "names: four jobs");
	is(a->jobs[0].spec.name, "cron.d-t-d13b10", "same command: the first "
	    "gets the plain name");
	is(a->jobs[1].spec.name, "cron.d-t-d13b10-2", "the second -2");
	is(a->jobs[2].spec.name, "cron.d-t-d13b10-3", "the third -3");
	ok(strcmp(a->jobs[3].spec.name, "cron.d-t-d13b10") != 0 &&
	    strncmp(a->jobs[3].spec.name, "cron.d-t-", 9) == 0,
	    "another user, another name (%s)", a->jobs[3].spec.name);
	is_int(a->jobs[0].named, 0, "generated names are marked so");

	b = parse(SYS, "# a new comment\n*/5 * * * * root backup   \n"
	    "@daily root backup\n");
	is(b->jobs[0].spec.name, a->jobs[0].spec.name, "a new schedule and "
	    "trailing blanks keep the name (and the history)");
	is(b->jobs[1].spec.name, a->jobs[1].spec.name, "so does the second");
	crontab_free(b);

	b = parse(SYS, "0 1 * * * root backup\n# sqcron: name=cron.d-t-d13b10\n"
	    "0 2 * * * root other\n");
	is(b->jobs[1].spec.name, "cron.d-t-d13b10", "a given name is kept");
	is_int(b->jobs[1].named, 1, "and marked as given");
	is(b->jobs[0].spec.name, "cron.d-t-d13b10-2", "a generated name "
	    "steps aside, even for a later given one");
	crontab_free(b);
	crontab_free(a);

	/* One command repeated: suffixes are counted, not searched for. */
	{
		static const char	 line[] = "* * * * * root backup\n";
		size_t			 i, n = 100000, l = sizeof line - 1;
		char			*buf = xmalloc(n * l);
		time_t			 t0 = time(NULL);

		for (i = 0; i < n; i++)
			memcpy(buf + i * l, line, l);
		a = crontab_parse(SYS, S, NULL, buf, n * l);
		ok(a->njobs == n && strcmp(a->jobs[n - 1].spec.name,
		    "cron.d-t-d13b10-100000") == 0 && time(NULL) - t0 < 20,
		    "100000 times one command: the last is -100000, in %lld s",
		    (long long)(time(NULL) - t0));
		crontab_free(a);
		free(buf);
	}

	a = parse("/etc/crontab", "0 1 * * * root backup\n");
	is(a->jobs[0].spec.name, "etc-crontab-d13b10", "/etc/crontab: etc-"
	    "crontab-");
	crontab_free(a);
	a = parse("mycron", "0 1 * * * root backup\n");
	is(a->jobs[0].spec.name, "mycron-d13b10", "a bare file name");
	crontab_free(a);
	a = parse("/x/./cron.d//my file.txt", "0 1 * * * root backup\n");
	is(a->jobs[0].spec.name, "cron.d-my_file.txt-d13b10", "\".\" and "
	    "\"//\" skipped, other characters become _");
	crontab_free(a);
	a = parse("/etc/cron.d/a-very-long-file-name-that-goes-on-and-on-and-"
	    "on-well-past-what-a-job-name-could-ever-hold-in-128-bytes",
	    "0 1 * * * root backup\n0 1 * * * root backup\n");
	ok(job_name_valid(a->jobs[1].spec.name) && strlen(
	    a->jobs[1].spec.name) == 100 + 7 + 2, "a long prefix is cut to "
	    "100 bytes: %s", a->jobs[1].spec.name);
	crontab_free(a);
}

/* Environment lines apply to the job lines below them only. */
static void
test_env_scope(void)
{
	struct crontab	*ct;

	ct = parse(SYS, "0 1 * * * root a\nA=1\nCRON_TZ=UTC\n"
	    "0 2 * * * root b\nA=2\nCRON_TZ=\n0 3 * * * root c\n");
	is_int((int64_t)ct->njobs, 3, "env scope: three jobs");
	is_int((int64_t)ct->jobs[0].spec.nenv, 0, "the first sees no env");
	is(ct->jobs[0].spec.timezone, NULL, "nor CRON_TZ");
	is(ct->jobs[1].spec.env[0], "A=1", "the second sees A=1");
	is(ct->jobs[1].spec.timezone, "UTC", "and CRON_TZ=UTC");
	is(ct->jobs[2].spec.env[0], "A=2", "the third A=2");
	is(ct->jobs[2].spec.timezone, NULL, "CRON_TZ= unsets it");
	is_int(ct->jobs[2].line, 7, "jobs know their line");
	crontab_free(ct);
}

/* The text of a problem, and what it does with control characters. */
static void
test_diag_text(void)
{
	struct crontab	*ct;

	ct = parse(SYS, "SHELL=/bin/zsh\n0 24 * * * root x\n");
	is_int((int64_t)ct->ndiags, 2, "diag text: two problems");
	is(ct->diags[0].text, SYS ":1: warning: SHELL=/bin/zsh only sets the "
	    "variable: sqcrond runs commands with its own shell (sqcrond.conf "
	    "\"shell\", /bin/sh by default)", "a warning: FILE:LINE: warning: "
	    "reason");
	is(ct->diags[1].text, SYS ":2: invalid schedule: field 2 (hour): 24 "
	    "is out of range 0-23", "an error: FILE:LINE: reason");
	is_int((int64_t)ct->nerrors, 1, "one of them is an error");
	crontab_free(ct);

	ct = parse(SYS, "0 3 * * * \x1b[31mroot\x07 x\n");
	is(ct->diags[0].reason, "\"?[31mroot?\" is not a user name: a system "
	    "crontab line has a user between the schedule and the command (is "
	    "this a user's crontab?)", "control characters print as ?");
	crontab_free(ct);
}

static void
test_dirent(void)
{
	static const struct {
		const char	*name;
		int		 wanted;
	} names[] = {
		{ "backup", 1 }, { "php8_3-sessionclean", 1 }, { "0hourly", 1 },
		{ "ABC_def-9", 1 }, { "backup.dpkg-old", 0 },
		{ "backup.dpkg-dist", 0 }, { "backup.dpkg-new", 0 },
		{ "backup~", 0 }, { ".backup.swp", 0 }, { "backup.bak", 0 },
		{ ".placeholder", 0 }, { "a b", 0 }, { "", 0 }, { ".", 0 },
		{ "..", 0 }, { "x.y", 0 }, { "caf\xc3\xa9", 0 },
	};
	size_t	i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		is_int(crontab_dirent_wanted(names[i].name), names[i].wanted,
		    "cron.d: \"%s\" is %s", names[i].name, names[i].wanted ?
		    "read" : "skipped");
}

static void
test_read(void)
{
	struct crontab	*ct;
	char		 dir[] = "/tmp/sqcron-008.XXXXXX", path[256], *cause;
	char		*big;
	int		 fd;

	if (mkdtemp(dir) == NULL)
		BAIL_OUT("mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof path, "%s/missing", dir);
	cause = NULL;
	ct = crontab_read(path, S, NULL, &cause);
	ok(ct == NULL && cause != NULL && strstr(cause,
	    "/missing: No such file or directory") != NULL,
	    "read: a missing file is an error");
	free(cause);
	cause = NULL;
	ct = crontab_read(dir, S, NULL, &cause);
	ok(ct == NULL && cause != NULL && strstr(cause,
	    ": not a regular file") != NULL, "read: a directory is refused");
	free(cause);

	snprintf(path, sizeof path, "%s/alice", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, "@daily echo hi\n", 15) != 15)
		BAIL_OUT("%s: %s", path, strerror(errno));
	close(fd);
	cause = NULL;
	ct = crontab_read(path, U, "alice", &cause);
	ok(ct != NULL && ct->njobs == 1 && ct->ndiags == 0 &&
	    strcmp(ct->jobs[0].spec.user, "alice") == 0 &&
	    strcmp(ct->path, path) == 0, "read: a user crontab");
	crontab_free(ct);

	/* One byte over the limit. */
	big = xmalloc(CRONTAB_FILE_MAX + 1);
	memset(big, '#', CRONTAB_FILE_MAX + 1);
	if ((fd = open(path, O_WRONLY | O_TRUNC)) == -1 ||
	    write(fd, big, CRONTAB_FILE_MAX + 1) != CRONTAB_FILE_MAX + 1)
		BAIL_OUT("%s: %s", path, strerror(errno));
	close(fd);
	cause = NULL;
	ct = crontab_read(path, U, "alice", &cause);
	ok(ct == NULL && cause != NULL && strstr(cause,
	    ": larger than 4194304 bytes") != NULL,
	    "read: a file over 4 MiB is refused");
	free(cause);
	free(big);
	unlink(path);
	rmdir(dir);
}

/* NUL bytes, huge lines, huge values: reported, never a crash. */
static void
test_hostile(void)
{
	static const char	 nul[] = "0 3 * * * root a\0b\n0 4 * * * root c\n";
	struct crontab		*ct;
	char			*buf;
	size_t			 n;

	ct = crontab_parse(SYS, S, NULL, nul, sizeof nul - 1);
	ok(ct->njobs == 1 && ct->jobs[0].line == 2 && ct->ndiags == 1 &&
	    ct->diags[0].line == 1 && strcmp(ct->diags[0].reason,
	    "line contains a NUL byte") == 0, "a NUL byte: that line is out, "
	    "the next loads");
	crontab_free(ct);

	n = CRONTAB_LINE_MAX + 100;
	buf = xmalloc(n + 32);
	snprintf(buf, n + 32, "0 3 * * * root ");
	memset(buf + 15, 'x', n - 15);
	memcpy(buf + n, "\n@daily root y\n", 15);
	ct = crontab_parse(SYS, S, NULL, buf, n + 15);
	ok(ct->njobs == 1 && ct->ndiags == 1 && strcmp(ct->diags[0].reason,
	    "line is longer than 16384 bytes") == 0, "a line over 16 KiB is "
	    "reported and skipped");
	crontab_free(ct);
	n = 5000;
	memcpy(buf + n, "\n", 2);
	ct = crontab_parse(SYS, S, NULL, buf, n + 1);
	ok(ct->njobs == 0 && ct->ndiags == 1 && strcmp(ct->diags[0].reason,
	    "command: value too long (at most 4096 bytes)") == 0,
	    "a command over 4096 bytes is refused by jobspec");
	crontab_free(ct);
	snprintf(buf, n + 32, "# sqcron: description=");
	memset(buf + 22, 'd', n - 22);
	memcpy(buf + n, "\n@daily root y\n", 15);
	ct = crontab_parse(SYS, S, NULL, buf, n + 15);
	ok(ct->njobs == 0 && ct->ndiags == 1 && strstr(ct->diags[0].reason,
	    "description: value too long") != NULL, "so is a long directive "
	    "value");
	crontab_free(ct);
	free(buf);

	ct = crontab_parse(SYS, S, NULL, "", 0);
	ok(ct->njobs == 0 && ct->ndiags == 0, "an empty file");
	crontab_free(ct);
	ct = crontab_parse(SYS, S, NULL, "\n\n\n", 3);
	ok(ct->njobs == 0 && ct->ndiags == 0, "blank lines only");
	crontab_free(ct);
}

/*
 * Random files built from crontab pieces and random bytes.  Whatever
 * comes in: no crash (ASan builds catch more), every job complete and
 * uniquely named, problems in line order and counted right.
 */
static void
test_fuzz(void)
{
	static const char *const pieces[] = {
		"0 3 * * * root ", "*/5 * * * * ", "@reboot ", "@every 5m ",
		"@daily ", "root ", "nobody ", "echo hi", "%", "\\%", "\\",
		"\"", "'", "=", "A=", "CRON_TZ=", "UTC", "Mars/X", "MAILTO=",
		"RANDOM_DELAY=", "7", "# sqcron: ", "name=", "x", "timeout=",
		"10m", "10x", "\n", "\n", "\n", "\r\n", " ", "\t", "#", "-n ",
		"L", "5#3", "jan", "*", ",", "-", "/", "\xef\xbb\xbf",
	};
	struct crontab		*ct;
	char			*buf, *cause;
	size_t			 len, cap = 4096, i, k, bad = 0, lines;
	unsigned		 seed = 8, iter, prev;

	buf = xmalloc(cap);
	for (iter = 0; iter < 20000; iter++) {
		len = 0;
		while (len < cap - 64 && (rand_r(&seed) % 64) != 0) {
			if (rand_r(&seed) % 8 == 0)
				buf[len++] = (char)(rand_r(&seed) & 0xff);
			else {
				k = (size_t)rand_r(&seed) %
				    (sizeof pieces / sizeof pieces[0]);
				memcpy(buf + len, pieces[k], strlen(pieces[k]));
				len += strlen(pieces[k]);
			}
		}
		for (i = 0, lines = 1; i < len; i++)
			lines += buf[i] == '\n';
		ct = crontab_parse(SYS, iter % 2 ? S : U, "alice", buf, len);
		for (i = 0, prev = 0, k = 0; i < ct->ndiags; i++) {
			if (ct->diags[i].line < prev || ct->diags[i].line == 0 ||
			    ct->diags[i].line > lines ||
			    strncmp(ct->diags[i].text, SYS ":", 5) != 0)
				bad++;
			prev = ct->diags[i].line;
			k += !ct->diags[i].warning;
		}
		if (k != ct->nerrors)
			bad++;
		for (i = 0; i < ct->njobs; i++) {
			cause = NULL;
			if (jobspec_check(&ct->jobs[i].spec, &cause) != 0 ||
			    !job_name_valid(ct->jobs[i].spec.name))
				bad++;
			free(cause);
			for (k = 0; k < i; k++)
				if (strcmp(ct->jobs[i].spec.name,
				    ct->jobs[k].spec.name) == 0)
					bad++;
		}
		crontab_free(ct);
	}
	free(buf);
	is_int((int64_t)bad, 0, "fuzz: 20000 random files, every promise kept");
}

int
main(void)
{
	test_table();
	test_names();
	test_env_scope();
	test_diag_text();
	test_dirent();
	test_read();
	test_hostile();
	test_fuzz();
	return done_testing();
}

/*
 * 005-log.c: the text and JSON line formats of src/log.c.
 *
 * stderr is pointed at a temporary file with dup2 around each call and the
 * file is read back, so the test sees exactly the bytes an operator's
 * journal or log shipper would.  The timestamp is checked by pattern, the
 * rest of each line exactly.
 */

#include <sys/wait.h>

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

#include "../src/log.h"
#include "../src/xmalloc.h"

#define TIME_RE "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static char	 path[4096];
static int	 fd = -1;
static int	 saved = -1;
static int	 pid;

static void
capture_start(void)
{
	fflush(stderr);
	if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		BAIL_OUT("truncate %s: %s", path, strerror(errno));
	if (dup2(fd, STDERR_FILENO) == -1)
		BAIL_OUT("dup2: %s", strerror(errno));
}

/* What was written to stderr since capture_start; caller frees. */
static char *
capture_end(void)
{
	char	*buf;
	off_t	 len;

	fflush(stderr);
	if (dup2(saved, STDERR_FILENO) == -1)
		BAIL_OUT("dup2: %s", strerror(errno));
	if ((len = lseek(fd, 0, SEEK_END)) == -1)
		BAIL_OUT("lseek: %s", strerror(errno));
	buf = xmalloc(len + 1);
	if (pread(fd, buf, len, 0) != len)
		BAIL_OUT("pread: %s", strerror(errno));
	buf[len] = '\0';
	return (buf);
}

static int
matches(const char *s, const char *re)
{
	regex_t	 r;
	int	 rc;

	if (regcomp(&r, re, REG_EXTENDED|REG_NOSUB) != 0)
		BAIL_OUT("bad regex %s", re);
	rc = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return (rc);
}

/* The JSON line with its "time" member checked and cut out. */
static char *
json_without_time(const char *line)
{
	const char	*prefix = "{\"time\":\"";
	char		*out, *re;
	size_t		 plen = strlen(prefix);

	xasprintf(&re, "^\\{\"time\":\"" TIME_RE "\",");
	if (!matches(line, re)) {
		free(re);
		return (xstrdup(line));
	}
	free(re);
	/* prefix, 24 bytes of time, closing quote and comma. */
	xasprintf(&out, "{%s", line + plen + 24 + 2);
	return (out);
}

static void
test_text(void)
{
	char	*got, *want;
	int	 e;

	log_init("sqcrond", 1, LOG_LEVEL_INFO, 0);

	capture_start();
	log_warnx("hello %s", "world");
	got = capture_end();
	xasprintf(&want, "^" TIME_RE " sqcrond\\[%d\\] warn: hello world\n$",
	    pid);
	if (!ok(matches(got, want), "text line format"))
		diag("got '%s'", got);
	free(got);
	free(want);

	capture_start();
	errno = ENOENT;
	log_warn("open %s", "/nonexistent");
	e = errno;
	got = capture_end();
	xasprintf(&want, " sqcrond[%d] warn: open /nonexistent: %s\n", pid,
	    strerror(ENOENT));
	is(strchr(got, ' '), want, "log_warn appends strerror(errno)");
	is_int(e, ENOENT, "log_warn preserves errno");
	free(got);
	free(want);

	capture_start();
	log_debug("not shown");
	log_info("shown");
	got = capture_end();
	xasprintf(&want, " sqcrond[%d] info: shown\n", pid);
	is(strchr(got, ' '), want, "debug dropped at level info");
	free(got);
	free(want);

	log_set_level(LOG_LEVEL_DEBUG);
	is_int(log_get_level(), LOG_LEVEL_DEBUG, "log_set_level");
	capture_start();
	log_debug("now shown");
	got = capture_end();
	xasprintf(&want, " sqcrond[%d] debug: now shown\n", pid);
	is(strchr(got, ' '), want, "debug shown at level debug");
	free(got);
	free(want);

	log_set_level(LOG_LEVEL_WARN);
	capture_start();
	log_info("hidden");
	got = capture_end();
	is(got, "", "info dropped at level warn");
	free(got);

	log_set_level(LOG_LEVEL_INFO);
	capture_start();
	log_info("two\nlines\rand\x01" "bell\ttab");
	got = capture_end();
	xasprintf(&want, " sqcrond[%d] info: two\\nlines\\rand\\x01bell\ttab\n",
	    pid);
	is(strchr(got, ' '), want, "text escapes control characters");
	free(got);
	free(want);
}

static void
test_json(void)
{
	char	*got, *line, *want, *big, *msg;
	size_t	 i;

	log_init("sqcrond", 1, LOG_LEVEL_INFO, 1);

	capture_start();
	log_info("plain");
	got = capture_end();
	line = json_without_time(got);
	xasprintf(&want, "{\"level\":\"info\",\"pid\":%d,\"msg\":\"plain\"}\n",
	    pid);
	is(line, want, "JSON line format");
	free(got);
	free(line);
	free(want);

	capture_start();
	log_warnx("q\"b\\s/n\nr\rt\tb\bf\fc\x01" "d\x1f" "e\x7f" "end");
	got = capture_end();
	line = json_without_time(got);
	xasprintf(&want, "{\"level\":\"warn\",\"pid\":%d,\"msg\":"
	    "\"q\\\"b\\\\s/n\\nr\\rt\\tb\\bf\\fc\\u0001d\\u001fe\\u007fend\"}\n",
	    pid);
	is(line, want, "JSON escapes quotes, backslash, control characters");
	free(got);
	free(line);
	free(want);

	capture_start();
	log_info("h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80");
	got = capture_end();
	line = json_without_time(got);
	xasprintf(&want, "{\"level\":\"info\",\"pid\":%d,\"msg\":"
	    "\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80\"}\n", pid);
	is(line, want, "JSON passes valid UTF-8 through");
	free(got);
	free(line);
	free(want);

	capture_start();
	log_info("a\xff" "b\xc3" "c\xc0\xaf" "d\xed\xa0\x80" "e\xf4\x90\x80\x80"
	    "f\xe2\x9c");
	got = capture_end();
	line = json_without_time(got);
	xasprintf(&want, "{\"level\":\"info\",\"pid\":%d,\"msg\":"
	    "\"a\\ufffdb\\ufffdc\\ufffd\\ufffdd\\ufffd\\ufffd\\ufffd"
	    "e\\ufffd\\ufffd\\ufffd\\ufffdf\\ufffd\\ufffd\"}\n", pid);
	is(line, want, "JSON replaces invalid UTF-8 byte by byte");
	free(got);
	free(line);
	free(want);

	errno = EACCES;
	capture_start();
	log_warn("x");
	got = capture_end();
	line = json_without_time(got);
	xasprintf(&want, "{\"level\":\"warn\",\"pid\":%d,\"msg\":\"x: %s\"}\n",
	    pid, strerror(EACCES));
	is(line, want, "JSON log_warn with strerror");
	free(got);
	free(line);
	free(want);

	/* Too long: cut to LOG_MSG_MAX bytes ending in "...". */
	big = xmalloc(LOG_MSG_MAX * 2);
	memset(big, 'x', LOG_MSG_MAX * 2 - 1);
	big[LOG_MSG_MAX * 2 - 1] = '\0';
	capture_start();
	log_info("%s", big);
	got = capture_end();
	line = json_without_time(got);
	msg = strstr(line, "\"msg\":\"");
	msg = msg != NULL ? msg + 7 : line;
	msg[strcspn(msg, "\"")] = '\0';
	is_int((int64_t)strlen(msg), LOG_MSG_MAX, "long message cut to 4 KiB");
	ok(strcmp(msg + LOG_MSG_MAX - 3, "...") == 0 &&
	    msg[LOG_MSG_MAX - 4] == 'x', "long message ends in ...");
	free(got);
	free(line);

	/* Cut falls inside a two-byte character: no half character left. */
	for (i = LOG_MSG_MAX - 10; i + 1 < LOG_MSG_MAX * 2 - 1; i += 2) {
		big[i] = '\xc3';
		big[i + 1] = '\xa9';
	}
	capture_start();
	log_info("%s", big);
	got = capture_end();
	ok(strstr(got, "\\ufffd") == NULL && strstr(got, "...\"}") != NULL,
	    "cut at a character boundary");
	free(got);
	free(big);
}

static void
test_levels(void)
{
	int	 level = -1;

	ok(log_level_parse("warning", &level) == 0 &&
	    level == LOG_LEVEL_WARN, "log_level_parse warning");
	ok(log_level_parse("debug", &level) == 0 &&
	    level == LOG_LEVEL_DEBUG, "log_level_parse debug");
	ok(log_level_parse("loud", &level) == -1 && level == LOG_LEVEL_DEBUG,
	    "log_level_parse refuses unknown levels");
	is(log_level_name(LOG_LEVEL_ERROR), "error", "log_level_name");
}

static void
test_syslog(void)
{
	char	*got;

	/* Nothing reaches stderr; where syslog puts it is not ours to read. */
	log_init("sqcrond", 0, LOG_LEVEL_INFO, 0);
	capture_start();
	log_info("to syslog");
	log_init("sqcrond", 0, LOG_LEVEL_INFO, 1);
	log_info("to syslog as JSON");
	got = capture_end();
	is(got, "", "syslog mode writes nothing to stderr");
	free(got);
	log_init("sqcrond", 1, LOG_LEVEL_INFO, 0);
}

static void
test_fatal(void)
{
	pid_t	 child;
	int	 status;
	char	*got, *want;

	log_init("sqcrond", 1, LOG_LEVEL_ERROR, 0);
	capture_start();
	if ((child = fork()) == -1)
		BAIL_OUT("fork: %s", strerror(errno));
	if (child == 0)
		fatalx("boom %d", 42);
	if (waitpid(child, &status, 0) == -1)
		BAIL_OUT("waitpid: %s", strerror(errno));
	got = capture_end();
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 1, "fatalx exits 1");
	xasprintf(&want, " sqcrond[%d] error: boom 42\n", (int)child);
	is(strchr(got, ' '), want, "fatalx logs at level error");
	free(got);
	free(want);
}

int
main(void)
{
	const char	*t;

	if ((t = getenv("TMPDIR")) == NULL || *t == '\0')
		t = "/tmp";
	snprintf(path, sizeof path, "%s/sqcron-005-XXXXXX", t);
	if ((fd = mkstemp(path)) == -1)
		BAIL_OUT("mkstemp %s: %s", path, strerror(errno));
	if ((saved = dup(STDERR_FILENO)) == -1)
		BAIL_OUT("dup: %s", strerror(errno));
	pid = (int)getpid();

	test_text();
	test_json();
	test_levels();
	test_syslog();
	test_fatal();

	close(fd);
	close(saved);
	unlink(path);
	return (done_testing());
}

/*
 * log.c: sqcrond's log, to syslog or stderr, as text or JSON lines.
 *
 * One event is one line.  Text lines read
 *
 *	2026-11-24T08:00:00.004Z sqcrond[123] warn: message
 *
 * (UTC, milliseconds) with control characters in the message shown as \n,
 * \r or \xHH so a job name or a peer's input can never forge a second
 * line.  JSON lines are
 *
 *	{"time":"2026-11-24T08:00:00.004Z","level":"warn","pid":123,"msg":"..."}
 *
 * escaped as RFC 8259 wants: \" \\ \b \f \n \r \t, other control
 * characters and DEL as \u00XX, valid UTF-8 passed through and each byte
 * of invalid UTF-8 replaced by \ufffd, so every line parses.  To syslog
 * (LOG_DAEMON, LOG_PID) the text form is the bare message, because syslog
 * adds its own time, name and pid; the JSON form is the same object as on
 * stderr.  Messages over LOG_MSG_MAX bytes are cut at a character boundary
 * and end in "...".
 *
 * libc only: no allocation, so logging works when memory has run out and
 * from the early start-up before anything else is set up.  Not safe from
 * signal handlers (it calls syslog and snprintf); the daemon only logs
 * from the event loop.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Worst case of escaping: "\u00XX" is six bytes for one. */
#define LOG_LINE_MAX (LOG_MSG_MAX * 6 + 256)

struct log_buf {
	char	*buf;
	size_t	 len;
	size_t	 size;
};

static char	 log_name[64];
static int	 log_to_stderr = 1;
static int	 log_threshold = LOG_LEVEL_INFO;
static int	 log_json;
static int	 log_syslog_open;

static const char *const log_names[] = {
	"error", "warn", "info", "debug"
};
static const int log_priorities[] = {
	LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG
};

static void	log_vlog(int, int, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

/* (Re)configure: log_init(progname, to_stderr, level, json); repeatable. */
void
log_init(const char *progname, int to_stderr, int level, int json)
{
	int	 saved_errno = errno;

	if (progname != NULL)
		snprintf(log_name, sizeof log_name, "%s", progname);
	if (log_syslog_open) {
		closelog();
		log_syslog_open = 0;
	}
	log_to_stderr = to_stderr != 0;
	log_set_level(level);
	log_json = json != 0;
	if (!log_to_stderr) {
		/* openlog keeps the pointer: log_name is static. */
		openlog(log_name[0] != '\0' ? log_name :
		    program_invocation_short_name, LOG_PID|LOG_NDELAY,
		    LOG_DAEMON);
		log_syslog_open = 1;
	}
	errno = saved_errno;
}

/* Change the threshold only. */
void
log_set_level(int level)
{
	if (level < LOG_LEVEL_ERROR)
		level = LOG_LEVEL_ERROR;
	if (level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	log_threshold = level;
}

/* The current threshold. */
int
log_get_level(void)
{
	return (log_threshold);
}

/* Parse error, warn, warning, info or debug; 0, or -1 if unknown. */
int
log_level_parse(const char *s, int *level)
{
	int	 i;

	if (strcmp(s, "warning") == 0) {
		*level = LOG_LEVEL_WARN;
		return (0);
	}
	for (i = LOG_LEVEL_ERROR; i <= LOG_LEVEL_DEBUG; i++) {
		if (strcmp(s, log_names[i]) == 0) {
			*level = i;
			return (0);
		}
	}
	return (-1);
}

/* The name of a level: "error", "warn", "info" or "debug". */
const char *
log_level_name(int level)
{
	if (level < LOG_LEVEL_ERROR || level > LOG_LEVEL_DEBUG)
		return ("unknown");
	return (log_names[level]);
}

static void
log_put(struct log_buf *lb, const char *s, size_t n)
{
	if (n > lb->size - 1 - lb->len)
		n = lb->size - 1 - lb->len;
	memcpy(lb->buf + lb->len, s, n);
	lb->len += n;
	lb->buf[lb->len] = '\0';
}

static void
log_puts(struct log_buf *lb, const char *s)
{
	log_put(lb, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (at most left bytes), or 0. */
static size_t
log_utf8_len(const unsigned char *s, size_t left)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;	/* UTF-16 surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;	/* over U+10FFFF */
	} else
		return (0);
	if (left < n || s[1] < lo || s[1] > hi)
		return (0);
	for (i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return (0);
	}
	return (n);
}

static void
log_put_json(struct log_buf *lb, const char *msg)
{
	const unsigned char	*s = (const unsigned char *)msg;
	size_t			 left = strlen(msg), n;
	char			 esc[8];

	while (left > 0) {
		switch (*s) {
		case '"':
			log_puts(lb, "\\\"");
			break;
		case '\\':
			log_puts(lb, "\\\\");
			break;
		case '\b':
			log_puts(lb, "\\b");
			break;
		case '\f':
			log_puts(lb, "\\f");
			break;
		case '\n':
			log_puts(lb, "\\n");
			break;
		case '\r':
			log_puts(lb, "\\r");
			break;
		case '\t':
			log_puts(lb, "\\t");
			break;
		default:
			if (*s < 0x20 || *s == 0x7f) {
				snprintf(esc, sizeof esc, "\\u%04x", *s);
				log_puts(lb, esc);
				break;
			}
			if ((n = log_utf8_len(s, left)) == 0) {
				log_puts(lb, "\\ufffd");
				break;
			}
			log_put(lb, (const char *)s, n);
			s += n;
			left -= n;
			continue;
		}
		s++;
		left--;
	}
}

static void
log_put_text(struct log_buf *lb, const char *msg)
{
	const unsigned char	*s;
	char			 esc[8];

	for (s = (const unsigned char *)msg; *s != '\0'; s++) {
		if (*s == '\n')
			log_puts(lb, "\\n");
		else if (*s == '\r')
			log_puts(lb, "\\r");
		else if ((*s < 0x20 && *s != '\t') || *s == 0x7f) {
			snprintf(esc, sizeof esc, "\\x%02x", *s);
			log_puts(lb, esc);
		} else
			log_put(lb, (const char *)s, 1);
	}
}

static void
log_put_time(struct log_buf *lb)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 buf[64];

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 ||
	    gmtime_r(&ts.tv_sec, &tm) == NULL) {
		log_puts(lb, "0000-00-00T00:00:00.000Z");
		return;
	}
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
	log_puts(lb, buf);
}

static void
log_write_stderr(const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(STDERR_FILENO, buf, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Format and emit one message at level; errnum >= 0 appends its
 * strerror.  Keeps errno.
 */
static void
log_vlog(int level, int errnum, const char *fmt, va_list ap)
{
	char		 msg[LOG_MSG_MAX + 1], line[LOG_LINE_MAX], num[32];
	struct log_buf	 lb = { line, 0, sizeof line };
	const char	*name;
	size_t		 len, cut;
	int		 n, truncated, saved_errno = errno;

	if (level > log_threshold)
		return;

	n = vsnprintf(msg, sizeof msg, fmt, ap);
	if (n < 0) {
		snprintf(msg, sizeof msg, "(unprintable message: %s)", fmt);
		n = (int)strlen(msg);
	}
	truncated = (size_t)n > LOG_MSG_MAX;
	if (errnum >= 0 && !truncated) {
		len = strlen(msg);
		n = snprintf(msg + len, sizeof msg - len, ": %s",
		    strerror(errnum));
		truncated = n < 0 || len + (size_t)n > LOG_MSG_MAX;
	}
	if (truncated) {
		/* Back up to a character boundary so UTF-8 stays valid. */
		cut = LOG_MSG_MAX - 3;
		while (cut > 0 && ((unsigned char)msg[cut] & 0xc0) == 0x80)
			cut--;
		memcpy(msg + cut, "...", 4);
	}

	if (!log_to_stderr && !log_json) {
		syslog(log_priorities[level], "%s", msg);
		errno = saved_errno;
		return;
	}

	name = log_name[0] != '\0' ? log_name : program_invocation_short_name;
	if (log_json) {
		if (log_to_stderr) {
			log_puts(&lb, "{\"time\":\"");
			log_put_time(&lb);
			log_puts(&lb, "\",");
		} else
			log_puts(&lb, "{");
		snprintf(num, sizeof num, "%ld", (long)getpid());
		log_puts(&lb, "\"level\":\"");
		log_puts(&lb, log_names[level]);
		log_puts(&lb, "\",\"pid\":");
		log_puts(&lb, num);
		log_puts(&lb, ",\"msg\":\"");
		log_put_json(&lb, msg);
		log_puts(&lb, "\"}");
	} else {
		snprintf(num, sizeof num, "[%ld] ", (long)getpid());
		log_put_time(&lb);
		log_puts(&lb, " ");
		log_puts(&lb, name);
		log_puts(&lb, num);
		log_puts(&lb, log_names[level]);
		log_puts(&lb, ": ");
		log_put_text(&lb, msg);
	}

	if (log_to_stderr) {
		log_puts(&lb, "\n");
		log_write_stderr(lb.buf, lb.len);
	} else
		syslog(log_priorities[level], "%s", lb.buf);
	errno = saved_errno;
}

/* Warning with ": strerror(errno)" appended. */
void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_WARN, errno, fmt, ap);
	va_end(ap);
}

/* Warning without errno. */
void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_WARN, -1, fmt, ap);
	va_end(ap);
}

/* Informational message. */
void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_INFO, -1, fmt, ap);
	va_end(ap);
}

/* Debugging message, dropped unless the level is debug. */
void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_DEBUG, -1, fmt, ap);
	va_end(ap);
}

/* Log at error level with ": strerror(errno)" and exit(1). */
void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_ERROR, errno, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Log at error level and exit(1). */
void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_ERROR, -1, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * xmalloc.c: allocation that dies on exhaustion.
 *
 * sqcrond treats out-of-memory as fatal: a daemon that cannot allocate a
 * few bytes cannot record, schedule or report anything useful either, and
 * checking NULL at every call site only buries the real logic.  The
 * message goes straight to stderr (not through log.c, which may itself
 * need memory and which must stay usable from anywhere); under syslog the
 * service manager still sees the exit status.  This file does not do
 * pools, accounting or retries.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static void	xmalloc_die(void) __attribute__((noreturn));

static void
xmalloc_die(void)
{
	fprintf(stderr, "%s: out of memory\n", program_invocation_short_name);
	exit(1);
}

/* malloc that dies on failure; a zero size gives a distinct 1-byte block. */
void *
xmalloc(size_t size)
{
	void	*ptr;

	if (size == 0)
		size = 1;
	if ((ptr = malloc(size)) == NULL)
		xmalloc_die();
	return (ptr);
}

/* calloc that dies on failure or when nmemb * size overflows. */
void *
xcalloc(size_t nmemb, size_t size)
{
	void	*ptr;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if (SIZE_MAX / nmemb < size)
		xmalloc_die();
	if ((ptr = calloc(nmemb, size)) == NULL)
		xmalloc_die();
	return (ptr);
}

/* reallocarray that dies on failure or overflow; ptr may be NULL. */
void *
xreallocarray(void *oldptr, size_t nmemb, size_t size)
{
	void	*ptr;
	size_t	 total;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if (SIZE_MAX / nmemb < size)
		xmalloc_die();
	total = nmemb * size;
	if ((ptr = realloc(oldptr, total)) == NULL)
		xmalloc_die();
	return (ptr);
}

/* strdup that dies on failure. */
char *
xstrdup(const char *s)
{
	char	*ptr;

	if ((ptr = strdup(s)) == NULL)
		xmalloc_die();
	return (ptr);
}

/* strndup that dies on failure: at most n bytes, always terminated. */
char *
xstrndup(const char *s, size_t n)
{
	char	*ptr;

	if ((ptr = strndup(s, n)) == NULL)
		xmalloc_die();
	return (ptr);
}

/* asprintf that dies on failure; returns the length of the string. */
int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = xvasprintf(ret, fmt, ap);
	va_end(ap);
	return (n);
}

/* vasprintf that dies on failure; returns the length of the string. */
int
xvasprintf(char **ret, const char *fmt, va_list ap)
{
	int	 n;

	/*
	 * vasprintf also fails on an encoding error (EILSEQ) or a result
	 * over INT_MAX; neither can be handled by a caller that was
	 * promised a string, so both die here too.
	 */
	if ((n = vasprintf(ret, fmt, ap)) < 0 || *ret == NULL)
		xmalloc_die();
	return (n);
}

/* strlcpy: copy with truncation, always terminate; returns strlen(src). */
size_t
xstrlcpy(char *dst, const char *src, size_t dstsize)
{
	size_t	 len, n;

	len = strlen(src);
	if (dstsize != 0) {
		n = len < dstsize - 1 ? len : dstsize - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return (len);
}

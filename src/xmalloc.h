/*
 * xmalloc.h: allocation wrappers that never return NULL.
 *
 * Running out of memory is not something sqcrond can report and survive,
 * so these print "PROGNAME: out of memory" to stderr and exit(1); callers
 * never check for NULL.  xstrlcpy is here because every string-copying
 * caller needs it and glibc before 2.38 has no strlcpy.
 */
#ifndef SQCRON_XMALLOC_H
#define SQCRON_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* malloc that dies on failure; a zero size gives a distinct 1-byte block. */
void	*xmalloc(size_t);
/* calloc that dies on failure or when nmemb * size overflows. */
void	*xcalloc(size_t, size_t);
/* reallocarray that dies on failure or overflow; ptr may be NULL. */
void	*xreallocarray(void *, size_t, size_t);
/* strdup that dies on failure. */
char	*xstrdup(const char *);
/* strndup that dies on failure: at most n bytes, always terminated. */
char	*xstrndup(const char *, size_t);
/* asprintf that dies on failure; returns the length of the string. */
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* vasprintf that dies on failure; returns the length of the string. */
int	 xvasprintf(char **, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
/* strlcpy: copy with truncation, always terminate; returns strlen(src). */
size_t	 xstrlcpy(char *, const char *, size_t);

#endif

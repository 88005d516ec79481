/*
 * duration.h: parse and format durations ("1h30m") and sizes ("256M").
 * Pure functions: no I/O, no allocation, no globals.
 */
#ifndef SQCRON_DURATION_H
#define SQCRON_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define DURATION_BUFLEN 48

/* Parse "90s", "5m", "1h30m", "2d", "250ms", "1w"; a bare integer is seconds. */
int	duration_parse(const char *, int64_t *ms, const char **errstr);
/* Format as the shortest exact form: 5400000 -> "1h30m", 250 -> "250ms". */
void	duration_format(int64_t ms, char *buf, size_t len);
/* Parse "512K", "256M", "1G", "2T" (powers of 1024); a bare integer is bytes. */
int	size_parse(const char *, uint64_t *bytes, const char **errstr);
/* Format as the largest exact unit: 262144 -> "256K", 1000 -> "1000". */
void	size_format(uint64_t bytes, char *buf, size_t len);

#endif

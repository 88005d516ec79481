/*
 * fuzz-cronexpr: libFuzzer harness for the schedule parser and next-fire
 * search.  Any input must either be rejected with a message or parse
 * into a schedule whose fires strictly increase, in UTC and in zones
 * with DST; nothing may crash, hang or read out of bounds.
 *
 *	./configure --enable-fuzzing CC=clang && make
 *	contrib/fuzz/fuzz-cronexpr -dict=contrib/fuzz/cronexpr.dict CORPUS
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cronexpr.h"
#include "tz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tz	*zones[3];
	static const char	*names[] = {
		"UTC", "Europe/Berlin", "Australia/Lord_Howe"
	};
	struct cronexpr		 ce;
	char			 text[CRONEXPR_MAXLEN + 64];
	char			 err[CRONEXPR_ERRLEN], *cause;
	int64_t			 t, next;
	int			 z, k;

	if (zones[0] == NULL)
		for (z = 0; z < 3; z++)
			if ((zones[z] = tz_load(names[z], &cause)) == NULL)
				abort();
	if (size > sizeof text - 1)
		size = sizeof text - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	if (cronexpr_parse(&ce, text, err, sizeof err) != 0) {
		if (err[0] == '\0')
			abort();	/* a rejection must say why */
		return 0;
	}
	for (z = 0; z < 3; z++) {
		t = 1774740000;		/* near Berlin's 2026 spring forward */
		for (k = 0; k < 8; k++) {
			if (cronexpr_next(&ce, zones[z], t, &next) != 0)
				break;
			if (next <= t)
				abort();
			t = next;
		}
	}
	return 0;
}

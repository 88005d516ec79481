/*
 * fuzz-tz: libFuzzer harness for the TZif reader and the POSIX TZ rule
 * parser.  Zone files are local and trusted, but a corrupt one must be
 * refused with a reason, never read out of bounds.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tz		*tz;
	struct tz_segment	 seg;
	char			 rule[256], *cause = NULL;
	int64_t			 t;

	if ((tz = tz_from_tzif("fuzz", data, size, &cause)) == NULL) {
		if (cause == NULL)
			abort();
		free(cause);
	} else {
		for (t = -2000000000LL; t < 8000000000LL; t += 123456789) {
			tz_segment(tz, t, &seg);
			if (seg.start > t || seg.end <= t)
				abort();
		}
		tz_free(tz);
	}
	if (size >= sizeof rule)
		return 0;
	memcpy(rule, data, size);
	rule[size] = '\0';
	cause = NULL;
	if ((tz = tz_from_posix("fuzz", rule, &cause)) == NULL) {
		free(cause);
		return 0;
	}
	for (t = -2000000000LL; t < 8000000000LL; t += 98765432) {
		tz_segment(tz, t, &seg);
		if (seg.start > t || seg.end <= t)
			abort();
	}
	tz_free(tz);
	return 0;
}

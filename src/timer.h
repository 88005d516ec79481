/*
 * timer.h: libevent timers armed in milliseconds, the unit every part of
 * sqcrond counts in.
 */
#ifndef SQCRON_TIMER_H
#define SQCRON_TIMER_H

#include <stdint.h>

struct event;

/* Arm a timer event ms from now (negative: at once); evtimer_add's result. */
int	timer_add_ms(struct event *, int64_t ms);

#endif

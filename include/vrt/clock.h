/*
 * vrt/clock.h - the two clocks the core reads: monotonic milliseconds for
 * deadlines and delays, and UTC RFC 3339 timestamps for object metadata.
 */
#ifndef VRT_CLOCK_H
#define VRT_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds. */
uint64_t vrt_now_ms(void);

/* The current time as "2026-11-26T22:00:00Z". */
void vrt_rfc3339_now(char buf[32]);

#endif

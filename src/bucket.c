/*
 * bucket: a token bucket per client.  It fills at --rate tokens a second
 * up to --burst and every input line takes one.  Pure arithmetic on a
 * millisecond clock the caller passes in (which may wrap: only the
 * difference between two readings is used), so it is tested without time
 * passing.  It decides nothing about sockets: the client module stops
 * reading when it is empty.
 */
#include "config.h"

#include "bucket.h"

void
bucket_init(struct bucket *b, unsigned burst, uint32_t now_ms)
{
	b->milli = burst * 1000u;
	b->stamp = now_ms;
}

/* Add what rate earned since the stamp, up to burst. */
static void
bucket_refill(struct bucket *b, unsigned rate, unsigned burst, uint32_t now)
{
	uint64_t	earned = (uint64_t)(uint32_t)(now - b->stamp) * rate;
	uint64_t	full = (uint64_t)burst * 1000u;

	earned += b->milli;
	b->milli = (uint32_t)(earned > full ? full : earned);
	b->stamp = now;
}

int
bucket_take(struct bucket *b, unsigned rate, unsigned burst, uint32_t now_ms)
{
	bucket_refill(b, rate, burst, now_ms);
	if (b->milli < 1000u)
		return 0;
	b->milli -= 1000u;
	return 1;
}

uint32_t
bucket_wait(const struct bucket *b, unsigned rate)
{
	uint32_t	missing = b->milli >= 1000u ? 0 : 1000u - b->milli;
	uint32_t	ms = (missing + rate - 1) / rate;

	return ms == 0 ? 1 : ms;
}

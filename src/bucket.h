/* bucket: a token bucket, the per-client flood limit of --rate/--burst. */
#ifndef EVCHAT_BUCKET_H
#define EVCHAT_BUCKET_H

#include <stdint.h>

/* Tokens are counted in thousandths so slow rates refill smoothly. */
struct bucket {
	uint32_t	milli;	/* tokens held, times 1000 */
	uint32_t	stamp;	/* when it was last refilled, in ms */
};

/* Start full: a new client may send burst lines at once. */
void		bucket_init(struct bucket *, unsigned burst, uint32_t now_ms);
/* Refill for the time passed, then take one token if there is one. */
int		bucket_take(struct bucket *, unsigned rate, unsigned burst,
		    uint32_t now_ms);
/* Milliseconds until the next token, at least 1. */
uint32_t	bucket_wait(const struct bucket *, unsigned rate);

#endif

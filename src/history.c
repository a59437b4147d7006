/*
 * history: the last N chat and action lines of a room, replayed to whoever
 * joins.  A fixed ring, so memory is bounded by N times the longest line;
 * lines are copied in because the sender's buffer is gone by the time
 * anyone joins.  It knows nothing of rooms or clients.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "xmalloc.h"

void
history_init(struct history *h, size_t cap)
{
	memset(h, 0, sizeof *h);
	h->cap = cap;
}

void
history_free(struct history *h)
{
	size_t	i;

	for (i = 0; i < h->count; i++)
		free(h->lines[(h->head + i) % h->cap]);
	free(h->lines);
	h->lines = NULL;
	h->head = h->count = 0;
}

void
history_add(struct history *h, const char *text, size_t len)
{
	struct history_line	*l;
	size_t			 slot;

	if (h->cap == 0)
		return;
	if (h->lines == NULL)
		h->lines = xcalloc(h->cap, sizeof *h->lines);
	l = xmalloc(sizeof *l + len);
	l->len = len;
	memcpy(l->text, text, len);
	if (h->count == h->cap) {
		free(h->lines[h->head]);
		h->lines[h->head] = l;
		h->head = (h->head + 1) % h->cap;
		return;
	}
	slot = (h->head + h->count) % h->cap;
	h->lines[slot] = l;
	h->count++;
}

const struct history_line *
history_get(const struct history *h, size_t i)
{
	return h->lines[(h->head + i) % h->cap];
}

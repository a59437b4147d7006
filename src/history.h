/* history: a ring of a room's most recent lines. */
#ifndef EVCHAT_HISTORY_H
#define EVCHAT_HISTORY_H

#include <stddef.h>

/* One stored line, exactly as it was sent (CRLF included). */
struct history_line {
	size_t	len;
	char	text[];
};

/* Empty until the first line; owns every stored line. */
struct history {
	struct history_line	**lines;	/* cap slots, lazily allocated */
	size_t			  cap;		/* --history; 0 keeps nothing */
	size_t			  head;		/* slot of the oldest line */
	size_t			  count;	/* lines held */
};

void	history_init(struct history *, size_t cap);
/* Drop every line and the slots. */
void	history_free(struct history *);
/* Copy a line in, dropping the oldest when full. */
void	history_add(struct history *, const char *, size_t);
/* The i-th line held, oldest first; i < count. */
const struct history_line *history_get(const struct history *, size_t i);

#endif

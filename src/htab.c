/*
 * htab: O(1) lookup of nicks and rooms by name.  Intrusive, so adding a
 * user costs no allocation beyond the occasional doubling of the bucket
 * array; chained, so removal is simple.  Keys are names and compare
 * ignoring ASCII case, the one equality the protocol defines.  It does
 * not iterate: the owners keep their own lists for that.
 */
#include "config.h"

#include <stdlib.h>

#include "htab.h"
#include "name.h"
#include "xmalloc.h"

#define HTAB_FIRST	16

void
htab_init(struct htab *t)
{
	t->nbuckets = HTAB_FIRST;
	t->buckets = xcalloc(t->nbuckets, sizeof *t->buckets);
	t->count = 0;
}

void
htab_free(struct htab *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = t->count = 0;
}

struct htab_node *
htab_find(const struct htab *t, const char *key)
{
	struct htab_node	*n;
	unsigned int		 h = name_hash(key);

	for (n = t->buckets[h & (t->nbuckets - 1)]; n != NULL; n = n->next)
		if (n->hash == h && name_equal(n->key, key))
			return n;
	return NULL;
}

/* Double the bucket array once the chains average more than one node. */
static void
htab_grow(struct htab *t)
{
	struct htab_node	**nb, *n, *next;
	size_t			  i, size = t->nbuckets * 2;

	nb = xcalloc(size, sizeof *nb);
	for (i = 0; i < t->nbuckets; i++) {
		for (n = t->buckets[i]; n != NULL; n = next) {
			next = n->next;
			n->next = nb[n->hash & (size - 1)];
			nb[n->hash & (size - 1)] = n;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = size;
}

void
htab_insert(struct htab *t, struct htab_node *n, const char *key)
{
	struct htab_node	**b;

	if (t->count >= t->nbuckets)
		htab_grow(t);
	n->key = key;
	n->hash = name_hash(key);
	b = &t->buckets[n->hash & (t->nbuckets - 1)];
	n->next = *b;
	*b = n;
	t->count++;
}

void
htab_remove(struct htab *t, struct htab_node *n)
{
	struct htab_node	**p;

	for (p = &t->buckets[n->hash & (t->nbuckets - 1)]; *p != NULL;
	    p = &(*p)->next) {
		if (*p == n) {
			*p = n->next;
			n->next = NULL;
			t->count--;
			return;
		}
	}
}

/* htab: an intrusive hash table of names, compared ignoring ASCII case. */
#ifndef EVCHAT_HTAB_H
#define EVCHAT_HTAB_H

#include <stddef.h>

/* Embed one in each object that a table indexes. */
struct htab_node {
	struct htab_node	*next;	/* the bucket's chain */
	const char		*key;	/* the owner's name; owner keeps it */
	unsigned int		 hash;	/* name_hash(key), cached */
};

/* The table owns only its bucket array, never the nodes. */
struct htab {
	struct htab_node	**buckets;
	size_t			  nbuckets;	/* a power of two */
	size_t			  count;
};

/* The object that embeds node as field. */
#define HTAB_ENTRY(node, type, field)					\
	((type *)(void *)((char *)(node) - offsetof(type, field)))

void	htab_init(struct htab *);
/* Free the buckets; the nodes belong to their owners. */
void	htab_free(struct htab *);
/* The node whose key equals key ignoring ASCII case, or NULL. */
struct htab_node *htab_find(const struct htab *, const char *key);
/* Add a node whose key is set and not yet in the table. */
void	htab_insert(struct htab *, struct htab_node *, const char *key);
/* Remove a node that is in the table. */
void	htab_remove(struct htab *, struct htab_node *);

#endif

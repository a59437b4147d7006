/* xmalloc: allocators that never return NULL. */
#ifndef EVCHAT_XMALLOC_H
#define EVCHAT_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xmemdup(const void *, size_t);

#endif

/*
 * xmalloc: allocation that aborts loudly instead of returning NULL.  A chat
 * server that runs out of memory cannot do anything useful for its clients,
 * so nothing in evchatd checks allocations for failure: it calls these.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

/* Report and abort; abort() rather than exit() so a core shows the site. */
static void
xmalloc_die(const char *what, size_t n)
{
	log_flush();		/* the lines before it come first */
	fprintf(stderr, "evchatd: %s of %zu bytes failed\n", what, n);
	abort();
}

void *
xmalloc(size_t size)
{
	void	*p = malloc(size == 0 ? 1 : size);

	if (p == NULL)
		xmalloc_die("malloc", size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL)
		xmalloc_die("calloc", n * size);
	return p;
}

void *
xreallocarray(void *old, size_t n, size_t size)
{
	void	*p;

	if (size != 0 && n > SIZE_MAX / size)
		xmalloc_die("reallocarray overflow", SIZE_MAX);
	p = realloc(old, n * size == 0 ? 1 : n * size);
	if (p == NULL)
		xmalloc_die("realloc", n * size);
	return p;
}

char *
xstrdup(const char *s)
{
	return xmemdup(s, strlen(s));
}

char *
xmemdup(const void *src, size_t len)
{
	char	*p = xmalloc(len + 1);

	memcpy(p, src, len);
	p[len] = '\0';
	return p;
}

/* name: what makes a valid nick or room name, and how names compare. */
#ifndef EVCHAT_NAME_H
#define EVCHAT_NAME_H

#include <stddef.h>

#define NAME_MAX_BYTES	32	/* the longest nick or room name, in bytes */

/* Why a name was refused. */
enum name_result {
	NAME_OK,
	NAME_EMPTY,		/* no bytes */
	NAME_TOO_LONG,		/* more than NAME_MAX_BYTES */
	NAME_BAD_UTF8,		/* not valid UTF-8 */
	NAME_BAD_CHAR		/* whitespace, control or one of / # : , * ! @ < > */
};

/* Check a nick or a room name (without its leading '#'). */
enum name_result name_check(const char *, size_t);
/* A short sentence saying why a name was refused. */
const char	*name_why(enum name_result);
/* Copy a name with ASCII upper case folded to lower: the lookup key. */
void	name_fold(char *dst, const char *src, size_t len);
/* Compare two names ignoring ASCII case, like strcasecmp but for UTF-8. */
int	name_equal(const char *, const char *);
/* A hash of the folded name (FNV-1a), for the lookup tables. */
unsigned int name_hash(const char *);

#endif

/*
 * name: the rules for nicks and room names, in one place so the room
 * module, the commands and the tests agree.  A name is 1 to 32 bytes of
 * valid UTF-8 with no whitespace, no control character and none of the
 * characters the protocol gives a meaning.  Names are unique ignoring
 * ASCII case only: folding other scripts would need Unicode tables, and
 * Korean has no case.  Invalid names are refused, never repaired.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "line.h"
#include "name.h"

/* Unicode white space beyond ASCII (White_Space=yes). */
static int
name_is_space(uint32_t cp)
{
	if (cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 ||
	    cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000 || cp == 0xfeff)
		return 1;
	return 0;
}

enum name_result
name_check(const char *name, size_t len)
{
	const unsigned char	*s = (const unsigned char *)name;
	size_t			 i = 0, n;
	uint32_t		 cp;

	if (len == 0)
		return NAME_EMPTY;
	if (len > NAME_MAX_BYTES)
		return NAME_TOO_LONG;
	while (i < len) {
		if ((n = line_utf8_decode(s + i, len - i, &cp)) == 0)
			return NAME_BAD_UTF8;
		if (name_is_space(cp) || line_is_control(cp) ||
		    (cp < 0x80 && strchr("/#:,*!@<>", (int)cp) != NULL))
			return NAME_BAD_CHAR;
		i += n;
	}
	return NAME_OK;
}

const char *
name_why(enum name_result r)
{
	switch (r) {
	case NAME_OK:
		return "valid";
	case NAME_EMPTY:
		return "it is empty";
	case NAME_TOO_LONG:
		return "it is longer than 32 bytes";
	case NAME_BAD_UTF8:
		return "it is not valid UTF-8";
	default:
		return "it has a space, a control character or one of "
		    "/ # : , * ! @ < >";
	}
}

/* ASCII-only lower case: the one folding the protocol promises. */
static unsigned char
name_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

void
name_fold(char *dst, const char *src, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		dst[i] = (char)name_lower((unsigned char)src[i]);
	dst[len] = '\0';
}

int
name_equal(const char *a, const char *b)
{
	const unsigned char	*x = (const unsigned char *)a;
	const unsigned char	*y = (const unsigned char *)b;

	while (*x != '\0' && name_lower(*x) == name_lower(*y)) {
		x++;
		y++;
	}
	return name_lower(*x) == name_lower(*y);
}

unsigned int
name_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	while (*s != '\0') {
		h ^= name_lower((unsigned char)*s++);
		h *= 16777619u;
	}
	return h;
}

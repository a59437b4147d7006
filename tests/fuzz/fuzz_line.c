/*
 * fuzz_line: libFuzzer target for the input layer.  The first two bytes
 * choose the line cap and how the rest is cut into reads; every line that
 * comes out must respect the cap, and line_clean's output must be valid
 * UTF-8 with no control character but TAB, whatever went in.  Names are
 * checked too: a name that passes name_check must be valid UTF-8.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "line.h"
#include "name.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Abort (a finding) unless s is clean: valid UTF-8, no controls but TAB. */
static void
fuzz_check_clean(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n;
	uint32_t		 cp;

	while (i < len) {
		if ((n = line_utf8_decode(p + i, len - i, &cp)) == 0)
			abort();
		if (line_is_control(cp))
			abort();
		i += n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct line_reader	 lr;
	enum line_result	 res;
	size_t			 max, chunk, off = 0, used, n, i, rlen;
	char			*out;

	if (size < 2)
		return 0;
	max = 16 + data[0] % 200;
	chunk = 1 + data[1] % 64;
	data += 2;
	size -= 2;
	line_reader_init(&lr, max);
	out = malloc(LINE_CLEAN_MAX(max) + 1);
	while (off < size) {
		n = size - off < chunk ? size - off : chunk;
		for (i = 0; i < n; i += used) {
			used = line_scan(&lr, data + off + i, n - i, &res);
			(void)line_reply(&lr, &rlen);
			if (rlen % 3 != 0)	/* answers are whole triples */
				abort();
			line_reply_done(&lr);
			if (res == LINE_READY) {
				if (lr.len > max || lr.buf[lr.len] != '\0')
					abort();
				fuzz_check_clean(out, line_clean(lr.buf,
				    lr.len, out));
				if (name_check(lr.buf, lr.len) == NAME_OK &&
				    !line_utf8_valid(lr.buf, lr.len))
					abort();
			}
		}
		off += n;
		line_reader_shrink(&lr);
	}
	free(out);
	line_reader_free(&lr);
	return 0;
}

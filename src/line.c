/*
 * line: turn a client's byte stream into lines the rest of evchatd can
 * trust.  Framing ends a line at LF, drops a CR before it and also ends a
 * line at telnet's CR NUL.  Telnet commands are removed from the data and
 * each DO/WILL is refused once (WONT/DONT); subnegotiation is skipped.  A
 * 0xff that does not start a telnet command (IAC is followed by a command
 * byte, 240 to 255) is kept as data, so a plain client's stray 0xff
 * becomes U+FFFD like any other invalid byte.
 * A line never grows past the reader's cap: the excess is reported once
 * and dropped up to the next LF, so a client that never sends LF costs a
 * bounded buffer and no CPU.  line_clean then repairs UTF-8 and removes
 * control characters.  This module never sees a socket: the client module
 * feeds it bytes and sends what it returns.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "line.h"
#include "xmalloc.h"

#define TN_IAC	255
#define TN_DONT	254
#define TN_DO	253
#define TN_WONT	252
#define TN_WILL	251
#define TN_SB	250
#define TN_SE	240

/* Telnet parser states, kept in line_reader.tstate. */
enum {
	TS_DATA,	/* plain data */
	TS_IAC,		/* saw IAC */
	TS_OPT,		/* saw IAC DO/DONT/WILL/WONT, want the option byte */
	TS_SB,		/* inside subnegotiation, dropping bytes */
	TS_SB_IAC	/* saw IAC inside subnegotiation */
};

#define LINE_REPLY_MAX	24	/* eight 3-byte answers */
#define LINE_FIRST_CAP	128	/* the line buffer's first allocation */

/* Allocated on a client's first IAC: plain nc clients never pay for it. */
struct line_telnet {
	uint8_t		verb;		/* DO/DONT/WILL/WONT awaiting option */
	uint8_t		done_do[32];	/* options whose DO we answered */
	uint8_t		done_will[32];	/* options whose WILL we answered */
	size_t		rlen;		/* bytes waiting in reply */
	unsigned char	reply[LINE_REPLY_MAX];
};

void
line_reader_init(struct line_reader *lr, size_t max)
{
	memset(lr, 0, sizeof *lr);
	lr->max = max;
}

void
line_reader_free(struct line_reader *lr)
{
	free(lr->buf);
	free(lr->tn);
	lr->buf = NULL;
	lr->tn = NULL;
	lr->len = lr->cap = 0;
}

void
line_reader_shrink(struct line_reader *lr)
{
	if ((lr->len == 0 || (lr->flags & LINE_DONE)) &&
	    !(lr->flags & LINE_CR) && lr->buf != NULL) {
		free(lr->buf);
		lr->buf = NULL;
		lr->cap = lr->len = 0;
		lr->flags &= ~LINE_DONE;
	}
}

int
line_is_telnet(const struct line_reader *lr)
{
	return lr->tn != NULL;
}

const unsigned char *
line_reply(struct line_reader *lr, size_t *len)
{
	if (lr->tn == NULL) {
		*len = 0;
		return NULL;
	}
	*len = lr->tn->rlen;
	return lr->tn->reply;
}

void
line_reply_done(struct line_reader *lr)
{
	if (lr->tn != NULL)
		lr->tn->rlen = 0;
}

/* Answer DO with WONT and WILL with DONT, once per option. */
static void
line_telnet_answer(struct line_telnet *tn, uint8_t verb, uint8_t opt)
{
	uint8_t	*done, bit = (uint8_t)(1u << (opt & 7));

	if (verb != TN_DO && verb != TN_WILL)
		return;		/* WONT and DONT are never answered */
	done = verb == TN_DO ? tn->done_do : tn->done_will;
	if (done[opt >> 3] & bit)
		return;
	done[opt >> 3] |= bit;
	tn->reply[tn->rlen++] = TN_IAC;
	tn->reply[tn->rlen++] = verb == TN_DO ? TN_WONT : TN_DONT;
	tn->reply[tn->rlen++] = opt;
}

/*
 * Make room for n more bytes and the NUL after them; the line must stay
 * within max.  The buffer doubles from LINE_FIRST_CAP up to max + 1.
 */
static void
line_reserve(struct line_reader *lr, size_t n)
{
	size_t	cap = lr->cap;

	if (lr->len + n < cap)
		return;
	if (cap == 0)
		cap = LINE_FIRST_CAP;
	while (lr->len + n >= cap)
		cap *= 2;
	if (cap > lr->max + 1)
		cap = lr->max + 1;
	lr->buf = xreallocarray(lr->buf, cap, 1);
	lr->cap = cap;
}

/* Add one data byte to the line; returns nonzero when it made it overlong. */
static int
line_append(struct line_reader *lr, unsigned char ch)
{
	if (lr->flags & LINE_DISCARD)
		return 0;
	if (lr->len >= lr->max) {
		lr->flags |= LINE_DISCARD;
		lr->len = 0;
		return 1;
	}
	line_reserve(lr, 1);
	lr->buf[lr->len++] = (char)ch;
	return 0;
}

/*
 * Add n plain data bytes at once (no CR, LF or IAC among them), which the
 * line has room for within max: the common case of line_append.
 */
static void
line_append_run(struct line_reader *lr, const unsigned char *in, size_t n)
{
	line_reserve(lr, n);
	memcpy(lr->buf + lr->len, in, n);
	lr->len += n;
}

/* End the current line; returns nonzero if it is to be handed out. */
static int
line_end(struct line_reader *lr)
{
	lr->flags &= ~LINE_CR;
	if (lr->flags & LINE_DISCARD) {
		lr->flags &= ~LINE_DISCARD;
		lr->len = 0;
		return 0;
	}
	if (lr->buf == NULL)
		lr->buf = xmalloc(lr->cap = LINE_FIRST_CAP);
	lr->buf[lr->len] = '\0';
	lr->flags |= LINE_DONE;
	return 1;
}

/*
 * One data byte (telnet already removed).  Returns LINE_READY,
 * LINE_OVERLONG or LINE_MORE.
 */
static enum line_result
line_data(struct line_reader *lr, unsigned char ch)
{
	if (lr->flags & LINE_CR) {
		if (ch == '\n' || ch == '\0')
			return line_end(lr) ? LINE_READY : LINE_MORE;
		/* A bare CR is data; line_clean removes it later. */
		lr->flags &= ~LINE_CR;
		if (line_append(lr, '\r'))
			return LINE_OVERLONG;
	}
	if (ch == '\n')
		return line_end(lr) ? LINE_READY : LINE_MORE;
	if (ch == '\r') {
		lr->flags |= LINE_CR;
		return LINE_MORE;
	}
	return line_append(lr, ch) ? LINE_OVERLONG : LINE_MORE;
}

/*
 * One byte through the telnet state machine.  Returns -1 when the byte
 * was telnet syntax, else the data byte to frame.
 */
static int
line_telnet(struct line_reader *lr, unsigned char ch)
{
	switch (lr->tstate) {
	case TS_DATA:
		if (ch != TN_IAC)
			return ch;
		lr->tstate = TS_IAC;
		return -1;
	case TS_IAC:
		lr->tstate = TS_DATA;
		if (ch == TN_IAC)
			return ch;	/* IAC IAC: a literal 0xff */
		if (lr->tn == NULL)
			lr->tn = xcalloc(1, sizeof *lr->tn);
		if (ch >= TN_WILL && ch <= TN_DONT) {
			lr->tn->verb = ch;
			lr->tstate = TS_OPT;
		} else if (ch == TN_SB)
			lr->tstate = TS_SB;
		return -1;		/* NOP, GA, AYT, SE…: dropped */
	case TS_OPT:
		line_telnet_answer(lr->tn, lr->tn->verb, ch);
		lr->tstate = TS_DATA;
		return -1;
	case TS_SB:
		if (ch == TN_IAC)
			lr->tstate = TS_SB_IAC;
		return -1;
	default:	/* TS_SB_IAC */
		lr->tstate = ch == TN_SE ? TS_DATA : TS_SB;
		return -1;
	}
}

size_t
line_scan(struct line_reader *lr, const unsigned char *in, size_t n,
    enum line_result *res)
{
	size_t	i;
	int	ch;

	if (lr->flags & LINE_DONE) {	/* the last line was handed out */
		lr->flags &= ~LINE_DONE;
		lr->len = 0;
	}
	for (i = 0; i < n; i++) {
		if (lr->tn != NULL && lr->tn->rlen + 3 > LINE_REPLY_MAX) {
			*res = LINE_REPLY;
			return i;
		}
		/*
		 * Plain data, in the middle of a line that fits: no byte of
		 * it can end the line, start telnet or overflow, so it goes
		 * in at once.  The byte after it takes the way below.
		 */
		if (lr->tstate == TS_DATA &&
		    !(lr->flags & (LINE_CR | LINE_DISCARD))) {
			size_t	j = i;

			while (j < n && j - i < lr->max - lr->len &&
			    in[j] != '\n' && in[j] != '\r' && in[j] != TN_IAC)
				j++;
			if (j > i) {
				line_append_run(lr, in + i, j - i);
				if ((i = j) == n)
					break;
			}
		}
		if (lr->tstate == TS_IAC && in[i] < TN_SE) {
			/*
			 * IAC before a byte that is no telnet command: not
			 * telnet at all but a stray 0xff, which is data (and
			 * invalid UTF-8).  Frame it, then this byte anew.
			 */
			lr->tstate = TS_DATA;
			if ((*res = line_data(lr, TN_IAC)) != LINE_MORE)
				return i;
		}
		if ((ch = line_telnet(lr, in[i])) < 0)
			continue;
		*res = line_data(lr, (unsigned char)ch);
		if (*res != LINE_MORE)
			return i + 1;
	}
	*res = LINE_MORE;
	return n;
}

size_t
line_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t	c;
	size_t		need, i;
	unsigned char	lo = 0x80, hi = 0xbf;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		c = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		c = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
	} else
		return 0;
	for (i = 1; i <= need; i++) {
		if (i >= len || s[i] < lo || s[i] > hi)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = c;
	return need + 1;
}

/*
 * The length of the maximal subpart of an invalid sequence at s: the lead
 * byte and as many continuation bytes as were acceptable (WHATWG).
 */
static size_t
line_utf8_bad_len(const unsigned char *s, size_t len)
{
	size_t		i, need;
	unsigned char	lo = 0x80, hi = 0xbf;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		lo = s[0] == 0xe0 ? 0xa0 : 0x80;
		hi = s[0] == 0xed ? 0x9f : 0xbf;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		lo = s[0] == 0xf0 ? 0x90 : 0x80;
		hi = s[0] == 0xf4 ? 0x8f : 0xbf;
	} else
		return 1;
	for (i = 1; i <= need && i < len; i++) {
		if (s[i] < lo || s[i] > hi)
			break;
		lo = 0x80;
		hi = 0xbf;
	}
	return i;
}

int
line_is_control(uint32_t cp)
{
	return (cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp <= 0x9f);
}

size_t
line_clean(const char *in, size_t len, char *out)
{
	const unsigned char	*s = (const unsigned char *)in;
	size_t			 i = 0, o = 0, n;
	uint32_t		 cp;

	while (i < len) {
		if (s[i] >= 0x20 && s[i] < 0x7f) {	/* printable ASCII */
			out[o++] = (char)s[i++];
			continue;
		}
		if ((n = line_utf8_decode(s + i, len - i, &cp)) == 0) {
			i += line_utf8_bad_len(s + i, len - i);
			memcpy(out + o, "\xef\xbf\xbd", 3);	/* U+FFFD */
			o += 3;
			continue;
		}
		if (!line_is_control(cp)) {
			memcpy(out + o, s + i, n);
			o += n;
		}
		i += n;
	}
	return o;
}

int
line_utf8_valid(const char *in, size_t len)
{
	const unsigned char	*s = (const unsigned char *)in;
	size_t			 i = 0, n;
	uint32_t		 cp;

	while (i < len) {
		if ((n = line_utf8_decode(s + i, len - i, &cp)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

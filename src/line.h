/*
 * line: the input layer.  Bytes from a client in, capped lines out; telnet
 * negotiation, UTF-8 repair and control-character removal.  Pure: no
 * sockets, no libevent, no allocation per byte.
 */
#ifndef EVCHAT_LINE_H
#define EVCHAT_LINE_H

#include <stddef.h>
#include <stdint.h>

/* What line_scan stopped for. */
enum line_result {
	LINE_MORE,	/* all input consumed, no complete line yet */
	LINE_READY,	/* a complete line is in line_reader.buf */
	LINE_OVERLONG,	/* the current line passed the cap; its rest is dropped */
	LINE_REPLY	/* the telnet reply buffer is full: take it, scan again */
};

/* Telnet state: only clients that send IAC pay for it. */
struct line_telnet;

/* The per-client framing state; embed it, set max with line_reader_init. */
struct line_reader {
	char			*buf;	/* the unfinished line; owned, lazy */
	size_t			 len;	/* bytes of it held */
	size_t			 cap;	/* bytes allocated for buf */
	size_t			 max;	/* --max-line: the most buf may hold */
	struct line_telnet	*tn;	/* owned; NULL until the first command */
	uint8_t			 tstate;/* telnet parser state, see line.c */
	uint8_t			 flags;
#define LINE_CR		0x1	/* the last data byte was CR */
#define LINE_DISCARD	0x2	/* dropping the rest of an overlong line */
#define LINE_DONE	0x4	/* buf holds a finished line, handed out */
};

/* Longest output of line_clean for an input of n bytes. */
#define LINE_CLEAN_MAX(n)	((n) * 3)

/* Set up a reader whose lines hold at most max bytes. */
void	line_reader_init(struct line_reader *, size_t max);
/* Free what the reader holds; it may be initialised again. */
void	line_reader_free(struct line_reader *);
/*
 * Consume bytes from in until a line is complete, a line turns overlong,
 * the reply buffer fills or the input ends.  Returns how many bytes were
 * consumed and sets *res.  On LINE_READY buf holds len bytes plus a NUL
 * until the next call.
 */
size_t	line_scan(struct line_reader *, const unsigned char *in, size_t n,
	    enum line_result *res);
/* Telnet answers waiting to be sent; *len is 0 when there are none. */
const unsigned char *line_reply(struct line_reader *, size_t *len);
/* Mark the waiting telnet answers as sent. */
void	line_reply_done(struct line_reader *);
/* Give back the line buffer while no line is in progress (idle memory). */
void	line_reader_shrink(struct line_reader *);
/* Has this client sent any telnet command (IAC, then 240 to 254)? */
int	line_is_telnet(const struct line_reader *);

/*
 * Repair UTF-8 (one U+FFFD per maximal invalid subpart, as WHATWG) and
 * drop C0 controls except TAB, DEL and C1 controls.  out must have room
 * for LINE_CLEAN_MAX(len) bytes; returns the bytes written (no NUL).
 */
size_t	line_clean(const char *in, size_t len, char *out);
/* Is this valid UTF-8 (no overlongs, surrogates or values past U+10FFFF)? */
int	line_utf8_valid(const char *, size_t);
/* Decode one valid UTF-8 sequence at s; returns its length, 0 if invalid. */
size_t	line_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);
/* Is this code point a control character that line_clean removes? */
int	line_is_control(uint32_t cp);

#endif

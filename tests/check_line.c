/*
 * check_line: the input layer on its own, with no sockets.  line_scan is
 * driven from a table and every input is fed whole, a byte at a time and
 * cut in two at every offset, so a CR, a CRLF or a telnet sequence split
 * across reads must frame the same way.  Then the cap and its memory, the
 * telnet reply buffer filling up, line_reader_shrink, and line_clean,
 * line_utf8_valid and line_utf8_decode, checked against fixed cases and
 * against a reference WHATWG decoder written here from the spec.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "line.h"

/* A string literal and its length, NULs included. */
#define B(s)	(s), (sizeof(s) - 1)

/* Telnet bytes as separate literals, so hex escapes never run on. */
#define T_IAC	"\xff"
#define T_DONT	"\xfe"
#define T_DO	"\xfd"
#define T_WONT	"\xfc"
#define T_WILL	"\xfb"
#define T_SB	"\xfa"
#define T_GA	"\xf9"
#define T_NOP	"\xf1"
#define T_SE	"\xf0"

#define FFFD	"\xef\xbf\xbd"

/*
 * Assertions for hot loops: check records every ck_assert it passes,
 * which costs a system call, so these only call into check on failure.
 */
#define REQUIRE(c)	do {						\
	if (!(c))							\
		ck_abort_msg("assertion '%s' failed", #c);		\
} while (0)
#define REQUIRE_MSG(c, ...)	do {					\
	if (!(c))							\
		ck_abort_msg(__VA_ARGS__);				\
} while (0)

/*
 * One line_scan case.  lines is the transcript that record_line and
 * record_overlong write: each line escaped and followed by '|', and '!'
 * for each LINE_OVERLONG.
 */
struct scan_case {
	const char	*name;
	size_t		 max;
	const char	*in;
	size_t		 inlen;
	const char	*lines;
	const char	*reply;		/* every telnet answer, in order */
	size_t		 replylen;
	int		 telnet;	/* line_is_telnet at the end */
};

static const struct scan_case scan_cases[] = {
	{ "lf", 16, B("hello\n"), "hello|", B(""), 0 },
	{ "crlf", 16, B("hello\r\n"), "hello|", B(""), 0 },
	{ "cr nul", 16, B("hello\r\0"), "hello|", B(""), 0 },
	{ "bare cr is data", 16, B("a\rb\n"), "a\\x0db|", B(""), 0 },
	{ "cr cr lf", 16, B("a\r\r\n"), "a\\x0d|", B(""), 0 },
	{ "nul alone is data", 16, B("a\0b\n"), "a\\x00b|", B(""), 0 },
	{ "many lines", 16, B("one\ntwo\r\nthree\r\0four\n"),
	    "one|two|three|four|", B(""), 0 },
	{ "empty lines", 16, B("\n\r\n\r\0x\n\n"), "|||x||", B(""), 0 },
	{ "no input", 16, B(""), "", B(""), 0 },
	{ "no lf yet", 16, B("partial"), "", B(""), 0 },
	{ "unfinished tail", 16, B("abc\ndef"), "abc|", B(""), 0 },
	{ "trailing cr waits", 16, B("abc\r"), "", B(""), 0 },
	{ "high bytes are data", 16, B("a\xfb\xfc\xfd\xfe\x80\n"),
	    "a\\xfb\\xfc\\xfd\\xfe\\x80|", B(""), 0 },
	{ "exactly max", 8, B("12345678\nok\n"), "12345678|ok|", B(""), 0 },
	{ "max plus one", 8, B("123456789\nok\n"), "!ok|", B(""), 0 },
	{ "far over max", 8, B("1234567890abcdefghijklmnop\nok\n"), "!ok|",
	    B(""), 0 },
	{ "over max crlf", 8, B("123456789\r\nok\r\n"), "!ok|", B(""), 0 },
	{ "cr not counted", 8, B("12345678\r\nok\r\n"), "12345678|ok|",
	    B(""), 0 },
	{ "cr nul not counted", 8, B("12345678\r\0ok\n"), "12345678|ok|",
	    B(""), 0 },
	{ "bare cr counted", 8, B("123456\rx\n"), "123456\\x0dx|", B(""), 0 },
	{ "bare cr overflows", 8, B("1234567\rx\nok\n"), "!ok|", B(""), 0 },
	{ "cr cr at max", 8, B("12345678\r\r\nok\n"), "!ok|", B(""), 0 },
	{ "two overlong", 8, B("123456789\n123456789\nok\n"), "!!ok|", B(""),
	    0 },
	{ "overlong then max", 4, B("abcdefgh\nabcd\n"), "!abcd|", B(""), 0 },
	{ "max zero", 0, B("\na\n\n"), "|!|", B(""), 0 },
	{ "do", 16, B("a" T_IAC T_DO "\x01" "b\n"), "ab|",
	    B(T_IAC T_WONT "\x01"), 1 },
	{ "will", 16, B("a" T_IAC T_WILL "\x03" "b\n"), "ab|",
	    B(T_IAC T_DONT "\x03"), 1 },
	{ "do and will", 16,
	    B(T_IAC T_DO "\x18" T_IAC T_WILL "\x18" "x\r\n"), "x|",
	    B(T_IAC T_WONT "\x18" T_IAC T_DONT "\x18"), 1 },
	{ "answered once", 16,
	    B(T_IAC T_DO "\x01" T_IAC T_DO "\x01" T_IAC T_WILL "\x01"
	    "a\n" T_IAC T_WILL "\x01" T_IAC T_DO "\x01" "b\n"), "a|b|",
	    B(T_IAC T_WONT "\x01" T_IAC T_DONT "\x01"), 1 },
	{ "option 255", 16, B(T_IAC T_DO T_IAC "z\n"), "z|",
	    B(T_IAC T_WONT T_IAC), 1 },
	{ "wont dont ignored", 16,
	    B(T_IAC T_WONT "\x01" T_IAC T_DONT "\x01" "x\n"), "x|", B(""),
	    1 },
	/* IAC IAC is an escaped data byte, not a command. */
	{ "iac iac", 16, B("a" T_IAC T_IAC "b\n"), "a\\xffb|", B(""), 0 },
	{ "iac iac at max", 8, B("1234567" T_IAC T_IAC "\n"),
	    "1234567\\xff|", B(""), 0 },
	{ "iac iac over max", 8, B("12345678" T_IAC T_IAC "\nok\n"), "!ok|",
	    B(""), 0 },
	/* A 0xff before a byte below 240 is no command: both are data. */
	{ "stray 0xff", 16, B("a" T_IAC "b\n"), "a\\xffb|", B(""), 0 },
	{ "stray 0xff before lf", 16, B("a" T_IAC "\nc\n"), "a\\xff|c|",
	    B(""), 0 },
	{ "stray 0xff at max", 4, B("abc" T_IAC "d\nok\n"), "!ok|", B(""),
	    0 },
	{ "stray 0xff then do", 16,
	    B(T_IAC "x" T_IAC T_DO "\x01" "y\n"), "\\xffxy|",
	    B(T_IAC T_WONT "\x01"), 1 },
	{ "subnegotiation", 16,
	    B("a" T_IAC T_SB "\x18\x01" T_IAC T_SE "b\n"), "ab|", B(""), 1 },
	{ "sb with iac iac", 16,
	    B(T_IAC T_SB "\x18\x00" "x" T_IAC T_IAC "y" T_IAC T_SE "z\n"),
	    "z|", B(""), 1 },
	{ "sb hides lf", 16,
	    B("a" T_IAC T_SB "\x01\n\r\n" T_IAC T_SE "q\n"), "aq|", B(""),
	    1 },
	{ "sb hides do", 16,
	    B(T_IAC T_SB "\x01" T_DO "\x05" T_IAC T_SE "q\n"), "q|", B(""),
	    1 },
	{ "nop and ga", 16, B("a" T_IAC T_NOP "b" T_IAC T_GA "c\n"), "abc|",
	    B(""), 1 },
	{ "se outside sb", 16, B("a" T_IAC T_SE "b\n"), "ab|", B(""), 1 },
	{ "iac between cr lf", 16, B("a\r" T_IAC T_NOP "\n"), "a|", B(""),
	    1 },
	{ "iac between cr nul", 16, B("a\r" T_IAC T_DO "\x01" "\0b\n"),
	    "a|b|", B(T_IAC T_WONT "\x01"), 1 },
	{ "telnet in overlong line", 8,
	    B("123456789" T_IAC T_DO "\x01" "abc\nok\n"), "!ok|",
	    B(T_IAC T_WONT "\x01"), 1 },
	{ "telnet login", 64,
	    B(T_IAC T_DO "\x03" T_IAC T_WILL "\x18" T_IAC T_WILL "\x1f"
	    T_IAC T_SB "\x1f\x00\x50\x00\x18" T_IAC T_SE
	    "/nick bob\r\n" "hi\r\n"), "/nick bob|hi|",
	    B(T_IAC T_WONT "\x03" T_IAC T_DONT "\x18" T_IAC T_DONT "\x1f"),
	    1 },
};

#define NSCAN	(sizeof scan_cases / sizeof scan_cases[0])

/* What a run of line_scan produced, in a form easy to compare. */
struct transcript {
	char		 lines[8192];
	size_t		 llen;
	unsigned char	 reply[4096];
	size_t		 rlen;
	int		 nreply;	/* LINE_REPLY results seen */
	int		 telnet;
};

/* Append bytes to dst as printable text: \xNN for anything unusual. */
static void
escape(char *dst, size_t size, size_t *pos, const unsigned char *s,
    size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		REQUIRE(*pos + 5 < size);
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\' &&
		    s[i] != '|' && s[i] != '!')
			dst[(*pos)++] = (char)s[i];
		else
			*pos += (size_t)snprintf(dst + *pos, size - *pos,
			    "\\x%02x", s[i]);
	}
	dst[*pos] = '\0';
}

/* Escape bytes for a failure message, cut short to fit check's limit. */
static const char *
shown_into(char *buf, size_t size, const void *p, size_t len)
{
	size_t	pos = 0, max = (size - 8) / 4;

	escape(buf, size, &pos, p, len < max ? len : max);
	if (len > max)
		strcpy(buf + pos, "...");
	return buf;
}

/* The same in a static buffer. */
static const char *
shown(const void *p, size_t len)
{
	static char	buf[512];

	return shown_into(buf, sizeof buf, p, len);
}

/* Feed n bytes, taking every result the way client.c does. */
static void
feed(struct line_reader *lr, const unsigned char *in, size_t n,
    struct transcript *t)
{
	enum line_result	 res;
	const unsigned char	*r;
	size_t			 used, rlen;

	do {
		used = line_scan(lr, in, n, &res);
		REQUIRE(used <= n);
		r = line_reply(lr, &rlen);
		if (rlen > 0) {
			REQUIRE(r != NULL);
			REQUIRE(t->rlen + rlen <= sizeof t->reply);
			memcpy(t->reply + t->rlen, r, rlen);
			t->rlen += rlen;
			line_reply_done(lr);
		}
		switch (res) {
		case LINE_MORE:
			REQUIRE(used == n);
			break;
		case LINE_READY:
			REQUIRE(used > 0);
			REQUIRE(lr->len <= lr->max);
			REQUIRE(lr->buf != NULL);
			REQUIRE(lr->buf[lr->len] == '\0');
			escape(t->lines, sizeof t->lines, &t->llen,
			    (const unsigned char *)lr->buf, lr->len);
			t->lines[t->llen++] = '|';
			t->lines[t->llen] = '\0';
			break;
		case LINE_OVERLONG:
			REQUIRE(used > 0);
			REQUIRE(t->llen + 1 < sizeof t->lines);
			t->lines[t->llen++] = '!';
			t->lines[t->llen] = '\0';
			break;
		case LINE_REPLY:
			/* It must have had something to hand over. */
			REQUIRE(rlen > 0);
			t->nreply++;
			break;
		}
		REQUIRE(lr->len <= lr->max);
		in += used;
		n -= used;
	} while (res != LINE_MORE);
}

/*
 * Run a case on a fresh reader: first bytes in one read, then the rest in
 * reads of chunk bytes.
 */
static void
run_split(const struct scan_case *c, size_t first, size_t chunk,
    struct transcript *t)
{
	struct line_reader	 lr;
	const unsigned char	*in = (const unsigned char *)c->in;
	size_t			 off, n;

	memset(t, 0, sizeof *t);
	line_reader_init(&lr, c->max);
	if (first > c->inlen)
		first = c->inlen;
	feed(&lr, in, first, t);
	for (off = first; off < c->inlen; off += n) {
		n = c->inlen - off < chunk ? c->inlen - off : chunk;
		feed(&lr, in + off, n, t);
	}
	t->telnet = line_is_telnet(&lr);
	line_reader_free(&lr);
}

/* Compare a transcript with what the case expects. */
static void
scan_expect(const struct scan_case *c, const struct transcript *t,
    const char *how)
{
	char	want[512];

	REQUIRE_MSG(strcmp(t->lines, c->lines) == 0,
	    "%s (%s): lines \"%.300s\", want \"%.300s\"", c->name, how,
	    t->lines, c->lines);
	if (t->rlen != c->replylen ||
	    memcmp(t->reply, c->reply, t->rlen) != 0)
		ck_abort_msg("%s (%s): reply \"%s\", want \"%s\"", c->name,
		    how, shown(t->reply, t->rlen),
		    shown_into(want, sizeof want, c->reply, c->replylen));
	REQUIRE_MSG(t->telnet == c->telnet, "%s (%s): is_telnet %d",
	    c->name, how, t->telnet);
}

/* Run a case whole, byte by byte and split in two at every offset. */
static void
scan_all_ways(const struct scan_case *c)
{
	static struct transcript	t;
	char				how[64];
	size_t				k;

	run_split(c, c->inlen, 1, &t);
	scan_expect(c, &t, "whole");
	run_split(c, 1, 1, &t);
	scan_expect(c, &t, "byte by byte");
	for (k = 0; k <= c->inlen; k++) {
		run_split(c, k, c->inlen, &t);
		snprintf(how, sizeof how, "split at %zu", k);
		scan_expect(c, &t, how);
	}
}

START_TEST(test_scan_table)
{
	scan_all_ways(&scan_cases[_i]);
}
END_TEST

START_TEST(test_no_telnet_no_reply)
{
	struct line_reader	lr;
	unsigned char		in[512];
	enum line_result	res;
	size_t			i, n = 0, len = 1, used, off;

	/* Every byte but IAC, in lines. */
	for (i = 0; i < 255; i++) {
		in[n++] = (unsigned char)i;
		if (i % 16 == 15)
			in[n++] = '\n';
	}
	line_reader_init(&lr, 64);
	ck_assert_ptr_null(line_reply(&lr, &len));
	ck_assert_uint_eq(len, 0);
	for (off = 0; off < n; off += used) {
		used = line_scan(&lr, in + off, n - off, &res);
		ck_assert_int_ne(res, LINE_REPLY);
		ck_assert_int_ne(res, LINE_OVERLONG);
		ck_assert_int_eq(line_is_telnet(&lr), 0);
		len = 1;
		line_reply(&lr, &len);
		ck_assert_uint_eq(len, 0);
	}
	line_reader_free(&lr);
}
END_TEST

START_TEST(test_reply_full)
{
	struct line_reader	 lr;
	unsigned char		 in[64];
	const unsigned char	*r;
	enum line_result	 res;
	size_t			 i, n = 0, used, len;

	in[n++] = 'a';
	for (i = 0; i < 12; i++) {
		in[n++] = 0xff;
		in[n++] = 0xfd;		/* DO */
		in[n++] = (unsigned char)i;
	}
	in[n++] = 'b';
	in[n++] = '\n';
	line_reader_init(&lr, 64);

	/* Eight answers fill the buffer; the ninth DO waits. */
	used = line_scan(&lr, in, n, &res);
	ck_assert_int_eq(res, LINE_REPLY);
	ck_assert_uint_eq(used, 1 + 8 * 3);
	r = line_reply(&lr, &len);
	ck_assert_uint_eq(len, 8 * 3);
	for (i = 0; i < 8; i++) {
		ck_assert_uint_eq(r[3 * i], 0xff);
		ck_assert_uint_eq(r[3 * i + 1], 0xfc);	/* WONT */
		ck_assert_uint_eq(r[3 * i + 2], i);
	}

	/* Not taken: nothing more is consumed, nothing overflows. */
	ck_assert_uint_eq(line_scan(&lr, in + used, n - used, &res), 0);
	ck_assert_int_eq(res, LINE_REPLY);
	line_reply(&lr, &len);
	ck_assert_uint_eq(len, 8 * 3);

	/* Taken: the scan resumes where it stopped. */
	line_reply_done(&lr);
	line_reply(&lr, &len);
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(line_scan(&lr, in + used, n - used, &res),
	    n - used);
	ck_assert_int_eq(res, LINE_READY);
	ck_assert_uint_eq(lr.len, 2);
	ck_assert_str_eq(lr.buf, "ab");
	r = line_reply(&lr, &len);
	ck_assert_uint_eq(len, 4 * 3);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(r[3 * i + 1], 0xfc);
		ck_assert_uint_eq(r[3 * i + 2], 8 + i);
	}
	line_reader_free(&lr);
}
END_TEST

/* Every option asked twice with DO and twice with WILL, between lines. */
START_TEST(test_reply_every_option)
{
	static unsigned char	in[4 * 256 * 3 + 64], want[2 * 256 * 3];
	static struct transcript t;
	struct scan_case	c;
	size_t			i, round, n = 0, w = 0;

	memcpy(in + n, "one\n", 4);
	n += 4;
	for (round = 0; round < 4; round++) {
		for (i = 0; i < 256; i++) {
			in[n++] = 0xff;
			in[n++] = round % 2 == 0 ? 0xfd : 0xfb;
			in[n++] = (unsigned char)i;
		}
		if (round == 1)
			in[n++] = 'x';
	}
	memcpy(in + n, "two\r\n", 5);
	n += 5;
	for (round = 0; round < 2; round++) {
		for (i = 0; i < 256; i++) {
			want[w++] = 0xff;
			want[w++] = round == 0 ? 0xfc : 0xfe;
			want[w++] = (unsigned char)i;
		}
	}
	memset(&c, 0, sizeof c);
	c.name = "every option";
	c.max = 16;
	c.in = (const char *)in;
	c.inlen = n;
	c.lines = "one|xtwo|";
	c.reply = (const char *)want;
	c.replylen = w;
	c.telnet = 1;
	scan_all_ways(&c);
	run_split(&c, n, 1, &t);
	ck_assert_int_gt(t.nreply, 0);
}
END_TEST

/* The default cap, 1024 bytes, at its edge. */
START_TEST(test_cap_default)
{
	static char		 in[2 * 1030 + 16];
	static struct transcript t;
	static char		 want[1100];
	struct scan_case	 c;
	size_t			 n = 0;

	memset(in, 'x', 1024);
	n = 1024;
	memcpy(in + n, "\r\n", 2);
	n += 2;
	memset(in + n, 'y', 1025);
	n += 1025;
	memcpy(in + n, "\nok\n", 4);
	n += 4;
	memset(want, 'x', 1024);
	strcpy(want + 1024, "|!ok|");
	memset(&c, 0, sizeof c);
	c.name = "default cap";
	c.max = 1024;
	c.in = in;
	c.inlen = n;
	c.lines = want;
	c.reply = "";
	run_split(&c, n, 1, &t);
	scan_expect(&c, &t, "whole");
	run_split(&c, 1, 1, &t);
	scan_expect(&c, &t, "byte by byte");
	run_split(&c, 1024, 7, &t);
	scan_expect(&c, &t, "chunks of 7");
}
END_TEST

/* A client that never sends LF: one error, bounded memory. */
START_TEST(test_cap_memory)
{
	static unsigned char	 chunk[4096];
	static struct transcript t;
	struct line_reader	 lr;
	size_t			 i;

	memset(chunk, 0x16, sizeof chunk);	/* a TLS hello, roughly */
	memset(&t, 0, sizeof t);
	line_reader_init(&lr, 1024);
	for (i = 0; i < 256; i++) {
		feed(&lr, chunk, sizeof chunk, &t);
		ck_assert_uint_le(lr.cap, 1024 + 1);
		ck_assert_uint_le(lr.len, 1024);
	}
	ck_assert_str_eq(t.lines, "!");
	ck_assert_uint_eq(lr.len, 0);
	feed(&lr, (const unsigned char *)"\nok\n", 4, &t);
	ck_assert_str_eq(t.lines, "!ok|");
	line_reader_free(&lr);
}
END_TEST

/* Scan a short string into t on lr. */
static void
feed_str(struct line_reader *lr, const char *s, struct transcript *t)
{
	feed(lr, (const unsigned char *)s, strlen(s), t);
}

START_TEST(test_shrink_idle)
{
	static struct transcript t;
	struct line_reader	lr;

	memset(&t, 0, sizeof t);
	line_reader_init(&lr, 64);
	line_reader_shrink(&lr);	/* nothing held: harmless */
	ck_assert_ptr_null(lr.buf);
	feed_str(&lr, "hello\n", &t);
	ck_assert_ptr_nonnull(lr.buf);
	line_reader_shrink(&lr);
	ck_assert_ptr_null(lr.buf);
	ck_assert_uint_eq(lr.cap, 0);
	feed_str(&lr, "world\n", &t);
	line_reader_shrink(&lr);
	ck_assert_ptr_null(lr.buf);
	feed_str(&lr, "\n", &t);	/* an empty line after a shrink */
	ck_assert_str_eq(t.lines, "hello|world||");
	line_reader_free(&lr);
}
END_TEST

START_TEST(test_shrink_keeps_partial)
{
	static struct transcript t;
	struct line_reader	lr;

	memset(&t, 0, sizeof t);
	line_reader_init(&lr, 64);
	feed_str(&lr, "hel", &t);
	line_reader_shrink(&lr);
	ck_assert_ptr_nonnull(lr.buf);
	ck_assert_uint_eq(lr.len, 3);
	feed_str(&lr, "lo\r", &t);
	line_reader_shrink(&lr);
	feed_str(&lr, "\nab\r", &t);
	line_reader_shrink(&lr);	/* a CR is pending */
	feed_str(&lr, "\n\r", &t);
	line_reader_shrink(&lr);	/* only a CR is pending */
	feed(&lr, (const unsigned char *)"\0", 1, &t);
	ck_assert_str_eq(t.lines, "hello|ab||");
	line_reader_free(&lr);
}
END_TEST

START_TEST(test_shrink_while_discarding)
{
	static struct transcript t;
	struct line_reader	lr;

	memset(&t, 0, sizeof t);
	line_reader_init(&lr, 4);
	feed_str(&lr, "123456", &t);
	line_reader_shrink(&lr);
	ck_assert_ptr_null(lr.buf);
	feed_str(&lr, "78", &t);	/* still the overlong line */
	line_reader_shrink(&lr);
	feed_str(&lr, "9\nok\n", &t);
	ck_assert_str_eq(t.lines, "!ok|");
	line_reader_free(&lr);
}
END_TEST

START_TEST(test_free_and_reinit)
{
	static struct transcript t;
	struct line_reader	lr;

	memset(&t, 0, sizeof t);
	line_reader_init(&lr, 16);
	feed(&lr, (const unsigned char *)"\xff\xfd\x01" "abc", 6, &t);
	ck_assert_int_eq(line_is_telnet(&lr), 1);
	line_reader_free(&lr);
	ck_assert_ptr_null(lr.buf);
	line_reader_free(&lr);		/* twice is harmless */
	line_reader_init(&lr, 16);
	ck_assert_int_eq(line_is_telnet(&lr), 0);
	feed_str(&lr, "x\n", &t);
	ck_assert_str_eq(t.lines, "x|");
	line_reader_free(&lr);
}
END_TEST

/* One line_clean case. */
struct clean_case {
	const char	*in;
	size_t		 inlen;
	const char	*out;
	size_t		 outlen;
};

static const struct clean_case clean_cases[] = {
	{ B("hello, world"), B("hello, world") },
	{ B(""), B("") },
	{ B("\xec\x95\x88\xeb\x85\x95 \xed\x95\x9c\xea\xb8\x80"),
	    B("\xec\x95\x88\xeb\x85\x95 \xed\x95\x9c\xea\xb8\x80") },
	{ B("smile \xf0\x9f\x98\x80!"), B("smile \xf0\x9f\x98\x80!") },
	{ B("caf\xc3\xa9 \xe2\x82\xac"), B("caf\xc3\xa9 \xe2\x82\xac") },
	{ B("\xc2\xa0" "nbsp"), B("\xc2\xa0" "nbsp") },
	{ B("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"),
	    B("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf") },
	{ B("\xed\x9f\xbf\xee\x80\x80"), B("\xed\x9f\xbf\xee\x80\x80") },
	{ B(FFFD), B(FFFD) },
	{ B("a\tb\t"), B("a\tb\t") },
	{ B("a\0b\0c"), B("abc") },
	{ B("\x1b[31mred\x1b[0m"), B("[31mred[0m") },
	{ B("a\x7f" "b"), B("ab") },
	{ B("a\rb\nc\x01\x07\x08\x0b\x0c\x1f" "d"), B("abcd") },
	{ B("a\xc2\x80" "b\xc2\x9b" "c\xc2\x9f" "d\xc2\x85" "e"), B("abcde") },
	{ B("\xc2\x9b" "31m"), B("31m") },
	{ B("\x80"), B(FFFD) },
	{ B("\x80\x80"), B(FFFD FFFD) },
	{ B("\xbf" "a"), B(FFFD "a") },
	{ B("\xe2\x82"), B(FFFD) },
	{ B("\xe2\x82" "A"), B(FFFD "A") },
	{ B("\xe2\x82\xe2\x82\xac"), B(FFFD "\xe2\x82\xac") },
	{ B("\xf0\x9f\x98"), B(FFFD) },
	{ B("\xf0\x9f\x98" "A"), B(FFFD "A") },
	{ B("\xf0\x80\x80"), B(FFFD FFFD FFFD) },
	{ B("\xc0\xaf"), B(FFFD FFFD) },
	{ B("\xc1\xbf"), B(FFFD FFFD) },
	{ B("\xe0\x80\xaf"), B(FFFD FFFD FFFD) },
	{ B("\xe0\xa0"), B(FFFD) },
	{ B("\xed\xa0\x80"), B(FFFD FFFD FFFD) },
	{ B("\xed\xbf\xbf"), B(FFFD FFFD FFFD) },
	{ B("\xf4\x90\x80\x80"), B(FFFD FFFD FFFD FFFD) },
	{ B("\xf5"), B(FFFD) },
	{ B("\xf5\x80\x80\x80"), B(FFFD FFFD FFFD FFFD) },
	{ B("\xfe\xff"), B(FFFD FFFD) },
	{ B("\xc2"), B(FFFD) },
	{ B("\xc2" "A"), B(FFFD "A") },
	{ B("\x80\x1b" "x"), B(FFFD "x") },
	{ B("\xc2\x1b" "x"), B(FFFD "x") },
	/* The example in Unicode's chapter 3 (U+FFFD substitution). */
	{ B("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64"),
	    B("a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d") },
};

#define NCLEAN	(sizeof clean_cases / sizeof clean_cases[0])
#define CANARY	0xa5

START_TEST(test_clean_table)
{
	const struct clean_case	*c = &clean_cases[_i];
	unsigned char		 out[LINE_CLEAN_MAX(64) + 16];
	size_t			 n, i;

	ck_assert_uint_le(c->inlen, 64);
	memset(out, CANARY, sizeof out);
	n = line_clean(c->in, c->inlen, (char *)out);
	ck_assert_msg(n == c->outlen && memcmp(out, c->out, n) == 0,
	    "case %d \"%s\": got \"%s\"", _i, shown(c->in, c->inlen),
	    shown(out, n));
	for (i = LINE_CLEAN_MAX(c->inlen); i < sizeof out; i++)
		ck_assert_uint_eq(out[i], CANARY);
}
END_TEST

/* The worst case fills LINE_CLEAN_MAX exactly and not a byte more. */
START_TEST(test_clean_worst_case)
{
	char		in[200];
	unsigned char	out[LINE_CLEAN_MAX(sizeof in) + 16];
	size_t		i, n;

	memset(in, 0x80, sizeof in);
	memset(out, CANARY, sizeof out);
	n = line_clean(in, sizeof in, (char *)out);
	ck_assert_uint_eq(n, LINE_CLEAN_MAX(sizeof in));
	for (i = 0; i < n; i += 3)
		ck_assert_mem_eq(out + i, FFFD, 3);
	for (i = n; i < sizeof out; i++)
		ck_assert_uint_eq(out[i], CANARY);
}
END_TEST

/*
 * A reference: the WHATWG Encoding spec's UTF-8 decoder, step by step,
 * with the control filter and UTF-8 encoding added.  Returns the output
 * length and sets *errors to the number of U+FFFD it emitted.
 */
static size_t
ref_clean(const unsigned char *in, size_t len, unsigned char *out,
    size_t *errors)
{
	uint32_t	cp = 0, c = 0;
	size_t		i = 0, o = 0, seen = 0, needed = 0;
	unsigned char	lower = 0x80, upper = 0xbf, b;
	int		emit, bad;

	*errors = 0;
	while (i < len || needed != 0) {
		emit = bad = 0;
		if (i == len) {			/* end of stream */
			needed = 0;
			c = 0xfffd;
			emit = bad = 1;
		} else if (needed == 0) {
			b = in[i++];
			if (b <= 0x7f) {
				c = b;
				emit = 1;
			} else if (b >= 0xc2 && b <= 0xdf) {
				needed = 1;
				cp = b & 0x1f;
			} else if (b >= 0xe0 && b <= 0xef) {
				if (b == 0xe0)
					lower = 0xa0;
				if (b == 0xed)
					upper = 0x9f;
				needed = 2;
				cp = b & 0xf;
			} else if (b >= 0xf0 && b <= 0xf4) {
				if (b == 0xf0)
					lower = 0x90;
				if (b == 0xf4)
					upper = 0x8f;
				needed = 3;
				cp = b & 0x7;
			} else {
				c = 0xfffd;
				emit = bad = 1;
			}
		} else if (in[i] < lower || in[i] > upper) {
			/* Error; the byte is read again ("prepended"). */
			cp = 0;
			needed = seen = 0;
			lower = 0x80;
			upper = 0xbf;
			c = 0xfffd;
			emit = bad = 1;
		} else {
			lower = 0x80;
			upper = 0xbf;
			cp = (cp << 6) | (in[i++] & 0x3f);
			if (++seen == needed) {
				c = cp;
				cp = 0;
				needed = seen = 0;
				emit = 1;
			}
		}
		if (!emit)
			continue;
		if (bad)
			(*errors)++;
		if ((c < 0x20 && c != '\t') || (c >= 0x7f && c <= 0x9f))
			continue;
		if (c < 0x80)
			out[o++] = (unsigned char)c;
		else if (c < 0x800) {
			out[o++] = (unsigned char)(0xc0 | c >> 6);
			out[o++] = (unsigned char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			out[o++] = (unsigned char)(0xe0 | c >> 12);
			out[o++] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (unsigned char)(0x80 | (c & 0x3f));
		} else {
			out[o++] = (unsigned char)(0xf0 | c >> 18);
			out[o++] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
			out[o++] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (unsigned char)(0x80 | (c & 0x3f));
		}
	}
	return o;
}

/* Compare line_clean and line_utf8_valid with the reference on one input. */
static void
clean_matches_ref(const unsigned char *in, size_t len)
{
	unsigned char	got[LINE_CLEAN_MAX(8)], want[LINE_CLEAN_MAX(8)];
	unsigned char	again[LINE_CLEAN_MAX(LINE_CLEAN_MAX(8))];
	size_t		n, wn, errors;

	REQUIRE(len <= 8);
	n = line_clean((const char *)in, len, (char *)got);
	wn = ref_clean(in, len, want, &errors);
	REQUIRE_MSG(n == wn && memcmp(got, want, n) == 0,
	    "line_clean(\"%s\") differs from WHATWG", shown(in, len));
	REQUIRE_MSG(line_utf8_valid((const char *)in, len) == (errors == 0),
	    "line_utf8_valid(\"%s\") is %d", shown(in, len),
	    line_utf8_valid((const char *)in, len));
	/* Its output is clean already. */
	REQUIRE(line_utf8_valid((const char *)got, n));
	REQUIRE(line_clean((const char *)got, n, (char *)again) == n);
	REQUIRE(memcmp(again, got, n) == 0);
}

START_TEST(test_clean_every_short_input)
{
	unsigned char	in[2] = { 0, 0 };
	unsigned int	a, b;

	clean_matches_ref(in, 0);
	for (a = 0; a < 256; a++) {
		in[0] = (unsigned char)a;
		clean_matches_ref(in, 1);
		for (b = 0; b < 256; b++) {
			in[1] = (unsigned char)b;
			clean_matches_ref(in, 2);
		}
	}
}
END_TEST

/* Bytes at the edges of every range the decoder distinguishes. */
static const unsigned char edge_bytes[] = {
	0x00, 0x09, 0x1b, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
	0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff
};

#define NEDGE	(sizeof edge_bytes)

START_TEST(test_clean_edge_sequences)
{
	unsigned char	in[4];
	size_t		a, b, c, d;

	for (a = 0; a < NEDGE; a++) {
		in[0] = edge_bytes[a];
		for (b = 0; b < NEDGE; b++) {
			in[1] = edge_bytes[b];
			for (c = 0; c < NEDGE; c++) {
				in[2] = edge_bytes[c];
				clean_matches_ref(in, 3);
				for (d = 0; d < NEDGE; d++) {
					in[3] = edge_bytes[d];
					clean_matches_ref(in, 4);
				}
			}
		}
	}
}
END_TEST

/* Every code point encoded, the surrogates excepted, is kept whole. */
START_TEST(test_clean_every_code_point)
{
	unsigned char	in[4], out[LINE_CLEAN_MAX(4)];
	uint32_t	c, got;
	size_t		n;

	for (c = 0; c <= 0x10ffff; c++) {
		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		if (c < 0x80) {
			in[0] = (unsigned char)c;
			n = 1;
		} else if (c < 0x800) {
			in[0] = (unsigned char)(0xc0 | c >> 6);
			in[1] = (unsigned char)(0x80 | (c & 0x3f));
			n = 2;
		} else if (c < 0x10000) {
			in[0] = (unsigned char)(0xe0 | c >> 12);
			in[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
			in[2] = (unsigned char)(0x80 | (c & 0x3f));
			n = 3;
		} else {
			in[0] = (unsigned char)(0xf0 | c >> 18);
			in[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
			in[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
			in[3] = (unsigned char)(0x80 | (c & 0x3f));
			n = 4;
		}
		REQUIRE(line_utf8_decode(in, n, &got) == n);
		REQUIRE(got == c);
		REQUIRE(line_utf8_valid((const char *)in, n));
		if (line_is_control(c))
			REQUIRE(line_clean((const char *)in, n,
			    (char *)out) == 0);
		else {
			REQUIRE(line_clean((const char *)in, n,
			    (char *)out) == n);
			REQUIRE(memcmp(in, out, n) == 0);
		}
	}
}
END_TEST

struct valid_case {
	const char	*in;
	size_t		 len;
	int		 valid;
};

static const struct valid_case valid_cases[] = {
	{ B(""), 1 },
	{ B("plain ascii"), 1 },
	{ B("\x00\x1b\x7f"), 1 },	/* controls are valid UTF-8 */
	{ B("\xed\x95\x9c\xea\xb8\x80"), 1 },
	{ B("\xf0\x9f\x98\x80"), 1 },
	{ B("\xc2\x80\xdf\xbf"), 1 },
	{ B("\xe0\xa0\x80\xef\xbf\xbf"), 1 },
	{ B("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"), 1 },
	{ B("\xed\x9f\xbf"), 1 },
	{ B("\x80"), 0 },
	{ B("a\xbf"), 0 },
	{ B("\xc0\x80"), 0 },
	{ B("\xc1\xbf"), 0 },
	{ B("\xe0\x9f\xbf"), 0 },
	{ B("\xed\xa0\x80"), 0 },
	{ B("\xf0\x8f\xbf\xbf"), 0 },
	{ B("\xf4\x90\x80\x80"), 0 },
	{ B("\xf5\x80\x80\x80"), 0 },
	{ B("\xff"), 0 },
	{ B("ok\xe2\x82"), 0 },
	{ B("\xf0\x9f\x98"), 0 },
	{ B("\xe2\x82" "A"), 0 },
};

#define NVALID	(sizeof valid_cases / sizeof valid_cases[0])

START_TEST(test_utf8_valid)
{
	const struct valid_case	*c = &valid_cases[_i];

	ck_assert_msg(line_utf8_valid(c->in, c->len) == c->valid,
	    "line_utf8_valid(\"%s\") should be %d", shown(c->in, c->len),
	    c->valid);
}
END_TEST

struct decode_case {
	const char	*in;
	size_t		 len;	/* the len argument */
	size_t		 ret;
	uint32_t	 cp;
};

static const struct decode_case decode_cases[] = {
	{ "A", 1, 1, 0x41 },
	{ "", 1, 1, 0 },
	{ "ab", 2, 1, 0x61 },
	{ "\xc3\xa9", 2, 2, 0xe9 },
	{ "\xc2\x80", 2, 2, 0x80 },
	{ "\xdf\xbf", 2, 2, 0x7ff },
	{ "\xe0\xa0\x80", 3, 3, 0x800 },
	{ "\xe2\x82\xac" "x", 4, 3, 0x20ac },
	{ "\xed\x95\x9c", 3, 3, 0xd55c },
	{ "\xef\xbf\xbd", 3, 3, 0xfffd },
	{ "\xf0\x90\x80\x80", 4, 4, 0x10000 },
	{ "\xf0\x9f\x98\x80", 4, 4, 0x1f600 },
	{ "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff },
	{ "A", 0, 0, 0 },
	{ "\x80", 1, 0, 0 },
	{ "\xc0\xaf", 2, 0, 0 },
	{ "\xc3\xa9", 1, 0, 0 },		/* cut by len */
	{ "\xe2\x82\xac", 2, 0, 0 },
	{ "\xf0\x9f\x98\x80", 3, 0, 0 },
	{ "\xe0\x80\x80", 3, 0, 0 },
	{ "\xed\xa0\x80", 3, 0, 0 },
	{ "\xf0\x80\x80\x80", 4, 0, 0 },
	{ "\xf4\x90\x80\x80", 4, 0, 0 },
	{ "\xf5\x80\x80\x80", 4, 0, 0 },
	{ "\xe2\x41\xac", 3, 0, 0 },
};

#define NDECODE	(sizeof decode_cases / sizeof decode_cases[0])

START_TEST(test_utf8_decode)
{
	const struct decode_case	*c = &decode_cases[_i];
	uint32_t			 cp = 0xdeadbeef;
	size_t				 ret;

	ret = line_utf8_decode((const unsigned char *)c->in, c->len, &cp);
	ck_assert_msg(ret == c->ret, "decode(\"%s\", %zu) returned %zu",
	    shown(c->in, c->len), c->len, ret);
	if (ret > 0)
		ck_assert_uint_eq(cp, c->cp);
}
END_TEST

START_TEST(test_is_control)
{
	static const uint32_t	yes[] = {
		0x00, 0x01, 0x0a, 0x0d, 0x1b, 0x1f, 0x7f, 0x80, 0x85, 0x9b,
		0x9f
	};
	static const uint32_t	no[] = {
		0x09, 0x20, 0x41, 0x7e, 0xa0, 0xad, 0x3000, 0xfffd, 0x1f600,
		0x10ffff
	};
	size_t			i;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++)
		ck_assert_msg(line_is_control(yes[i]), "U+%04X",
		    (unsigned int)yes[i]);
	for (i = 0; i < sizeof no / sizeof no[0]; i++)
		ck_assert_msg(!line_is_control(no[i]), "U+%04X",
		    (unsigned int)no[i]);
}
END_TEST

static Suite *
line_suite(void)
{
	Suite	*s = suite_create("line");
	TCase	*tc;

	tc = tcase_create("scan");
	tcase_add_loop_test(tc, test_scan_table, 0, (int)NSCAN);
	tcase_add_test(tc, test_no_telnet_no_reply);
	suite_add_tcase(s, tc);

	tc = tcase_create("telnet");
	tcase_add_test(tc, test_reply_full);
	tcase_add_test(tc, test_reply_every_option);
	suite_add_tcase(s, tc);

	tc = tcase_create("cap");
	tcase_add_test(tc, test_cap_default);
	tcase_add_test(tc, test_cap_memory);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_test(tc, test_shrink_idle);
	tcase_add_test(tc, test_shrink_keeps_partial);
	tcase_add_test(tc, test_shrink_while_discarding);
	tcase_add_test(tc, test_free_and_reinit);
	suite_add_tcase(s, tc);

	tc = tcase_create("clean");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_clean_table, 0, (int)NCLEAN);
	tcase_add_test(tc, test_clean_worst_case);
	tcase_add_test(tc, test_clean_every_short_input);
	tcase_add_test(tc, test_clean_edge_sequences);
	tcase_add_test(tc, test_clean_every_code_point);
	suite_add_tcase(s, tc);

	tc = tcase_create("utf8");
	tcase_add_loop_test(tc, test_utf8_valid, 0, (int)NVALID);
	tcase_add_loop_test(tc, test_utf8_decode, 0, (int)NDECODE);
	tcase_add_test(tc, test_is_control);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(line_suite());
}

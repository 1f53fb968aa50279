/*
 * quote.c - C-style quoting of names for text output, byte for byte as
 * git's quote_c_style() with core.quotePath=true (quote.c in git).
 * Pure: no allocation but the caller's buffer.
 */
#include <errno.h>

#include "mlfs/quote.h"

/* The escape letter of byte @c, 'o' for octal, 0 for none needed. */
static char escape(unsigned char c)
{
	switch (c) {
	case '\a': return 'a';
	case '\b': return 'b';
	case '\t': return 't';
	case '\n': return 'n';
	case '\v': return 'v';
	case '\f': return 'f';
	case '\r': return 'r';
	case '"': return '"';
	case '\\': return '\\';
	default:
		return c < 0x20 || c >= 0x7f ? 'o' : 0;
	}
}

bool mlfs_quote_needed(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (escape((unsigned char)s[i]))
			return true;
	return false;
}

int mlfs_quote_path(struct mlfs_buf *out, const char *s, size_t len)
{
	size_t i = 0;
	int r;

	if (!mlfs_quote_needed(s, len))
		return mlfs_buf_append(out, s, len);
	r = mlfs_buf_append(out, "\"", 1);
	while (r == 0 && i < len) {
		size_t run = i;
		unsigned char c;
		char e, esc[4];

		while (run < len && !escape((unsigned char)s[run]))
			run++;
		if (run > i) {
			r = mlfs_buf_append(out, s + i, run - i);
			i = run;
			continue;
		}
		c = (unsigned char)s[i++];
		e = escape(c);
		esc[0] = '\\';
		if (e == 'o') {
			esc[1] = (char)('0' + (c >> 6));
			esc[2] = (char)('0' + ((c >> 3) & 7));
			esc[3] = (char)('0' + (c & 7));
			r = mlfs_buf_append(out, esc, 4);
		} else {
			esc[1] = e;
			r = mlfs_buf_append(out, esc, 2);
		}
	}
	if (r == 0)
		r = mlfs_buf_append(out, "\"", 1);
	return r;
}

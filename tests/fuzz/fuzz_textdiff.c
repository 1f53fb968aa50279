/*
 * fuzz_textdiff.c - mlfs_text_udiff() (prefix and suffix trimming, Myers,
 * hunks) on two untrusted texts. Input: a context byte (0-7 lines), a
 * le16 length of the old text, its bytes, then the new text. Invariants:
 * only -E2BIG (too many edits)/-ENOMEM on failure; the counts match the
 * '+' and '-' lines; applying the hunks to the old text gives the new one
 * byte for byte (context lines included); a text against itself gives no
 * output.
 */
#include <errno.h>

#include "fuzz.h"
#include "mlfs/diff.h"

struct lines {
	const char **p;
	size_t *len;  /* with the '\n', if any */
	size_t n;
};

static void split(const char *s, size_t len, struct lines *l)
{
	l->p = malloc((len + 1) * sizeof(*l->p));
	l->len = malloc((len + 1) * sizeof(*l->len));
	if (!l->p || !l->len)
		abort();
	l->n = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - s) + 1 : len;

		l->p[l->n] = s + i;
		l->len[l->n++] = e - i;
		i = e;
	}
}

/* Next line of the diff output at *@at (without its '\n'). */
static const char *next(const struct mlfs_buf *d, size_t *at, size_t *len)
{
	const char *s = (const char *)d->data + *at;
	const char *nl = memchr(s, '\n', d->len - *at);

	FUZZ_CHECK(nl != NULL);
	*len = (size_t)(nl - s);
	*at += *len + 1;
	return s;
}

static void apply(const char *a, size_t la, const char *b, size_t lb,
		  const struct mlfs_buf *d, uint64_t add, uint64_t rm)
{
	struct mlfs_buf got = MLFS_BUF_INIT;
	struct lines A;
	size_t at = 0, ai = 0;
	uint64_t nadd = 0, nrm = 0;

	split(a, la, &A);
	while (at < d->len) {
		size_t len, as, an, bs, bn;
		const char *h = next(d, &at, &len);
		char t, hdr[96];

		/* sscanf needs a string: the output is not terminated. */
		FUZZ_CHECK(len < sizeof(hdr));
		memcpy(hdr, h, len);
		hdr[len] = 0;
		FUZZ_CHECK(sscanf(hdr, "@@ -%zu,%zu +%zu,%zu @@", &as, &an, &bs,
				  &bn) == 4);
		if (an)
			as--;
		FUZZ_CHECK(as >= ai && as + an <= A.n);
		for (; ai < as; ai++)
			FUZZ_CHECK(mlfs_buf_append(&got, A.p[ai],
						   A.len[ai]) == 0);
		while (at < d->len && d->data[at] != '@') {
			const char *l = next(d, &at, &len);
			bool noeol = at < d->len && d->data[at] == '\\';
			size_t ml;

			if (noeol)
				(void)next(d, &at, &ml);
			t = l[0];
			FUZZ_CHECK(t == ' ' || t == '-' || t == '+');
			if (t != '+') {
				/* Context and removals are A's own lines. */
				FUZZ_CHECK(ai < A.n);
				FUZZ_CHECK(A.len[ai] == len - 1 + !noeol &&
					   !memcmp(A.p[ai], l + 1, len - 1));
				ai++;
			}
			if (t == '-')
				nrm++;
			if (t == '+')
				nadd++;
			if (t != '-') {
				FUZZ_CHECK(mlfs_buf_append(&got, l + 1,
							   len - 1) == 0);
				if (!noeol)
					FUZZ_CHECK(mlfs_buf_append(&got, "\n",
								   1) == 0);
			}
		}
	}
	for (; ai < A.n; ai++)
		FUZZ_CHECK(mlfs_buf_append(&got, A.p[ai], A.len[ai]) == 0);
	FUZZ_CHECK(nadd == add && nrm == rm);
	FUZZ_CHECK(got.len == lb && (!lb || !memcmp(got.data, b, lb)));
	mlfs_buf_release(&got);
	free(A.p);
	free(A.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned ctx = (unsigned)fuzz_take(&in, 1) & 7;
	size_t la = (size_t)fuzz_take(&in, 2);
	struct mlfs_buf d = MLFS_BUF_INIT;
	const char *a, *b;
	size_t lb;
	uint64_t add, rm;
	int r;

	if (la > in.n)
		la = in.n;
	a = (const char *)in.p;
	b = a + la;
	lb = in.n - la;
	r = mlfs_text_udiff(a, la, b, lb, ctx, &d, &add, &rm);
	FUZZ_CHECK(r == 0 || r == -E2BIG || r == -ENOMEM);
	if (r == 0)
		apply(a, la, b, lb, &d, add, rm);
	mlfs_buf_release(&d);
	r = mlfs_text_udiff(a, la, a, la, ctx, &d, &add, &rm);
	FUZZ_CHECK(r == 0 && d.len == 0 && add == 0 && rm == 0);
	mlfs_buf_release(&d);
	return 0;
}

/*
 * fuzz_st_split.c - the safetensors splitter on untrusted file bytes
 * (what import does to a file whose header may or may not parse). Input:
 * 3 bytes choosing small chunk parameters (as fuzz_chunker), 2 bytes
 * choosing the read size of the streaming pass, then the file. Invariants:
 * the state exists exactly when mlfs_st_parse accepts the header; cuts
 * cover the file, each chunk 1..max bytes; the header's end and both ends
 * of every tensor of min bytes or more are cuts, and a chunk under min
 * ends where such a region does (or the file ends); fed 64-2111 bytes at
 * a time, the cuts are those of the whole file at once (one byte at a
 * time is the unit test's: quadratic here); with no state the cuts are
 * FastCDC's.
 */
#include "fuzz.h"
#include "mlfs/chunker.h"
#include "mlfs/diff.h"

/* Cut @d (@len) fed @step bytes at a time (0: all at once); the ends go
 * to @cuts (room for @len). Returns the count and the state's verdict. */
static size_t cut_all(const struct mlfs_chunk_params *p, const uint8_t *d,
		      size_t len, size_t step, size_t *cuts, int *took)
{
	struct mlfs_st_split *s = NULL;
	const struct mlfs_splitter *x = &mlfs_splitter_fastcdc;
	size_t n = 0, pos = 0, have = step ? 0 : len;

	*took = mlfs_st_split_new(d, len, len, p, &s);
	FUZZ_CHECK((*took == 1) == (s != NULL) && (*took | 1) == 1);
	if (s)
		x = &mlfs_splitter_safetensors;
	while (pos < len) {
		size_t c;

		if (step && have < len)
			have = have + step < len ? have + step : len;
		c = x->next(p, s, d + pos, have - pos, have == len);
		FUZZ_CHECK(c <= have - pos && c <= p->max);
		FUZZ_CHECK(c > 0 || have < len);
		pos += c;
		if (c)
			cuts[n++] = pos;
	}
	mlfs_st_split_free(s);
	return n;
}

static int has(const size_t *v, size_t n, uint64_t at)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == at)
			return 1;
	return 0;
}

/* The region ends the splitter must cut at (as the header says). */
static void check_regions(const struct mlfs_chunk_params *p,
			  const uint8_t *d, size_t len, const size_t *cuts,
			  size_t n)
{
	struct mlfs_diff_src src = { "x.safetensors", len, d, NULL, NULL };
	struct mlfs_st_file f;
	size_t start = 0;

	FUZZ_CHECK(mlfs_st_parse(&src, 0, &f, NULL, 0) == 0);
	FUZZ_CHECK(has(cuts, n, 8 + f.header_len));
	for (size_t i = 0; i < f.n; i++)
		if (f.t[i].len >= p->min)
			FUZZ_CHECK(has(cuts, n, f.t[i].off) &&
				   has(cuts, n, f.t[i].off + f.t[i].len));
	for (size_t i = 0; i < n; i++) {
		int end = cuts[i] == len || cuts[i] == 8 + f.header_len;

		for (size_t k = 0; k < f.n && !end; k++)
			end = cuts[i] == f.t[k].off ||
			      cuts[i] == f.t[k].off + f.t[k].len;
		FUZZ_CHECK(cuts[i] - start >= p->min || end);
		start = cuts[i];
	}
	mlfs_st_file_release(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct mlfs_chunk_params p;
	unsigned b0 = (unsigned)fuzz_take(&in, 1);
	unsigned b1 = (unsigned)fuzz_take(&in, 1);
	unsigned b2 = (unsigned)fuzz_take(&in, 1);
	size_t step = 64 + (size_t)fuzz_take(&in, 2) % 2048, n, n2, pos = 0;
	size_t *a, *b;
	int took, took2;

	p.min = 64 + b0;
	p.avg = 1u << (7 + b1 % 6);
	p.max = p.avg + 1 + b2 % (3 * p.avg);
	if (mlfs_chunk_params_check(&p) < 0)
		return 0;
	a = malloc((in.n + 1) * sizeof(*a));
	b = malloc((in.n + 1) * sizeof(*b));
	if (!a || !b)
		abort();
	n = cut_all(&p, in.p, in.n, 0, a, &took);
	FUZZ_CHECK(in.n == 0 || (n > 0 && a[n - 1] == in.n));
	n2 = cut_all(&p, in.p, in.n, step, b, &took2);
	FUZZ_CHECK(took2 == took && n2 == n);
	FUZZ_CHECK(n == 0 || !memcmp(a, b, n * sizeof(*a)));
	if (took) {
		check_regions(&p, in.p, in.n, a, n);
	} else {
		for (size_t i = 0; i < n; i++) {
			pos += mlfs_chunker_next(&p, in.p + pos, in.n - pos,
						 true);
			FUZZ_CHECK(a[i] == pos);
		}
	}
	free(a);
	free(b);
	return 0;
}

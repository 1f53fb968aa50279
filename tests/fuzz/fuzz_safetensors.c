/*
 * fuzz_safetensors.c - mlfs_st_parse() on an untrusted safetensors file
 * (le64 header length, JSON header, data), then the safetensors content
 * diff of the file against itself with its last byte changed. Invariants:
 * only -EBADMSG (with a reason)/-ENOMEM on failure, leaving no tensors; a
 * parsed file has tensors sorted by unique name, each of rank <= 16, with
 * len = elements x dtype size and its range inside the data section, no
 * two ranges overlapping; the diff returns 0.
 */
#include <errno.h>

#include "fuzz.h"
#include "mlfs/diff.h"

static const unsigned dsize[] = { 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8,
				  8, 8 };

static void check_file(const struct mlfs_st_file *f, size_t size)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct mlfs_st_tensor *t = &f->t[i];
		uint64_t n = 1;

		FUZZ_CHECK(i == 0 || strcmp(f->t[i - 1].name, t->name) < 0);
		FUZZ_CHECK((unsigned)t->dtype < sizeof(dsize) / sizeof(*dsize));
		FUZZ_CHECK(t->rank <= MLFS_ST_RANK_MAX);
		for (unsigned d = 0; d < t->rank; d++)
			n *= t->shape[d];
		FUZZ_CHECK(n == t->nelem);
		FUZZ_CHECK(t->len == t->nelem * dsize[t->dtype]);
		FUZZ_CHECK(t->off >= 8 + f->header_len);
		FUZZ_CHECK(t->off <= size && t->len <= size - t->off);
		for (size_t k = 0; k < i; k++) {
			const struct mlfs_st_tensor *u = &f->t[k];

			FUZZ_CHECK(!t->len || !u->len ||
				   t->off + t->len <= u->off ||
				   u->off + u->len <= t->off);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlfs_diff_src src = { "m.safetensors", size, data, NULL, NULL };
	struct mlfs_diff_content_opts o = { .max_examples = 3 };
	struct mlfs_diff_out out;
	struct mlfs_st_file f;
	uint8_t *b;
	char err[200];
	int r = mlfs_st_parse(&src, 0, &f, err, sizeof(err));

	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -ENOMEM);
		FUZZ_CHECK(f.n == 0 && f.t == NULL);
		FUZZ_CHECK(r != -EBADMSG || strlen(err) > 0);
	} else {
		/* Quadratic overlap check: only on small files. */
		if (f.n <= 512)
			check_file(&f, size);
		mlfs_st_file_release(&f);
	}
	if (size == 0)
		return 0;
	b = malloc(size);
	if (!b)
		abort();
	memcpy(b, data, size);
	b[size - 1] ^= 0x5a;
	{
		struct mlfs_diff_src sb = { "m.safetensors", size, b, NULL,
					    NULL };

		memset(&out, 0, sizeof(out));
		r = mlfs_diff_content(&src, &sb, &o, &out);
		FUZZ_CHECK(r == 0 || r == -ENOMEM);
		mlfs_diff_out_release(&out);
	}
	free(b);
	return 0;
}

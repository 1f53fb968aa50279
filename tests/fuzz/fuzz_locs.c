/*
 * fuzz_locs.c - mlfs_content_locs_decode() on an untrusted locs blob (a
 * contents row of mlfs.db, schema 4) for a chunk list. Input: a byte n
 * (chunks, 0..255), n le32 chunk lengths, then the locs blob.
 * Invariants: failure is -EBADMSG (wrong length) or -ERANGE; on success
 * every location is in range and carries its chunk's raw length.
 */
#include <errno.h>
#include <stdlib.h>

#include "fuzz.h"
#include "meta.h"
#include "mlfs/chunker.h"
#include "mlfs/content.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	size_t n = (size_t)fuzz_take(&in, 1);
	struct mlfs_content c = { 0 };
	struct mlfs_chunk_loc *locs;
	int r;

	c.offs = calloc(n + 1, sizeof(*c.offs));
	locs = calloc(n ? n : 1, sizeof(*locs));
	if (!c.offs || !locs)
		goto out;
	for (size_t i = 0; i < n; i++)
		c.offs[i + 1] = c.offs[i] + fuzz_take(&in, 4);
	c.n = n;
	r = mlfs_content_locs_decode(in.p, in.n, &c, locs);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -ERANGE);
		goto out;
	}
	FUZZ_CHECK(in.n == n * 21);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(locs[i].raw_len == c.offs[i + 1] - c.offs[i]);
		FUZZ_CHECK(locs[i].raw_len >= 1 &&
			   locs[i].raw_len <= MLFS_CHUNK_LIMIT);
		FUZZ_CHECK(locs[i].offset >= MLFS_PACK_HEADER_LEN);
	}
out:
	free(c.offs);
	free(locs);
	return 0;
}

/*
 * fuzz_chunklist.c - mlfs_chunklist_decode() on an untrusted chunk-list
 * blob and file size (a contents row of mlfs.db). Input: a mode byte,
 * le64 size, then the blob; mode bit 0 replaces the size by the sum of
 * the blob's chunk lengths so most inputs reach the success path.
 * Invariants: failure is -EBADMSG/-ENOMEM; on success the offsets are
 * strictly increasing prefix sums ending at the size, each chunk length
 * is 1..MLFS_CHUNK_LIMIT, and mlfs_content_chunk_index maps every probed
 * offset to the chunk that holds it.
 */
#include <errno.h>

#include "fuzz.h"
#include "mlfs/chunker.h"
#include "mlfs/content.h"

#define ENTRY (MLFS_ID_LEN + 4)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned mode = (unsigned)fuzz_take(&in, 1);
	uint64_t fsize = fuzz_take(&in, 8), sum = 0;
	struct mlfs_content c;
	int r;

	if (mode & 1) {
		for (size_t i = 0; i + ENTRY <= in.n; i += ENTRY)
			sum += mlfs_get_le32(in.p + i + MLFS_ID_LEN);
		fsize = sum;
	}
	memset(&c, 0, sizeof(c));
	r = mlfs_chunklist_decode(in.p, in.n, fsize, &c);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -ENOMEM);
		goto out;
	}
	FUZZ_CHECK(c.n == in.n / ENTRY && in.n % ENTRY == 0);
	FUZZ_CHECK(c.size == fsize && c.offs[0] == 0 && c.offs[c.n] == fsize);
	for (size_t i = 0; i < c.n; i++) {
		uint64_t len = c.offs[i + 1] - c.offs[i];

		FUZZ_CHECK(c.offs[i] < c.offs[i + 1]);
		FUZZ_CHECK(len == mlfs_get_le32(in.p + i * ENTRY +
						 MLFS_ID_LEN));
		FUZZ_CHECK(len <= MLFS_CHUNK_LIMIT);
		FUZZ_CHECK(!memcmp(c.ids[i].b, in.p + i * ENTRY, MLFS_ID_LEN));
	}
	/* First byte, last byte and a few in between of the file. */
	for (uint64_t k = 0; fsize && k <= 8; k++) {
		uint64_t off = k == 8 ? fsize - 1 : fsize / 8 * k;
		size_t idx = mlfs_content_chunk_index(&c, off);

		FUZZ_CHECK(idx < c.n);
		FUZZ_CHECK(c.offs[idx] <= off && off < c.offs[idx + 1]);
	}
out:
	free(c.ids);
	free(c.offs);
	return 0;
}

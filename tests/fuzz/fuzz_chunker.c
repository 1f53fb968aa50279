/*
 * fuzz_chunker.c - content-defined chunking of untrusted file bytes (what
 * import does to every file). Input: 3 bytes choosing small chunk
 * parameters (min 64..319, avg 128..4096, max up to 4 avg), 2 bytes
 * choosing where streaming stops, then the data. Invariants: cuts cover
 * the data exactly; every chunk but the last is min..max bytes; a cut
 * found in a truncated buffer (eof unset, as import sees a file a read at
 * a time) is the cut of the whole data, so a chunk's bounds never depend
 * on bytes past it (what makes deduplication work).
 */
#include "fuzz.h"
#include "mlfs/chunker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct mlfs_chunk_params p;
	unsigned b0 = (unsigned)fuzz_take(&in, 1);
	unsigned b1 = (unsigned)fuzz_take(&in, 1);
	unsigned b2 = (unsigned)fuzz_take(&in, 1);
	size_t stop = (size_t)fuzz_take(&in, 2), off = 0;

	p.min = 64 + b0;
	p.avg = 1u << (7 + b1 % 6);
	p.max = p.avg + 1 + b2 % (3 * p.avg);
	if (mlfs_chunk_params_check(&p) < 0)
		return 0;
	while (off < in.n) {
		size_t left = in.n - off;
		size_t cut = mlfs_chunker_next(&p, in.p + off, left, true);
		size_t part, c2;

		FUZZ_CHECK(cut >= 1 && cut <= left && cut <= p.max);
		FUZZ_CHECK(cut >= p.min || cut == left);
		/* The splitter table gives the same cut. */
		FUZZ_CHECK(mlfs_splitter_fastcdc.next(&p, NULL, in.p + off,
						      left, true) == cut);
		/* A truncated view either needs more bytes or agrees. */
		part = 1 + (stop + off) % left;
		c2 = mlfs_chunker_next(&p, in.p + off, part, false);
		FUZZ_CHECK(c2 == 0 || c2 == cut);
		/* Unless the end of the data forced it, a cut inside the
		 * view must be found there. */
		if (cut < left && cut <= part)
			FUZZ_CHECK(c2 == cut);
		off += cut;
	}
	FUZZ_CHECK(off == in.n);
	return 0;
}

/*
 * chunker.c - FastCDC-style content-defined chunking: a gear rolling
 * hash, no cut before min, a strict mask up to the normal size and a
 * loose one after it (normalized chunking), a forced cut at max. The gear
 * table is fixed for all stores: cut points are part of the on-disk
 * format (they decide chunk ids), so changing it needs a format bump.
 */
#include <errno.h>
#include <pthread.h>

#include "mlfs/chunker.h"

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

/* splitmix64: a fixed, well-mixed sequence for the gear table. */
static void gear_init(void)
{
	uint64_t x = 0x6d6c66732d636463ull; /* "mlfs-cdc" */

	for (int i = 0; i < 256; i++) {
		uint64_t z = (x += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		gear[i] = z ^ (z >> 31);
	}
}

static unsigned log2u(uint32_t v)
{
	unsigned b = 0;

	while (v >>= 1)
		b++;
	return b;
}

/* A mask of the @bits most significant bits: with a left-shifting gear
 * hash those depend on the longest window of recent bytes. */
static uint64_t top_mask(unsigned bits)
{
	return bits >= 64 ? ~0ull : ~0ull << (64 - bits);
}

int mlfs_chunk_params_check(const struct mlfs_chunk_params *p)
{
	if (p->min < 64 || p->min >= p->avg || p->avg >= p->max ||
	    p->max > MLFS_CHUNK_LIMIT || (p->avg & (p->avg - 1)))
		return -EINVAL;
	return 0;
}

/*
 * Scan [i, end) for the first position where the hash has no bit of
 * @mask set; returns the cut length, or 0 with *fpp updated. Two bytes
 * per step: the second hash is computed from the first step's inputs
 * ((fp << 2) + (g0 << 1) + g1), so the serial dependency is one shift
 * and add per two bytes. Cuts are exactly those of the one-byte loop.
 */
static size_t scan(const uint8_t *buf, size_t i, size_t end, uint64_t mask,
		   uint64_t *fpp)
{
	uint64_t fp = *fpp;

	for (; i + 2 <= end; i += 2) {
		uint64_t g0 = gear[buf[i]], g1 = gear[buf[i + 1]];
		uint64_t f1 = (fp << 1) + g0;

		fp = (fp << 2) + (g0 << 1) + g1;
		if (!(f1 & mask))
			return i + 1;
		if (!(fp & mask))
			return i + 2;
	}
	for (; i < end; i++) {
		fp = (fp << 1) + gear[buf[i]];
		if (!(fp & mask))
			return i + 1;
	}
	*fpp = fp;
	return 0;
}

size_t mlfs_chunker_next(const struct mlfs_chunk_params *p,
			 const uint8_t *buf, size_t len, bool eof)
{
	unsigned bits = log2u(p->avg);
	uint64_t mask_s = top_mask(bits + 2), mask_l = top_mask(bits - 2);
	size_t limit = len < p->max ? len : p->max;
	size_t normal = p->avg < limit ? p->avg : limit;
	uint64_t fp = 0;
	size_t cut;

	pthread_once(&gear_once, gear_init);
	if (len <= p->min)
		return eof || len == p->max ? len : 0;
	cut = scan(buf, p->min, normal, mask_s, &fp);
	if (cut)
		return cut;
	cut = scan(buf, normal > p->min ? normal : p->min, limit, mask_l, &fp);
	if (cut)
		return cut;
	if (limit == p->max)
		return p->max;
	return eof ? len : 0;
}

static size_t fastcdc_next(const struct mlfs_chunk_params *p,
			   void *state MLFS_UNUSED, const uint8_t *buf,
			   size_t len, bool eof)
{
	return mlfs_chunker_next(p, buf, len, eof);
}

const struct mlfs_splitter mlfs_splitter_fastcdc = {
	.name = "fastcdc",
	.next = fastcdc_next,
};

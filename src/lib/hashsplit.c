/*
 * hashsplit.c - mlfs_hash() of a whole file from per-chunk parts made in
 * any order. XXH3-128 of a long input (> 240 bytes, xxHash's
 * doc/xxhash_spec.md) adds, for every 64-byte stripe of the input, a term
 * that depends only on the stripe and its place in its block (16 stripes
 * with our 192-byte secret) to eight 64-bit accumulators, and scrambles
 * them after each whole block. Addition commutes, so a chunk's terms can
 * be summed per block from its bytes alone (a part: 64 bytes per block,
 * plus the < 64 bytes at each end that share a stripe with a neighbour);
 * adding the parts in file order only adds those sums and scrambles at
 * block ends. Checked against libxxhash in tests/unit/test_hashsplit.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86_TARGETS 1
#endif

#include "mlfs/hashsplit.h"

#define STRIPE 64u
#define SECRET MLFS_HASH_KEY_LEN
#define SPB ((SECRET - STRIPE) / 8)  /* stripes per block */
#define SCRAMBLE_AT (SECRET - STRIPE) /* secret offset of the scramble */
#define LASTACC_AT (SECRET - STRIPE - 7) /* ... of the last stripe */
#define MERGE_AT 11

#define P32_1 0x9E3779B1u
#define P32_2 0x85EBCA77u
#define P32_3 0xC2B2AE3Du
#define P64_1 0x9E3779B185EBCA87ull
#define P64_2 0xC2B2AE3D27D4EB4Full
#define P64_3 0x165667B19E3779F9ull
#define P64_4 0x85EBCA77C2B2AE63ull
#define P64_5 0x27D4EB2F165667C5ull

struct mlfs_hashsplit_part {
	uint64_t size, off;
	size_t len;
	uint64_t j0, j1;        /* whole stripes summed in g: [j0, j1) */
	size_t head_len;        /* bytes before the first stripe boundary */
	size_t tail_len;        /* bytes after the last one */
	size_t last_len;        /* min(len, 64) */
	uint8_t head[STRIPE], tail[STRIPE], last[STRIPE];
	size_t nblocks;         /* blocks j0..j1-1 touch */
	uint64_t g[];           /* nblocks x 8 sums; a small file's bytes */
};

/* The terms of stripe @in (secret at @sec) added to @acc. */
static void stripe_scalar(uint64_t acc[8], const uint8_t *in,
			  const uint8_t *sec)
{
	for (unsigned i = 0; i < 8; i++) {
		uint64_t v = mlfs_get_le64(in + 8 * i);
		uint64_t k = v ^ mlfs_get_le64(sec + 8 * i);

		acc[i ^ 1] += v;
		acc[i] += (k & 0xffffffffu) * (k >> 32);
	}
}

static void scramble_scalar(uint64_t acc[8], const uint8_t *sec)
{
	for (unsigned i = 0; i < 8; i++) {
		uint64_t a = acc[i];

		a ^= a >> 47;
		a ^= mlfs_get_le64(sec + 8 * i);
		acc[i] = a * P32_1;
	}
}

/* @g = the sum of the terms of @n consecutive stripes of one block at
 * @in, stripe s using the secret at @sec + 8 s. */
static void sum_scalar(uint64_t g[8], const uint8_t *in, const uint8_t *sec,
		       size_t n)
{
	memset(g, 0, 8 * sizeof(*g));
	for (size_t s = 0; s < n; s++)
		stripe_scalar(g, in + s * STRIPE, sec + 8 * s);
}

/* Add the @n block sums @g (of blocks @blk, @blk + 1, ...) to @acc,
 * scrambling after each block whose stripes are all in now: those that
 * end before stripe @j1, below block @nscr (the last block of a file is
 * not scrambled). @sec: the scramble's secret. */
static void blocks_scalar(uint64_t acc[8], const uint64_t *g, size_t n,
			  uint64_t blk, uint64_t j1, uint64_t nscr,
			  const uint8_t *sec)
{
	for (size_t b = 0; b < n; b++, blk++, g += 8) {
		for (unsigned i = 0; i < 8; i++)
			acc[i] += g[i];
		if ((blk + 1) * SPB <= j1 && blk < nscr)
			scramble_scalar(acc, sec);
	}
}

#ifdef HAVE_X86_TARGETS
/* sum_scalar four lanes at a time (x86-64 is little-endian). The input
 * words are summed as they are and swapped into their neighbours' lanes
 * once at the end (the sum of swaps is the swap of the sum): one shuffle
 * less per stripe. */
__attribute__((target("avx2")))
static void sum_avx2(uint64_t g[8], const uint8_t *in, const uint8_t *sec,
		     size_t n)
{
	__m256i m0 = _mm256_setzero_si256(), m1 = _mm256_setzero_si256();
	__m256i d0 = _mm256_setzero_si256(), d1 = _mm256_setzero_si256();

	for (size_t s = 0; s < n; s++, in += STRIPE, sec += 8) {
		__m256i v0 = _mm256_loadu_si256((const __m256i *)in);
		__m256i v1 = _mm256_loadu_si256((const __m256i *)(in + 32));
		__m256i k0 = _mm256_xor_si256(v0,
			_mm256_loadu_si256((const __m256i *)sec));
		__m256i k1 = _mm256_xor_si256(v1,
			_mm256_loadu_si256((const __m256i *)(sec + 32)));

		/* low 32 bits times high 32 bits of each lane */
		m0 = _mm256_add_epi64(m0, _mm256_mul_epu32(k0,
			_mm256_srli_epi64(k0, 32)));
		m1 = _mm256_add_epi64(m1, _mm256_mul_epu32(k1,
			_mm256_srli_epi64(k1, 32)));
		d0 = _mm256_add_epi64(d0, v0);
		d1 = _mm256_add_epi64(d1, v1);
	}
	/* each lane also gets its neighbour's (i ^ 1) input */
	m0 = _mm256_add_epi64(m0, _mm256_shuffle_epi32(d0,
		_MM_SHUFFLE(1, 0, 3, 2)));
	m1 = _mm256_add_epi64(m1, _mm256_shuffle_epi32(d1,
		_MM_SHUFFLE(1, 0, 3, 2)));
	_mm256_storeu_si256((__m256i *)g, m0);
	_mm256_storeu_si256((__m256i *)(g + 4), m1);
}

/* ... and all eight in one register. */
__attribute__((target("avx512f")))
static void sum_avx512(uint64_t g[8], const uint8_t *in, const uint8_t *sec,
		       size_t n)
{
	__m512i m = _mm512_setzero_si512(), d = _mm512_setzero_si512();

	for (size_t s = 0; s < n; s++, in += STRIPE, sec += 8) {
		__m512i v = _mm512_loadu_si512(in);
		__m512i k = _mm512_xor_si512(v, _mm512_loadu_si512(sec));

		m = _mm512_add_epi64(m, _mm512_mul_epu32(k,
			_mm512_srli_epi64(k, 32)));
		d = _mm512_add_epi64(d, v);
	}
	m = _mm512_add_epi64(m, _mm512_shuffle_epi32(d,
		(_MM_PERM_ENUM)_MM_SHUFFLE(1, 0, 3, 2)));
	_mm512_storeu_si512(g, m);
}

__attribute__((target("avx512f,avx512dq")))
static void blocks_avx512(uint64_t acc[8], const uint64_t *g, size_t n,
			  uint64_t blk, uint64_t j1, uint64_t nscr,
			  const uint8_t *sec)
{
	__m512i a = _mm512_loadu_si512(acc);
	__m512i key = _mm512_loadu_si512(sec);
	__m512i prime = _mm512_set1_epi64(P32_1);

	for (size_t b = 0; b < n; b++, blk++, g += 8) {
		a = _mm512_add_epi64(a, _mm512_loadu_si512(g));
		if ((blk + 1) * SPB <= j1 && blk < nscr) {
			a = _mm512_xor_si512(a, _mm512_srli_epi64(a, 47));
			a = _mm512_mullo_epi64(_mm512_xor_si512(a, key), prime);
		}
	}
	_mm512_storeu_si512(acc, a);
}
#endif

typedef void sum_fn(uint64_t g[8], const uint8_t *in, const uint8_t *sec,
		    size_t n);
typedef void blocks_fn(uint64_t acc[8], const uint64_t *g, size_t n,
		       uint64_t blk, uint64_t j1, uint64_t nscr,
		       const uint8_t *sec);

/* Set once by tests before any hashing (mlfs_hashsplit_limit_isa). */
static int isa_limit = MLFS_HASHSPLIT_ISA_BEST;

void mlfs_hashsplit_limit_isa(int isa)
{
	isa_limit = isa;
}

static sum_fn *pick_sum(void)
{
#ifdef HAVE_X86_TARGETS
	if (isa_limit >= MLFS_HASHSPLIT_ISA_BEST &&
	    __builtin_cpu_supports("avx512f"))
		return sum_avx512;
	if (isa_limit >= MLFS_HASHSPLIT_ISA_AVX2 &&
	    __builtin_cpu_supports("avx2"))
		return sum_avx2;
#endif
	return sum_scalar;
}

static blocks_fn *pick_blocks(void)
{
#ifdef HAVE_X86_TARGETS
	if (isa_limit >= MLFS_HASHSPLIT_ISA_BEST &&
	    __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512dq"))
		return blocks_avx512;
#endif
	return blocks_scalar;
}

/* Normal stripes of a file of @size bytes: the last (partial or whole)
 * one is taken apart at the end, with its own secret. */
static uint64_t normal_stripes(uint64_t size)
{
	return (size - 1) / STRIPE;
}

/* Where the whole stripes of @len bytes at @off begin (@j) and end
 * (@jend, not past the normal stripes), and the bytes before them. */
static size_t layout(uint64_t size, uint64_t off, size_t len, uint64_t *j,
		     uint64_t *jend)
{
	uint64_t nstripes = normal_stripes(size);
	size_t hl = (size_t)((STRIPE - off % STRIPE) % STRIPE), nfull;

	if (hl > len)
		hl = len;
	nfull = (len - hl) / STRIPE;
	*j = (off + hl) / STRIPE;
	*jend = nfull && *j < nstripes ?
		(*j + nfull < nstripes ? *j + nfull : nstripes) : *j;
	return hl;
}

size_t mlfs_hashsplit_part_size(uint64_t size, uint64_t off, size_t len)
{
	uint64_t j, jend;

	if (size <= MLFS_HASHSPLIT_SMALL)
		return sizeof(struct mlfs_hashsplit_part) + len;
	layout(size, off, len, &j, &jend);
	return sizeof(struct mlfs_hashsplit_part) +
	       (jend > j ? (size_t)((jend - 1) / SPB - j / SPB + 1) : 0) *
	       8 * sizeof(uint64_t);
}

int mlfs_hashsplit_part_make(const struct mlfs_hash_key *k, uint64_t size,
			     uint64_t off, const void *data, size_t len,
			     void *mem, struct mlfs_hashsplit_part **out)
{
	const uint8_t *p = data;
	struct mlfs_hashsplit_part *pt = mem;
	uint64_t j, jend;
	size_t hl;
	sum_fn *sum;

	*out = NULL;
	if (off > size || len > size - off || (!len && size))
		return -EINVAL;
	memset(pt, 0, sizeof(*pt));
	if (size <= MLFS_HASHSPLIT_SMALL) {
		memcpy(pt->g, p, len);
		goto done;
	}
	hl = layout(size, off, len, &j, &jend);
	pt->j0 = j;
	pt->j1 = jend;
	pt->nblocks = jend > j ? (size_t)((jend - 1) / SPB - j / SPB + 1) : 0;
	pt->head_len = hl;
	memcpy(pt->head, p, hl);
	pt->tail_len = (len - hl) % STRIPE;
	memcpy(pt->tail, p + len - pt->tail_len, pt->tail_len);
	sum = pick_sum();
	/* one call per block: each sets its block's sum */
	for (const uint8_t *in = p + hl; j < jend;) {
		uint64_t *g = pt->g + 8 * (j / SPB - pt->j0 / SPB);
		size_t n = (size_t)(SPB - j % SPB);

		if (n > jend - j)
			n = (size_t)(jend - j);
		sum(g, in, k->secret + 8 * (j % SPB), n);
		in += n * STRIPE;
		j += n;
	}
done:
	pt->size = size;
	pt->off = off;
	pt->len = len;
	pt->last_len = len < STRIPE ? len : STRIPE;
	memcpy(pt->last, p + len - pt->last_len, pt->last_len);
	*out = pt;
	return 0;
}

int mlfs_hashsplit_part_new(const struct mlfs_hash_key *k, uint64_t size,
			    uint64_t off, const void *data, size_t len,
			    struct mlfs_hashsplit_part **out)
{
	void *mem;
	int r;

	*out = NULL;
	if (off > size || len > size - off || (!len && size))
		return -EINVAL;
	mem = malloc(mlfs_hashsplit_part_size(size, off, len));
	if (!mem)
		return -ENOMEM;
	r = mlfs_hashsplit_part_make(k, size, off, data, len, mem, out);
	if (r < 0)
		free(mem);
	return r;
}

size_t mlfs_hashsplit_part_mem(const struct mlfs_hashsplit_part *p)
{
	return sizeof(*p) + (p->size <= MLFS_HASHSPLIT_SMALL ? p->len :
			     p->nblocks * 8 * sizeof(uint64_t));
}

void mlfs_hashsplit_part_free(struct mlfs_hashsplit_part *p)
{
	free(p);
}

void mlfs_hashsplit_init(struct mlfs_hashsplit *h,
			 const struct mlfs_hash_key *k, uint64_t size)
{
	static const uint64_t init[8] = {
		P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1,
	};

	memset(h, 0, sizeof(*h));
	h->key = k;
	h->size = size;
	memcpy(h->acc, init, sizeof(init));
}

/* Stripe @j, whole in h->carry, goes in after all stripes before it. */
static void add_stripe(struct mlfs_hashsplit *h, uint64_t j)
{
	uint64_t nstripes = normal_stripes(h->size);

	if (j >= nstripes)
		return; /* the last one: taken apart in final */
	stripe_scalar(h->acc, h->carry, h->key->secret + 8 * (j % SPB));
	if (j % SPB == SPB - 1 && j / SPB < nstripes / SPB)
		scramble_scalar(h->acc, h->key->secret + SCRAMBLE_AT);
}

int mlfs_hashsplit_add(struct mlfs_hashsplit *h,
		       const struct mlfs_hashsplit_part *p)
{
	uint64_t nstripes = normal_stripes(h->size);
	size_t keep;

	if (p->size != h->size || p->off != h->pos)
		return -EINVAL;
	if (h->size <= MLFS_HASHSPLIT_SMALL) {
		memcpy(h->small + p->off, p->g, p->len);
		h->pos += p->len;
		return 0;
	}
	if (p->head_len) {
		/* completes the stripe the previous parts began */
		memcpy(h->carry + h->carry_len, p->head, p->head_len);
		h->carry_len += p->head_len;
		if (h->carry_len == STRIPE) {
			add_stripe(h, (h->pos + p->head_len) / STRIPE - 1);
			h->carry_len = 0;
		}
	}
	if (p->nblocks)
		pick_blocks()(h->acc, p->g, p->nblocks, p->j0 / SPB, p->j1,
			      nstripes / SPB, h->key->secret + SCRAMBLE_AT);
	if (p->tail_len) {
		memcpy(h->carry, p->tail, p->tail_len);
		h->carry_len = p->tail_len;
	}
	keep = STRIPE - p->last_len;
	memmove(h->last, h->last + p->last_len, keep);
	memcpy(h->last + keep, p->last, p->last_len);
	h->pos += p->len;
	return 0;
}

static uint64_t mul_fold(uint64_t a, uint64_t b)
{
	unsigned __int128 m = (unsigned __int128)a * b;

	return (uint64_t)m ^ (uint64_t)(m >> 64);
}

static uint64_t merge(const uint64_t acc[8], const uint8_t *key,
		      uint64_t start)
{
	uint64_t r = start;

	for (unsigned i = 0; i < 4; i++)
		r += mul_fold(acc[2 * i] ^ mlfs_get_le64(key + 16 * i),
			      acc[2 * i + 1] ^ mlfs_get_le64(key + 16 * i + 8));
	r ^= r >> 37;
	r *= 0x165667919E3779F9ull;
	return r ^ (r >> 32);
}

int mlfs_hashsplit_final(const struct mlfs_hashsplit *h, struct mlfs_id *out)
{
	const uint8_t *sec = h->key->secret;
	uint64_t acc[8], lo, hi;

	if (h->pos != h->size)
		return -EINVAL;
	if (h->size <= MLFS_HASHSPLIT_SMALL) {
		mlfs_hash(h->key, h->small, (size_t)h->size, out);
		return 0;
	}
	memcpy(acc, h->acc, sizeof(acc));
	stripe_scalar(acc, h->last, sec + LASTACC_AT);
	lo = merge(acc, sec + MERGE_AT, h->size * P64_1);
	hi = merge(acc, sec + SECRET - sizeof(acc) - MERGE_AT,
		   ~(h->size * P64_2));
	/* canonical: big-endian, high half first (as mlfs_hash) */
	for (unsigned i = 0; i < 8; i++) {
		out->b[i] = (uint8_t)(hi >> (56 - 8 * i));
		out->b[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
	}
	return 0;
}

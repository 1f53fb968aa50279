/*
 * codec.c - zstd compression of chunks, with a per-thread decompression
 * context. Sizes in a stored frame are untrusted: the frame must decode
 * to exactly the length the index records.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "mlfs/chunker.h"
#include "mlfs/codec.h"

/* Per-thread decoding state, freed by the key's destructor when the
 * thread exits (FUSE worker threads come and go). */
struct decode_state {
	ZSTD_DCtx *dctx;
	uint8_t *scratch;
	size_t cap;
};

static pthread_key_t state_key;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;

static void state_destroy(void *p)
{
	struct decode_state *st = p;

	ZSTD_freeDCtx(st->dctx);
	free(st->scratch);
	free(st);
}

static void state_key_init(void)
{
	(void)pthread_key_create(&state_key, state_destroy);
}

static struct decode_state *thread_state(void)
{
	struct decode_state *st;

	pthread_once(&state_once, state_key_init);
	st = pthread_getspecific(state_key);
	if (st)
		return st;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->dctx = ZSTD_createDCtx();
	if (!st->dctx || pthread_setspecific(state_key, st)) {
		ZSTD_freeDCtx(st->dctx);
		free(st);
		return NULL;
	}
	return st;
}

/* Shannon entropy (bits per byte) of every @stride-th byte from @start. */
static double plane_entropy(const uint8_t *p, size_t len, size_t start,
			    size_t stride)
{
	unsigned count[256] = { 0 };
	size_t n = 0;
	double h = 0;

	for (size_t i = start; i < len; i += stride, n++)
		count[p[i]]++;
	for (int i = 0; i < 256; i++) {
		double q;

		if (!count[i])
			continue;
		q = (double)count[i] / (double)n;
		h -= q * log2(q);
	}
	return h;
}

/* Do the even and odd bytes look like the two halves of 16-bit numbers?
 * A sample decides; the plane order does not matter for compression, so
 * the chunk's parity within its file is irrelevant. Also returns each
 * plane's sampled entropy. */
static bool looks_16bit(const uint8_t *p, size_t len, double *h_even,
			double *h_odd)
{
	size_t sample = len < 4096 ? len : 4096;

	if (len < 1024)
		return false;
	*h_even = plane_entropy(p, sample, 0, 2);
	*h_odd = plane_entropy(p, sample, 1, 2);
	return fabs(*h_even - *h_odd) > 1.0;
}

/* A plane that samples as nearly random (mantissa bytes) is not worth
 * zstd's match search: a fast level stores it at memory speed. */
#define NOISE_BITS 7.5
#define NOISE_LEVEL (-5)

/* Split @in into its even-indexed bytes (first half of @out, rounded up)
 * and odd-indexed bytes (second half). SSE2 does 32 bytes a step: this
 * runs on every read of 16-bit tensor data, so it must not be the
 * bottleneck. */
static void shuffle2(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t half = (len + 1) / 2, i = 0;

#ifdef __SSE2__
	const __m128i lo = _mm_set1_epi16(0x00ff);

	for (; i + 16 <= len / 2; i += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(in + 2 * i));
		__m128i b = _mm_loadu_si128((const __m128i *)(in + 2 * i + 16));
		__m128i even = _mm_packus_epi16(_mm_and_si128(a, lo),
						_mm_and_si128(b, lo));
		__m128i odd = _mm_packus_epi16(_mm_srli_epi16(a, 8),
					       _mm_srli_epi16(b, 8));

		_mm_storeu_si128((__m128i *)(out + i), even);
		_mm_storeu_si128((__m128i *)(out + half + i), odd);
	}
#endif
	for (; i < len / 2; i++) {
		out[i] = in[2 * i];
		out[half + i] = in[2 * i + 1];
	}
	if (len & 1)
		out[half - 1] = in[len - 1];
}

static void unshuffle2(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t half = (len + 1) / 2, i = 0;

#ifdef __SSE2__
	for (; i + 16 <= len / 2; i += 16) {
		__m128i even = _mm_loadu_si128((const __m128i *)(in + i));
		__m128i odd = _mm_loadu_si128((const __m128i *)(in + half + i));

		_mm_storeu_si128((__m128i *)(out + 2 * i),
				 _mm_unpacklo_epi8(even, odd));
		_mm_storeu_si128((__m128i *)(out + 2 * i + 16),
				 _mm_unpackhi_epi8(even, odd));
	}
#endif
	for (; i < len / 2; i++) {
		out[2 * i] = in[i];
		out[2 * i + 1] = in[half + i];
	}
	if (len & 1)
		out[len - 1] = in[half - 1];
}

static _Thread_local struct mlfs_buf shuffle_scratch;

int mlfs_codec_encode(void **cctx_cache, int level, const void *in,
		      size_t len, struct mlfs_buf *out, enum mlfs_codec *codec)
{
	size_t bound = ZSTD_compressBound(len), n;
	ZSTD_CCtx *cctx = *cctx_cache;
	enum mlfs_codec want = MLFS_CODEC_ZSTD;
	double h_even = 0, h_odd = 0;
	int r;

	if (!cctx) {
		cctx = ZSTD_createCCtx();
		if (!cctx)
			return -ENOMEM;
		*cctx_cache = cctx;
	}
	out->len = 0;
	r = mlfs_buf_reserve(out, bound > len ? bound : len);
	if (r < 0)
		return r;
	if (looks_16bit(in, len, &h_even, &h_odd)) {
		/* Each plane gets its own frame: zstd keeps one literal
		 * Huffman table per block, and a chunk fits in one block, so
		 * planes sharing a frame would share a table. */
		size_t half = (len + 1) / 2, n1, n2;

		r = mlfs_buf_reserve(&shuffle_scratch, len);
		if (r < 0)
			return r;
		shuffle2(in, len, shuffle_scratch.data);
		r = mlfs_buf_reserve(out, 4 + ZSTD_compressBound(half) +
				     ZSTD_compressBound(len - half));
		if (r < 0)
			return r;
		bound = out->cap;
		n1 = ZSTD_compressCCtx(cctx, out->data + 4, bound - 4,
				       shuffle_scratch.data, half,
				       h_even > NOISE_BITS ? NOISE_LEVEL :
				       level);
		if (ZSTD_isError(n1))
			return -EIO;
		n2 = ZSTD_compressCCtx(cctx, out->data + 4 + n1, bound - 4 - n1,
				       shuffle_scratch.data + half, len - half,
				       h_odd > NOISE_BITS ? NOISE_LEVEL :
				       level);
		if (ZSTD_isError(n2))
			return -EIO;
		mlfs_put_le32(out->data, (uint32_t)n1);
		n = 4 + n1 + n2;
		want = MLFS_CODEC_ZSTD_SHUF2;
	} else {
		n = ZSTD_compressCCtx(cctx, out->data, bound, in, len, level);
		if (ZSTD_isError(n))
			return -EIO;
	}
	/* Keep it raw unless compression saves at least 1/32: decoding raw
	 * data costs nothing, so a marginal gain is not worth it on reads. */
	if (n >= len - len / 32) {
		memcpy(out->data, in, len);
		out->len = len;
		*codec = MLFS_CODEC_RAW;
		return 0;
	}
	out->len = n;
	*codec = want;
	return 0;
}

void mlfs_codec_cctx_free(void *cctx)
{
	ZSTD_freeCCtx(cctx);
	/* The same thread owns the shuffle scratch: free it with the cctx. */
	mlfs_buf_release(&shuffle_scratch);
}

static int zstd_decode(const void *in, size_t stored_len, void *out,
		       size_t raw_len)
{
	unsigned long long fcs = ZSTD_getFrameContentSize(in, stored_len);
	struct decode_state *st;
	ZSTD_DCtx *d;
	size_t n;

	if (fcs != raw_len)
		return -EBADMSG;
	st = thread_state();
	if (!st)
		return -ENOMEM;
	d = st->dctx;
	n = ZSTD_decompressDCtx(d, out, raw_len, in, stored_len);
	if (ZSTD_isError(n) || n != raw_len)
		return -EBADMSG;
	return 0;
}

int mlfs_codec_decode(enum mlfs_codec codec, const void *in,
		      size_t stored_len, void *out, size_t raw_len)
{
	struct decode_state *st;
	uint8_t *tmp;
	int r;

	if (raw_len > MLFS_CHUNK_LIMIT)
		return -EBADMSG;
	switch (codec) {
	case MLFS_CODEC_RAW:
		if (stored_len != raw_len)
			return -EBADMSG;
		memcpy(out, in, raw_len);
		return 0;
	case MLFS_CODEC_ZSTD:
		return zstd_decode(in, stored_len, out, raw_len);
	case MLFS_CODEC_ZSTD_SHUF2: {
		size_t half = (raw_len + 1) / 2, n1;

		if (stored_len < 4)
			return -EBADMSG;
		n1 = mlfs_get_le32(in);
		if (n1 > stored_len - 4)
			return -EBADMSG;
		st = thread_state();
		if (!st)
			return -ENOMEM;
		if (st->cap < raw_len) {
			tmp = realloc(st->scratch, raw_len);
			if (!tmp)
				return -ENOMEM;
			st->scratch = tmp;
			st->cap = raw_len;
		}
		tmp = st->scratch;
		r = zstd_decode((const uint8_t *)in + 4, n1, tmp, half);
		if (r == 0)
			r = zstd_decode((const uint8_t *)in + 4 + n1,
					stored_len - 4 - n1, tmp + half,
					raw_len - half);
		if (r == 0)
			unshuffle2(tmp, raw_len, out);
		return r;
	}
	}
	return -EBADMSG;
}

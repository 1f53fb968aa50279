/*
 * codec.c - zstd compression of chunks, whole or by byte plane (each plane
 * raw or zstd), with a per-thread decompression context. Sizes in stored
 * bytes are untrusted: every plane length is checked and each frame must
 * decode to exactly the length the index records.
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

/*
 * How many byte planes to split a chunk into: 2 for 16-bit numbers
 * (sign and exponent in one byte of each element), 4 for 32-bit ones,
 * 1 (no split) otherwise. A 4 KiB sample decides, by the mean entropy of
 * the planes each split would give; a plane's position in the file does
 * not matter (planes are only permuted), so neither does the chunk's.
 * Fills @h with the chosen planes' sampled entropies.
 */
static unsigned choose_planes(const uint8_t *p, size_t len, double h[4])
{
	size_t sample = len < 4096 ? len : 4096;
	double h1, h2[2], h4[4], e2, e4;

	if (len < 1024)
		return 1;
	h1 = plane_entropy(p, sample, 0, 1);
	for (unsigned j = 0; j < 2; j++)
		h2[j] = plane_entropy(p, sample, j, 2);
	for (unsigned j = 0; j < 4; j++)
		h4[j] = plane_entropy(p, sample, j, 4);
	e2 = (h2[0] + h2[1]) / 2;
	e4 = (h4[0] + h4[1] + h4[2] + h4[3]) / 4;
	/* Smaller samples read as less random, so four planes must win by
	 * a margin to be worth their extra frames. */
	if (e4 + 0.25 < e2 && e4 + 0.25 < h1) {
		memcpy(h, h4, sizeof(h4));
		return 4;
	}
	if (fabs(h2[0] - h2[1]) > 1.0) {
		memcpy(h, h2, sizeof(h2));
		return 2;
	}
	return 1;
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

/* Interleave @even (ceil(len / 2) bytes) and @odd (the rest) into @out.
 * The planes need not be adjacent: a plane stored raw is read where it
 * lies in the stored bytes. */
static void unshuffle2(const uint8_t *even, const uint8_t *odd, size_t len,
		       uint8_t *out)
{
	size_t half = (len + 1) / 2, i = 0;

#ifdef __SSE2__
	for (; i + 16 <= len / 2; i += 16) {
		__m128i e = _mm_loadu_si128((const __m128i *)(even + i));
		__m128i o = _mm_loadu_si128((const __m128i *)(odd + i));

		_mm_storeu_si128((__m128i *)(out + 2 * i),
				 _mm_unpacklo_epi8(e, o));
		_mm_storeu_si128((__m128i *)(out + 2 * i + 16),
				 _mm_unpackhi_epi8(e, o));
	}
#endif
	for (; i < len / 2; i++) {
		out[2 * i] = even[i];
		out[2 * i + 1] = odd[i];
	}
	if (len & 1)
		out[len - 1] = even[half - 1];
}

/* Bytes in plane @j of @n bytes split @k ways. */
static size_t plane_len(size_t n, unsigned k, unsigned j)
{
	return n / k + (j < n % k);
}

static void shuffle4(const uint8_t *in, size_t n, uint8_t *out)
{
	uint8_t *pl[4];
	size_t off = 0;

	for (unsigned j = 0; j < 4; j++) {
		pl[j] = out + off;
		off += plane_len(n, 4, j);
	}
	for (size_t i = 0; i < n; i++)
		pl[i & 3][i >> 2] = in[i];
}

/* The inverse of shuffle4, from planes @pl wherever they lie; SSE2
 * interleaves 64 bytes a step (it runs on every read of 32-bit tensor
 * data). */
static void unshuffle4(const uint8_t *const pl[4], size_t n, uint8_t *out)
{
	size_t i = 0, q = n / 4;

#ifdef __SSE2__
	for (; i + 16 <= q; i += 16) {
		__m128i p0 = _mm_loadu_si128((const __m128i *)(pl[0] + i));
		__m128i p1 = _mm_loadu_si128((const __m128i *)(pl[1] + i));
		__m128i p2 = _mm_loadu_si128((const __m128i *)(pl[2] + i));
		__m128i p3 = _mm_loadu_si128((const __m128i *)(pl[3] + i));
		__m128i a_lo = _mm_unpacklo_epi8(p0, p1);
		__m128i a_hi = _mm_unpackhi_epi8(p0, p1);
		__m128i b_lo = _mm_unpacklo_epi8(p2, p3);
		__m128i b_hi = _mm_unpackhi_epi8(p2, p3);
		__m128i *o = (__m128i *)(out + 4 * i);

		_mm_storeu_si128(o, _mm_unpacklo_epi16(a_lo, b_lo));
		_mm_storeu_si128(o + 1, _mm_unpackhi_epi16(a_lo, b_lo));
		_mm_storeu_si128(o + 2, _mm_unpacklo_epi16(a_hi, b_hi));
		_mm_storeu_si128(o + 3, _mm_unpackhi_epi16(a_hi, b_hi));
	}
#endif
	for (i *= 4; i < n; i++)
		out[i] = pl[i & 3][i >> 2];
}

static void shuffle(const uint8_t *in, size_t n, unsigned k, uint8_t *out)
{
	if (k == 2)
		shuffle2(in, n, out);
	else
		shuffle4(in, n, out);
}

/* Interleave the @k planes @pl of an @n-byte chunk into @out. */
static void unshuffle(const uint8_t *const pl[4], size_t n, unsigned k,
		      uint8_t *out)
{
	if (k == 2)
		unshuffle2(pl[0], pl[1], n, out);
	else
		unshuffle4(pl, n, out);
}

static _Thread_local struct mlfs_buf shuffle_scratch;

/* A plane (or chunk) is stored compressed only when zstd saves at least
 * 1/32 of it: decoding raw bytes costs nothing, so a marginal gain is not
 * worth a zstd pass on every read. */
static bool worth_compressing(size_t stored, size_t len)
{
	return stored < len - len / 32;
}

/*
 * Split @in into @k byte planes and store each as its own zstd frame, or
 * raw when its frame would not be worth it. Each plane gets its own frame
 * because zstd keeps one literal Huffman table per block and a chunk fits
 * in one block, so planes sharing a frame would share a table.
 * Layout (docs/format.md#codecs): ZSTD_SHUF2/4 when every plane is
 * compressed (the lengths of all frames but the last, le32, then the
 * frames); else PLANES2/4 (a mask byte, 3 zero bytes, the lengths of all
 * planes but the last, then the planes). Sets @out->len and @codec.
 */
static int planes_encode(ZSTD_CCtx *cctx, int level, const uint8_t *in,
			 size_t len, unsigned k, const double h[4],
			 struct mlfs_buf *out, enum mlfs_codec *codec)
{
	size_t hdr = 4 * k, pos = hdr, cap = hdr;
	const uint8_t *src;
	unsigned mask = 0;
	int r;

	for (unsigned j = 0; j < k; j++)
		cap += ZSTD_compressBound(plane_len(len, k, j));
	r = mlfs_buf_reserve(&shuffle_scratch, len);
	if (r == 0)
		r = mlfs_buf_reserve(out, cap);
	if (r < 0)
		return r;
	shuffle(in, len, k, shuffle_scratch.data);
	src = shuffle_scratch.data;
	for (unsigned j = 0; j < k; j++) {
		size_t pl = plane_len(len, k, j);
		size_t nj = ZSTD_compressCCtx(cctx, out->data + pos,
					      out->cap - pos, src, pl,
					      h[j] > NOISE_BITS ?
					      NOISE_LEVEL : level);

		if (ZSTD_isError(nj))
			return -EIO;
		if (worth_compressing(nj, pl)) {
			mask |= 1u << j;
		} else {
			/* The frame's room is at least @pl bytes. */
			memcpy(out->data + pos, src, pl);
			nj = pl;
		}
		if (j < k - 1)
			mlfs_put_le32(out->data + 4 + 4 * j, (uint32_t)nj);
		pos += nj;
		src += pl;
	}
	if (mask == (1u << k) - 1) {
		/* Every plane compressed: the older codec, 4 bytes shorter
		 * and readable by every mlfs. */
		memmove(out->data, out->data + 4, pos - 4);
		out->len = pos - 4;
		*codec = k == 2 ? MLFS_CODEC_ZSTD_SHUF2 : MLFS_CODEC_ZSTD_SHUF4;
		return 0;
	}
	out->data[0] = (uint8_t)mask;
	memset(out->data + 1, 0, 3);
	out->len = pos;
	*codec = k == 2 ? MLFS_CODEC_PLANES2 : MLFS_CODEC_PLANES4;
	return 0;
}

int mlfs_codec_encode(void **cctx_cache, int level, const void *in,
		      size_t len, struct mlfs_buf *out, enum mlfs_codec *codec)
{
	size_t bound = ZSTD_compressBound(len);
	ZSTD_CCtx *cctx = *cctx_cache;
	enum mlfs_codec want = MLFS_CODEC_ZSTD;
	double h[4] = { 0 };
	unsigned k;
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
	k = choose_planes(in, len, h);
	if (k > 1) {
		r = planes_encode(cctx, level, in, len, k, h, out, &want);
		if (r < 0)
			return r;
	} else {
		size_t n = ZSTD_compressCCtx(cctx, out->data, bound, in, len,
					     level);

		if (ZSTD_isError(n))
			return -EIO;
		out->len = n;
	}
	if (!worth_compressing(out->len, len)) {
		memcpy(out->data, in, len);
		out->len = len;
		*codec = MLFS_CODEC_RAW;
		return 0;
	}
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

/* Room for @n decoded bytes in the thread's scratch, or NULL. */
static uint8_t *thread_scratch(size_t n)
{
	struct decode_state *st = thread_state();

	if (!st)
		return NULL;
	if (st->cap < n || !st->scratch) {
		/* At least a byte: an empty chunk's planes still get a
		 * non-NULL place to decode to. */
		uint8_t *tmp = realloc(st->scratch, n ? n : 1);

		if (!tmp)
			return NULL;
		st->scratch = tmp;
		st->cap = n ? n : 1;
	}
	return st->scratch;
}

/*
 * Decode the @k planes of a ZSTD_SHUF2/4 chunk (@mask = all planes, no
 * mask byte) or a PLANES2/4 chunk (@mask read from byte 0) and interleave
 * them into @out. Lengths are untrusted: each is checked against what is
 * left, a raw plane must be exactly its plane's size and a frame must
 * declare it. Compressed planes go to the thread's scratch; raw ones are
 * read where they lie in @in, with no copy.
 */
static int planes_decode(unsigned k, bool masked, const uint8_t *in,
			 size_t stored_len, uint8_t *out, size_t raw_len)
{
	size_t lens = masked ? 4 : 0, hdr = lens + 4 * (k - 1), pos = hdr;
	size_t plane_off = 0;
	unsigned mask = (1u << k) - 1;
	const uint8_t *pl[4] = { NULL };
	uint8_t *scratch = NULL;

	if (stored_len < hdr)
		return -EBADMSG;
	if (masked) {
		mask = in[0];
		if (mask >> k || in[1] || in[2] || in[3])
			return -EBADMSG;
	}
	if (mask) {
		scratch = thread_scratch(raw_len);
		if (!scratch)
			return -ENOMEM;
	}
	for (unsigned j = 0; j < k; j++) {
		size_t nj = j < k - 1 ? mlfs_get_le32(in + lens + 4 * j) :
			    stored_len - pos;
		size_t plen = plane_len(raw_len, k, j);

		if (nj > stored_len - pos)
			return -EBADMSG;
		if (mask & (1u << j)) {
			int r = zstd_decode(in + pos, nj, scratch + plane_off,
					    plen);

			if (r < 0)
				return r;
			pl[j] = scratch + plane_off;
		} else {
			if (nj != plen)
				return -EBADMSG;
			pl[j] = in + pos;
		}
		pos += nj;
		plane_off += plen;
	}
	unshuffle(pl, raw_len, k, out);
	return 0;
}

int mlfs_codec_decode(enum mlfs_codec codec, const void *in,
		      size_t stored_len, void *out, size_t raw_len)
{
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
	case MLFS_CODEC_ZSTD_SHUF2:
		return planes_decode(2, false, in, stored_len, out, raw_len);
	case MLFS_CODEC_ZSTD_SHUF4:
		return planes_decode(4, false, in, stored_len, out, raw_len);
	case MLFS_CODEC_PLANES2:
		return planes_decode(2, true, in, stored_len, out, raw_len);
	case MLFS_CODEC_PLANES4:
		return planes_decode(4, true, in, stored_len, out, raw_len);
	}
	return -EBADMSG;
}

/*
 * test_codec.c - chunk compression: codec choice (RAW fallback, ZSTD, byte
 * planes for 16- and 32-bit data, each plane raw or zstd), round trips,
 * chunks of every older codec, and a decoder that rejects every
 * malformed input without crashing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zstd.h>

#include "mlfs/codec.h"

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint8_t *random_data(size_t len, uint64_t seed)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)splitmix(&seed);
	return p;
}

static uint8_t *text_data(size_t len)
{
	static const char words[] = "the quick brown fox jumps over the "
				    "lazy dog; weights and biases, ";
	uint8_t *p = malloc(len);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)words[(i * 7 + i / 97) % (sizeof(words) - 1)];
	return p;
}

/* float -> IEEE half by bit manipulation (truncating, flush to zero). */
static uint16_t to_half(float f)
{
	uint32_t x;
	uint16_t sign;
	int exp;

	memcpy(&x, &f, 4);
	sign = (uint16_t)((x >> 16) & 0x8000);
	exp = (int)((x >> 23) & 0xff) - 127 + 15;
	if (exp <= 0)
		return sign;
	if (exp >= 31)
		return (uint16_t)(sign | 0x7c00);
	return (uint16_t)(sign | (unsigned)exp << 10 | ((x >> 13) & 0x3ff));
}

/* Little-endian float16 of normal-ish values, as in a weight tensor. */
static uint8_t *f16_data(size_t len, uint64_t seed)
{
	uint8_t *p = malloc(len + 1);

	assert_non_null(p);
	for (size_t i = 0; i < len; i += 2) {
		float u = 0;
		uint16_t h;

		for (int k = 0; k < 4; k++)
			u += (float)(splitmix(&seed) >> 40) / (float)(1 << 24);
		h = to_half((u - 2.0f) * 0.05f);
		p[i] = (uint8_t)h;
		p[i + 1] = (uint8_t)(h >> 8);
	}
	return p;
}

/* Little-endian float32 of normal-ish values, as in a weight tensor. */
static uint8_t *f32_data(size_t len, uint64_t seed)
{
	uint8_t *p = malloc(len + 4);

	assert_non_null(p);
	for (size_t i = 0; i < len; i += 4) {
		float u = 0;

		for (int k = 0; k < 4; k++)
			u += (float)(splitmix(&seed) >> 40) / (float)(1 << 24);
		u = (u - 2.0f) * 0.05f;
		memcpy(p + i, &u, 4);
	}
	return p;
}

struct enc {
	void *cctx;
	struct mlfs_buf out;
	enum mlfs_codec codec;
};

static void encode(struct enc *e, const void *in, size_t len)
{
	e->codec = (enum mlfs_codec)99;
	assert_int_equal(mlfs_codec_encode(&e->cctx, 3, in, len, &e->out,
					   &e->codec), 0);
}

static void enc_release(struct enc *e)
{
	mlfs_buf_release(&e->out);
	mlfs_codec_cctx_free(e->cctx);
	e->cctx = NULL;
}

static void round_trip(const struct enc *e, const uint8_t *in, size_t len)
{
	uint8_t *back = malloc(len ? len : 1);

	assert_non_null(back);
	memset(back, 0xee, len);
	assert_int_equal(mlfs_codec_decode(e->codec, e->out.data, e->out.len,
					   back, len), 0);
	assert_memory_equal(back, in, len);
	free(back);
}

/* Bytes in plane @j of @n bytes split @k ways (as codec.c). */
static size_t plane_len(size_t n, unsigned k, unsigned j)
{
	return n / k + (j < n % k);
}

/*
 * Build a chunk in the planes layout by hand, independently of the
 * encoder: @k planes (i mod k), the planes whose bit is set in @mask as
 * zstd frames (level 3), the others raw. @masked: PLANES2/4 (mask byte,
 * 3 zero bytes, k-1 lengths); else the older ZSTD_SHUF2/4 layout (k-1
 * lengths; @mask must then be all planes). docs/format.md#codecs.
 */
static void build_planes(unsigned k, unsigned mask, bool masked,
			 const uint8_t *in, size_t len, struct mlfs_buf *out)
{
	size_t lens = masked ? 4 : 0, pos = lens + 4 * (k - 1);
	size_t cap = pos;
	uint8_t *plane = malloc(len + 1);

	assert_non_null(plane);
	for (unsigned j = 0; j < k; j++)
		cap += ZSTD_compressBound(plane_len(len, k, j));
	out->len = 0;
	assert_int_equal(mlfs_buf_reserve(out, cap), 0);
	if (masked) {
		out->data[0] = (uint8_t)mask;
		memset(out->data + 1, 0, 3);
	}
	for (unsigned j = 0; j < k; j++) {
		size_t pl = plane_len(len, k, j), nj = pl;

		for (size_t i = 0; i < pl; i++)
			plane[i] = in[i * k + j];
		if (mask & (1u << j)) {
			nj = ZSTD_compress(out->data + pos, cap - pos, plane,
					   pl, 3);
			assert_false(ZSTD_isError(nj));
		} else {
			memcpy(out->data + pos, plane, pl);
		}
		if (j < k - 1)
			mlfs_put_le32(out->data + lens + 4 * j, (uint32_t)nj);
		pos += nj;
	}
	out->len = pos;
	free(plane);
}

/* Decode @stored_len bytes from a heap copy of exactly that size (so
 * ASan sees any overread) into a buffer of exactly @raw_len bytes. */
static int decode_exact(enum mlfs_codec codec, const uint8_t *stored,
			size_t stored_len, size_t raw_len)
{
	uint8_t *c = malloc(stored_len ? stored_len : 1);
	uint8_t *back = malloc(raw_len ? raw_len : 1);
	int r;

	assert_non_null(c);
	assert_non_null(back);
	if (stored_len)
		memcpy(c, stored, stored_len);
	r = mlfs_codec_decode(codec, c, stored_len, back, raw_len);
	free(back);
	free(c);
	return r;
}

/* @len bytes whose plane j (i mod @k) is random where bit j of @noisy is
 * set, else 2 + j (k = 4) or 2 + 2j (k = 2) random bits above a base of
 * its own: planes that compress and planes that do not, in any mix, with
 * entropies far enough apart that the encoder splits them @k ways. */
static uint8_t *plane_mix_data(unsigned k, unsigned noisy, size_t len,
			       uint64_t seed)
{
	uint8_t *p = random_data(len, seed);

	for (size_t i = 0; i < len; i++) {
		unsigned j = (unsigned)(i % k), bits = 2 + (k == 2 ? 2 * j : j);

		if (!(noisy & (1u << j)))
			p[i] = (uint8_t)(0x40 * j + (p[i] & ((1u << bits) - 1)));
	}
	return p;
}

static void test_codec_compressible_data_uses_zstd(void **state)
{
	struct enc e = { 0 };
	size_t len = 65536;
	uint8_t *p = text_data(len);

	(void)state;
	encode(&e, p, len);
	assert_int_equal(e.codec, MLFS_CODEC_ZSTD);
	assert_true(e.out.len < len / 4);
	assert_int_equal(ZSTD_getFrameContentSize(e.out.data, e.out.len), len);
	round_trip(&e, p, len);
	enc_release(&e);
	free(p);
}

static void test_codec_random_data_stays_raw(void **state)
{
	struct enc e = { 0 };
	static const size_t lens[] = { 1, 100, 1023, 1024, 65536, 65537 };

	(void)state;
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(lens); i++) {
		uint8_t *p = random_data(lens[i], i + 1);

		encode(&e, p, lens[i]);
		assert_int_equal(e.codec, MLFS_CODEC_RAW);
		assert_int_equal(e.out.len, lens[i]);
		assert_memory_equal(e.out.data, p, lens[i]);
		round_trip(&e, p, lens[i]);
		free(p);
	}
	enc_release(&e);
}

static void test_codec_empty_input_is_raw_empty(void **state)
{
	struct enc e = { 0 };
	uint8_t dummy = 0;

	(void)state;
	encode(&e, &dummy, 0);
	assert_int_equal(e.codec, MLFS_CODEC_RAW);
	assert_int_equal(e.out.len, 0);
	assert_int_equal(mlfs_codec_decode(MLFS_CODEC_RAW, &dummy, 0, &dummy,
					   0), 0);
	enc_release(&e);
}

/* float16 weights: the mantissa byte (even, little-endian) does not
 * compress and is stored raw, the sign/exponent byte as a frame. */
static void test_codec_float16_data_uses_planes2_and_round_trips(void **state)
{
	static const size_t lens[] = { 1024, 4097, 65536, 65537, 262143 };
	struct enc e = { 0 };

	(void)state;
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(lens); i++) {
		size_t len = lens[i], h = (len + 1) / 2;
		uint8_t *p = f16_data(len, 100 + i);
		size_t plain_cap = ZSTD_compressBound(len), plain;
		uint8_t *z = malloc(plain_cap);

		assert_non_null(z);
		encode(&e, p, len);
		assert_int_equal(e.codec, MLFS_CODEC_PLANES2);
		assert_true(e.out.len < len - len / 32);
		/* Beats zstd over the interleaved bytes. */
		plain = ZSTD_compress(z, plain_cap, p, len, 3);
		assert_false(ZSTD_isError(plain));
		assert_true(e.out.len < plain);
		/* Layout: mask (plane 1 compressed), 3 zero bytes, le32
		 * length of plane 0, the raw even bytes, a frame. */
		assert_int_equal(e.out.data[0], 2);
		assert_int_equal(e.out.data[1] | e.out.data[2] | e.out.data[3],
				 0);
		assert_int_equal(mlfs_get_le32(e.out.data + 4), h);
		for (size_t j = 0; j < h; j++)
			assert_int_equal(e.out.data[8 + j], p[2 * j]);
		assert_int_equal(ZSTD_getFrameContentSize(e.out.data + 8 + h,
							  e.out.len - 8 - h),
				 len - h);
		round_trip(&e, p, len);
		free(z);
		free(p);
	}
	enc_release(&e);
}

/* Even bytes random, odd bytes from 4 values: the simplest 16-bit shape. */
static void test_codec_two_plane_bytes_use_planes2(void **state)
{
	static const uint8_t hi[] = { 0x3c, 0x3d, 0xbc, 0xbd };
	struct enc e = { 0 };
	size_t len = 100001;
	uint8_t *p = random_data(len, 5);

	(void)state;
	for (size_t i = 1; i < len; i += 2)
		p[i] = hi[p[i] & 3];
	encode(&e, p, len);
	assert_int_equal(e.codec, MLFS_CODEC_PLANES2);
	assert_int_equal(e.out.data[0], 2);
	round_trip(&e, p, len);
	enc_release(&e);
	free(p);
}

static void test_codec_short_input_never_split(void **state)
{
	struct enc e = { 0 };
	uint8_t *p = f16_data(1022, 9);

	(void)state;
	encode(&e, p, 1022);
	assert_true(e.codec == MLFS_CODEC_RAW || e.codec == MLFS_CODEC_ZSTD);
	round_trip(&e, p, 1022);
	enc_release(&e);
	free(p);
}

/* float32 weights: the low mantissa bytes are stored raw, the
 * sign/exponent byte compressed (the lowest byte, of limited precision
 * here, may compress or not). */
static void test_codec_float32_data_uses_planes4_and_round_trips(void **state)
{
	/* Every length mod 4, so planes of unequal length are covered. */
	static const size_t lens[] = { 4096, 4097, 65538, 65539, 262140 };
	struct enc e = { 0 };

	(void)state;
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(lens); i++) {
		size_t len = lens[i], pos = 16;
		uint8_t *p = f32_data(len, 200 + i);
		size_t plain_cap = ZSTD_compressBound(len), plain;
		uint8_t *z = malloc(plain_cap);
		unsigned mask;

		assert_non_null(z);
		encode(&e, p, len);
		assert_int_equal(e.codec, MLFS_CODEC_PLANES4);
		plain = ZSTD_compress(z, plain_cap, p, len, 3);
		assert_false(ZSTD_isError(plain));
		assert_true(e.out.len < plain);
		/* Layout: mask, 3 zero bytes, three le32 plane lengths, the
		 * planes; raw ones hold their bytes as they are. */
		mask = e.out.data[0];
		assert_int_equal(mask & 0xa, 0x8);
		for (unsigned j = 0; j < 4; j++) {
			size_t pl = plane_len(len, 4, j);
			size_t nj = j < 3 ? mlfs_get_le32(e.out.data + 4 +
							  4 * j) :
				    e.out.len - pos;

			if (mask & (1u << j)) {
				assert_int_equal(ZSTD_getFrameContentSize(
						e.out.data + pos, nj), pl);
			} else {
				assert_int_equal(nj, pl);
				for (size_t m = 0; m < pl; m++)
					assert_int_equal(e.out.data[pos + m],
							 p[4 * m + j]);
			}
			pos += nj;
		}
		assert_int_equal(pos, e.out.len);
		round_trip(&e, p, len);
		free(z);
		free(p);
	}
	enc_release(&e);
}

static void test_codec_float16_data_does_not_use_shuf4(void **state)
{
	struct enc e = { 0 };
	uint8_t *p = f16_data(65536, 77);

	(void)state;
	encode(&e, p, 65536);
	assert_int_equal(e.codec, MLFS_CODEC_PLANES2);
	enc_release(&e);
	free(p);
}

/* Every mix of compressible and incompressible planes: each plane that
 * zstd shrinks by 1/32 is a frame, the others raw; all frames is the
 * older ZSTD_SHUF2/4 (same bytes as before), no frame at all is RAW. */
static void test_codec_encode_picks_each_planes_mode(void **state)
{
	struct enc e = { 0 };
	size_t len = 65536;

	(void)state;
	for (unsigned k = 2; k <= 4; k += 2) {
		unsigned all = (1u << k) - 1;

		for (unsigned noisy = 0; noisy <= all; noisy++) {
			uint8_t *p = plane_mix_data(k, noisy, len, noisy + 7);

			encode(&e, p, len);
			if (noisy == all) {
				assert_int_equal(e.codec, MLFS_CODEC_RAW);
			} else if (noisy == 0) {
				assert_int_equal(e.codec, k == 2 ?
						 MLFS_CODEC_ZSTD_SHUF2 :
						 MLFS_CODEC_ZSTD_SHUF4);
			} else {
				assert_int_equal(e.codec, k == 2 ?
						 MLFS_CODEC_PLANES2 :
						 MLFS_CODEC_PLANES4);
				assert_int_equal(e.out.data[0], all & ~noisy);
			}
			round_trip(&e, p, len);
			free(p);
		}
	}
	enc_release(&e);
}

/* A chunk of every codec an older mlfs wrote (RAW, ZSTD, ZSTD_SHUF2/4,
 * built by hand, not by today's encoder) still decodes, at lengths of
 * every remainder mod 4, tiny and empty ones included. */
static void test_codec_old_codec_chunks_decode(void **state)
{
	static const size_t lens[] = { 0, 1, 2, 3, 4, 5, 6, 7, 1023, 4097,
				       65538, 65539 };
	struct mlfs_buf b = MLFS_BUF_INIT;

	(void)state;
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(lens); i++) {
		size_t len = lens[i], cap = ZSTD_compressBound(len), n;
		uint8_t *p = f32_data(len, 300 + i);
		uint8_t *back = malloc(len + 1), *z = malloc(cap);

		assert_non_null(back);
		assert_non_null(z);
		assert_int_equal(mlfs_codec_decode(MLFS_CODEC_RAW, p, len,
						   back, len), 0);
		assert_memory_equal(back, p, len);
		n = ZSTD_compress(z, cap, p, len, 3);
		assert_false(ZSTD_isError(n));
		memset(back, 0xee, len + 1);
		assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD, z, n,
						   back, len), 0);
		assert_memory_equal(back, p, len);
		for (unsigned k = 2; k <= 4; k += 2) {
			build_planes(k, (1u << k) - 1, false, p, len, &b);
			memset(back, 0xee, len + 1);
			assert_int_equal(mlfs_codec_decode(k == 2 ?
					MLFS_CODEC_ZSTD_SHUF2 :
					MLFS_CODEC_ZSTD_SHUF4, b.data, b.len,
					back, len), 0);
			assert_memory_equal(back, p, len);
			assert_int_equal(back[len], 0xee);
		}
		free(z);
		free(back);
		free(p);
	}
	mlfs_buf_release(&b);
}

/* PLANES2/4 with every mask (raw planes, frames, any mix, all of either),
 * odd lengths and empty ones: decodes to the bytes, writes no more. */
static void test_codec_planes_every_mode_mix_decodes(void **state)
{
	static const size_t lens[] = { 0, 1, 2, 3, 5, 7, 1023, 4097, 65539 };
	struct mlfs_buf b = MLFS_BUF_INIT;

	(void)state;
	for (unsigned k = 2; k <= 4; k += 2) {
		for (unsigned mask = 0; mask < (1u << k); mask++) {
			for (size_t i = 0; i < MLFS_ARRAY_SIZE(lens); i++) {
				size_t len = lens[i];
				uint8_t *p = plane_mix_data(k, ~mask, len, i);
				uint8_t *back = malloc(len + 1);

				assert_non_null(back);
				build_planes(k, mask, true, p, len, &b);
				memset(back, 0xee, len + 1);
				assert_int_equal(mlfs_codec_decode(k == 2 ?
						MLFS_CODEC_PLANES2 :
						MLFS_CODEC_PLANES4, b.data,
						b.len, back, len), 0);
				assert_memory_equal(back, p, len);
				assert_int_equal(back[len], 0xee);
				free(back);
				free(p);
			}
		}
	}
	mlfs_buf_release(&b);
}

/* Hostile PLANES2/4 headers: unknown mask bits, reserved bytes, a raw
 * plane of the wrong size, lying frame lengths, a mode bit flipped, a
 * byte too many, every prefix, the wrong raw length: all -EBADMSG. */
static void test_codec_decode_rejects_bad_planes_headers(void **state)
{
	static const uint32_t lies[] = { 0, 1, 0xffffffffu, 0x7fffffffu,
					 0x80000000u };
	static const int64_t deltas[] = { -1, 1, 2, -100 };
	struct mlfs_buf b = MLFS_BUF_INIT;
	size_t len = 8195;

	(void)state;
	for (unsigned k = 2; k <= 4; k += 2) {
		enum mlfs_codec c = k == 2 ? MLFS_CODEC_PLANES2 :
					     MLFS_CODEC_PLANES4;
		unsigned all = (1u << k) - 1;

		for (unsigned mask = 0; mask <= all; mask++) {
			uint8_t *p = plane_mix_data(k, ~mask, len, mask);
			uint8_t *bad;

			build_planes(k, mask, true, p, len, &b);
			bad = malloc(b.len + 1);
			assert_non_null(bad);
			assert_int_equal(decode_exact(c, b.data, b.len, len), 0);
			for (unsigned bit = k; bit < 8; bit++) {
				memcpy(bad, b.data, b.len);
				bad[0] |= (uint8_t)(1u << bit);
				assert_int_equal(decode_exact(c, bad, b.len,
							      len), -EBADMSG);
			}
			for (unsigned r = 1; r < 4; r++) {
				memcpy(bad, b.data, b.len);
				bad[r] = 1;
				assert_int_equal(decode_exact(c, bad, b.len,
							      len), -EBADMSG);
			}
			for (unsigned j = 0; j < k; j++) {
				memcpy(bad, b.data, b.len);
				bad[0] ^= (uint8_t)(1u << j);
				assert_int_equal(decode_exact(c, bad, b.len,
							      len), -EBADMSG);
			}
			for (unsigned j = 0; j + 1 < k; j++) {
				uint32_t nj = mlfs_get_le32(b.data + 4 + 4 * j);

				for (size_t l = 0; l < MLFS_ARRAY_SIZE(lies);
				     l++) {
					memcpy(bad, b.data, b.len);
					mlfs_put_le32(bad + 4 + 4 * j, lies[l]);
					assert_int_equal(decode_exact(c, bad,
						b.len, len), -EBADMSG);
				}
				for (size_t l = 0; l < MLFS_ARRAY_SIZE(deltas);
				     l++) {
					memcpy(bad, b.data, b.len);
					mlfs_put_le32(bad + 4 + 4 * j,
						(uint32_t)((int64_t)nj +
							   deltas[l]));
					assert_int_equal(decode_exact(c, bad,
						b.len, len), -EBADMSG);
				}
			}
			/* One byte too many. */
			memcpy(bad, b.data, b.len);
			bad[b.len] = 0;
			assert_int_equal(decode_exact(c, bad, b.len + 1, len),
					 -EBADMSG);
			for (size_t cut = 0; cut < b.len; cut += 1 + cut / 64)
				assert_int_equal(decode_exact(c, b.data, cut,
							      len), -EBADMSG);
			assert_int_equal(decode_exact(c, b.data, b.len,
						      len + 1), -EBADMSG);
			assert_int_equal(decode_exact(c, b.data, b.len,
						      len - 1), -EBADMSG);
			assert_int_equal(decode_exact(c, b.data, b.len, 0),
					 -EBADMSG);
			free(bad);
			free(p);
		}
	}
	mlfs_buf_release(&b);
}

static void test_codec_decode_rejects_lying_shuf4_lengths(void **state)
{
	struct enc e = { 0 };
	uint8_t *p = f32_data(65536, 9), *back = malloc(65536), *bad;
	static const uint32_t lies[] = { 0, 1, 0xffffffffu, 0x7fffffffu };

	(void)state;
	assert_non_null(back);
	/* A chunk as an older mlfs wrote it (every plane a frame). */
	build_planes(4, 0xf, false, p, 65536, &e.out);
	e.codec = MLFS_CODEC_ZSTD_SHUF4;
	bad = malloc(e.out.len);
	assert_non_null(bad);
	for (int j = 0; j < 3; j++) {
		for (size_t k = 0; k < MLFS_ARRAY_SIZE(lies); k++) {
			memcpy(bad, e.out.data, e.out.len);
			mlfs_put_le32(bad + 4 * j, lies[k]);
			assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD_SHUF4,
							   bad, e.out.len,
							   back, 65536),
					 -EBADMSG);
		}
	}
	/* Every strict prefix of the stored bytes fails too. */
	for (size_t n = 0; n < e.out.len; n += 97)
		assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD_SHUF4,
						   e.out.data, n, back, 65536),
				 -EBADMSG);
	round_trip(&e, p, 65536);
	enc_release(&e);
	free(bad);
	free(back);
	free(p);
}

static void test_codec_decode_rejects_truncated_zstd_frame(void **state)
{
	struct enc e = { 0 };
	size_t len = 65536;
	uint8_t *p = text_data(len), *back = malloc(len);

	(void)state;
	assert_non_null(back);
	encode(&e, p, len);
	assert_int_equal(e.codec, MLFS_CODEC_ZSTD);
	for (size_t cut = 0; cut < e.out.len; cut++)
		assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD, e.out.data,
						   cut, back, len), -EBADMSG);
	enc_release(&e);
	free(back);
	free(p);
}

static void test_codec_decode_rejects_wrong_raw_len(void **state)
{
	struct enc e = { 0 };
	size_t len = 65536;
	uint8_t *p = text_data(len), *back = malloc(len + 1);
	uint8_t *f = f16_data(len, 1);

	(void)state;
	assert_non_null(back);
	encode(&e, p, len);
	assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD, e.out.data,
					   e.out.len, back, len + 1), -EBADMSG);
	assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD, e.out.data,
					   e.out.len, back, len - 1), -EBADMSG);
	assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD, e.out.data,
					   e.out.len, back, 0), -EBADMSG);
	/* RAW: stored must equal raw. */
	assert_int_equal(mlfs_codec_decode(MLFS_CODEC_RAW, p, len, back,
					   len + 1), -EBADMSG);
	assert_int_equal(mlfs_codec_decode(MLFS_CODEC_RAW, p, len, back,
					   len - 1), -EBADMSG);
	/* SHUF2, as an older mlfs wrote it. */
	build_planes(2, 3, false, f, len, &e.out);
	assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD_SHUF2, e.out.data,
					   e.out.len, back, len + 1), -EBADMSG);
	assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD_SHUF2, e.out.data,
					   e.out.len, back, len - 1), -EBADMSG);
	assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD_SHUF2, e.out.data,
					   e.out.len, back, 0), -EBADMSG);
	enc_release(&e);
	free(back);
	free(f);
	free(p);
}

static void test_codec_decode_rejects_unknown_codec(void **state)
{
	uint8_t in[16] = { 0 }, out[16];

	(void)state;
	assert_int_equal(mlfs_codec_decode((enum mlfs_codec)6, in, 16, out,
					   16), -EBADMSG);
	assert_int_equal(mlfs_codec_decode((enum mlfs_codec)255, in, 16, out,
					   16), -EBADMSG);
	assert_int_equal(mlfs_codec_decode((enum mlfs_codec)(MLFS_CODEC_MAX +
							     1), in, 16, out,
					   16), -EBADMSG);
}

static void test_codec_decode_rejects_lying_shuf2_first_length(void **state)
{
	struct enc e = { 0 };
	size_t len = 65536;
	uint8_t *f = f16_data(len, 2), *back = malloc(len), *bad;
	uint32_t n1;
	static const int64_t deltas[] = { -1, 1, 2, -100 };

	(void)state;
	assert_non_null(back);
	build_planes(2, 3, false, f, len, &e.out);
	e.codec = MLFS_CODEC_ZSTD_SHUF2;
	n1 = mlfs_get_le32(e.out.data);
	bad = malloc(e.out.len);
	assert_non_null(bad);
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(deltas); i++) {
		memcpy(bad, e.out.data, e.out.len);
		mlfs_put_le32(bad, (uint32_t)((int64_t)n1 + deltas[i]));
		assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD_SHUF2, bad,
						   e.out.len, back, len),
				 -EBADMSG);
	}
	static const uint32_t absurd[] = { 0, 0xffffffffu, 0xfffffffcu,
					   0x80000000u };
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(absurd); i++) {
		memcpy(bad, e.out.data, e.out.len);
		mlfs_put_le32(bad, absurd[i]);
		assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD_SHUF2, bad,
						   e.out.len, back, len),
				 -EBADMSG);
	}
	/* Exactly the whole blob as the first frame: nothing for the second. */
	memcpy(bad, e.out.data, e.out.len);
	mlfs_put_le32(bad, (uint32_t)(e.out.len - 4));
	assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD_SHUF2, bad,
					   e.out.len, back, len), -EBADMSG);
	/* Shorter than the length field. */
	for (size_t l = 0; l < 4; l++)
		assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD_SHUF2,
						   e.out.data, l, back, len),
				 -EBADMSG);
	free(bad);
	enc_release(&e);
	free(back);
	free(f);
}

static void test_codec_decode_every_shuf2_prefix_fails(void **state)
{
	struct enc e = { 0 };
	size_t len = 4096;
	uint8_t *f = f16_data(len, 3), *back = malloc(len);

	(void)state;
	assert_non_null(back);
	build_planes(2, 3, false, f, len, &e.out);
	e.codec = MLFS_CODEC_ZSTD_SHUF2;
	for (size_t cut = 0; cut < e.out.len; cut++) {
		/* A heap copy of exactly @cut bytes, so ASan sees overreads. */
		uint8_t *c = malloc(cut ? cut : 1);

		assert_non_null(c);
		memcpy(c, e.out.data, cut);
		assert_int_equal(mlfs_codec_decode(MLFS_CODEC_ZSTD_SHUF2, c,
						   cut, back, len), -EBADMSG);
		free(c);
	}
	enc_release(&e);
	free(back);
	free(f);
}

/* Random byte damage: any result but a crash or an overrun; a success
 * must have filled exactly raw_len bytes (ASan checks the bounds). */
static void test_codec_decode_survives_corruption(void **state)
{
	struct enc e = { 0 };
	size_t len = 8192;
	uint8_t *f = f16_data(len, 4), *t = text_data(len);
	uint8_t *g = f32_data(len, 5);
	uint8_t *back = malloc(len), *bad;
	uint64_t seed = 12345;

	(void)state;
	assert_non_null(back);
	for (int which = 0; which < 3; which++) {
		encode(&e, which == 2 ? g : which ? f : t, len);
		bad = malloc(e.out.len);
		assert_non_null(bad);
		for (int k = 0; k < 2000; k++) {
			int r;

			memcpy(bad, e.out.data, e.out.len);
			for (int j = 0; j < 1 + k % 3; j++)
				bad[splitmix(&seed) % e.out.len] ^=
					(uint8_t)(1 + splitmix(&seed) % 255);
			r = mlfs_codec_decode(e.codec, bad, e.out.len, back,
					      len);
			assert_true(r == 0 || r == -EBADMSG);
		}
		free(bad);
	}
	enc_release(&e);
	free(back);
	free(g);
	free(t);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_compressible_data_uses_zstd),
		cmocka_unit_test(test_codec_random_data_stays_raw),
		cmocka_unit_test(test_codec_empty_input_is_raw_empty),
		cmocka_unit_test(test_codec_float16_data_uses_planes2_and_round_trips),
		cmocka_unit_test(test_codec_two_plane_bytes_use_planes2),
		cmocka_unit_test(test_codec_short_input_never_split),
		cmocka_unit_test(test_codec_float32_data_uses_planes4_and_round_trips),
		cmocka_unit_test(test_codec_float16_data_does_not_use_shuf4),
		cmocka_unit_test(test_codec_encode_picks_each_planes_mode),
		cmocka_unit_test(test_codec_old_codec_chunks_decode),
		cmocka_unit_test(test_codec_planes_every_mode_mix_decodes),
		cmocka_unit_test(test_codec_decode_rejects_bad_planes_headers),
		cmocka_unit_test(test_codec_decode_rejects_lying_shuf4_lengths),
		cmocka_unit_test(test_codec_decode_rejects_truncated_zstd_frame),
		cmocka_unit_test(test_codec_decode_rejects_wrong_raw_len),
		cmocka_unit_test(test_codec_decode_rejects_unknown_codec),
		cmocka_unit_test(test_codec_decode_rejects_lying_shuf2_first_length),
		cmocka_unit_test(test_codec_decode_every_shuf2_prefix_fails),
		cmocka_unit_test(test_codec_decode_survives_corruption),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

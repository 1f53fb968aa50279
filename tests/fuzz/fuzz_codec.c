/*
 * fuzz_codec.c - mlfs_codec_decode() of untrusted stored chunk bytes, for
 * every codec (byte planes raw or zstd in any mix: PLANES2/4), and the
 * encode/decode round trip. Input: a mode byte
 * (bits 0-2 the codec, unknown ones included; bit 3 round-trip mode;
 * bits 4-7 a zstd level), le32 raw length, then the stored bytes.
 * Invariants: decode fails only with -EBADMSG/-ENOMEM, never writes past
 * raw_len bytes (ASan), refuses raw lengths past MLFS_CHUNK_LIMIT without
 * touching the output; a RAW chunk decodes to itself; whatever decodes
 * (and, in round-trip mode, any input) encodes and decodes back to the
 * same bytes; the encoder writes PLANES2/4 only with a raw plane.
 */
#include <errno.h>

#include "fuzz.h"
#include "mlfs/chunker.h"
#include "mlfs/codec.h"

/* Raw lengths allocated per run are kept small for speed. */
#define RAW_CAP (1u << 20)

static void *cctx;

static void round_trip(const uint8_t *p, size_t len, int level)
{
	struct mlfs_buf enc = MLFS_BUF_INIT;
	enum mlfs_codec codec;
	uint8_t *back = malloc(len + 1);
	int r;

	FUZZ_CHECK(back != NULL);
	r = mlfs_codec_encode(&cctx, level, p, len, &enc, &codec);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(codec <= MLFS_CODEC_MAX);
	if (codec == MLFS_CODEC_RAW)
		FUZZ_CHECK(enc.len == len && !memcmp(enc.data, p, len));
	/* PLANES2/4 only with a raw plane (all frames is ZSTD_SHUF2/4). */
	if (codec == MLFS_CODEC_PLANES2 || codec == MLFS_CODEC_PLANES4)
		FUZZ_CHECK(enc.len >= 8 &&
			   enc.data[0] < (codec == MLFS_CODEC_PLANES2 ?
					  3 : 15));
	r = mlfs_codec_decode(codec, enc.data, enc.len, back, len);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(!memcmp(back, p, len));
	mlfs_buf_release(&enc);
	free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned mode = (unsigned)fuzz_take(&in, 1);
	uint32_t raw_len = (uint32_t)fuzz_take(&in, 4);
	enum mlfs_codec codec = (enum mlfs_codec)(mode & 7);
	int level = (int)(mode >> 4) % 8 + 1;
	uint8_t *out;
	int r;

	if (mode & 8) {
		if (in.n <= MLFS_CHUNK_LIMIT)
			round_trip(in.p, in.n, level);
		return 0;
	}
	if (raw_len > MLFS_CHUNK_LIMIT) {
		/* Must be refused before a byte of @out is written. */
		out = malloc(1);
		FUZZ_CHECK(out != NULL);
		r = mlfs_codec_decode(codec, in.p, in.n, out, raw_len);
		FUZZ_CHECK(r == -EBADMSG);
		free(out);
		return 0;
	}
	raw_len %= RAW_CAP + 1;
	out = malloc(raw_len ? raw_len : 1);
	FUZZ_CHECK(out != NULL);
	r = mlfs_codec_decode(codec, in.p, in.n, out, raw_len);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -ENOMEM);
	} else {
		FUZZ_CHECK(codec <= MLFS_CODEC_MAX);
		if (codec == MLFS_CODEC_RAW)
			FUZZ_CHECK(in.n == raw_len &&
				   !memcmp(out, in.p, raw_len));
		round_trip(out, raw_len, level);
	}
	free(out);
	return 0;
}

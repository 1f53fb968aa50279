/*
 * codec.h - chunk compression. Each stored chunk records its codec, so a
 * new codec is a new number here, not a migration.
 */
#ifndef MLFS_CODEC_H
#define MLFS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "mlfs/util.h"

enum mlfs_codec {
	MLFS_CODEC_RAW = 0,
	MLFS_CODEC_ZSTD = 1,
	/* zstd over the two byte planes of the chunk (even-indexed bytes,
	 * then odd-indexed): 16-bit tensors (float16, bfloat16) keep sign
	 * and exponent in one byte of each element, which compresses far
	 * better apart from the noisy mantissa byte. */
	MLFS_CODEC_ZSTD_SHUF2 = 2,
	/* The same over four byte planes (i mod 4), for 32-bit tensors
	 * (float32: the sign-and-exponent byte apart from the mantissa). */
	MLFS_CODEC_ZSTD_SHUF4 = 3,
	/* Two or four byte planes as above, each stored either raw or as its
	 * own zstd frame (a mask says which): a noisy mantissa plane that
	 * zstd cannot shrink costs no zstd pass on reads, and is unshuffled
	 * straight from the stored bytes. Written only when at least one
	 * plane stays raw; otherwise the chunk is ZSTD_SHUF2/4 as before. */
	MLFS_CODEC_PLANES2 = 4,
	MLFS_CODEC_PLANES4 = 5,
};
#define MLFS_CODEC_MAX MLFS_CODEC_PLANES4

/* Compress @len bytes at @level into @out (replacing its contents). Splits
 * the chunk into 4 or 2 byte planes when a sample shows 32- or 16-bit
 * numbers would compress better apart, else uses ZSTD. A plane whose zstd
 * frame saves less than 1/32 of it is stored raw (PLANES2/4; ZSTD_SHUF2/4
 * when every plane is compressed). Keeps the chunk raw (codec RAW, a copy)
 * unless all of that saves at least 1/32 of it.
 * @cctx_cache is per-thread scratch (a ZSTD_CCtx*, created on first use,
 * freed by mlfs_codec_cctx_free). Returns 0 or -ENOMEM/-EIO. */
MLFS_MUST_CHECK int mlfs_codec_encode(void **cctx_cache, int level,
				      const void *in, size_t len,
				      struct mlfs_buf *out,
				      enum mlfs_codec *codec);
void mlfs_codec_cctx_free(void *cctx);

/* Decode @stored_len bytes with @codec into @out, which must hold exactly
 * @raw_len bytes. Returns 0, -EBADMSG (corrupt data, wrong size, unknown
 * codec). */
MLFS_MUST_CHECK int mlfs_codec_decode(enum mlfs_codec codec, const void *in,
				      size_t stored_len, void *out,
				      size_t raw_len);

#endif

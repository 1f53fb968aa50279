/*
 * codec.c - zstd compression of chunks, with a per-thread decompression
 * context. Sizes in a stored frame are untrusted: the frame must decode
 * to exactly the length the index records.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "mlfs/codec.h"

static pthread_key_t dctx_key;
static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;

static void dctx_destroy(void *p)
{
	ZSTD_freeDCtx(p);
}

static void dctx_key_init(void)
{
	(void)pthread_key_create(&dctx_key, dctx_destroy);
}

static ZSTD_DCtx *thread_dctx(void)
{
	ZSTD_DCtx *d;

	pthread_once(&dctx_once, dctx_key_init);
	d = pthread_getspecific(dctx_key);
	if (!d) {
		d = ZSTD_createDCtx();
		if (d && pthread_setspecific(dctx_key, d)) {
			ZSTD_freeDCtx(d);
			d = NULL;
		}
	}
	return d;
}

int mlfs_codec_encode(void **cctx_cache, int level, const void *in,
		      size_t len, struct mlfs_buf *out, enum mlfs_codec *codec)
{
	size_t bound = ZSTD_compressBound(len), n;
	ZSTD_CCtx *cctx = *cctx_cache;
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
	n = ZSTD_compressCCtx(cctx, out->data, bound, in, len, level);
	if (ZSTD_isError(n))
		return -EIO;
	/* Keep it raw unless zstd saves at least 1/32: decoding raw data
	 * costs nothing, so a marginal gain is not worth it on reads. */
	if (n >= len - len / 32) {
		memcpy(out->data, in, len);
		out->len = len;
		*codec = MLFS_CODEC_RAW;
		return 0;
	}
	out->len = n;
	*codec = MLFS_CODEC_ZSTD;
	return 0;
}

void mlfs_codec_cctx_free(void *cctx)
{
	ZSTD_freeCCtx(cctx);
}

int mlfs_codec_decode(enum mlfs_codec codec, const void *in,
		      size_t stored_len, void *out, size_t raw_len)
{
	unsigned long long fcs;
	ZSTD_DCtx *d;
	size_t n;

	switch (codec) {
	case MLFS_CODEC_RAW:
		if (stored_len != raw_len)
			return -EBADMSG;
		memcpy(out, in, raw_len);
		return 0;
	case MLFS_CODEC_ZSTD:
		fcs = ZSTD_getFrameContentSize(in, stored_len);
		if (fcs != raw_len)
			return -EBADMSG;
		d = thread_dctx();
		if (!d)
			return -ENOMEM;
		n = ZSTD_decompressDCtx(d, out, raw_len, in, stored_len);
		if (ZSTD_isError(n) || n != raw_len)
			return -EBADMSG;
		return 0;
	}
	return -EBADMSG;
}

/*
 * fuzz_s3_list.c - mlfs_s3_list_parse (a ListObjectsV2 page from the
 * network). Input: one byte (odd: strip the prefix "p/"), then the page.
 * Invariants: a failure is -EBADMSG (or the callback's value, never
 * returned here) and leaves no token; each listed key and ETag is a
 * string no longer than the page; a token comes only with success and is
 * non-empty; the same page parsed again lists the same number of keys.
 */
#include <errno.h>

#include "fuzz.h"
#include "mlfs/s3.h"

struct count {
	size_t n, max;
};

static int one(void *ctx, const char *key, uint64_t size, const char *etag)
{
	struct count *c = ctx;

	(void)size;
	FUZZ_CHECK(strlen(key) <= c->max && strlen(etag) <= c->max);
	c->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	const char *strip = fuzz_take(&in, 1) & 1 ? "p/" : "";
	struct count a = { 0, in.n }, b = { 0, in.n };
	char *xml = malloc(in.n ? in.n : 1), *next = NULL, *next2 = NULL;
	int r, r2;

	if (!xml)
		abort();
	memcpy(xml, in.p, in.n);
	r = mlfs_s3_list_parse(xml, in.n, strip, one, &a, &next);
	if (r) {
		FUZZ_CHECK(r == -EBADMSG || r == -ENOMEM);
		FUZZ_CHECK(!next);
	} else if (next) {
		FUZZ_CHECK(next[0] && strlen(next) <= in.n);
	}
	r2 = mlfs_s3_list_parse(xml, in.n, strip, one, &b, &next2);
	FUZZ_CHECK(r2 == r && a.n == b.n && !next == !next2);
	free(next);
	free(next2);
	free(xml);
	return 0;
}

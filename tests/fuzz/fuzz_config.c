/*
 * fuzz_config.c - mlfs_config_parse() on an untrusted STORE/config (the
 * bytes exactly as long as the input, so a read past @len is an ASan
 * report). Invariants: failure is -EBADMSG or -EPROTONOSUPPORT and leaves
 * the output untouched; a parsed config has valid chunk parameters and,
 * formatted with mlfs_config_format, parses back to the same values and
 * formats to the same text again.
 */
#include <errno.h>

#include "fuzz.h"
#include "mlfs/config.h"

static bool same(const struct mlfs_store_config *a,
		 const struct mlfs_store_config *b)
{
	return a->format == b->format && a->chunk.min == b->chunk.min &&
	       a->chunk.avg == b->chunk.avg && a->chunk.max == b->chunk.max &&
	       a->zstd_level == b->zstd_level &&
	       !memcmp(a->key.secret, b->key.secret, sizeof(a->key.secret));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[2][4096];
	struct mlfs_store_config c, back, poison;
	int r, n, m;

	memset(&c, 0xa5, sizeof(c));
	memset(&poison, 0xa5, sizeof(poison));
	r = mlfs_config_parse((const char *)data, size, &c);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT);
		FUZZ_CHECK(!memcmp(&c, &poison, sizeof(c)));
		return 0;
	}
	FUZZ_CHECK(size <= MLFS_CONFIG_MAX);
	FUZZ_CHECK(c.format >= 1 && c.format <= MLFS_FORMAT_VERSION);
	FUZZ_CHECK(mlfs_chunk_params_check(&c.chunk) == 0);
	n = mlfs_config_format(&c, text[0], sizeof(text[0]));
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(text[0]));
	FUZZ_CHECK(mlfs_config_parse(text[0], (size_t)n, &back) == 0);
	FUZZ_CHECK(same(&c, &back));
	m = mlfs_config_format(&back, text[1], sizeof(text[1]));
	FUZZ_CHECK(m == n && !memcmp(text[0], text[1], (size_t)n));
	return 0;
}

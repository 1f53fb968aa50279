/*
 * fuzz_control.c - the message parser of control.h on untrusted bytes (a
 * client of a mount's control socket may be anything that can connect).
 * Invariants: a parse either fails with -EBADMSG / -ENOMEM, asks for more
 * (0), or takes a prefix that ends in an empty line; every key it gives
 * is [a-z_]+; and a parsed message, encoded again, parses to the same
 * fields, taking exactly the encoding's length.
 */
#include <errno.h>

#include "fuzz.h"
#include "mlfs/control.h"

static void check_keys(const struct mlfs_ctl_msg *m)
{
	for (size_t i = 0; i < m->n; i++) {
		const char *k = m->v[i].key;

		FUZZ_CHECK(*k && strspn(k, "abcdefghijklmnopqrstuvwxyz_") ==
				 strlen(k));
		FUZZ_CHECK(m->v[i].value != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlfs_ctl_msg a, b;
	struct mlfs_buf enc = MLFS_BUF_INIT;
	long k = mlfs_ctl_parse(data, size, &a), k2;

	FUZZ_CHECK(k == 0 || k == -EBADMSG || k == -ENOMEM || k > 0);
	if (k <= 0) {
		FUZZ_CHECK(a.n == 0 && a.v == NULL);
		return 0;
	}
	FUZZ_CHECK((size_t)k <= size && data[k - 1] == '\n');
	FUZZ_CHECK(k == 1 || data[k - 2] == '\n');
	check_keys(&a);
	FUZZ_CHECK(mlfs_ctl_encode(&a, &enc) == 0);
	k2 = mlfs_ctl_parse(enc.data, enc.len, &b);
	FUZZ_CHECK(k2 == (long)enc.len);
	FUZZ_CHECK(b.n == a.n);
	for (size_t i = 0; i < a.n; i++) {
		FUZZ_CHECK(!strcmp(a.v[i].key, b.v[i].key));
		FUZZ_CHECK(!strcmp(a.v[i].value, b.v[i].value));
	}
	mlfs_ctl_release(&b);
	mlfs_ctl_release(&a);
	mlfs_buf_release(&enc);
	return 0;
}

/*
 * fuzz_metrics.c - mlfs_vmeta_parse_metrics() on untrusted bytes (a
 * --metrics FILE of `mlfs import`, `snapshot`, `run`) and
 * mlfs_vmeta_parse_arg() on the same bytes as a "KEY=VALUE" argument (up
 * to the first NUL). Invariants: only -EINVAL/-EFBIG/-E2BIG (each with a
 * reason) or -ENOMEM on failure, and then the list is unchanged; on
 * success every pair has a valid key and value, every metrics value is a
 * metric, keys are distinct, and parsing the same bytes again changes
 * nothing (the list is already that document).
 */
#include <errno.h>

#include "fuzz.h"
#include "mlfs/vmeta.h"

static void check_list(const struct mlfs_kv_list *l, bool all_metrics)
{
	for (size_t i = 0; i < l->n; i++) {
		FUZZ_CHECK(mlfs_vmeta_check_key(l->v[i].key) == 0);
		FUZZ_CHECK(mlfs_vmeta_check_value(l->v[i].key, l->v[i].value,
						  strlen(l->v[i].value)) == 0);
		FUZZ_CHECK(!all_metrics ||
			   mlfs_vmeta_is_metric(l->v[i].value, NULL));
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(l->v[i].key, l->v[j].key) != 0);
	}
}

static void check_error(int r)
{
	FUZZ_CHECK(r == -EINVAL || r == -EFBIG || r == -E2BIG ||
		   r == -ENOMEM);
	FUZZ_CHECK(r == -ENOMEM || mlfs_error_detail()[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlfs_kv_list l = MLFS_KV_LIST_INIT, a = MLFS_KV_LIST_INIT;
	char *arg;
	size_t n;
	int r;

	mlfs_error_clear();
	r = mlfs_vmeta_parse_metrics(&l, (const char *)data, size, "f");
	if (r < 0) {
		check_error(r);
		FUZZ_CHECK(l.n == 0);
	} else {
		check_list(&l, true);
		n = l.n;
		FUZZ_CHECK(mlfs_vmeta_parse_metrics(&l, (const char *)data,
						    size, "f") == 0);
		FUZZ_CHECK(l.n == n);
	}
	arg = strndup((const char *)data, size);
	if (!arg)
		abort();
	mlfs_error_clear();
	r = mlfs_vmeta_parse_arg(&a, arg);
	if (r < 0) {
		check_error(r);
		FUZZ_CHECK(a.n == 0);
	} else {
		FUZZ_CHECK(a.n == 1);
		check_list(&a, false);
	}
	free(arg);
	mlfs_kv_list_release(&l);
	mlfs_kv_list_release(&a);
	return 0;
}

/*
 * test_util.c - mlfs_grow: the first growth gives room for 64, a full
 * array doubles and keeps its elements, an array with room is returned
 * as it is, and a size that would overflow fails leaving the array and
 * its capacity as they were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mlfs/util.h"

static void test_grow(void **state)
{
	uint32_t *v = NULL, *nv;
	size_t cap = 0, n = 0;

	(void)state;
	nv = mlfs_grow(v, sizeof(*v), n, &cap);
	assert_non_null(nv);
	assert_int_equal(cap, 64);
	v = nv;
	for (; n < 64; n++) {
		nv = mlfs_grow(v, sizeof(*v), n, &cap);
		assert_ptr_equal(nv, v); /* room left: the same array */
		v[n] = (uint32_t)n * 7;
	}
	nv = mlfs_grow(v, sizeof(*v), n, &cap);
	assert_non_null(nv);
	assert_int_equal(cap, 128);
	v = nv;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i], (uint32_t)i * 7);
	free(v);
}

static void test_grow_overflow(void **state)
{
	char *v = malloc(1);
	size_t cap = 64;

	(void)state;
	assert_non_null(v);
	assert_null(mlfs_grow(v, SIZE_MAX / 100, 64, &cap));
	assert_int_equal(cap, 64);
	cap = SIZE_MAX / 2 + 1; /* doubling would wrap */
	assert_null(mlfs_grow(v, 1, cap, &cap));
	assert_int_equal(cap, SIZE_MAX / 2 + 1);
	free(v); /* still the caller's */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_grow_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_idset.c - the open-addressing id set/map: add, get, duplicates,
 * growth, and visiting every element.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mlfs/idset.h"

static void make_id(struct mlfs_id *id, uint64_t n)
{
	struct mlfs_hash_key k;

	memset(&k, 0x5c, sizeof(k));
	mlfs_hash(&k, &n, sizeof(n), id);
}

static void test_idset_empty_get_returns_null(void **state)
{
	struct mlfs_idset s = MLFS_IDSET_INIT;
	struct mlfs_id id;

	(void)state;
	make_id(&id, 1);
	assert_null(mlfs_idset_get(&s, &id));
	assert_int_equal(s.count, 0);
	mlfs_idset_release(&s);
	mlfs_idset_release(&s); /* twice is fine */
}

static void test_idset_add_then_get_returns_value(void **state)
{
	struct mlfs_idset s = MLFS_IDSET_INIT;
	struct mlfs_id a, b;
	uint64_t *v;

	(void)state;
	make_id(&a, 1);
	make_id(&b, 2);
	assert_int_equal(mlfs_idset_add(&s, &a, 111, NULL), 1);
	v = mlfs_idset_get(&s, &a);
	assert_non_null(v);
	assert_int_equal(*v, 111);
	assert_null(mlfs_idset_get(&s, &b));
	/* The value is writable in place. */
	*v = 222;
	assert_int_equal(*mlfs_idset_get(&s, &a), 222);
	assert_int_equal(s.count, 1);
	mlfs_idset_release(&s);
	assert_int_equal(s.count, 0);
	assert_null(s.slots);
}

static void test_idset_duplicate_add_returns_0_and_keeps_value(void **state)
{
	struct mlfs_idset s = MLFS_IDSET_INIT;
	struct mlfs_id a;
	uint64_t *existing = NULL;

	(void)state;
	make_id(&a, 7);
	assert_int_equal(mlfs_idset_add(&s, &a, 1, NULL), 1);
	assert_int_equal(mlfs_idset_add(&s, &a, 2, &existing), 0);
	assert_non_null(existing);
	assert_int_equal(*existing, 1);
	assert_ptr_equal(existing, mlfs_idset_get(&s, &a));
	assert_int_equal(mlfs_idset_add(&s, &a, 3, NULL), 0);
	assert_int_equal(s.count, 1);
	mlfs_idset_release(&s);
}

#define MANY 20000

static void test_idset_grows_past_thousands_of_entries(void **state)
{
	struct mlfs_idset s = MLFS_IDSET_INIT;

	(void)state;
	for (uint64_t i = 0; i < MANY; i++) {
		struct mlfs_id id;

		make_id(&id, i);
		assert_int_equal(mlfs_idset_add(&s, &id, i * 3, NULL), 1);
	}
	assert_int_equal(s.count, MANY);
	assert_true(s.cap >= MANY * 4 / 3);
	assert_int_equal(s.cap & (s.cap - 1), 0);
	for (uint64_t i = 0; i < MANY; i++) {
		struct mlfs_id id;
		uint64_t *v;

		make_id(&id, i);
		v = mlfs_idset_get(&s, &id);
		assert_non_null(v);
		assert_int_equal(*v, i * 3);
		assert_int_equal(mlfs_idset_add(&s, &id, 0, NULL), 0);
	}
	for (uint64_t i = MANY; i < MANY + 1000; i++) {
		struct mlfs_id id;

		make_id(&id, i);
		assert_null(mlfs_idset_get(&s, &id));
	}
	mlfs_idset_release(&s);
}

/* Ids sharing their first 8 bytes all land in one probe chain. */
static void test_idset_colliding_prefixes_still_distinct(void **state)
{
	struct mlfs_idset s = MLFS_IDSET_INIT;

	(void)state;
	for (unsigned i = 0; i < 3000; i++) {
		struct mlfs_id id = { { 0 } };

		id.b[15] = (uint8_t)i;
		id.b[14] = (uint8_t)(i >> 8);
		assert_int_equal(mlfs_idset_add(&s, &id, i, NULL), 1);
	}
	for (unsigned i = 0; i < 3000; i++) {
		struct mlfs_id id = { { 0 } };

		id.b[15] = (uint8_t)i;
		id.b[14] = (uint8_t)(i >> 8);
		assert_int_equal(*mlfs_idset_get(&s, &id), i);
	}
	assert_int_equal(s.count, 3000);
	mlfs_idset_release(&s);
}

struct visit {
	uint8_t *seen;
	size_t n;
	size_t stop_after;
};

static int visit_fn(void *ctx, const struct mlfs_id *id, uint64_t *value)
{
	struct visit *v = ctx;
	struct mlfs_id want;

	assert_true(*value < MANY);
	make_id(&want, *value);
	assert_memory_equal(want.b, id->b, MLFS_ID_LEN);
	assert_int_equal(v->seen[*value], 0);
	v->seen[*value] = 1;
	v->n++;
	if (v->stop_after && v->n == v->stop_after)
		return 42;
	return 0;
}

static void test_idset_each_visits_all_once(void **state)
{
	struct mlfs_idset s = MLFS_IDSET_INIT;
	struct visit v = { calloc(MANY, 1), 0, 0 };

	(void)state;
	assert_non_null(v.seen);
	assert_int_equal(mlfs_idset_each(&s, visit_fn, &v), 0);
	assert_int_equal(v.n, 0);
	for (uint64_t i = 0; i < MANY; i++) {
		struct mlfs_id id;

		make_id(&id, i);
		assert_int_equal(mlfs_idset_add(&s, &id, i, NULL), 1);
	}
	assert_int_equal(mlfs_idset_each(&s, visit_fn, &v), 0);
	assert_int_equal(v.n, MANY);
	for (size_t i = 0; i < MANY; i++)
		assert_int_equal(v.seen[i], 1);
	/* A non-zero return stops the walk and is passed back. */
	memset(v.seen, 0, MANY);
	v.n = 0;
	v.stop_after = 10;
	assert_int_equal(mlfs_idset_each(&s, visit_fn, &v), 42);
	assert_int_equal(v.n, 10);
	free(v.seen);
	mlfs_idset_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idset_empty_get_returns_null),
		cmocka_unit_test(test_idset_add_then_get_returns_value),
		cmocka_unit_test(test_idset_duplicate_add_returns_0_and_keeps_value),
		cmocka_unit_test(test_idset_grows_past_thousands_of_entries),
		cmocka_unit_test(test_idset_colliding_prefixes_still_distinct),
		cmocka_unit_test(test_idset_each_visits_all_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_fuse_listing.c - changing listings (src/fuse/listing.c, compiled
 * in: it is not in libmlfs): cookies above the offsets of "." and ".."
 * and below 2^63, strictly increasing once sealed; a seek after any
 * cookie resumes at the next name; a name keeps its cookie in another
 * listing, so a reader resuming in a listing built again neither repeats
 * nor skips a name both hold; names of one cookie get the next numbers
 * in name order; an empty listing seals and seeks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "../../src/fuse/listing.c"

static struct mlfs_listing *make(const char *prefix, int from, int to,
				 int skip_every)
{
	struct mlfs_listing *l = mlfs_listing_new();
	char name[64];

	assert_non_null(l);
	for (int i = from; i < to; i++) {
		if (skip_every && i % skip_every == 0)
			continue;
		snprintf(name, sizeof(name), "%s-%05d", prefix, i);
		assert_int_equal(mlfs_listing_add(l, name, (uint64_t)i + 10,
						  S_IFREG), 0);
	}
	mlfs_listing_seal(l);
	return l;
}

static void test_cookies_ordered_and_bounded(void **state)
{
	struct mlfs_listing *l = make("f", 0, 5000, 0);

	(void)state;
	assert_int_equal(l->n, 5000);
	for (size_t i = 0; i < l->n; i++) {
		assert_true(l->d[i].cookie > LISTING_OFF_ENTRIES);
		assert_true(l->d[i].cookie < (UINT64_C(1) << 63));
		if (i)
			assert_true(l->d[i].cookie > l->d[i - 1].cookie);
		/* resuming after entry i gives entry i + 1 */
		assert_int_equal(mlfs_listing_seek(l, l->d[i].cookie), i + 1);
		/* and after any offset below it, entry i at the latest */
		assert_true(mlfs_listing_seek(l, l->d[i].cookie - 1) <= i);
	}
	assert_int_equal(mlfs_listing_seek(l, LISTING_OFF_ENTRIES + 1) <= 1,
			 1);
	assert_int_equal(mlfs_listing_seek(l, UINT64_MAX >> 1), l->n);
	mlfs_listing_put(l);
}

/* A reader read @a up to its entry @k, then goes on in @b. */
static void resume_in_other(const struct mlfs_listing *a, size_t k,
			    const struct mlfs_listing *b)
{
	size_t j = mlfs_listing_seek(b, a->d[k].cookie);

	/* every name of both listings after the resume point in @a is
	 * still ahead in @b; every one up to it is behind */
	for (size_t i = 0; i < a->n; i++) {
		for (size_t m = 0; m < b->n; m++) {
			if (strcmp(a->d[i].name, b->d[m].name))
				continue;
			assert_true(a->d[i].cookie == b->d[m].cookie);
			if (i <= k)
				assert_true(m < j);
			else
				assert_true(m >= j);
		}
	}
}

static void test_resume_in_rebuilt_listing(void **state)
{
	/* b: a without every 7th name, with 300 names more */
	struct mlfs_listing *a = make("e", 0, 600, 0);
	struct mlfs_listing *b = make("e", 0, 900, 7);

	(void)state;
	for (size_t k = 0; k < a->n; k += 37)
		resume_in_other(a, k, b);
	resume_in_other(a, a->n - 1, b);
	mlfs_listing_put(a);
	mlfs_listing_put(b);
}

static void test_one_cookie_for_several_names(void **state)
{
	struct mlfs_listing *l = mlfs_listing_new();

	(void)state;
	assert_non_null(l);
	assert_int_equal(mlfs_listing_add(l, "c", 1, S_IFREG), 0);
	assert_int_equal(mlfs_listing_add(l, "a", 2, S_IFREG), 0);
	assert_int_equal(mlfs_listing_add(l, "b", 3, S_IFDIR), 0);
	assert_int_equal(mlfs_listing_add(l, "z", 4, S_IFREG), 0);
	/* as if the hash of three names were one */
	l->d[0].cookie = l->d[1].cookie = l->d[2].cookie = 100;
	l->d[3].cookie = 101;
	mlfs_listing_seal(l);
	assert_string_equal(l->d[0].name, "a");
	assert_string_equal(l->d[1].name, "b");
	assert_string_equal(l->d[2].name, "c");
	assert_string_equal(l->d[3].name, "z");
	for (size_t i = 0; i < 4; i++)
		assert_true(l->d[i].cookie == 100 + i);
	assert_int_equal(l->d[1].type, S_IFDIR);
	assert_true(l->d[1].ino == 3);
	assert_int_equal(mlfs_listing_seek(l, 100), 1);
	assert_int_equal(mlfs_listing_seek(l, 101), 2);
	assert_int_equal(mlfs_listing_seek(l, 103), 4);
	mlfs_listing_put(l);
}

static void test_empty_and_shared(void **state)
{
	struct mlfs_listing *l = mlfs_listing_new();

	(void)state;
	assert_non_null(l);
	mlfs_listing_seal(l);
	assert_int_equal(mlfs_listing_seek(l, 5), 0);
	/* two holders: the first put leaves it to the second */
	atomic_fetch_add(&l->refs, 1);
	mlfs_listing_put(l);
	assert_int_equal(atomic_load(&l->refs), 1);
	assert_int_equal(mlfs_listing_add(l, "x", 1, S_IFREG), 0);
	mlfs_listing_put(l);
	mlfs_listing_put(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cookies_ordered_and_bounded),
		cmocka_unit_test(test_resume_in_rebuilt_listing),
		cmocka_unit_test(test_one_cookie_for_several_names),
		cmocka_unit_test(test_empty_and_shared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

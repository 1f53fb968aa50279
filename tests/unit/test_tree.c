/*
 * test_tree.c - canonical tree encoding: round trips, encoder checks, and
 * a decoder that rejects every hostile form without crashing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mlfs/tree.h"

/* Layout of one entry in the encoding (docs/format.md#trees). */
#define HDR 5
#define FIXED 39

static struct mlfs_entry ent(const char *name, enum mlfs_entry_type type,
			     uint32_t mode, uint64_t size, uint8_t idb)
{
	struct mlfs_entry e;

	memset(&e, 0, sizeof(e));
	e.name = name;
	e.type = type;
	e.mode = mode;
	e.mtime_ns = INT64_C(1709251200123456789) + idb;
	e.size = size;
	memset(e.id.b, idb, MLFS_ID_LEN);
	return e;
}

/* A three-entry tree: dir, file, symlink, sorted bytewise. */
static size_t sample(struct mlfs_entry *e)
{
	e[0] = ent("Zdir", MLFS_ENTRY_DIR, 0755, 0, 0xd1);
	e[1] = ent("a.txt", MLFS_ENTRY_FILE, 0644, 12345, 0xf1);
	e[2] = ent("link", MLFS_ENTRY_SYMLINK, 0777, 5, 0);
	e[2].target = "a.txt";
	return 3;
}

static void encode_sample(struct mlfs_buf *b)
{
	struct mlfs_entry e[3];
	size_t n = sample(e);

	assert_int_equal(mlfs_tree_encode(e, n, b), 0);
}

static void test_tree_round_trip_file_dir_symlink(void **state)
{
	struct mlfs_entry e[3];
	size_t n = sample(e);
	struct mlfs_buf b = MLFS_BUF_INIT, b2 = MLFS_BUF_INIT;
	struct mlfs_tree *t = NULL;

	(void)state;
	assert_int_equal(mlfs_tree_encode(e, n, &b), 0);
	/* 5 + 3 * 39 + names (4 + 5 + 4) + target (2 + 5). */
	assert_int_equal(b.len, HDR + 3 * FIXED + 13 + 7);
	assert_int_equal(b.data[0], 1);
	assert_int_equal(mlfs_get_le32(b.data + 1), 3);
	assert_int_equal(mlfs_tree_decode(b.data, b.len, &t), 0);
	assert_int_equal(t->n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(t->e[i].name, e[i].name);
		assert_int_equal(t->e[i].type, e[i].type);
		assert_int_equal(t->e[i].mode, e[i].mode);
		assert_int_equal(t->e[i].mtime_ns, e[i].mtime_ns);
		assert_int_equal(t->e[i].size, e[i].size);
		assert_memory_equal(t->e[i].id.b, e[i].id.b, MLFS_ID_LEN);
	}
	assert_null(t->e[0].target);
	assert_null(t->e[1].target);
	assert_string_equal(t->e[2].target, "a.txt");
	/* Canonical: re-encoding the decoded tree gives the same bytes. */
	assert_int_equal(mlfs_tree_encode(t->e, t->n, &b2), 0);
	assert_int_equal(b2.len, b.len);
	assert_memory_equal(b2.data, b.data, b.len);
	mlfs_tree_free(t);
	mlfs_tree_free(NULL);
	mlfs_buf_release(&b);
	mlfs_buf_release(&b2);
}

static void test_tree_empty_tree_round_trips(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_tree *t = NULL;

	(void)state;
	assert_int_equal(mlfs_tree_encode(NULL, 0, &b), 0);
	assert_int_equal(b.len, HDR);
	assert_int_equal(mlfs_tree_decode(b.data, b.len, &t), 0);
	assert_int_equal(t->n, 0);
	assert_null(mlfs_tree_find(t, "a"));
	mlfs_tree_free(t);
	mlfs_buf_release(&b);
}

static void test_tree_encode_masks_mode_to_07777(void **state)
{
	struct mlfs_entry e = ent("f", MLFS_ENTRY_FILE, 0100644 | 04000, 1, 1);
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_tree *t = NULL;

	(void)state;
	assert_int_equal(mlfs_tree_encode(&e, 1, &b), 0);
	assert_int_equal(mlfs_tree_decode(b.data, b.len, &t), 0);
	assert_int_equal(t->e[0].mode, 04644);
	mlfs_tree_free(t);
	mlfs_buf_release(&b);
}

static void test_tree_encode_rejects_bad_names_and_order(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_entry e[2];
	char longname[300];
	static const char *const bad[] = { "", ".", "..", "a/b", "/", "b/" };

	(void)state;
	/* Unsorted. */
	e[0] = ent("b", MLFS_ENTRY_FILE, 0644, 0, 1);
	e[1] = ent("a", MLFS_ENTRY_FILE, 0644, 0, 2);
	assert_int_equal(mlfs_tree_encode(e, 2, &b), -EINVAL);
	/* Bytewise, not locale: "B" < "a". */
	e[0] = ent("a", MLFS_ENTRY_FILE, 0644, 0, 1);
	e[1] = ent("B", MLFS_ENTRY_FILE, 0644, 0, 2);
	assert_int_equal(mlfs_tree_encode(e, 2, &b), -EINVAL);
	/* Duplicate. */
	e[0] = ent("a", MLFS_ENTRY_FILE, 0644, 0, 1);
	e[1] = ent("a", MLFS_ENTRY_DIR, 0755, 0, 2);
	assert_int_equal(mlfs_tree_encode(e, 2, &b), -EINVAL);
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(bad); i++) {
		e[0] = ent(bad[i], MLFS_ENTRY_FILE, 0644, 0, 1);
		assert_int_equal(mlfs_tree_encode(e, 1, &b), -EINVAL);
	}
	/* Longer than 255 bytes. */
	memset(longname, 'x', 256);
	longname[256] = '\0';
	e[0] = ent(longname, MLFS_ENTRY_FILE, 0644, 0, 1);
	assert_int_equal(mlfs_tree_encode(e, 1, &b), -EINVAL);
	longname[255] = '\0';
	assert_int_equal(mlfs_tree_encode(e, 1, &b), 0);
	/* Names like ".x" and "..." are ordinary file names. */
	e[0] = ent("...", MLFS_ENTRY_FILE, 0644, 0, 1);
	e[1] = ent(".x", MLFS_ENTRY_FILE, 0644, 0, 1);
	assert_int_equal(mlfs_tree_encode(e, 2, &b), 0);
	mlfs_buf_release(&b);
}

static void test_tree_encode_rejects_overlong_symlink_target(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_entry e = ent("l", MLFS_ENTRY_SYMLINK, 0777, 0, 0);
	char *target = malloc(4097);

	(void)state;
	assert_non_null(target);
	memset(target, 't', 4096);
	target[4096] = '\0';
	e.target = target;
	assert_int_equal(mlfs_tree_encode(&e, 1, &b), -EINVAL);
	target[4095] = '\0';
	assert_int_equal(mlfs_tree_encode(&e, 1, &b), 0);
	free(target);
	mlfs_buf_release(&b);
}

/* Decode a heap copy of exactly @len bytes so ASan catches overreads. */
static int decode_copy(const uint8_t *p, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);
	struct mlfs_tree *t = NULL;
	int r;

	assert_non_null(c);
	memcpy(c, p, len);
	r = mlfs_tree_decode(c, len, &t);
	free(c);
	if (r == 0)
		mlfs_tree_free(t);
	return r;
}

static void test_tree_decode_rejects_every_strict_prefix(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;

	(void)state;
	encode_sample(&b);
	for (size_t len = 0; len < b.len; len++)
		assert_int_equal(decode_copy(b.data, len), -EBADMSG);
	assert_int_equal(decode_copy(b.data, b.len), 0);
	mlfs_buf_release(&b);
}

static void test_tree_decode_rejects_trailing_garbage(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;

	(void)state;
	encode_sample(&b);
	assert_int_equal(mlfs_buf_append(&b, "\0", 1), 0);
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	mlfs_buf_release(&b);
}

static void test_tree_decode_rejects_bad_header(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;

	(void)state;
	encode_sample(&b);
	/* Version. */
	b.data[0] = 2;
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	b.data[0] = 0;
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	b.data[0] = 1;
	/* Count larger (or smaller) than the data. */
	mlfs_put_le32(b.data + 1, 4);
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	mlfs_put_le32(b.data + 1, 2);
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	mlfs_put_le32(b.data + 1, UINT32_MAX);
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	mlfs_put_le32(b.data + 1, 0x80000000u);
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	mlfs_put_le32(b.data + 1, 3);
	assert_int_equal(decode_copy(b.data, b.len), 0);
	mlfs_buf_release(&b);
}

static void test_tree_decode_rejects_bad_type_and_mode(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	static const uint8_t types[] = { 0, 4, 0x80, 0xff };
	size_t e1 = HDR + FIXED + 4; /* second entry ("a.txt") */

	(void)state;
	encode_sample(&b);
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(types); i++) {
		b.data[e1] = types[i];
		assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	}
	b.data[e1] = MLFS_ENTRY_FILE;
	assert_int_equal(decode_copy(b.data, b.len), 0);
	/* A file turned into a symlink: the next bytes are not a target. */
	b.data[e1] = MLFS_ENTRY_SYMLINK;
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	b.data[e1] = MLFS_ENTRY_FILE;
	/* Mode bits beyond 07777. */
	mlfs_put_le32(b.data + e1 + 1, 010000);
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	mlfs_put_le32(b.data + e1 + 1, 0100644);
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	mlfs_put_le32(b.data + e1 + 1, 0x80000000u);
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	mlfs_put_le32(b.data + e1 + 1, 07777);
	assert_int_equal(decode_copy(b.data, b.len), 0);
	mlfs_buf_release(&b);
}

static void test_tree_decode_rejects_bad_names(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	size_t e0name = HDR + FIXED;          /* "Zdir" */
	size_t e1name = HDR + FIXED + 4 + FIXED; /* "a.txt" */

	(void)state;
	encode_sample(&b);
	/* Unsorted: "Zdir" -> "zdir" > "a.txt". */
	b.data[e0name] = 'z';
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	b.data[e0name] = 'Z';
	/* NUL inside a name. */
	b.data[e1name + 1] = '\0';
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	/* '/' inside a name. */
	b.data[e1name + 1] = '/';
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	b.data[e1name + 1] = '.';
	assert_int_equal(decode_copy(b.data, b.len), 0);
	mlfs_buf_release(&b);
}

static void test_tree_decode_rejects_dot_empty_and_duplicate(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_entry e[2];
	size_t name0 = HDR + FIXED;

	(void)state;
	/* Encode "aa", "ab", then edit the bytes. */
	e[0] = ent("aa", MLFS_ENTRY_FILE, 0644, 0, 1);
	e[1] = ent("ab", MLFS_ENTRY_FILE, 0644, 0, 2);
	assert_int_equal(mlfs_tree_encode(e, 2, &b), 0);
	/* Duplicate names. */
	b.data[name0 + 2 + FIXED + 1] = 'a';
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	b.data[name0 + 2 + FIXED + 1] = 'b';
	/* ".." and "." */
	b.data[name0] = '.';
	b.data[name0 + 1] = '.';
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	mlfs_buf_release(&b);

	e[0] = ent("a", MLFS_ENTRY_FILE, 0644, 0, 1);
	assert_int_equal(mlfs_tree_encode(e, 1, &b), 0);
	b.data[name0] = '.';
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	/* Zero-length name: the length field says 0, one byte left over. */
	b.data[HDR + FIXED - 2] = 0;
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	assert_int_equal(decode_copy(b.data, b.len - 1), -EBADMSG);
	mlfs_buf_release(&b);
}

static void test_tree_decode_rejects_bad_symlink_target(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	size_t tl;

	(void)state;
	encode_sample(&b);
	tl = b.len - 5 - 2; /* target length field of "link" */
	assert_int_equal(b.data[tl], 5);
	/* Length past the end. */
	b.data[tl] = 6;
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	b.data[tl + 1] = 0xff;
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	b.data[tl] = 5;
	b.data[tl + 1] = 0;
	/* NUL in the target. */
	b.data[tl + 3] = '\0';
	assert_int_equal(decode_copy(b.data, b.len), -EBADMSG);
	mlfs_buf_release(&b);
}

/* Random damage never crashes or overreads. */
static void test_tree_decode_survives_random_corruption(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	uint64_t x = 1;

	(void)state;
	encode_sample(&b);
	for (int k = 0; k < 20000; k++) {
		uint8_t *c = malloc(b.len);
		struct mlfs_tree *t = NULL;
		int r;

		assert_non_null(c);
		memcpy(c, b.data, b.len);
		for (int j = 0; j < 1 + k % 4; j++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			c[(x >> 33) % b.len] ^= (uint8_t)(1 + (x >> 20) % 255);
		}
		r = mlfs_tree_decode(c, b.len, &t);
		assert_true(r == 0 || r == -EBADMSG);
		if (r == 0) {
			for (size_t i = 0; i < t->n; i++)
				assert_true(strlen(t->e[i].name) > 0);
			mlfs_tree_free(t);
		}
		free(c);
	}
	mlfs_buf_release(&b);
}

static void test_tree_find_hits_and_misses(void **state)
{
	struct mlfs_entry *e = calloc(500, sizeof(*e));
	char (*names)[16] = calloc(500, sizeof(*names));
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_tree *t = NULL;
	const struct mlfs_entry *hit;

	(void)state;
	assert_non_null(e);
	assert_non_null(names);
	for (int i = 0; i < 500; i++) {
		snprintf(names[i], sizeof(names[i]), "f%04d", i * 2);
		e[i] = ent(names[i], MLFS_ENTRY_FILE, 0644, (uint64_t)i,
			   (uint8_t)i);
	}
	assert_int_equal(mlfs_tree_encode(e, 500, &b), 0);
	assert_int_equal(mlfs_tree_decode(b.data, b.len, &t), 0);
	for (int i = 0; i < 1000; i++) {
		char n[16];

		snprintf(n, sizeof(n), "f%04d", i);
		hit = mlfs_tree_find(t, n);
		if (i % 2) {
			assert_null(hit);
		} else {
			assert_non_null(hit);
			assert_string_equal(hit->name, n);
			assert_int_equal(hit->size, (uint64_t)i / 2);
		}
	}
	assert_null(mlfs_tree_find(t, ""));
	assert_null(mlfs_tree_find(t, "a"));    /* before the first */
	assert_null(mlfs_tree_find(t, "g"));    /* after the last */
	assert_null(mlfs_tree_find(t, "f000")); /* a prefix */
	assert_null(mlfs_tree_find(t, "f00000"));
	assert_non_null(mlfs_tree_find(t, "f0000"));
	assert_non_null(mlfs_tree_find(t, "f0998"));
	mlfs_tree_free(t);
	mlfs_buf_release(&b);
	free(names);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_round_trip_file_dir_symlink),
		cmocka_unit_test(test_tree_empty_tree_round_trips),
		cmocka_unit_test(test_tree_encode_masks_mode_to_07777),
		cmocka_unit_test(test_tree_encode_rejects_bad_names_and_order),
		cmocka_unit_test(test_tree_encode_rejects_overlong_symlink_target),
		cmocka_unit_test(test_tree_decode_rejects_every_strict_prefix),
		cmocka_unit_test(test_tree_decode_rejects_trailing_garbage),
		cmocka_unit_test(test_tree_decode_rejects_bad_header),
		cmocka_unit_test(test_tree_decode_rejects_bad_type_and_mode),
		cmocka_unit_test(test_tree_decode_rejects_bad_names),
		cmocka_unit_test(test_tree_decode_rejects_dot_empty_and_duplicate),
		cmocka_unit_test(test_tree_decode_rejects_bad_symlink_target),
		cmocka_unit_test(test_tree_decode_survives_random_corruption),
		cmocka_unit_test(test_tree_find_hits_and_misses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

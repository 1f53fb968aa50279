/*
 * test_audit.c - the audit log: the chain's hashed input byte for byte
 * (docs/format.md#audit-log), that every field and the record before it
 * change the check value, and, on a store, append, list, filters, the
 * caller's transaction, and verify naming an altered or removed record.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "mlfs/audit.h"
#include "mlfs/store.h"
#include "objid.h"
#include "store_impl.h"
#include "testutil.h"

/* ---- the encoding ---- */

static void test_key(struct mlfs_hash_key *k)
{
	for (size_t i = 0; i < sizeof(k->secret); i++)
		k->secret[i] = (uint8_t)(i * 7 + 3);
}

static const struct mlfs_id commit_a = { .b = { 0xaa, 1, 2, 3 } };
static const struct mlfs_id commit_b = { .b = { 0xbb, 4, 5, 6 } };

static struct mlfs_objid_audit sample(void)
{
	return (struct mlfs_objid_audit){
		.id = 7, .time = 1700000000, .has_uid = true, .uid = 1000,
		.user = "ana", .host = "h1", .command = "mlfs tag m/r v1",
		.op = "tag-create", .repo = "m/r", .ref = "tag:v1",
		.old_commit = NULL, .new_commit = &commit_b,
		.message = "msg", .detail = NULL,
	};
}

static void put(uint8_t *buf, size_t *n, const void *p, size_t len)
{
	memcpy(buf + *n, p, len);
	*n += len;
}

static void put_field(uint8_t *buf, size_t *n, const void *p, size_t len)
{
	uint8_t l[8];

	mlfs_put_le64(l, p ? len : UINT64_MAX);
	put(buf, n, l, 8);
	if (p)
		put(buf, n, p, len);
}

static void put_int(uint8_t *buf, size_t *n, int64_t v)
{
	uint8_t b[8];

	mlfs_put_le64(b, (uint64_t)v);
	put_field(buf, n, b, 8);
}

static void put_str(uint8_t *buf, size_t *n, const char *s)
{
	put_field(buf, n, s, s ? strlen(s) : 0);
}

/* The documented input, built by hand, hashes to what objid computes. */
static void test_audit_mac_is_the_documented_encoding(void **state)
{
	struct mlfs_objid_audit a = sample();
	struct mlfs_hash_key k;
	struct mlfs_id prev = { .b = { 9, 8, 7 } }, want, got;
	uint8_t buf[1024];
	size_t n = 0;

	(void)state;
	test_key(&k);
	put(buf, &n, "mlfs-audit-1", 13);
	put(buf, &n, prev.b, MLFS_ID_LEN);
	put_int(buf, &n, 7);
	put_int(buf, &n, 1700000000);
	put_int(buf, &n, 1000);
	put_str(buf, &n, "ana");
	put_str(buf, &n, "h1");
	put_str(buf, &n, "mlfs tag m/r v1");
	put_str(buf, &n, "tag-create");
	put_str(buf, &n, "m/r");
	put_str(buf, &n, "tag:v1");
	put_field(buf, &n, NULL, 0);
	put_field(buf, &n, commit_b.b, MLFS_ID_LEN);
	put_str(buf, &n, "msg");
	put_field(buf, &n, NULL, 0);
	mlfs_hash(&k, buf, n, &want);
	mlfs_objid_audit_mac(&k, &a, &prev, &got);
	assert_memory_equal(got.b, want.b, MLFS_ID_LEN);
	/* the first record chains to sixteen zero bytes */
	memset(&prev, 0, sizeof(prev));
	memcpy(buf + 13, prev.b, MLFS_ID_LEN);
	mlfs_hash(&k, buf, n, &want);
	mlfs_objid_audit_mac(&k, &a, NULL, &got);
	assert_memory_equal(got.b, want.b, MLFS_ID_LEN);
}

static void assert_differs(const struct mlfs_hash_key *k,
			   const struct mlfs_objid_audit *a,
			   const struct mlfs_id *base)
{
	struct mlfs_id got;

	mlfs_objid_audit_mac(k, a, NULL, &got);
	assert_memory_not_equal(got.b, base->b, MLFS_ID_LEN);
}

static void test_audit_mac_covers_every_field(void **state)
{
	struct mlfs_objid_audit a = sample(), b;
	struct mlfs_hash_key k;
	struct mlfs_id base, got, prev = { .b = { 1 } };

	(void)state;
	test_key(&k);
	mlfs_objid_audit_mac(&k, &a, NULL, &base);
#define CHANGED(stmt) do { b = a; stmt; assert_differs(&k, &b, &base); } \
	while (0)
	CHANGED(b.id = 8);
	CHANGED(b.time++);
	CHANGED(b.uid = 0);
	CHANGED(b.has_uid = false);
	CHANGED(b.user = "anb");
	CHANGED(b.host = "h2");
	CHANGED(b.command = "mlfs tag m/r v2");
	CHANGED(b.op = "tag-delete");
	CHANGED(b.repo = "m/s");
	CHANGED(b.repo = NULL);
	CHANGED(b.ref = "tag:v2");
	CHANGED(b.old_commit = &commit_a);
	CHANGED(b.new_commit = &commit_a);
	CHANGED(b.new_commit = NULL);
	CHANGED(b.message = "msh");
	CHANGED(b.message = NULL);
	CHANGED(b.detail = "x");
	/* NULL is not "" */
	CHANGED(b.message = "");
	/* a byte moved from one field to the next is another record */
	CHANGED((b.user = "an", b.host = "ah1"));
#undef CHANGED
	/* and the record before it is part of the input */
	mlfs_objid_audit_mac(&k, &a, &prev, &got);
	assert_memory_not_equal(got.b, base.b, MLFS_ID_LEN);
}

/* ---- on a store ---- */

struct fixture {
	char root[64];
	char dir[128];
	struct mlfs_store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "%.30s/mlfs-test-audit-XXXXXX",
		 testutil_tmp_base());
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/store", f->root);
	assert_int_equal(mlfs_store_init(f->dir, NULL), 0);
	assert_int_equal(mlfs_store_open(f->dir, 0, &f->s), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mlfs_store_close(f->s);
	testutil_rm_rf(f->root);
	free(f);
	return 0;
}

static void sql(struct fixture *f, const char *q)
{
	assert_int_equal(sqlite3_exec(mlfs_meta_db(f->s->meta), q, NULL, NULL,
				      NULL), SQLITE_OK);
}

static void append3(struct fixture *f)
{
	struct mlfs_audit_event ev = { .op = "tag-create", .ns = "m",
				       .name = "r", .ref = "tag:v1",
				       .new_commit = &commit_a,
				       .message = "first" };
	char *argv[] = { "mlfs", "tag", "it's", NULL };

	mlfs_audit_set_command(3, argv);
	assert_int_equal(mlfs_audit_append(f->s, &ev), 0);
	ev.op = "tag-delete";
	ev.old_commit = &commit_a;
	ev.new_commit = NULL;
	ev.message = NULL;
	assert_int_equal(mlfs_audit_append(f->s, &ev), 0);
	ev = (struct mlfs_audit_event){ .op = "repo-create", .ns = "m",
					.name = "s" };
	assert_int_equal(mlfs_audit_append(f->s, &ev), 0);
}

static void test_audit_append_then_list_gives_the_fields(void **state)
{
	struct fixture *f = *state;
	struct mlfs_audit_record *v;
	uint64_t count;
	int64_t bad = -1;
	size_t n;

	append3(f);
	assert_int_equal(mlfs_audit_verify(f->s, &count, &bad), 0);
	assert_int_equal(count, 3);
	assert_int_equal(bad, 0);
	assert_int_equal(mlfs_audit_list(f->s, NULL, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].id, 1);
	assert_string_equal(v[0].op, "tag-create");
	assert_string_equal(v[0].repo, "m/r");
	assert_string_equal(v[0].ref, "tag:v1");
	assert_string_equal(v[0].command, "mlfs tag 'it'\\''s'");
	assert_string_equal(v[0].message, "first");
	assert_int_equal(v[0].uid, (int64_t)getuid());
	assert_false(v[0].has_old);
	assert_true(v[0].has_new);
	assert_memory_equal(v[0].new_commit.b, commit_a.b, MLFS_ID_LEN);
	assert_false(v[0].damaged);
	assert_true(v[0].has_mac && v[1].has_mac);
	assert_memory_not_equal(v[0].mac.b, v[1].mac.b, MLFS_ID_LEN);
	assert_true(v[1].has_old);
	assert_false(v[1].has_new);
	assert_null(v[1].message);
	assert_null(v[2].ref);
	assert_null(v[2].detail);
	mlfs_audit_records_free(v, n);
}

static void test_audit_list_filters_by_repo_ref_and_time(void **state)
{
	struct fixture *f = *state;
	struct mlfs_audit_filter flt = { .ns = "m", .name = "s" };
	struct mlfs_audit_record *v;
	size_t n;

	append3(f);
	assert_int_equal(mlfs_audit_list(f->s, &flt, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].id, 3);
	mlfs_audit_records_free(v, n);
	flt = (struct mlfs_audit_filter){ .ref = "tag:v1" };
	assert_int_equal(mlfs_audit_list(f->s, &flt, &v, &n), 0);
	assert_int_equal(n, 2);
	mlfs_audit_records_free(v, n);
	sql(f, "UPDATE audit SET time = 5");
	flt = (struct mlfs_audit_filter){ .since = 6 };
	assert_int_equal(mlfs_audit_list(f->s, &flt, &v, &n), 0);
	/* the edit broke every record, and a damaged record is always
	 * listed: its time is not to be trusted */
	assert_int_equal(n, 3);
	assert_true(v[0].damaged && v[1].damaged && v[2].damaged);
	mlfs_audit_records_free(v, n);
}

static void test_audit_append_rolls_back_with_the_caller(void **state)
{
	struct fixture *f = *state;
	struct mlfs_audit_event ev = { .op = "import" };
	uint64_t count;

	assert_int_equal(mlfs_meta_begin(f->s->meta), 0);
	assert_int_equal(mlfs_audit_append(f->s, &ev), 0);
	mlfs_meta_rollback(f->s->meta);
	assert_int_equal(mlfs_audit_verify(f->s, &count, NULL), 0);
	assert_int_equal(count, 0);
	ev.op = NULL;
	assert_int_equal(mlfs_audit_append(f->s, &ev), -EINVAL);
	ev = (struct mlfs_audit_event){ .op = "x", .ns = "m" };
	assert_int_equal(mlfs_audit_append(f->s, &ev), -EINVAL);
}

static void test_audit_verify_names_an_altered_record(void **state)
{
	struct fixture *f = *state;
	struct mlfs_audit_record *v;
	int64_t bad;
	size_t n;

	append3(f);
	sql(f, "UPDATE audit SET message = 'x' WHERE id = 2");
	assert_int_equal(mlfs_audit_verify(f->s, NULL, &bad), -EBADMSG);
	assert_int_equal(bad, 2);
	assert_non_null(strstr(mlfs_error_detail(), "audit record 2 ("));
	assert_non_null(strstr(mlfs_error_detail(), ", tag-delete): altered"));
	/* only the altered one: the next chains to its stored mac */
	assert_int_equal(mlfs_audit_list(f->s, NULL, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_false(v[0].damaged);
	assert_true(v[1].damaged);
	assert_false(v[2].damaged);
	mlfs_audit_records_free(v, n);
}

static void test_audit_verify_finds_a_removed_record(void **state)
{
	struct fixture *f = *state;
	int64_t bad;

	append3(f);
	sql(f, "DELETE FROM audit WHERE id = 2");
	assert_int_equal(mlfs_audit_verify(f->s, NULL, &bad), -EBADMSG);
	assert_int_equal(bad, 3);
	assert_non_null(strstr(mlfs_error_detail(),
			       "record 2 before it is missing"));
}

static void test_audit_verify_finds_a_type_change(void **state)
{
	struct fixture *f = *state;
	int64_t bad;

	append3(f);
	sql(f, "UPDATE audit SET user = CAST(user AS BLOB) WHERE id = 1");
	assert_int_equal(mlfs_audit_verify(f->s, NULL, &bad), -EBADMSG);
	assert_int_equal(bad, 1);
	assert_non_null(strstr(mlfs_error_detail(), "a field has a type"));
}

static void test_audit_append_on_a_readonly_store_is_erofs(void **state)
{
	struct fixture *f = *state;
	struct mlfs_audit_event ev = { .op = "import" };
	struct mlfs_store *ro;

	assert_int_equal(mlfs_store_open(f->dir, MLFS_STORE_RDONLY, &ro), 0);
	assert_int_equal(mlfs_audit_append(ro, &ev), -EROFS);
	mlfs_store_close(ro);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit_mac_is_the_documented_encoding),
		cmocka_unit_test(test_audit_mac_covers_every_field),
		cmocka_unit_test_setup_teardown(
			test_audit_append_then_list_gives_the_fields, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_audit_list_filters_by_repo_ref_and_time, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_audit_append_rolls_back_with_the_caller, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_audit_verify_names_an_altered_record, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_audit_verify_finds_a_removed_record, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_audit_verify_finds_a_type_change, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_audit_append_on_a_readonly_store_is_erofs, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

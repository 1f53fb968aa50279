/*
 * test_vmeta.c - version metadata: the key and value rules, metrics,
 * "KEY=VALUE" arguments and --metrics documents; rows written with a
 * commit, read back checked (a real store in a temp directory).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mlfs/audit.h"
#include "mlfs/ingest.h"
#include "mlfs/repo.h"
#include "mlfs/store.h"
#include "mlfs/vmeta.h"
#include "store_impl.h"
#include "testutil.h"

static void expect_detail(const char *part)
{
	if (!strstr(mlfs_error_detail(), part))
		fail_msg("detail '%s' lacks '%s'", mlfs_error_detail(), part);
}

static void test_vmeta_keys_valid_and_invalid(void **state)
{
	char k[MLFS_VMETA_KEY_MAX + 2];

	(void)state;
	assert_int_equal(mlfs_vmeta_check_key("acc"), 0);
	assert_int_equal(mlfs_vmeta_check_key("run.duration_s-2"), 0);
	assert_int_equal(mlfs_vmeta_check_key("A.b_C-9"), 0);
	memset(k, 'k', MLFS_VMETA_KEY_MAX);
	k[MLFS_VMETA_KEY_MAX] = '\0';
	assert_int_equal(mlfs_vmeta_check_key(k), 0);
	k[MLFS_VMETA_KEY_MAX] = 'k';
	k[MLFS_VMETA_KEY_MAX + 1] = '\0';
	assert_int_equal(mlfs_vmeta_check_key(k), -EINVAL);
	expect_detail("is 129 bytes, over 128");
	assert_int_equal(mlfs_vmeta_check_key(""), -EINVAL);
	expect_detail("empty key");
	assert_int_equal(mlfs_vmeta_check_key("a b"), -EINVAL);
	expect_detail("key 'a b': only letters, digits");
	assert_int_equal(mlfs_vmeta_check_key("a/b"), -EINVAL);
	assert_int_equal(mlfs_vmeta_check_key("a=b"), -EINVAL);
	assert_int_equal(mlfs_vmeta_check_key("\xc3\xa9"), -EINVAL);
}

static void test_vmeta_values_valid_and_invalid(void **state)
{
	static char big[MLFS_VMETA_VALUE_MAX + 1];

	(void)state;
	assert_int_equal(mlfs_vmeta_check_value("k", "", 0), 0);
	assert_int_equal(mlfs_vmeta_check_value("k", "h\xc3\xa9llo w", 8), 0);
	assert_int_equal(mlfs_vmeta_check_value("k", "\xf0\x9f\x98\x80", 4),
			 0);
	memset(big, 'v', sizeof(big));
	assert_int_equal(mlfs_vmeta_check_value("k", big,
						MLFS_VMETA_VALUE_MAX), 0);
	assert_int_equal(mlfs_vmeta_check_value("k", big,
						MLFS_VMETA_VALUE_MAX + 1),
			 -EINVAL);
	expect_detail("value of 'k' is 4097 bytes, over 4096");
	assert_int_equal(mlfs_vmeta_check_value("k", "a\nb", 3), -EINVAL);
	expect_detail("value of 'k' holds a control character (byte 1)");
	assert_int_equal(mlfs_vmeta_check_value("k", "a\tb", 3), -EINVAL);
	assert_int_equal(mlfs_vmeta_check_value("k", "a\x7f", 2), -EINVAL);
	assert_int_equal(mlfs_vmeta_check_value("k", "a\0b", 3), -EINVAL);
	assert_int_equal(mlfs_vmeta_check_value("k", "\xff", 1), -EINVAL);
	expect_detail("value of 'k' is not UTF-8 (byte 0)");
	assert_int_equal(mlfs_vmeta_check_value("k", "\xc0\x80", 2), -EINVAL);
	assert_int_equal(mlfs_vmeta_check_value("k", "\xed\xa0\x80", 3),
			 -EINVAL); /* a surrogate */
	assert_int_equal(mlfs_vmeta_check_value("k", "\xc3", 1), -EINVAL);
}

static void test_vmeta_metric_grammar(void **state)
{
	static const char *const yes[] = {
		"0", "-1", "+2.5e-3", ".5", "7.", "0.9134", "1E10", "00",
		"1e-400", "-0",
	};
	static const char *const no[] = {
		"", "nan", "NaN", "inf", "-Infinity", "0x10", " 1", "1 ", "1e",
		"1e+", ".", "-", "+.", "1.2.3", "1,5", "1e999", "--1", "e5",
	};
	double d = 0;

	(void)state;
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(yes); i++)
		if (!mlfs_vmeta_is_metric(yes[i], NULL))
			fail_msg("'%s' is a metric", yes[i]);
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(no); i++)
		if (mlfs_vmeta_is_metric(no[i], NULL))
			fail_msg("'%s' is not a metric", no[i]);
	assert_true(mlfs_vmeta_is_metric("-2.5e1", &d));
	assert_true(d == -25.0);
}

static void test_vmeta_parse_arg_sets_and_replaces(void **state)
{
	struct mlfs_kv_list l = MLFS_KV_LIST_INIT;

	(void)state;
	assert_int_equal(mlfs_vmeta_parse_arg(&l, "b=x=y"), 0);
	assert_int_equal(mlfs_vmeta_parse_arg(&l, "a="), 0);
	assert_int_equal(mlfs_vmeta_parse_arg(&l, "b=2"), 0);
	assert_int_equal(l.n, 2);
	mlfs_kv_list_sort(&l);
	assert_string_equal(l.v[0].key, "a");
	assert_string_equal(l.v[0].value, "");
	assert_string_equal(l.v[1].key, "b");
	assert_string_equal(l.v[1].value, "2");
	assert_string_equal(mlfs_kv_list_find(&l, "b")->value, "2");
	assert_null(mlfs_kv_list_find(&l, "c"));
	assert_int_equal(mlfs_vmeta_parse_arg(&l, "novalue"), -EINVAL);
	expect_detail("'novalue' is not KEY=VALUE");
	assert_int_equal(mlfs_vmeta_parse_arg(&l, "=v"), -EINVAL);
	expect_detail("'=v': empty key");
	assert_int_equal(mlfs_vmeta_parse_arg(&l, "a b=v"), -EINVAL);
	assert_int_equal(mlfs_vmeta_parse_arg(&l, "x=1e999"), -EINVAL);
	expect_detail("value of 'x' is a number out of range: '1e999'");
	/* "nan" is a word, kept as a string. */
	assert_int_equal(mlfs_vmeta_parse_arg(&l, "x=nan"), 0);
	assert_int_equal(l.n, 3);
	mlfs_kv_list_release(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
}

static void test_vmeta_pairs_are_capped(void **state)
{
	struct mlfs_kv_list l = MLFS_KV_LIST_INIT;
	char k[32];

	(void)state;
	for (int i = 0; i < MLFS_VMETA_PAIRS_MAX; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		assert_int_equal(mlfs_kv_list_set(&l, k, "v"), 0);
	}
	assert_int_equal(mlfs_kv_list_set(&l, "one-more", "v"), -E2BIG);
	assert_int_equal(mlfs_kv_list_set(&l, "k0", "w"), 0); /* replaces */
	assert_int_equal(l.n, MLFS_VMETA_PAIRS_MAX);
	mlfs_kv_list_release(&l);
}

static int metrics(struct mlfs_kv_list *l, const char *doc)
{
	return mlfs_vmeta_parse_metrics(l, doc, strlen(doc), "m.json");
}

static void test_vmeta_metrics_keep_literals(void **state)
{
	struct mlfs_kv_list l = MLFS_KV_LIST_INIT;

	(void)state;
	assert_int_equal(mlfs_vmeta_parse_arg(&l, "acc=old"), 0);
	assert_int_equal(metrics(&l, " {\"acc\": 0.9130, \"loss\":1e-3,"
				 "\"n\":-12, \"acc\": 0.91300}\n"), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(mlfs_kv_list_find(&l, "acc")->value, "0.91300");
	assert_string_equal(mlfs_kv_list_find(&l, "loss")->value, "1e-3");
	assert_string_equal(mlfs_kv_list_find(&l, "n")->value, "-12");
	assert_int_equal(metrics(&l, "{}"), 0);
	assert_int_equal(l.n, 3);
	mlfs_kv_list_release(&l);
}

static void expect_bad_metrics(const char *doc, int err, const char *part)
{
	struct mlfs_kv_list l = MLFS_KV_LIST_INIT;

	assert_int_equal(mlfs_vmeta_parse_arg(&l, "keep=1"), 0);
	assert_int_equal(metrics(&l, doc), err);
	expect_detail(part);
	/* Nothing is added on error, not even the members before it. */
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].key, "keep");
	mlfs_kv_list_release(&l);
}

static void test_vmeta_metrics_bad_documents(void **state)
{
	(void)state;
	expect_bad_metrics("[1, 2]", -EINVAL, "m.json: not a JSON object");
	expect_bad_metrics("3", -EINVAL, "not a JSON object");
	expect_bad_metrics("", -EINVAL, "m.json: not JSON");
	expect_bad_metrics("{\"a\": 1,}", -EINVAL, "not JSON");
	expect_bad_metrics("{\"a\": NaN}", -EINVAL, "not JSON");
	expect_bad_metrics("{\"a\": Infinity}", -EINVAL, "not JSON");
	expect_bad_metrics("{\"a\": 1, \"b\": {\"c\": 1}}", -EINVAL,
			   "value of 'b' is not a number");
	expect_bad_metrics("{\"a\": [1]}", -EINVAL,
			   "value of 'a' is not a number");
	expect_bad_metrics("{\"a\": \"0.5\"}", -EINVAL,
			   "value of 'a' is not a number");
	expect_bad_metrics("{\"a\": null}", -EINVAL, "not a number");
	expect_bad_metrics("{\"a\": true}", -EINVAL, "not a number");
	expect_bad_metrics("{\"ok\": 1, \"a\": 1e999}", -EINVAL,
			   "value of 'a' is not a finite number: 1e999");
	expect_bad_metrics("{\"a b\": 1}", -EINVAL,
			   "m.json: key 'a b': only letters");
	expect_bad_metrics("{\"a/b\": 1}", -EINVAL, "key 'a/b'");
	expect_bad_metrics("{\"\": 1}", -EINVAL, "m.json: empty key");
	expect_bad_metrics("{\"a\\u0000b\": 1}", -EINVAL,
			   "a key holds a NUL byte");
}

static void test_vmeta_metrics_size_cap(void **state)
{
	struct mlfs_kv_list l = MLFS_KV_LIST_INIT;
	size_t n = MLFS_VMETA_FILE_MAX + 1;
	char *doc = malloc(n);

	(void)state;
	assert_non_null(doc);
	memset(doc, ' ', n);
	doc[0] = '{';
	doc[n - 1] = '}';
	assert_int_equal(mlfs_vmeta_parse_metrics(&l, doc, n, "big"), -EFBIG);
	expect_detail("big: 1048577 bytes, over the 1048576");
	/* At the cap it is read. */
	doc[n - 2] = '}';
	assert_int_equal(mlfs_vmeta_parse_metrics(&l, doc, n - 1, "big"), 0);
	assert_int_equal(l.n, 0);
	free(doc);
}

static void test_vmeta_read_metrics_files(void **state)
{
	struct mlfs_kv_list l = MLFS_KV_LIST_INIT;
	char dir[] = "/tmp/mlfs-vmeta-XXXXXX", path[64];
	size_t big = MLFS_VMETA_FILE_MAX + 1;
	char *buf = calloc(1, big);

	(void)state;
	assert_non_null(buf);
	assert_non_null(mkdtemp(dir));
	testutil_write_file(dir, "m.json", "{\"f1\": 0.5}", 11);
	snprintf(path, sizeof(path), "%s/m.json", dir);
	assert_int_equal(mlfs_vmeta_read_metrics(&l, path), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].value, "0.5");
	snprintf(path, sizeof(path), "%s/none.json", dir);
	assert_int_equal(mlfs_vmeta_read_metrics(&l, path), -ENOENT);
	expect_detail("cannot open metrics file");
	assert_int_equal(mlfs_vmeta_read_metrics(&l, dir), -EINVAL);
	expect_detail("is not a regular file");
	memset(buf, ' ', big);
	testutil_write_file(dir, "big.json", buf, big);
	snprintf(path, sizeof(path), "%s/big.json", dir);
	assert_int_equal(mlfs_vmeta_read_metrics(&l, path), -EFBIG);
	expect_detail("is over the 1048576 bytes");
	assert_int_equal(l.n, 1);
	mlfs_kv_list_release(&l);
	testutil_rm_rf(dir);
	free(buf);
}

struct fixture {
	char root[200];
	char dir[256];
	struct mlfs_store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "%s/mlfs-test-vmeta-XXXXXX",
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

static int refuse(void *ctx, const struct mlfs_id *commit)
{
	(void)ctx;
	(void)commit;
	return -EPERM;
}

/* Commit an empty tree to t/r with @meta; returns the result. */
static int commit_with(struct fixture *f, const struct mlfs_kv_list *meta,
		       bool fail_hook, struct mlfs_id *commit)
{
	struct mlfs_ingest *in = NULL;
	struct mlfs_commit_result res;
	struct mlfs_commit_req req = {
		.ns = "t", .name = "r", .message = "m", .author = "t",
		.audit_op = "import", .create_repo = true, .meta = meta,
		.before_commit = fail_hook ? refuse : NULL,
	};
	int r;

	assert_int_equal(mlfs_ingest_begin(f->s, NULL, &in), 0);
	assert_int_equal(mlfs_ingest_tree(in, NULL, 0, &req.tree), 0);
	r = mlfs_ingest_commit(in, &req, &res);
	mlfs_ingest_end(in);
	if (r == 0)
		*commit = res.commit;
	return r;
}

static void test_vmeta_commit_writes_rows_read_back_sorted(void **state)
{
	struct fixture *f = *state;
	struct mlfs_kv_list in = MLFS_KV_LIST_INIT, out = MLFS_KV_LIST_INIT;
	struct mlfs_id c;

	assert_int_equal(mlfs_vmeta_parse_arg(&in, "zeta=last"), 0);
	assert_int_equal(mlfs_vmeta_parse_arg(&in, "acc=0.9130"), 0);
	assert_int_equal(mlfs_vmeta_parse_arg(&in, "Note=h\xc3\xa9"), 0);
	assert_int_equal(commit_with(f, &in, false, &c), 0);
	assert_int_equal(mlfs_vmeta_get(f->s, &c, &out), 0);
	assert_int_equal(out.n, 3);
	assert_string_equal(out.v[0].key, "Note");
	assert_string_equal(out.v[1].key, "acc");
	assert_string_equal(out.v[1].value, "0.9130");
	assert_string_equal(out.v[2].key, "zeta");
	assert_string_equal(out.v[2].value, "last");
	mlfs_kv_list_release(&out);
	mlfs_kv_list_release(&in);
}

static void test_vmeta_commit_without_meta_has_none(void **state)
{
	struct fixture *f = *state;
	struct mlfs_kv_list out = MLFS_KV_LIST_INIT;
	struct mlfs_id c;

	assert_int_equal(commit_with(f, NULL, false, &c), 0);
	assert_int_equal(mlfs_vmeta_get(f->s, &c, &out), 0);
	assert_int_equal(out.n, 0);
}

/* A hand-made list that skipped the checks is refused before anything
 * is written; a commit rolled back by its hook leaves no rows. */
static void test_vmeta_commit_refused_writes_nothing(void **state)
{
	struct fixture *f = *state;
	struct mlfs_kv kv = { "bad key", "v" };
	struct mlfs_kv_list bad = { &kv, 1, 1 }, ok = MLFS_KV_LIST_INIT;
	struct mlfs_repo repo;
	sqlite3_stmt *st;
	struct mlfs_id c;

	assert_int_equal(commit_with(f, &bad, false, &c), -EINVAL);
	assert_non_null(strstr(mlfs_error_detail(), "key 'bad key'"));
	assert_int_equal(mlfs_repo_get(f->s, "t", "r", &repo), -ENOENT);
	assert_int_equal(mlfs_vmeta_parse_arg(&ok, "a=1"), 0);
	assert_int_equal(commit_with(f, &ok, true, &c), -EPERM);
	assert_int_equal(sqlite3_prepare_v2(mlfs_meta_db(f->s->meta),
					    "SELECT count(*) FROM metadata",
					    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	mlfs_kv_list_release(&ok);
}

static void damage(struct fixture *f, const char *sql)
{
	assert_int_equal(sqlite3_exec(mlfs_meta_db(f->s->meta), sql, NULL,
				      NULL, NULL), SQLITE_OK);
}

static void test_vmeta_damaged_row_is_eio_naming_key(void **state)
{
	struct fixture *f = *state;
	struct mlfs_kv_list in = MLFS_KV_LIST_INIT, out = MLFS_KV_LIST_INIT;
	char hex[MLFS_ID_HEX_LEN + 1], want[200];
	struct mlfs_id c;

	assert_int_equal(mlfs_vmeta_parse_arg(&in, "acc=0.5"), 0);
	assert_int_equal(mlfs_vmeta_parse_arg(&in, "b=x"), 0);
	assert_int_equal(commit_with(f, &in, false, &c), 0);
	mlfs_id_to_hex(&c, hex);
	snprintf(want, sizeof(want), "metadata 'acc' of commit %s: check "
		 "value mismatch (damaged database)", hex);
	damage(f, "UPDATE metadata SET value = '0.9' WHERE key = 'acc'");
	assert_int_equal(mlfs_vmeta_get(f->s, &c, &out), -EIO);
	assert_string_equal(mlfs_error_detail(), want);
	assert_int_equal(out.n, 0);
	damage(f, "UPDATE metadata SET value = '0.5', mac = NULL "
		  "WHERE key = 'acc'");
	assert_int_equal(mlfs_vmeta_get(f->s, &c, &out), -EIO);
	assert_string_equal(mlfs_error_detail(), want);
	/* A row moved to another key fails too. */
	damage(f, "DELETE FROM metadata WHERE key = 'acc'");
	damage(f, "UPDATE metadata SET key = 'c' WHERE key = 'b'");
	assert_int_equal(mlfs_vmeta_get(f->s, &c, &out), -EIO);
	assert_non_null(strstr(mlfs_error_detail(), "metadata 'c' of"));
	mlfs_kv_list_release(&in);
}

static void test_vmeta_update_sets_unsets_and_audits(void **state)
{
	struct fixture *f = *state;
	struct mlfs_kv_list in = MLFS_KV_LIST_INIT, set = MLFS_KV_LIST_INIT;
	struct mlfs_kv_list out = MLFS_KV_LIST_INIT;
	struct mlfs_vmeta_change *ch = NULL;
	struct mlfs_audit_record *rec = NULL;
	struct mlfs_audit_filter af = { .ns = "t", .name = "r" };
	char *unset[] = { "a" }, *missing[] = { "zz" };
	size_t nch = 0, nrec = 0, nmeta = 0;
	struct mlfs_id c;

	assert_int_equal(mlfs_vmeta_parse_arg(&in, "a=1"), 0);
	assert_int_equal(mlfs_vmeta_parse_arg(&in, "b=2"), 0);
	assert_int_equal(commit_with(f, &in, false, &c), 0);
	assert_int_equal(mlfs_vmeta_parse_arg(&set, "c=3"), 0);
	assert_int_equal(mlfs_vmeta_parse_arg(&set, "b=2"), 0); /* same */
	assert_int_equal(mlfs_vmeta_update(f->s, "t", "r", &c, &set, unset, 1,
					   &ch, &nch), 0);
	assert_int_equal(nch, 2);
	assert_string_equal(ch[0].key, "a");
	assert_string_equal(ch[0].old, "1");
	assert_null(ch[0].new);
	assert_string_equal(ch[1].key, "c");
	assert_null(ch[1].old);
	assert_string_equal(ch[1].new, "3");
	mlfs_vmeta_changes_free(ch, nch);
	assert_int_equal(mlfs_vmeta_get(f->s, &c, &out), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0].key, "b");
	assert_string_equal(out.v[1].key, "c");
	mlfs_kv_list_release(&out);
	assert_int_equal(mlfs_audit_list(f->s, &af, &rec, &nrec), 0);
	for (size_t i = 0; i < nrec; i++) {
		if (strncmp(rec[i].op, "meta-", 5))
			continue;
		assert_false(rec[i].damaged);
		assert_true(rec[i].has_new);
		assert_memory_equal(rec[i].new_commit.b, c.b, MLFS_ID_LEN);
		assert_string_equal(rec[i].ref, nmeta == 0 ? "meta:a" :
				    "meta:c");
		assert_string_equal(rec[i].op, nmeta == 0 ? "meta-unset" :
				    "meta-set");
		nmeta++;
	}
	assert_int_equal(nmeta, 2);
	mlfs_audit_records_free(rec, nrec);
	/* Refused: nothing changes. */
	assert_int_equal(mlfs_vmeta_update(f->s, "t", "r", &c, &set, missing,
					   1, NULL, NULL), -ENOENT);
	assert_string_equal(mlfs_error_detail(), "no key 'zz'");
	assert_int_equal(mlfs_vmeta_update(f->s, "t", "other", &c, &set,
					   NULL, 0, NULL, NULL), -ENOENT);
	unset[0] = "c";
	assert_int_equal(mlfs_vmeta_update(f->s, "t", "r", &c, &set, unset, 1,
					   NULL, NULL), -EINVAL);
	assert_int_equal(mlfs_vmeta_get(f->s, &c, &out), 0);
	assert_int_equal(out.n, 2);
	mlfs_kv_list_release(&out);
	mlfs_kv_list_release(&set);
	mlfs_kv_list_release(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmeta_keys_valid_and_invalid),
		cmocka_unit_test(test_vmeta_values_valid_and_invalid),
		cmocka_unit_test(test_vmeta_metric_grammar),
		cmocka_unit_test(test_vmeta_parse_arg_sets_and_replaces),
		cmocka_unit_test(test_vmeta_pairs_are_capped),
		cmocka_unit_test(test_vmeta_metrics_keep_literals),
		cmocka_unit_test(test_vmeta_metrics_bad_documents),
		cmocka_unit_test(test_vmeta_metrics_size_cap),
		cmocka_unit_test(test_vmeta_read_metrics_files),
		cmocka_unit_test_setup_teardown(
			test_vmeta_commit_writes_rows_read_back_sorted,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_vmeta_commit_without_meta_has_none,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_vmeta_commit_refused_writes_nothing,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_vmeta_damaged_row_is_eio_naming_key,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_vmeta_update_sets_unsets_and_audits,
			setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_remote_vmeta.c - version metadata changed after a push: the
 * vmeta/<commit> object (remote_commit.c) formats and parses back, refuses
 * a changed byte, another key, another commit, bad order and shape; the
 * digest is the canonical one; the schema 7 sync rows (meta_vsync.c)
 * are set, replaced, listed, cleared, and checked on every read.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "meta.h"
#include "mlfs/import.h"
#include "mlfs/lineage.h"
#include "mlfs/remote.h"
#include "mlfs/store.h"
#include "store_impl.h"
#include "testutil.h"

static struct mlfs_hash_key key, other;

static void keys(void)
{
	for (size_t i = 0; i < sizeof(key.secret); i++) {
		key.secret[i] = (uint8_t)(i * 13 + 5);
		other.secret[i] = (uint8_t)(i * 13 + 6);
	}
}

static struct mlfs_remote_kv kv2[2] = { { "acc", "0.9" },
					{ "stage", "prod" } };
static struct mlfs_remote_input in2[2] = {
	{ .commit = { .b = { 1 } }, .files = 3, .bytes = 9,
	  .how = MLFS_INPUT_MOUNT },
	{ .commit = { .b = { 2 } }, .files = 1, .bytes = 4,
	  .how = MLFS_INPUT_MANUAL },
};

static void sample(struct mlfs_remote_vmeta *v)
{
	memset(v, 0, sizeof(*v));
	v->commit.b[0] = 0xc0;
	v->commit.b[15] = 0x01;
	v->kv = kv2;
	v->nkv = 2;
	v->in = in2;
	v->nin = 2;
}

static void test_vmeta_object_round_trip(void **state)
{
	struct mlfs_remote_vmeta v, got;
	struct mlfs_buf b = MLFS_BUF_INIT;

	(void)state;
	sample(&v);
	assert_int_equal(mlfs_remote_vmeta_format(&key, &v, &b), 0);
	assert_memory_equal(b.data, "MLFSRVMT\1\0\0\0\0\0\0\0", 16);
	assert_int_equal(mlfs_remote_vmeta_parse(&key, &v.commit, b.data,
						 b.len, &got), 0);
	assert_memory_equal(got.commit.b, v.commit.b, MLFS_ID_LEN);
	assert_int_equal(got.nkv, 2);
	assert_string_equal(got.kv[0].key, "acc");
	assert_string_equal(got.kv[1].value, "prod");
	assert_int_equal(got.nin, 2);
	assert_int_equal(got.in[0].how, MLFS_INPUT_MOUNT);
	assert_int_equal(got.in[1].how, MLFS_INPUT_MANUAL);
	assert_int_equal(got.in[1].bytes, 4);
	mlfs_remote_vmeta_release(&got);
	/* empty: every key unset after the push */
	v.nkv = v.nin = 0;
	assert_int_equal(mlfs_remote_vmeta_format(&key, &v, &b), 0);
	assert_int_equal(mlfs_remote_vmeta_parse(&key, &v.commit, b.data,
						 b.len, &got), 0);
	assert_int_equal(got.nkv, 0);
	assert_int_equal(got.nin, 0);
	mlfs_remote_vmeta_release(&got);
	mlfs_remote_vmeta_release(NULL);
	mlfs_buf_release(&b);
}

static void test_vmeta_object_refuses_damage(void **state)
{
	struct mlfs_remote_vmeta v, got;
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_id wrong;

	(void)state;
	sample(&v);
	assert_int_equal(mlfs_remote_vmeta_format(&key, &v, &b), 0);
	/* every changed byte, check value included */
	for (size_t i = 0; i < b.len; i++) {
		b.data[i] ^= 0x20;
		assert_int_not_equal(mlfs_remote_vmeta_parse(&key, &v.commit,
							     b.data, b.len,
							     &got), 0);
		assert_null(got.kv);
		b.data[i] ^= 0x20;
	}
	/* truncated, empty, another store's key */
	assert_int_equal(mlfs_remote_vmeta_parse(&key, &v.commit, b.data,
						 b.len - 1, &got), -EIO);
	assert_int_equal(mlfs_remote_vmeta_parse(&key, &v.commit, b.data, 3,
						 &got), -EBADMSG);
	assert_int_equal(mlfs_remote_vmeta_parse(&other, &v.commit, b.data,
						 b.len, &got), -EIO);
	/* the object of another commit, under this one's key */
	wrong = v.commit;
	wrong.b[1] ^= 1;
	assert_int_equal(mlfs_remote_vmeta_parse(&key, &wrong, b.data, b.len,
						 &got), -EIO);
	mlfs_buf_release(&b);
}

static void test_vmeta_object_refuses_bad_order(void **state)
{
	struct mlfs_remote_kv kv[2] = { { "b", "1" }, { "a", "2" } };
	struct mlfs_remote_input in[2] = { in2[1], in2[0] };
	struct mlfs_remote_vmeta v;
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_id d;

	(void)state;
	sample(&v);
	v.kv = kv;
	assert_int_equal(mlfs_remote_vmeta_format(&key, &v, &b), -EINVAL);
	assert_int_equal(mlfs_remote_vmeta_digest(&key, kv, 2, NULL, 0, &d),
			 -EINVAL);
	v.kv = kv2;
	v.in = in;
	assert_int_equal(mlfs_remote_vmeta_format(&key, &v, &b), -EINVAL);
	/* a duplicate input */
	in[0] = in2[0];
	in[1] = in2[0];
	assert_int_equal(mlfs_remote_vmeta_format(&key, &v, &b), -EINVAL);
	/* sorting makes them acceptable */
	in[0] = in2[1];
	in[1] = in2[0];
	mlfs_remote_inputs_sort(in, 2);
	assert_memory_equal(in, in2, sizeof(in));
	assert_int_equal(mlfs_remote_vmeta_format(&key, &v, &b), 0);
	mlfs_buf_release(&b);
}

/* A hand-made object with a bad field, its check value correct. */
static void put32(struct mlfs_buf *b, uint32_t v)
{
	uint8_t q[4];

	mlfs_put_le32(q, v);
	assert_int_equal(mlfs_buf_append(b, q, 4), 0);
}

static void put_str(struct mlfs_buf *b, const char *s)
{
	put32(b, (uint32_t)strlen(s));
	assert_int_equal(mlfs_buf_append(b, s, strlen(s)), 0);
}

static int parse_made(const struct mlfs_buf *body, struct mlfs_id *commit)
{
	struct mlfs_span parts[2] = {
		{ "mlfs-remote-vmeta-1", sizeof("mlfs-remote-vmeta-1") },
		{ body->data, body->len },
	};
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_remote_vmeta got;
	struct mlfs_id c;
	int r;

	mlfs_hash_parts(&key, parts, 2, &c);
	assert_int_equal(mlfs_buf_append(&b, body->data, body->len), 0);
	assert_int_equal(mlfs_buf_append(&b, c.b, MLFS_ID_LEN), 0);
	r = mlfs_remote_vmeta_parse(&key, commit, b.data, b.len, &got);
	mlfs_remote_vmeta_release(&got);
	mlfs_buf_release(&b);
	return r;
}

static void head(struct mlfs_buf *b, uint32_t version,
		 const struct mlfs_id *commit)
{
	b->len = 0;
	assert_int_equal(mlfs_buf_append(b, "MLFSRVMT", 8), 0);
	put32(b, version);
	put32(b, 0);
	assert_int_equal(mlfs_buf_append(b, commit->b, MLFS_ID_LEN), 0);
}

static void test_vmeta_object_refuses_bad_fields(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_id c = { .b = { 7 } };

	(void)state;
	/* well-formed: one pair, no input */
	head(&b, 1, &c);
	put32(&b, 1);
	put_str(&b, "acc");
	put_str(&b, "1");
	put32(&b, 0);
	assert_int_equal(parse_made(&b, &c), 0);
	/* a newer version */
	head(&b, 2, &c);
	put32(&b, 0);
	put32(&b, 0);
	assert_int_equal(parse_made(&b, &c), -EPROTONOSUPPORT);
	/* a key with a space, a value with a control byte */
	head(&b, 1, &c);
	put32(&b, 1);
	put_str(&b, "a b");
	put_str(&b, "1");
	put32(&b, 0);
	assert_int_equal(parse_made(&b, &c), -EBADMSG);
	head(&b, 1, &c);
	put32(&b, 1);
	put_str(&b, "a");
	put_str(&b, "x\ty");
	put32(&b, 0);
	assert_int_equal(parse_made(&b, &c), -EBADMSG);
	/* more pairs than the bound, a count past the end */
	head(&b, 1, &c);
	put32(&b, 1025);
	assert_int_equal(parse_made(&b, &c), -EBADMSG);
	head(&b, 1, &c);
	put32(&b, 0);
	put32(&b, 3);
	assert_int_equal(parse_made(&b, &c), -EBADMSG);
	/* an input of an unknown kind */
	head(&b, 1, &c);
	put32(&b, 0);
	put32(&b, 1);
	assert_int_equal(mlfs_buf_append(&b, c.b, MLFS_ID_LEN), 0);
	assert_int_equal(mlfs_buf_append(&b, "\1\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0",
					 16), 0);
	put_str(&b, "guess");
	assert_int_equal(parse_made(&b, &c), -EBADMSG);
	/* trailing bytes */
	head(&b, 1, &c);
	put32(&b, 0);
	put32(&b, 0);
	put32(&b, 0);
	assert_int_equal(parse_made(&b, &c), -EBADMSG);
	mlfs_buf_release(&b);
}

static void test_vmeta_digest_is_canonical(void **state)
{
	struct mlfs_remote_kv kv[2] = { { "acc", "0.9" }, { "stage", "dev" } };
	struct mlfs_id d1, d2, d3;

	(void)state;
	assert_int_equal(mlfs_remote_vmeta_digest(&key, kv2, 2, in2, 2, &d1),
			 0);
	assert_int_equal(mlfs_remote_vmeta_digest(&key, kv2, 2, in2, 2, &d2),
			 0);
	assert_memory_equal(d1.b, d2.b, MLFS_ID_LEN);
	/* one value, one input less, another key: all differ */
	assert_int_equal(mlfs_remote_vmeta_digest(&key, kv, 2, in2, 2, &d3),
			 0);
	assert_memory_not_equal(d1.b, d3.b, MLFS_ID_LEN);
	assert_int_equal(mlfs_remote_vmeta_digest(&key, kv2, 2, in2, 1, &d3),
			 0);
	assert_memory_not_equal(d1.b, d3.b, MLFS_ID_LEN);
	assert_int_equal(mlfs_remote_vmeta_digest(&other, kv2, 2, in2, 2,
						  &d3), 0);
	assert_memory_not_equal(d1.b, d3.b, MLFS_ID_LEN);
	/* a pair split differently ("a"="bc" vs "ab"="c") */
	kv[0] = (struct mlfs_remote_kv){ "a", "bc" };
	assert_int_equal(mlfs_remote_vmeta_digest(&key, kv, 1, NULL, 0, &d2),
			 0);
	kv[0] = (struct mlfs_remote_kv){ "ab", "c" };
	assert_int_equal(mlfs_remote_vmeta_digest(&key, kv, 1, NULL, 0, &d3),
			 0);
	assert_memory_not_equal(d2.b, d3.b, MLFS_ID_LEN);
}

/* ---- the sync rows ---- */

struct fixture {
	char root[96];
	char store_dir[128];
	char src[128];
	struct mlfs_store *s;
	struct mlfs_id c1, c2;
};

static void import(struct fixture *f, const char *text, struct mlfs_id *out)
{
	struct mlfs_import_opts o = { .message = "test", .author = "tester",
				      .threads = 1 };
	struct mlfs_import_stats st;

	testutil_write_file(f->src, "f", text, strlen(text));
	assert_int_equal(mlfs_import(f->s, f->src, "t", "m", &o, &st), 0);
	*out = st.commit;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	TESTUTIL_STORE_NEW(f, "vsync");
	import(f, "one\n", &f->c1);
	import(f, "two\n", &f->c2);
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

static void test_vsync_set_get_list_clear(void **state)
{
	struct fixture *f = *state;
	struct mlfs_meta *m = f->s->meta;
	struct mlfs_meta_vsync row, *v;
	struct mlfs_id d1 = { .b = { 0xd1 } }, d2 = { .b = { 0xd2 } };
	size_t n;

	assert_int_equal(mlfs_meta_vsync_get(m, "up", &f->c1, &row), -ENOENT);
	assert_int_equal(mlfs_meta_vsync_set(m, "up", &f->c1, &d1, ""), 0);
	assert_int_equal(mlfs_meta_vsync_set(m, "up", &f->c2, &d2, "e2"), 0);
	assert_int_equal(mlfs_meta_vsync_set(m, "b", &f->c1, &d2, "x"), 0);
	/* replace: a push moved the object */
	assert_int_equal(mlfs_meta_vsync_set(m, "up", &f->c1, &d2,
					     "abcdef0123456789abcdef0123456789"),
			 0);
	assert_int_equal(mlfs_meta_vsync_get(m, "up", &f->c1, &row), 0);
	assert_memory_equal(row.digest.b, d2.b, MLFS_ID_LEN);
	assert_string_equal(row.etag, "abcdef0123456789abcdef0123456789");
	assert_false(row.damaged);
	assert_int_equal(mlfs_meta_vsync_get(m, "up", &f->c2, &row), 0);
	assert_string_equal(row.etag, "e2");
	/* an ETag too long for a row */
	{
		char big[100];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(mlfs_meta_vsync_set(m, "up", &f->c1, &d1,
						     big), -EINVAL);
	}
	assert_int_equal(mlfs_meta_vsync_list(m, NULL, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].remote, "b");
	assert_string_equal(v[1].remote, "up");
	free(v);
	assert_int_equal(mlfs_meta_vsync_list(m, "up", &v, &n), 0);
	assert_int_equal(n, 2);
	free(v);
	assert_int_equal(mlfs_meta_vsync_clear(m, "up"), 0);
	assert_int_equal(mlfs_meta_vsync_list(m, NULL, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].remote, "b");
	free(v);
}

static void test_vsync_damaged_row_is_eio_naming_it(void **state)
{
	struct fixture *f = *state;
	struct mlfs_meta *m = f->s->meta;
	struct mlfs_meta_vsync row, *v;
	struct mlfs_id d1 = { .b = { 0xd1 } };
	size_t n;

	assert_int_equal(mlfs_meta_vsync_set(m, "up", &f->c1, &d1, "e1"), 0);
	assert_int_equal(mlfs_meta_vsync_set(m, "up", &f->c2, &d1, "e2"), 0);
	/* a changed ETag, a digest that is not an id */
	sql(f, "UPDATE remote_vmeta SET etag = 'e9' WHERE etag = 'e1'");
	sql(f, "UPDATE remote_vmeta SET digest = x'00' WHERE etag = 'e2'");
	mlfs_error_clear();
	assert_int_equal(mlfs_meta_vsync_get(m, "up", &f->c1, &row), -EIO);
	assert_non_null(strstr(mlfs_error_detail(), "metadata sync row of "
			       "commit"));
	assert_non_null(strstr(mlfs_error_detail(), "(remote 'up'): check "
			       "value mismatch"));
	assert_int_equal(mlfs_meta_vsync_get(m, "up", &f->c2, &row), -EIO);
	mlfs_error_clear();
	assert_int_equal(mlfs_meta_vsync_list(m, NULL, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_true(v[0].damaged);
	assert_true(v[1].damaged);
	free(v);
	/* the next push or fetch writes it again */
	assert_int_equal(mlfs_meta_vsync_set(m, "up", &f->c1, &d1, "e1"), 0);
	assert_int_equal(mlfs_meta_vsync_get(m, "up", &f->c1, &row), 0);
}

static void test_vsync_remote_remove_drops_rows(void **state)
{
	struct fixture *f = *state;
	struct mlfs_meta_vsync *v;
	struct mlfs_id d1 = { .b = { 0xd1 } };
	struct mlfs_remote r;
	size_t n;

	assert_int_equal(mlfs_remote_make("up", "s3://bkt/p", NULL, NULL,
					  false, &r), 0);
	assert_int_equal(mlfs_remote_add(f->s, &r), 0);
	mlfs_remote_release(&r);
	assert_int_equal(mlfs_meta_vsync_set(f->s->meta, "up", &f->c1, &d1,
					     "e1"), 0);
	assert_int_equal(mlfs_remote_remove(f->s, "up"), 0);
	assert_int_equal(mlfs_meta_vsync_list(f->s->meta, NULL, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmeta_object_round_trip),
		cmocka_unit_test(test_vmeta_object_refuses_damage),
		cmocka_unit_test(test_vmeta_object_refuses_bad_order),
		cmocka_unit_test(test_vmeta_object_refuses_bad_fields),
		cmocka_unit_test(test_vmeta_digest_is_canonical),
		cmocka_unit_test_setup_teardown(test_vsync_set_get_list_clear,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_vsync_damaged_row_is_eio_naming_it, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_vsync_remote_remove_drops_rows, setup, teardown),
	};

	keys();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_remote.c - remote names and URLs, the objects of bucket layout 1
 * (remote_obj.c, remote_commit.c): each formats and parses back, and a
 * changed byte, a wrong key or a wrong name is refused; remotes kept in
 * a store.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mlfs/lineage.h"
#include "mlfs/remote.h"
#include "mlfs/store.h"
#include "objid.h"
#include "testutil.h"

static struct mlfs_hash_key key, other;

static void keys(void)
{
	for (size_t i = 0; i < sizeof(key.secret); i++) {
		key.secret[i] = (uint8_t)(i * 13 + 5);
		other.secret[i] = (uint8_t)(i * 13 + 6);
	}
}

static void test_remote_name_rules(void **state)
{
	static const char *const good[] = { "origin", "a", "team.s3",
					    "up_stream-2" };
	static const char *const bad[] = { "", ".x", "-x", "a/b", "a..b",
					   "a@b", "a b", "é" };
	char longname[80];
	const char *why;

	(void)state;
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(good); i++)
		assert_int_equal(mlfs_remote_name_check(good[i], &why), 0);
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(bad); i++) {
		why = NULL;
		assert_int_equal(mlfs_remote_name_check(bad[i], &why), -EINVAL);
		assert_non_null(why);
	}
	memset(longname, 'a', 65);
	longname[65] = '\0';
	assert_int_equal(mlfs_remote_name_check(longname, &why), -EINVAL);
	longname[64] = '\0';
	assert_int_equal(mlfs_remote_name_check(longname, &why), 0);
}

static void url_is(const char *url, const char *bucket, const char *prefix)
{
	char *b, *p;
	const char *why;

	assert_int_equal(mlfs_remote_url_parse(url, &b, &p, &why), 0);
	assert_string_equal(b, bucket);
	assert_string_equal(p, prefix);
	free(b);
	free(p);
}

static void test_remote_url_parse(void **state)
{
	static const char *const bad[] = {
		"http://bucket/x", "s3:/bucket", "s3://", "s3://ab",
		"s3://Bucket", "s3://-bucket", "s3://bucket/a//b",
		"s3://bucket/../x", "s3://bucket/a/./b", "s3://bucket/a\\b",
		"s3://bucket/a\nb", "s3://bu_cket",
	};
	char *b, *p;
	const char *why;

	(void)state;
	url_is("s3://bucket", "bucket", "");
	url_is("s3://bucket/", "bucket", "");
	url_is("s3://my.bucket-1/team/mlfs", "my.bucket-1", "team/mlfs/");
	url_is("s3://bucket/x/", "bucket", "x/");
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(bad); i++) {
		b = p = (char *)"untouched";
		assert_int_equal(mlfs_remote_url_parse(bad[i], &b, &p, &why),
				 -EINVAL);
		assert_null(b);
		assert_null(p);
	}
}

/* A prefix leaves room in S3's 1024-byte keys for mlfs's own. */
static void test_remote_url_prefix_bound(void **state)
{
	char url[700] = "s3://bucket/", *b, *p;
	const char *why;

	(void)state;
	memset(url + 12, 'a', MLFS_REMOTE_PREFIX_MAX);
	url[12 + MLFS_REMOTE_PREFIX_MAX] = '\0';
	assert_int_equal(mlfs_remote_url_parse(url, &b, &p, &why), 0);
	assert_int_equal(strlen(p), MLFS_REMOTE_PREFIX_MAX + 1);
	free(b);
	free(p);
	strcat(url, "a");
	assert_int_equal(mlfs_remote_url_parse(url, &b, &p, &why), -EINVAL);
	assert_non_null(strstr(why, "longer than 512"));
}

/* Endpoints: scheme, host, port; never credentials (they would be
 * stored), a path or a query. */
static void test_remote_endpoint_forms(void **state)
{
	static const char *const good[][2] = {
		{ "http://h:1", "http://h:1" },
		{ "https://s3.example.com/", "https://s3.example.com" },
		{ "http://[::1]:7480", "http://[::1]:7480" },
		{ "http://127.0.0.1:65535", "http://127.0.0.1:65535" },
	};
	static const char *const bad[] = {
		"ftp://h", "http://", "http://u:p@h:1", "http://h@x",
		"http://h:0", "http://h:65536", "http://h:", "http://h:1?x",
		"http://h/p", "http://h:1/p", "http://[zz]:1", "http://[]:1",
		"http://h h", "https://h#x",
	};
	struct mlfs_remote r;

	(void)state;
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(good); i++) {
		assert_int_equal(mlfs_remote_make("r", "s3://bkt/p", good[i][0],
						  NULL, false, &r), 0);
		assert_string_equal(r.endpoint, good[i][1]);
		mlfs_remote_release(&r);
	}
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(bad); i++) {
		assert_int_equal(mlfs_remote_make("r", "s3://bkt/p", bad[i],
						  NULL, false, &r), -EINVAL);
		assert_null(strstr(mlfs_error_detail(), "p@"));
		mlfs_error_clear();
	}
}

static void test_remote_config_object(void **state)
{
	struct mlfs_store_config c = { .format = 1,
				       .chunk = { 16384, 65536, 262144 },
				       .zstd_level = 5 }, got;
	struct mlfs_buf b = MLFS_BUF_INIT;
	char *t;

	(void)state;
	c.key = key;
	assert_int_equal(mlfs_remote_config_format(&c, &b), 0);
	assert_non_null(memmem(b.data, b.len, "\nlayout = 1\n", 12));
	assert_int_equal(mlfs_remote_config_parse((char *)b.data, b.len, &got),
			 0);
	assert_memory_equal(&got.key, &key, sizeof(key));
	assert_int_equal(got.zstd_level, 5);
	assert_int_equal(got.chunk.avg, 65536);
	/* a newer layout, no layout, a store config without it */
	t = strndup((char *)b.data, b.len);
	assert_non_null(t);
	*strstr(t, "layout = 1") = 'X';
	assert_int_equal(mlfs_remote_config_parse(t, strlen(t), &got),
			 -EBADMSG);
	free(t);
	t = strndup((char *)b.data, b.len);
	strstr(t, "layout = 1")[9] = '2';
	assert_int_equal(mlfs_remote_config_parse(t, strlen(t), &got),
			 -EPROTONOSUPPORT);
	free(t);
	mlfs_buf_release(&b);
}

static void test_remote_idx_round_trip_and_damage(void **state)
{
	struct mlfs_remote_idx_entry e[2] = { 0 }, *got = NULL;
	struct mlfs_buf b = MLFS_BUF_INIT;
	uint64_t id, size;
	size_t n;

	(void)state;
	e[0].id.b[0] = 1;
	e[1].id.b[0] = 2;
	e[0].loc = (struct mlfs_chunk_loc){ 7, 32, 100, 100, 0 };
	e[1].loc = (struct mlfs_chunk_loc){ 7, 172, 50, 400, 1 };
	assert_int_equal(mlfs_remote_idx_format(&key, 7, 262, e, 2, &b), 0);
	assert_int_equal(mlfs_remote_idx_parse(&key, b.data, b.len, &id, &size,
					       &got, &n), 0);
	assert_int_equal(id, 7);
	assert_int_equal(size, 262);
	assert_int_equal(n, 2);
	assert_int_equal(got[1].loc.offset, 172);
	assert_int_equal(got[1].loc.raw_len, 400);
	assert_int_equal(got[1].loc.pack_id, 7);
	free(got);
	/* another key: the check fails */
	assert_int_equal(mlfs_remote_idx_parse(&other, b.data, b.len, &id,
					       &size, &got, &n), -EIO);
	assert_null(got);
	/* a changed byte anywhere */
	for (size_t i = 0; i < b.len; i++) {
		b.data[i] ^= 0x40;
		assert_int_not_equal(mlfs_remote_idx_parse(&key, b.data, b.len,
							   &id, &size, &got,
							   &n), 0);
		b.data[i] ^= 0x40;
	}
	/* an entry past the pack's end, unsorted entries: not written */
	assert_int_equal(mlfs_remote_idx_format(&key, 7, 200, e, 2, &b), 0);
	assert_int_equal(mlfs_remote_idx_parse(&key, b.data, b.len, &id, &size,
					       &got, &n), -EBADMSG);
	e[1].id.b[0] = 0;
	assert_int_equal(mlfs_remote_idx_format(&key, 7, 262, e, 2, &b),
			 -EINVAL);
	mlfs_buf_release(&b);
}

/* Chunks of every codec can be pushed: a location of the newest codec
 * parses, one past it is damage. */
static void test_remote_idx_takes_every_codec(void **state)
{
	struct mlfs_remote_idx_entry e[1] = { 0 }, *got = NULL;
	struct mlfs_buf b = MLFS_BUF_INIT;
	uint64_t id, size;
	size_t n;

	(void)state;
	e[0].id.b[0] = 1;
	for (unsigned c = 0; c <= MLFS_CODEC_MAX + 1; c++) {
		e[0].loc = (struct mlfs_chunk_loc){ 7, 32, 100, c ? 400 : 100,
						    (uint8_t)c };
		assert_int_equal(mlfs_remote_idx_format(&key, 7, 172, e, 1,
							&b), 0);
		assert_int_equal(mlfs_remote_idx_parse(&key, b.data, b.len,
						       &id, &size, &got, &n),
				 c <= MLFS_CODEC_MAX ? 0 : -EBADMSG);
		if (c <= MLFS_CODEC_MAX) {
			assert_int_equal(n, 1);
			assert_int_equal(got[0].loc.codec, c);
		}
		free(got);
		got = NULL;
	}
	mlfs_buf_release(&b);
}

/* Recompute the trailing check of a pack list after a change to its
 * body, as a writer with the key would. */
static void packlist_reseal(struct mlfs_buf *b)
{
	static const char dom[] = "mlfs-remote-packlist-1";
	struct mlfs_span parts[2] = {
		{ dom, sizeof(dom) },
		{ b->data, b->len - MLFS_ID_LEN },
	};
	struct mlfs_id c;

	mlfs_hash_parts(&key, parts, 2, &c);
	memcpy(b->data + b->len - MLFS_ID_LEN, c.b, MLFS_ID_LEN);
}

static void test_remote_packlist_round_trip_and_damage(void **state)
{
	const uint64_t ids[3] = { 5, 0x1122334455667788ull,
				  0xfedcba9876543210ull };
	const uint64_t dup[2] = { 5, 5 }, down[2] = { 7, 5 };
	struct mlfs_id c = { .b = { 3, 1 } }, c2 = { .b = { 3, 2 } };
	struct mlfs_buf b = MLFS_BUF_INIT;
	uint64_t *got = NULL;
	size_t n = 9;

	(void)state;
	assert_int_equal(mlfs_remote_packlist_format(&key, &c, ids, 3, &b), 0);
	/* header 16, commit 16, count 8, ids, check 16 */
	assert_int_equal(b.len, 16 + 16 + 8 + 3 * 8 + 16);
	assert_memory_equal(b.data, "MLFSRPKL\1\0\0\0\0\0\0\0", 16);
	assert_memory_equal(b.data + 16, c.b, 16);
	assert_int_equal(mlfs_get_le64(b.data + 32), 3);
	assert_int_equal(mlfs_get_le64(b.data + 48), 0x1122334455667788ull);
	assert_int_equal(mlfs_remote_packlist_parse(&key, &c, b.data, b.len,
						    &got, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(got, ids, sizeof(ids));
	free(got);
	/* another key; the list of another commit under this one's name */
	assert_int_equal(mlfs_remote_packlist_parse(&other, &c, b.data, b.len,
						    &got, &n), -EIO);
	assert_int_equal(mlfs_remote_packlist_parse(&key, &c2, b.data, b.len,
						    &got, &n), -EIO);
	assert_null(got);
	assert_int_equal(n, 0);
	/* a changed byte anywhere, a byte short */
	for (size_t i = 0; i < b.len; i++) {
		b.data[i] ^= 0x20;
		assert_int_not_equal(mlfs_remote_packlist_parse(&key, &c,
								b.data, b.len,
								&got, &n), 0);
		assert_null(got);
		b.data[i] ^= 0x20;
	}
	assert_int_equal(mlfs_remote_packlist_parse(&key, &c, b.data,
						    b.len - 1, &got, &n),
			 -EIO);
	/* with a valid check: a count that is not the ids', ids out of
	 * order, a newer version, a reserved word set */
	mlfs_put_le64(b.data + 32, 4);
	packlist_reseal(&b);
	assert_int_equal(mlfs_remote_packlist_parse(&key, &c, b.data, b.len,
						    &got, &n), -EBADMSG);
	mlfs_put_le64(b.data + 32, 3);
	mlfs_put_le64(b.data + 40, 0xffffffffffffffffull);
	packlist_reseal(&b);
	assert_int_equal(mlfs_remote_packlist_parse(&key, &c, b.data, b.len,
						    &got, &n), -EBADMSG);
	mlfs_put_le64(b.data + 40, 5);
	mlfs_put_le32(b.data + 8, 2);
	packlist_reseal(&b);
	assert_int_equal(mlfs_remote_packlist_parse(&key, &c, b.data, b.len,
						    &got, &n),
			 -EPROTONOSUPPORT);
	mlfs_put_le32(b.data + 8, 1);
	mlfs_put_le32(b.data + 12, 1);
	packlist_reseal(&b);
	assert_int_equal(mlfs_remote_packlist_parse(&key, &c, b.data, b.len,
						    &got, &n), -EBADMSG);
	mlfs_put_le32(b.data + 12, 0);
	packlist_reseal(&b);
	assert_int_equal(mlfs_remote_packlist_parse(&key, &c, b.data, b.len,
						    &got, &n), 0);
	free(got);
	/* an empty list (a tree of symlinks and empty files) */
	assert_int_equal(mlfs_remote_packlist_format(&key, &c, NULL, 0, &b), 0);
	assert_int_equal(mlfs_remote_packlist_parse(&key, &c, b.data, b.len,
						    &got, &n), 0);
	assert_int_equal(n, 0);
	free(got);
	/* duplicate or unsorted ids are not written */
	assert_int_equal(mlfs_remote_packlist_format(&key, &c, dup, 2, &b),
			 -EINVAL);
	assert_int_equal(mlfs_remote_packlist_format(&key, &c, down, 2, &b),
			 -EINVAL);
	mlfs_buf_release(&b);
}

static void test_remote_content_object(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_id d = { .b = { 9 } }, d2 = { .b = { 8 } };
	uint8_t chunks[40] = { 0 }, *got;
	uint64_t size;
	size_t len;

	(void)state;
	mlfs_put_le32(chunks + 16, 3000);
	mlfs_put_le32(chunks + 36, 1000);
	assert_int_equal(mlfs_remote_content_format(&key, &d, 4000, chunks, 40,
						    &b), 0);
	assert_int_equal(mlfs_remote_content_parse(&key, &d, b.data, b.len,
						   &size, &got, &len), 0);
	assert_int_equal(size, 4000);
	assert_int_equal(len, 40);
	assert_memory_equal(got, chunks, 40);
	free(got);
	/* named by another digest, checked with another key */
	assert_int_equal(mlfs_remote_content_parse(&key, &d2, b.data, b.len,
						   &size, &got, &len), -EIO);
	assert_int_equal(mlfs_remote_content_parse(&other, &d, b.data, b.len,
						   &size, &got, &len), -EIO);
	/* lengths that do not add up to the size */
	assert_int_equal(mlfs_remote_content_format(&key, &d, 4001, chunks, 40,
						    &b), 0);
	assert_int_equal(mlfs_remote_content_parse(&key, &d, b.data, b.len,
						   &size, &got, &len),
			 -EBADMSG);
	mlfs_buf_release(&b);
}

static void test_remote_commit_object(void **state)
{
	struct mlfs_remote_kv kv[1] = { { "acc", "0.9" } };
	struct mlfs_remote_input in[1] = { { .files = 3, .bytes = 9,
					     .how = MLFS_INPUT_MOUNT } };
	struct mlfs_remote_commit c = { .ns = "ml", .name = "m",
					.time = 1700000000, .author = "bob",
					.message = "msg", .kv = kv, .nkv = 1,
					.in = in, .nin = 1 }, got;
	struct mlfs_commit lc = { 0 };
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_id wrong;

	(void)state;
	c.tree.b[3] = 3;
	in[0].commit.b[1] = 1;
	lc.tree = c.tree;
	lc.time = c.time;
	lc.author = c.author;
	lc.message = c.message;
	mlfs_objid_commit(&key, "ml", "m", &lc, &c.id);
	assert_int_equal(mlfs_remote_commit_format(&key, &c, &b), 0);
	assert_int_equal(mlfs_remote_commit_parse(&key, &c.id, b.data, b.len,
						  &got), 0);
	assert_string_equal(got.ns, "ml");
	assert_string_equal(got.author, "bob");
	assert_false(got.has_parent);
	assert_int_equal(got.nkv, 1);
	assert_string_equal(got.kv[0].value, "0.9");
	assert_int_equal(got.nin, 1);
	assert_int_equal(got.in[0].how, MLFS_INPUT_MOUNT);
	assert_int_equal(got.in[0].files, 3);
	mlfs_remote_commit_release(&got);
	/* the key must be the commit's id */
	wrong = c.id;
	wrong.b[0] ^= 1;
	assert_int_equal(mlfs_remote_commit_parse(&key, &wrong, b.data, b.len,
						  &got), -EIO);
	/* a changed byte (a metadata value, the message) */
	for (size_t i = 16; i < b.len; i += 7) {
		b.data[i] ^= 0x01;
		assert_int_not_equal(mlfs_remote_commit_parse(&key, &c.id,
							      b.data, b.len,
							      &got), 0);
		b.data[i] ^= 0x01;
	}
	/* the same commit written as another repository's */
	snprintf(c.name, sizeof(c.name), "other");
	assert_int_equal(mlfs_remote_commit_format(&key, &c, &b), 0);
	assert_int_equal(mlfs_remote_commit_parse(&key, &c.id, b.data, b.len,
						  &got), -EIO);
	mlfs_buf_release(&b);
}

static void test_remote_ref_object(void **state)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct mlfs_id c = { .b = { 0xab, 0xcd } }, got;
	char ns[MLFS_NAME_MAX + 1], name[MLFS_NAME_MAX + 1];
	char ref[MLFS_NAME_MAX + 1];
	int kind;

	(void)state;
	assert_int_equal(mlfs_remote_ref_format(&key, "ml", "m", 'b', "main",
						&c, &b), 0);
	assert_int_equal(b.len, 90);
	assert_int_equal(mlfs_remote_ref_parse(&key, "ml", "m", 'b', "main",
					       b.data, b.len, &got), 0);
	assert_memory_equal(&got, &c, sizeof(c));
	/* the check covers repository, kind and name */
	assert_int_equal(mlfs_remote_ref_parse(&key, "ml", "x", 'b', "main",
					       b.data, b.len, &got), -EIO);
	assert_int_equal(mlfs_remote_ref_parse(&key, "ml", "m", 't', "main",
					       b.data, b.len, &got), -EIO);
	assert_int_equal(mlfs_remote_ref_parse(&key, "ml", "m", 'a', "main",
					       b.data, b.len, &got), -EIO);
	assert_int_equal(mlfs_remote_ref_parse(&key, "ml", "m", 'b', "dev",
					       b.data, b.len, &got), -EIO);
	b.data[20] = b.data[20] == '0' ? '1' : '0';
	assert_int_equal(mlfs_remote_ref_parse(&key, "ml", "m", 'b', "main",
					       b.data, b.len, &got), -EIO);
	assert_int_equal(mlfs_remote_ref_parse(&key, "ml", "m", 'b', "main",
					       b.data, b.len - 1, &got),
			 -EBADMSG);
	mlfs_buf_release(&b);
	assert_int_equal(mlfs_remote_ref_key_parse("refs/ml/m/tags/v1", ns,
						   name, &kind, ref), 0);
	assert_string_equal(ns, "ml");
	assert_string_equal(ref, "v1");
	assert_int_equal(kind, 't');
	assert_int_equal(mlfs_remote_ref_key_parse("refs/ml/m/other/v1", ns,
						   name, &kind, ref), -EINVAL);
	assert_int_equal(mlfs_remote_ref_key_parse("refs/ml/m/tags/v1/x", ns,
						   name, &kind, ref), -EINVAL);
	assert_int_equal(mlfs_remote_ref_key_parse("refs/ml/../tags/v1", ns,
						   name, &kind, ref), -EINVAL);
}

static void test_remote_store_table(void **state)
{
	char dir[] = "/tmp/mlfs-test-remote.XXXXXX", path[PATH_MAX];
	struct mlfs_remote r, *v;
	struct mlfs_store *s;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	assert_int_equal(mlfs_store_init(path, NULL), 0);
	assert_int_equal(mlfs_store_open(path, 0, &s), 0);
	assert_int_equal(mlfs_remote_pick(s, NULL, &r), -ENOENT);
	assert_int_equal(mlfs_remote_make("up", "s3://bkt/p", "http://h:1",
					  NULL, true, &r), 0);
	r.cache_size = 1 << 20;
	assert_int_equal(mlfs_remote_add(s, &r), 0);
	assert_int_equal(mlfs_remote_add(s, &r), -EEXIST);
	mlfs_remote_release(&r);
	/* the only remote is the default */
	assert_int_equal(mlfs_remote_pick(s, NULL, &r), 0);
	assert_string_equal(r.name, "up");
	assert_string_equal(r.prefix, "p/");
	assert_string_equal(r.endpoint, "http://h:1");
	assert_true(r.virtual_host);
	assert_int_equal(r.cache_size, 1 << 20);
	mlfs_remote_release(&r);
	assert_int_equal(mlfs_remote_list(s, &v, &n), 0);
	assert_int_equal(n, 1);
	mlfs_remote_list_free(v, n);
	assert_int_equal(mlfs_remote_get(s, "nope", &r), -ENOENT);
	assert_int_equal(mlfs_remote_remove(s, "nope"), -ENOENT);
	assert_int_equal(mlfs_remote_remove(s, "up"), 0);
	assert_int_equal(mlfs_remote_list(s, &v, &n), 0);
	assert_int_equal(n, 0);
	mlfs_remote_list_free(v, n);
	mlfs_store_close(s);
	testutil_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_name_rules),
		cmocka_unit_test(test_remote_url_parse),
		cmocka_unit_test(test_remote_url_prefix_bound),
		cmocka_unit_test(test_remote_endpoint_forms),
		cmocka_unit_test(test_remote_config_object),
		cmocka_unit_test(test_remote_idx_round_trip_and_damage),
		cmocka_unit_test(test_remote_idx_takes_every_codec),
		cmocka_unit_test(test_remote_packlist_round_trip_and_damage),
		cmocka_unit_test(test_remote_content_object),
		cmocka_unit_test(test_remote_commit_object),
		cmocka_unit_test(test_remote_ref_object),
		cmocka_unit_test(test_remote_store_table),
	};

	keys();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

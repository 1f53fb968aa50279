/*
 * test_store.c - a real store in a temp directory: init and open errors,
 * config checks, import then resolve of every reference form, refs,
 * verified chunk reads and content reads across chunk boundaries.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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
#include <sqlite3.h>

#include "mlfs/content.h"
#include "mlfs/import.h"
#include "mlfs/names.h"
#include "mlfs/repo.h"
#include "mlfs/store.h"
#include "mlfs/tree.h"
#include "objid.h"
#include "store_impl.h"

#define BIG_LEN 300000u
/* 2024-03-01T00:00:00Z */
#define MAR1 INT64_C(1709251200)
#define DAY 86400

static const struct mlfs_chunk_params small_chunks = { 1024, 4096, 16384 };

struct fixture {
	char root[64];
	char store_dir[128];
	char src[128];
	struct mlfs_store *s;
	uint8_t *big;                /* contents of src/big.bin */
	struct mlfs_id c1, c2, c3;   /* main (tag v1), main, dev */
};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int rm_fn(const char *path, const struct stat *st MLFS_UNUSED,
		 int flag MLFS_UNUSED, struct FTW *ftw MLFS_UNUSED)
{
	return remove(path) < 0 ? -1 : 0;
}

static void rm_rf(const char *path)
{
	(void)nftw(path, rm_fn, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *dir, const char *name, const void *p,
		       size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 8192);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, 8191, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* tmpfs when there is one: the store fsyncs a lot, and these tests are
 * about behaviour, not durability. */
static const char *tmp_base(void)
{
	const char *t = getenv("MLFS_TEST_TMPDIR");

	if (t && *t)
		return t;
	return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

static int setup_dir(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "%.30s/mlfs-test-store-XXXXXX",
		 tmp_base());
	assert_non_null(mkdtemp(f->root));
	snprintf(f->store_dir, sizeof(f->store_dir), "%s/store", f->root);
	snprintf(f->src, sizeof(f->src), "%s/src", f->root);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mlfs_store_close(f->s);
	rm_rf(f->root);
	free(f->big);
	free(f);
	return 0;
}

static void import(struct fixture *f, const char *ns, const char *name,
		   const char *branch, const char *tag, struct mlfs_id *out)
{
	struct mlfs_import_opts o = { .branch = branch, .tag = tag,
				      .message = "test", .author = "tester",
				      .threads = 2 };
	struct mlfs_import_stats st;

	assert_int_equal(mlfs_import(f->s, f->src, ns, name, &o, &st), 0);
	if (out)
		*out = st.commit;
}

/* Store with small chunks; three commits of t/m: c1 (main, tag v1),
 * c2 (main), c3 (new branch dev). */
static int setup_repo(void **state)
{
	struct mlfs_store_init_opts o = { .zstd_level = 3,
					  .chunk = small_chunks };
	struct fixture *f;
	char sub[PATH_MAX + 8], link[PATH_MAX + 8];
	uint64_t seed = 4242;

	setup_dir(state);
	f = *state;
	assert_int_equal(mkdir(f->src, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/sub", f->src);
	assert_int_equal(mkdir(sub, 0755), 0);
	f->big = malloc(BIG_LEN);
	assert_non_null(f->big);
	for (size_t i = 0; i < BIG_LEN; i++)
		f->big[i] = (uint8_t)splitmix(&seed);
	write_file(f->src, "big.bin", f->big, BIG_LEN);
	write_file(f->src, "a.txt", "hello\n", 6);
	write_file(sub, "c.txt", "nested\n", 7);
	snprintf(link, sizeof(link), "%s/link", f->src);
	assert_int_equal(symlink("a.txt", link), 0);

	assert_int_equal(mlfs_store_init(f->store_dir, &o), 0);
	assert_int_equal(mlfs_store_open(f->store_dir, 0, &f->s), 0);
	import(f, "t", "m", NULL, "v1", &f->c1);
	write_file(f->src, "a.txt", "hello again\n", 12);
	import(f, "t", "m", NULL, NULL, &f->c2);
	write_file(f->src, "a.txt", "on dev\n", 7);
	import(f, "t", "m", "dev", NULL, &f->c3);
	return 0;
}

static void reopen(struct fixture *f)
{
	mlfs_store_close(f->s);
	f->s = NULL;
	assert_int_equal(mlfs_store_open(f->store_dir, 0, &f->s), 0);
}

/* Branch history rows carry a check value over their fields: a test
 * that moves their times (to stand for days passing) seals them again
 * with the store key, as mlfs itself would have written them. */
static void reseal_reflog(sqlite3 *db, const struct mlfs_hash_key *key)
{
	sqlite3_stmt *st, *up;

	assert_int_equal(sqlite3_prepare_v2(db,
		"SELECT l.id, r.ns, r.name, l.branch, l.commit_id, l.time "
		"FROM reflog l JOIN repos r ON r.id = l.repo_id", -1, &st,
		NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
		"UPDATE reflog SET mac = ?2 WHERE id = ?1", -1, &up, NULL),
		SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct mlfs_id c, mac;
		bool del = sqlite3_column_type(st, 4) == SQLITE_NULL;

		if (!del)
			memcpy(c.b, sqlite3_column_blob(st, 4), MLFS_ID_LEN);
		mlfs_objid_reflog_mac(key, sqlite3_column_int64(st, 0),
			(const char *)sqlite3_column_text(st, 1),
			(const char *)sqlite3_column_text(st, 2),
			(const char *)sqlite3_column_text(st, 3),
			del ? NULL : &c, sqlite3_column_int64(st, 5), &mac);
		sqlite3_bind_int64(up, 1, sqlite3_column_int64(st, 0));
		sqlite3_bind_blob(up, 2, mac.b, MLFS_ID_LEN, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(up), SQLITE_DONE);
		sqlite3_reset(up);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(up);
}

/* Run SQL on the closed store's database; ?1..?3 bind @ids if given. */
static void db_exec(struct fixture *f, const char *sql, int64_t n,
		    const struct mlfs_id *a, const struct mlfs_id *b)
{
	struct mlfs_hash_key key = mlfs_store_config(f->s)->key;
	char path[PATH_MAX + 16];
	sqlite3 *db;
	sqlite3_stmt *st;

	mlfs_store_close(f->s);
	f->s = NULL;
	snprintf(path, sizeof(path), "%s/mlfs.db", f->store_dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(st, 1, n);
	if (a)
		sqlite3_bind_blob(st, 2, a->b, MLFS_ID_LEN, SQLITE_STATIC);
	if (b)
		sqlite3_bind_blob(st, 3, b->b, MLFS_ID_LEN, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_true(sqlite3_changes(db) >= 1);
	sqlite3_finalize(st);
	if (!strncmp(sql, "UPDATE reflog", 13))
		reseal_reflog(db, &key);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(mlfs_store_open(f->store_dir, 0, &f->s), 0);
}

static int resolve(struct fixture *f, const char *ref,
		   struct mlfs_resolved *res)
{
	struct mlfs_refspec spec;
	const char *why;
	int r;

	assert_int_equal(mlfs_refspec_parse(ref, 0, &spec, &why), 0);
	r = mlfs_resolve(f->s, &spec, res, NULL, NULL);
	mlfs_refspec_release(&spec);
	return r;
}

static void expect_resolves(struct fixture *f, const char *ref,
			    const struct mlfs_id *want, int kind,
			    bool immutable)
{
	struct mlfs_resolved res;

	assert_int_equal(resolve(f, ref, &res), 0);
	assert_memory_equal(res.commit.b, want->b, MLFS_ID_LEN);
	assert_int_equal(res.rev_kind, kind);
	assert_int_equal(res.immutable, immutable);
	assert_string_equal(res.repo.ns, "t");
	assert_string_equal(res.repo.name, "m");
}

static void expect_resolve_fails(struct fixture *f, const char *ref, int err)
{
	struct mlfs_resolved res;

	assert_int_equal(resolve(f, ref, &res), err);
}

/* ---- init and open ---- */

static void test_store_init_twice_is_eexist(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mlfs_store_init(f->store_dir, NULL), 0);
	assert_int_equal(mlfs_store_init(f->store_dir, NULL), -EEXIST);
}

static void test_store_init_non_empty_dir_is_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mkdir(f->store_dir, 0755), 0);
	write_file(f->store_dir, "junk", "x", 1);
	/* store.h documents -EEXIST; store.c (and cmd_init.c) use
	 * -ENOTEMPTY. */
	assert_int_equal(mlfs_store_init(f->store_dir, NULL), -ENOTEMPTY);
}

static void test_store_init_rejects_bad_opts(void **state)
{
	struct fixture *f = *state;
	struct mlfs_store_init_opts o = { .zstd_level = 20 };
	struct stat st;

	assert_int_equal(mlfs_store_init(f->store_dir, &o), -EINVAL);
	o.zstd_level = -1;
	assert_int_equal(mlfs_store_init(f->store_dir, &o), -EINVAL);
	o.zstd_level = 0;
	o.chunk = (struct mlfs_chunk_params){ 1024, 3000, 16384 };
	assert_int_equal(mlfs_store_init(f->store_dir, &o), -EINVAL);
	/* Nothing was created. */
	assert_int_equal(stat(f->store_dir, &st), -1);
}

static void test_store_init_then_open_keeps_config(void **state)
{
	struct fixture *f = *state;
	struct mlfs_store_init_opts o = { .zstd_level = 7,
					  .chunk = small_chunks };
	const struct mlfs_store_config *c;
	struct mlfs_store *s2;
	uint64_t packs, db;

	assert_int_equal(mlfs_store_init(f->store_dir, &o), 0);
	assert_int_equal(mlfs_store_open(f->store_dir, 0, &f->s), 0);
	c = mlfs_store_config(f->s);
	assert_int_equal(c->format, MLFS_FORMAT_VERSION);
	assert_int_equal(c->zstd_level, 7);
	assert_int_equal(c->chunk.min, 1024);
	assert_int_equal(c->chunk.avg, 4096);
	assert_int_equal(c->chunk.max, 16384);
	assert_string_equal(mlfs_store_dir(f->s), f->store_dir);
	assert_int_equal(mlfs_store_usage(f->s, &packs, &db), 0);
	assert_int_equal(packs, 0);
	assert_true(db > 0);
	/* A second open (read-only) sees the same key. */
	assert_int_equal(mlfs_store_open(f->store_dir, MLFS_STORE_RDONLY, &s2),
			 0);
	assert_memory_equal(mlfs_store_config(s2)->key.secret, c->key.secret,
			    MLFS_HASH_KEY_LEN);
	mlfs_store_close(s2);
	mlfs_store_close(NULL);
}

static void test_store_default_params_when_opts_null(void **state)
{
	struct fixture *f = *state;
	const struct mlfs_store_config *c;

	assert_int_equal(mlfs_store_init(f->store_dir, NULL), 0);
	assert_int_equal(mlfs_store_open(f->store_dir, 0, &f->s), 0);
	c = mlfs_store_config(f->s);
	assert_int_equal(c->zstd_level, MLFS_ZSTD_LEVEL_DEFAULT);
	assert_int_equal(c->chunk.min, MLFS_CHUNK_MIN_DEFAULT);
	assert_int_equal(c->chunk.avg, MLFS_CHUNK_AVG_DEFAULT);
	assert_int_equal(c->chunk.max, MLFS_CHUNK_MAX_DEFAULT);
}

static void test_store_open_non_store_is_enoent(void **state)
{
	struct fixture *f = *state;
	struct mlfs_store *s = (struct mlfs_store *)0x1;
	char file[PATH_MAX + 8];

	/* Absent. */
	assert_int_equal(mlfs_store_open(f->store_dir, 0, &s), -ENOENT);
	/* An empty directory. */
	assert_int_equal(mlfs_store_open(f->root, 0, &s), -ENOENT);
	/* A regular file. */
	write_file(f->root, "file", "x", 1);
	snprintf(file, sizeof(file), "%s/file", f->root);
	assert_int_equal(mlfs_store_open(file, 0, &s), -ENOENT);
	assert_ptr_equal(s, (struct mlfs_store *)0x1);
}

/* Replace the line starting with @key in the config with @line (or drop
 * it when @line is NULL). */
static void edit_config(struct fixture *f, const char *key, const char *line)
{
	char path[PATH_MAX + 8], *text, *out, *p;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/config", f->store_dir);
	text = read_text(path);
	out = calloc(1, strlen(text) + (line ? strlen(line) : 0) + 2);
	assert_non_null(out);
	for (p = text; *p;) {
		char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (!strncmp(p, key, strlen(key))) {
			if (line) {
				strcat(out, line);
				strcat(out, "\n");
			}
		} else {
			strncat(out, p, n);
		}
		p += n;
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(out, fp);
	assert_int_equal(fclose(fp), 0);
	free(out);
	free(text);
}

static void expect_open_fails(struct fixture *f, int err)
{
	struct mlfs_store *s = NULL;

	assert_int_equal(mlfs_store_open(f->store_dir, 0, &s), err);
	assert_null(s);
}

static void test_store_open_newer_format_is_eprotonosupport(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mlfs_store_init(f->store_dir, NULL), 0);
	edit_config(f, "format", "format = 999");
	expect_open_fails(f, -EPROTONOSUPPORT);
	edit_config(f, "format", "format = 2");
	expect_open_fails(f, -EPROTONOSUPPORT);
	edit_config(f, "format", "format = 1");
	assert_int_equal(mlfs_store_open(f->store_dir, 0, &f->s), 0);
}

static void test_store_open_damaged_config_is_ebadmsg(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *key, *line;
	} damage[] = {
		{ "format", "format = one" },
		{ "format", "format = " },
		{ "format", "format = 1x" },
		{ "format", "format = 99999999999" },
		{ "format", NULL },
		{ "chunk_avg", "chunk_avg = 3000" },
		{ "chunk_min", "chunk_min = 1000000" },
		{ "chunk_max", NULL },
		{ "zstd_level", "zstd_level = 0" },
		{ "zstd_level", "zstd_level = 23" },
		{ "hash =", "hash = sha256" },
		{ "hash_key", "hash_key = 00ff" },
		{ "hash_key", NULL },
		{ "format", "this line has no equals sign" },
	};
	char path[PATH_MAX + 8], *orig;
	FILE *fp;

	assert_int_equal(mlfs_store_init(f->store_dir, NULL), 0);
	snprintf(path, sizeof(path), "%s/config", f->store_dir);
	orig = read_text(path);
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(damage); i++) {
		edit_config(f, damage[i].key, damage[i].line);
		expect_open_fails(f, -EBADMSG);
		fp = fopen(path, "w");
		assert_non_null(fp);
		fputs(orig, fp);
		assert_int_equal(fclose(fp), 0);
	}
	/* A non-hex digit in the key. */
	{
		char *k = strstr(orig, "hash_key = ");

		assert_non_null(k);
		k[11 + 100] = 'g';
		fp = fopen(path, "w");
		assert_non_null(fp);
		fputs(orig, fp);
		assert_int_equal(fclose(fp), 0);
		expect_open_fails(f, -EBADMSG);
	}
	/* Empty config. */
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fclose(fp), 0);
	expect_open_fails(f, -EBADMSG);
	free(orig);
}

static void test_store_open_config_without_db_is_ebadmsg(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 16];

	assert_int_equal(mlfs_store_init(f->store_dir, NULL), 0);
	snprintf(path, sizeof(path), "%s/mlfs.db", f->store_dir);
	assert_int_equal(unlink(path), 0);
	expect_open_fails(f, -EBADMSG);
}

/* ---- resolve ---- */

static void test_store_resolve_default_branch_tag_and_branch(void **state)
{
	struct fixture *f = *state;
	struct mlfs_commit c;

	expect_resolves(f, "t/m", &f->c2, MLFS_REF_BRANCH, false);
	expect_resolves(f, "t/m@main", &f->c2, MLFS_REF_BRANCH, false);
	expect_resolves(f, "t/m@v1", &f->c1, MLFS_REF_TAG, false);
	expect_resolves(f, "t/m@dev", &f->c3, MLFS_REF_BRANCH, false);
	/* A new branch starts at the default branch's head. */
	assert_int_equal(mlfs_commit_get(f->s, &f->c3, &c), 0);
	assert_true(c.has_parent);
	assert_memory_equal(c.parent.b, f->c2.b, MLFS_ID_LEN);
	assert_string_equal(c.author, "tester");
	assert_string_equal(c.message, "test");
	mlfs_commit_release(&c);
	assert_int_equal(mlfs_commit_get(f->s, &f->c1, &c), 0);
	assert_false(c.has_parent);
	mlfs_commit_release(&c);
}

static void test_store_resolve_back_steps(void **state)
{
	struct fixture *f = *state;

	expect_resolves(f, "t/m@main~1", &f->c1, MLFS_REF_BRANCH, false);
	expect_resolves(f, "t/m@main~", &f->c1, MLFS_REF_BRANCH, false);
	expect_resolves(f, "t/m@main~0", &f->c2, MLFS_REF_BRANCH, false);
	expect_resolves(f, "t/m@dev~2", &f->c1, MLFS_REF_BRANCH, false);
	expect_resolve_fails(f, "t/m@main~2", -ENOENT);
	expect_resolve_fails(f, "t/m@v1~1", -ENOENT);
	assert_non_null(strstr(mlfs_error_detail(), "has only 1 commit"));
}

static void test_store_resolve_commit_prefix(void **state)
{
	struct fixture *f = *state;
	char hex[MLFS_ID_HEX_LEN + 1], ref[64];

	mlfs_id_to_hex(&f->c1, hex);
	snprintf(ref, sizeof(ref), "t/m@%.8s", hex);
	expect_resolves(f, ref, &f->c1, 'c', true);
	snprintf(ref, sizeof(ref), "t/m@%s", hex);
	expect_resolves(f, ref, &f->c1, 'c', true);
	for (char *p = ref; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	ref[0] = 't'; /* keep "t/m@" */
	ref[2] = 'm';
	expect_resolves(f, ref, &f->c1, 'c', true);
	snprintf(ref, sizeof(ref), "t/m@%.12s~1", hex);
	expect_resolve_fails(f, ref, -ENOENT);
	mlfs_id_to_hex(&f->c2, hex);
	snprintf(ref, sizeof(ref), "t/m@%.10s~1", hex);
	expect_resolves(f, ref, &f->c1, 'c', true);
}

static void test_store_resolve_unknown_is_enoent(void **state)
{
	struct fixture *f = *state;
	char hex[MLFS_ID_HEX_LEN + 1], ref[64];
	struct mlfs_id x = f->c1;

	expect_resolve_fails(f, "t/nope", -ENOENT);
	assert_non_null(strstr(mlfs_error_detail(), "no repository 't/nope'"));
	expect_resolve_fails(f, "u/m", -ENOENT);
	expect_resolve_fails(f, "t/m@nope", -ENOENT);
	assert_non_null(strstr(mlfs_error_detail(), "'nope'"));
	/* A prefix no commit has: flip the first digit of c1. */
	x.b[0] ^= 0x80;
	while (!memcmp(x.b, f->c2.b, 1) || !memcmp(x.b, f->c3.b, 1))
		x.b[0]++;
	mlfs_id_to_hex(&x, hex);
	snprintf(ref, sizeof(ref), "t/m@%.8s", hex);
	expect_resolve_fails(f, ref, -ENOENT);
	snprintf(ref, sizeof(ref), "t/m@%s", hex);
	expect_resolve_fails(f, ref, -ENOENT);
	/* Seven digits are a name, not a prefix: no such ref. */
	mlfs_id_to_hex(&f->c1, hex);
	snprintf(ref, sizeof(ref), "t/m@%.7s", hex);
	expect_resolve_fails(f, ref, -ENOENT);
}

static void test_store_resolve_prefix_of_other_repo_is_enoent(void **state)
{
	struct fixture *f = *state;
	char hex[MLFS_ID_HEX_LEN + 1], ref[64];
	struct mlfs_id other;

	import(f, "t", "other", NULL, NULL, &other);
	mlfs_id_to_hex(&other, hex);
	snprintf(ref, sizeof(ref), "t/m@%s", hex);
	expect_resolve_fails(f, ref, -ENOENT);
}

static void test_store_resolve_ambiguous_prefix_is_enotuniq(void **state)
{
	struct fixture *f = *state;
	struct mlfs_id a, b, *cand = NULL;
	struct mlfs_commit c;
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	size_t ncand = 0;
	const char *why;

	/* Two fake commits sharing 12 hex digits, inserted directly. */
	assert_int_equal(mlfs_id_from_hex("deadbeef0000aaaaaaaaaaaaaaaaaaa1",
					  &a), 0);
	assert_int_equal(mlfs_id_from_hex("deadbeef0000bbbbbbbbbbbbbbbbbbb2",
					  &b), 0);
	assert_int_equal(mlfs_commit_get(f->s, &f->c1, &c), 0);
	db_exec(f, "INSERT INTO commits(id, repo_id, parent, tree, author, "
		"time, message) SELECT ?2, repo_id, NULL, tree, 'x', ?1, 'm' "
		"FROM commits WHERE id = ?3", 1, &a, &f->c1);
	db_exec(f, "INSERT INTO commits(id, repo_id, parent, tree, author, "
		"time, message) SELECT ?2, repo_id, NULL, tree, 'x', ?1, 'm' "
		"FROM commits WHERE id = ?3", 2, &b, &f->c1);
	mlfs_commit_release(&c);

	assert_int_equal(mlfs_refspec_parse("t/m@deadbeef", 0, &spec,
					    &why), 0);
	assert_int_equal(mlfs_resolve(f->s, &spec, &res, &cand, &ncand),
			 -ENOTUNIQ);
	assert_int_equal(ncand, 2);
	assert_non_null(cand);
	assert_memory_equal(cand[0].b, a.b, MLFS_ID_LEN);
	assert_memory_equal(cand[1].b, b.b, MLFS_ID_LEN);
	free(cand);
	assert_non_null(strstr(mlfs_error_detail(), "ambiguous"));
	/* Without a candidates pointer. */
	assert_int_equal(mlfs_resolve(f->s, &spec, &res, NULL, NULL),
			 -ENOTUNIQ);
	mlfs_refspec_release(&spec);
	expect_resolve_fails(f, "t/m@DEADBEEF0000", -ENOTUNIQ);
	/* A unique prefix finds each, and each is then refused: ids made
	 * up in the database do not recompute, like any damaged commit. */
	expect_resolve_fails(f, "t/m@deadbeef0000a", -EIO);
	assert_non_null(strstr(mlfs_error_detail(),
			       "commit deadbeef0000aaaaaaaaaaaaaaaaaaa1: hash "
			       "mismatch"));
	expect_resolve_fails(f, "t/m@deadbeef0000B", -EIO);
	expect_resolve_fails(f, "t/m@deadbeef0001", -ENOENT);
}

static void test_store_resolve_tag_wins_over_branch(void **state)
{
	struct fixture *f = *state;
	struct mlfs_repo repo;

	assert_int_equal(mlfs_repo_get(f->s, "t", "m", &repo), 0);
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_BRANCH, "v1",
					 &f->c2), 0);
	expect_resolves(f, "t/m@v1", &f->c1, MLFS_REF_TAG, false);
}

/* A whole commit id names that commit, whatever names exist: new tags,
 * branches and aliases cannot take one, and one an older store holds
 * is reached only when no commit has that id. */
static void test_store_resolve_full_id_beats_names(void **state)
{
	struct fixture *f = *state;
	char c2hex[MLFS_ID_HEX_LEN + 1], ref[64];
	const char *ghost = "0123456789abcdef0123456789abcdef";
	struct mlfs_repo repo;

	assert_int_equal(mlfs_repo_get(f->s, "t", "m", &repo), 0);
	mlfs_id_to_hex(&f->c2, c2hex);
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_TAG, c2hex,
					 &f->c1), -EINVAL);
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_BRANCH,
					 ghost, &f->c1), -EINVAL);
	/* rows as an older mlfs could write them */
	assert_int_equal(mlfs_meta_ref_set(f->s->meta, repo.id, MLFS_REF_TAG,
					   c2hex, &f->c1, 1), 0);
	assert_int_equal(mlfs_meta_ref_set(f->s->meta, repo.id, MLFS_REF_TAG,
					   ghost, &f->c1, 1), 0);
	snprintf(ref, sizeof(ref), "t/m@%s", c2hex);
	expect_resolves(f, ref, &f->c2, 'c', true);
	for (char *p = ref; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	expect_resolves(f, ref, &f->c2, 'c', true);
	snprintf(ref, sizeof(ref), "t/m@%s", ghost);
	expect_resolves(f, ref, &f->c1, MLFS_REF_TAG, false);
}

static void test_store_resolve_dates(void **state)
{
	struct fixture *f = *state;

	/* Give the reflog fixed times: main got c1 on Mar 1, c2 on Mar 2;
	 * dev got c3 on Mar 3. */
	db_exec(f, "UPDATE reflog SET time = ?1 WHERE commit_id = ?2", MAR1,
		&f->c1, NULL);
	db_exec(f, "UPDATE reflog SET time = ?1 WHERE commit_id = ?2",
		MAR1 + DAY, &f->c2, NULL);
	db_exec(f, "UPDATE reflog SET time = ?1 WHERE commit_id = ?2",
		MAR1 + 2 * DAY, &f->c3, NULL);
	expect_resolve_fails(f, "t/m@{2024-02-29}", -ENOENT);
	assert_non_null(strstr(mlfs_error_detail(), "did not exist"));
	expect_resolve_fails(f, "t/m@{2024-02-29T23:59:59Z}", -ENOENT);
	expect_resolves(f, "t/m@{2024-03-01}", &f->c1, MLFS_REF_BRANCH, true);
	expect_resolves(f, "t/m@{2024-03-01T23:59:59Z}", &f->c1,
			MLFS_REF_BRANCH, true);
	/* 2024-03-02 01:00 in +02:00 is still Mar 1 in UTC. */
	expect_resolves(f, "t/m@{2024-03-02T01:00:00+02:00}", &f->c1,
			MLFS_REF_BRANCH, true);
	expect_resolves(f, "t/m@{2024-03-02}", &f->c2, MLFS_REF_BRANCH, true);
	expect_resolves(f, "t/m@main@{2024-03-01 12:00:05+02:00}", &f->c1,
			MLFS_REF_BRANCH, true);
	expect_resolves(f, "t/m@main@{2025-01-01}", &f->c2, MLFS_REF_BRANCH,
			true);
	expect_resolves(f, "t/m@{2024-03-02}~1", &f->c1, MLFS_REF_BRANCH,
			true);
	expect_resolve_fails(f, "t/m@dev@{2024-03-02}", -ENOENT);
	expect_resolves(f, "t/m@dev@{2024-03-03}", &f->c3, MLFS_REF_BRANCH,
			true);
	/* A date in the future can still change. */
	expect_resolves(f, "t/m@{2999-01-01}", &f->c2, MLFS_REF_BRANCH, false);
	/* Dates apply to branches only. */
	expect_resolve_fails(f, "t/m@v1@{2024-03-02}", -EINVAL);
}

static void test_store_resolve_date_after_branch_recreated(void **state)
{
	struct fixture *f = *state;
	struct mlfs_repo repo;

	db_exec(f, "UPDATE reflog SET time = ?1 WHERE commit_id = ?2",
		MAR1 + 2 * DAY, &f->c3, NULL);
	assert_int_equal(mlfs_repo_get(f->s, "t", "m", &repo), 0);
	assert_int_equal(mlfs_ref_delete(f->s, repo.id, MLFS_REF_BRANCH,
					 "dev"), 0);
	expect_resolve_fails(f, "t/m@dev", -ENOENT);
	/* A deleted branch keeps its history: its past heads resolve. */
	expect_resolves(f, "t/m@dev@{2024-03-03}", &f->c3, MLFS_REF_BRANCH,
			true);
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_BRANCH, "dev",
					 &f->c1), 0);
	expect_resolves(f, "t/m@dev", &f->c1, MLFS_REF_BRANCH, false);
	/* The history from before the deletion is still there. */
	expect_resolves(f, "t/m@dev@{2024-03-03}", &f->c3, MLFS_REF_BRANCH,
			true);
	expect_resolve_fails(f, "t/m@dev@{2024-03-02}", -ENOENT);
	expect_resolves(f, "t/m@dev@{2999-01-01}", &f->c1, MLFS_REF_BRANCH,
			false);
}

/* ---- refs ---- */

static void test_store_ref_create_and_delete(void **state)
{
	struct fixture *f = *state;
	struct mlfs_repo repo, other;
	struct mlfs_id got, oc, bogus;
	struct mlfs_ref *refs;
	size_t n;

	assert_int_equal(mlfs_repo_get(f->s, "t", "m", &repo), 0);
	assert_string_equal(repo.default_branch, "main");
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_TAG, "v2",
					 &f->c2), 0);
	assert_int_equal(mlfs_ref_get(f->s, repo.id, MLFS_REF_TAG, "v2", &got),
			 0);
	assert_memory_equal(got.b, f->c2.b, MLFS_ID_LEN);
	/* Duplicates. */
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_TAG, "v2",
					 &f->c1), -EEXIST);
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_TAG, "v1",
					 &f->c2), -EEXIST);
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_BRANCH,
					 "main", &f->c1), -EEXIST);
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_BRANCH, "dev",
					 &f->c1), -EEXIST);
	/* The failed create left the tag alone. */
	assert_int_equal(mlfs_ref_get(f->s, repo.id, MLFS_REF_TAG, "v2", &got),
			 0);
	assert_memory_equal(got.b, f->c2.b, MLFS_ID_LEN);
	/* Bad names. */
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_TAG, "a b",
					 &f->c1), -EINVAL);
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_TAG, "",
					 &f->c1), -EINVAL);
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_TAG, "x@y",
					 &f->c1), -EINVAL);
	/* Unknown commit; a commit of another repository. */
	memset(bogus.b, 0x42, MLFS_ID_LEN);
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_TAG, "v3",
					 &bogus), -ENOENT);
	import(f, "t", "other", NULL, NULL, &oc);
	assert_int_equal(mlfs_repo_get(f->s, "t", "other", &other), 0);
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_TAG, "v3",
					 &oc), -ENOENT);
	assert_int_equal(mlfs_ref_create(f->s, other.id, MLFS_REF_TAG, "v3",
					 &f->c1), -ENOENT);
	/* List: branches then tags, sorted by name. */
	assert_int_equal(mlfs_ref_list(f->s, repo.id, 0, &refs, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(refs[0].kind, MLFS_REF_BRANCH);
	assert_string_equal(refs[0].name, "dev");
	assert_int_equal(refs[1].kind, MLFS_REF_BRANCH);
	assert_string_equal(refs[1].name, "main");
	assert_int_equal(refs[2].kind, MLFS_REF_TAG);
	assert_string_equal(refs[2].name, "v1");
	assert_int_equal(refs[3].kind, MLFS_REF_TAG);
	assert_string_equal(refs[3].name, "v2");
	free(refs);
	/* Delete. */
	assert_int_equal(mlfs_ref_delete(f->s, repo.id, MLFS_REF_BRANCH,
					 "main"), -EBUSY);
	assert_int_equal(mlfs_ref_get(f->s, repo.id, MLFS_REF_BRANCH, "main",
				      &got), 0);
	assert_int_equal(mlfs_ref_delete(f->s, repo.id, MLFS_REF_TAG, "v2"),
			 0);
	assert_int_equal(mlfs_ref_get(f->s, repo.id, MLFS_REF_TAG, "v2", &got),
			 -ENOENT);
	assert_int_equal(mlfs_ref_delete(f->s, repo.id, MLFS_REF_TAG, "v2"),
			 -ENOENT);
	assert_int_equal(mlfs_ref_delete(f->s, repo.id, MLFS_REF_BRANCH,
					 "dev"), 0);
	assert_int_equal(mlfs_ref_delete(f->s, repo.id, MLFS_REF_BRANCH,
					 "dev"), -ENOENT);
	/* A tag named like the default branch is not the branch. */
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_TAG, "main",
					 &f->c1), 0);
	assert_int_equal(mlfs_ref_delete(f->s, repo.id, MLFS_REF_TAG, "main"),
			 0);
}

static void test_store_import_existing_tag_is_eexist(void **state)
{
	struct fixture *f = *state;
	struct mlfs_import_opts o = { .tag = "v1", .threads = 1 };
	struct mlfs_import_stats st;
	struct mlfs_resolved res;

	assert_int_equal(mlfs_import(f->s, f->src, "t", "m", &o, &st),
			 -EEXIST);
	/* Nothing moved. */
	assert_int_equal(resolve(f, "t/m", &res), 0);
	assert_memory_equal(res.commit.b, f->c2.b, MLFS_ID_LEN);
	o.tag = "bad name";
	assert_int_equal(mlfs_import(f->s, f->src, "t", "m", &o, &st),
			 -EINVAL);
	o.tag = NULL;
	assert_int_equal(mlfs_import(f->s, "/nonexistent/mlfs", "t", "m", &o,
				     &st), -ENOENT);
}

/* ---- chunks and content ---- */

static struct mlfs_content *load_big(struct fixture *f, unsigned flags)
{
	struct mlfs_commit c;
	struct mlfs_entry_copy ec;
	struct mlfs_content *ct = NULL;

	assert_int_equal(mlfs_commit_get(f->s, &f->c1, &c), 0);
	assert_int_equal(mlfs_tree_lookup_path(f->s, &c.tree, "big.bin", &ec),
			 0);
	assert_int_equal(ec.e.type, MLFS_ENTRY_FILE);
	assert_int_equal(ec.e.size, BIG_LEN);
	assert_int_equal(mlfs_content_load(f->s, &ec.e.id, flags, &ct), 0);
	mlfs_entry_copy_release(&ec);
	mlfs_commit_release(&c);
	assert_int_equal(ct->size, BIG_LEN);
	assert_true(ct->n > 20);
	return ct;
}

static void expect_read(struct fixture *f, const struct mlfs_content *ct,
			uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	size_t want = off >= BIG_LEN ? 0 :
		      len < BIG_LEN - off ? len : (size_t)(BIG_LEN - off);

	assert_non_null(buf);
	assert_int_equal(mlfs_content_read(f->s, ct, buf, len, off),
			 (ssize_t)want);
	if (want)
		assert_memory_equal(buf, f->big + off, want);
	free(buf);
}

static void test_store_content_read_across_chunk_boundaries(void **state)
{
	struct fixture *f = *state;
	struct mlfs_content *ct = load_big(f, MLFS_CONTENT_LOCATE);

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 1; i < ct->n; i++) {
			uint64_t b = ct->offs[i];

			expect_read(f, ct, b - 1, 2);
			expect_read(f, ct, b - 3, 7);
			expect_read(f, ct, b, 1);
			expect_read(f, ct, b - 1, 1);
			/* Spanning three chunks. */
			if (i + 1 < ct->n)
				expect_read(f, ct, b - 1,
					    (size_t)(ct->offs[i + 1] - b + 2));
		}
		expect_read(f, ct, 0, BIG_LEN);
		expect_read(f, ct, 0, 1);
		expect_read(f, ct, BIG_LEN - 1, 1);
		/* Short at the end, nothing past it. */
		expect_read(f, ct, BIG_LEN - 10, 100);
		expect_read(f, ct, BIG_LEN, 10);
		expect_read(f, ct, BIG_LEN + 5, 10);
		expect_read(f, ct, 17, 0);
		/* Second pass without a cache. */
		mlfs_store_set_cache_size(f->s, 0);
	}
	mlfs_content_free(ct);
	/* Without located chunks (looked up per read). */
	ct = load_big(f, 0);
	assert_null(ct->locs);
	expect_read(f, ct, 12345, 100000);
	mlfs_content_free(ct);
}

static void pack_path(struct fixture *f, uint64_t pack_id, char *path,
		      size_t size)
{
	char name[40];

	mlfs_pack_name(pack_id, name, sizeof(name));
	snprintf(path, size, "%s/packs/%s", f->store_dir, name);
}

static void flip(const char *path, uint64_t off)
{
	int fd;
	uint8_t v;

	assert_int_equal(chmod(path, 0644), 0);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, 1, (off_t)off), 1);
	v ^= 0x01;
	assert_int_equal(pwrite(fd, &v, 1, (off_t)off), 1);
	assert_int_equal(close(fd), 0);
}

static void test_store_get_chunk_flipped_pack_byte_is_eio(void **state)
{
	struct fixture *f = *state;
	struct mlfs_content *ct = load_big(f, MLFS_CONTENT_LOCATE);
	const struct mlfs_chunk *ch = (const struct mlfs_chunk *)0x1;
	struct mlfs_chunk_loc loc2;
	char path[PATH_MAX], name[40], hex[MLFS_ID_HEX_LEN + 1];
	uint8_t *buf = malloc(BIG_LEN);

	assert_non_null(buf);
	/* Random data is stored raw: a flipped data byte decodes fine and
	 * only the hash catches it. */
	assert_int_equal(ct->locs[1].codec, MLFS_CODEC_RAW);
	pack_path(f, ct->locs[1].pack_id, path, sizeof(path));
	flip(path, ct->locs[1].offset + MLFS_PACK_ENTRY_HEADER_LEN + 10);
	mlfs_error_clear();
	assert_int_equal(mlfs_store_get_chunk(f->s, &ct->ids[1], &ct->locs[1],
					      &ch), -EIO);
	assert_ptr_equal(ch, (const struct mlfs_chunk *)0x1);
	mlfs_pack_name(ct->locs[1].pack_id, name, sizeof(name));
	mlfs_id_to_hex(&ct->ids[1], hex);
	assert_non_null(strstr(mlfs_error_detail(), name));
	assert_non_null(strstr(mlfs_error_detail(), hex));
	assert_non_null(strstr(mlfs_error_detail(), "hash mismatch"));
	/* Same through the index lookup, and through a content read. */
	assert_int_equal(mlfs_store_get_chunk(f->s, &ct->ids[1], NULL, &ch),
			 -EIO);
	assert_int_equal(mlfs_content_read(f->s, ct, buf, 10, ct->offs[1]),
			 -EIO);
	assert_int_equal(mlfs_content_read(f->s, ct, buf, BIG_LEN, 0), -EIO);
	/* Its neighbours still read. */
	expect_read(f, ct, ct->offs[2], 100);
	expect_read(f, ct, 0, (size_t)ct->offs[1]);

	/* A damaged entry header is an I/O error to readers too. */
	loc2 = ct->locs[3];
	pack_path(f, loc2.pack_id, path, sizeof(path));
	flip(path, loc2.offset + 9);
	assert_int_equal(mlfs_store_get_chunk(f->s, &ct->ids[3], &loc2, &ch),
			 -EIO);
	assert_non_null(strstr(mlfs_error_detail(), "corrupt entry"));
	mlfs_content_free(ct);
	free(buf);
}

static void test_store_get_chunk_unknown_is_enoent(void **state)
{
	struct fixture *f = *state;
	const struct mlfs_chunk *ch;
	struct mlfs_chunk_loc loc;
	struct mlfs_id id = { { 0xab } };

	assert_int_equal(mlfs_store_get_chunk(f->s, &id, NULL, &ch), -ENOENT);
	assert_non_null(strstr(mlfs_error_detail(), "not in the index"));
	assert_int_equal(mlfs_store_locate_chunk(f->s, &id, &loc), -ENOENT);
}

static void test_store_get_chunk_missing_pack_is_enoent(void **state)
{
	struct fixture *f = *state;
	struct mlfs_content *ct = load_big(f, MLFS_CONTENT_LOCATE);
	const struct mlfs_chunk *ch;
	char path[PATH_MAX];

	pack_path(f, ct->locs[0].pack_id, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	reopen(f); /* drop cached fds */
	assert_int_equal(mlfs_store_get_chunk(f->s, &ct->ids[0], &ct->locs[0],
					      &ch), -ENOENT);
	assert_non_null(strstr(mlfs_error_detail(), "pack file missing"));
	mlfs_content_free(ct);
}

static void test_store_get_chunk_is_shared_through_cache(void **state)
{
	struct fixture *f = *state;
	struct mlfs_content *ct = load_big(f, MLFS_CONTENT_LOCATE);
	const struct mlfs_chunk *a, *b;

	assert_int_equal(mlfs_store_get_chunk(f->s, &ct->ids[0], &ct->locs[0],
					      &a), 0);
	assert_int_equal(mlfs_store_get_chunk(f->s, &ct->ids[0], NULL, &b), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(a->len, ct->offs[1]);
	assert_memory_equal(a->data, f->big, a->len);
	assert_memory_equal(a->id.b, ct->ids[0].b, MLFS_ID_LEN);
	mlfs_chunk_unref(f->s, a);
	/* Shrinking the cache while a reference is held is safe. */
	mlfs_store_set_cache_size(f->s, 0);
	assert_memory_equal(b->data, f->big, b->len);
	mlfs_chunk_unref(f->s, b);
	mlfs_chunk_unref(f->s, NULL);
	mlfs_content_free(ct);
}

int main(void)
{
#define D(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown)
#define R(fn) cmocka_unit_test_setup_teardown(fn, setup_repo, teardown)
	const struct CMUnitTest tests[] = {
		D(test_store_init_twice_is_eexist),
		D(test_store_init_non_empty_dir_is_refused),
		D(test_store_init_rejects_bad_opts),
		D(test_store_init_then_open_keeps_config),
		D(test_store_default_params_when_opts_null),
		D(test_store_open_non_store_is_enoent),
		D(test_store_open_newer_format_is_eprotonosupport),
		D(test_store_open_damaged_config_is_ebadmsg),
		D(test_store_open_config_without_db_is_ebadmsg),
		R(test_store_resolve_default_branch_tag_and_branch),
		R(test_store_resolve_back_steps),
		R(test_store_resolve_commit_prefix),
		R(test_store_resolve_full_id_beats_names),
		R(test_store_resolve_unknown_is_enoent),
		R(test_store_resolve_prefix_of_other_repo_is_enoent),
		R(test_store_resolve_ambiguous_prefix_is_enotuniq),
		R(test_store_resolve_tag_wins_over_branch),
		R(test_store_resolve_dates),
		R(test_store_resolve_date_after_branch_recreated),
		R(test_store_ref_create_and_delete),
		R(test_store_import_existing_tag_is_eexist),
		R(test_store_content_read_across_chunk_boundaries),
		R(test_store_get_chunk_flipped_pack_byte_is_eio),
		R(test_store_get_chunk_unknown_is_enoent),
		R(test_store_get_chunk_missing_pack_is_enoent),
		R(test_store_get_chunk_is_shared_through_cache),
	};
#undef D
#undef R

	return cmocka_run_group_tests(tests, NULL, NULL);
}

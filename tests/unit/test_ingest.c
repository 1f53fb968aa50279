/*
 * test_ingest.c - the ingest object (ingest.h) that import and snapshot
 * share: files and trees become a commit in one transaction; a refused
 * commit (moved branch, existing tag, failing hook) leaves the branch and
 * every row as they were; packs no transaction took are removed at the
 * end; repositories with no commits (mlfs_repo_create). A real store in
 * a temp directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#include "mlfs/content.h"
#include "mlfs/ingest.h"
#include "mlfs/repo.h"
#include "mlfs/store.h"
#include "mlfs/tree.h"
#include "store_impl.h"
#include "testutil.h"

#define FILE_LEN 40000u

static const struct mlfs_chunk_params small_chunks = { 1024, 4096, 16384 };

struct fixture {
	char root[200];
	char dir[256];
	char src[256];
	struct mlfs_store *s;
	uint8_t a[FILE_LEN], b[FILE_LEN], c[FILE_LEN];
};

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(seed >> 56);
	}
}

static int setup(void **state)
{
	struct mlfs_store_init_opts io = { .chunk = small_chunks };
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "%s/mlfs-test-ingest-XXXXXX",
		 testutil_tmp_base());
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/store", f->root);
	snprintf(f->src, sizeof(f->src), "%s/src", f->root);
	assert_int_equal(mkdir(f->src, 0755), 0);
	fill_random(f->a, FILE_LEN, 1);
	fill_random(f->b, FILE_LEN, 2);
	fill_random(f->c, FILE_LEN, 3);
	testutil_write_file(f->src, "a", f->a, FILE_LEN);
	testutil_write_file(f->src, "b", f->b, FILE_LEN);
	testutil_write_file(f->src, "c", f->c, FILE_LEN);
	assert_int_equal(mlfs_store_init(f->dir, &io), 0);
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

static struct mlfs_ingest *begin(struct fixture *f)
{
	struct mlfs_ingest_opts o = { .threads = 2 };
	struct mlfs_ingest *in = NULL;

	assert_int_equal(mlfs_ingest_begin(f->s, &o, &in), 0);
	assert_non_null(in);
	return in;
}

/* Ingest src/@name; its entry (named by the static @name) into @e. */
static void add_file(struct fixture *f, struct mlfs_ingest *in,
		     const char *name, struct mlfs_entry *e)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->src, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	memset(e, 0, sizeof(*e));
	e->name = name;
	e->type = MLFS_ENTRY_FILE;
	e->mode = 0644;
	e->mtime_ns = 1000;
	assert_int_equal(mlfs_ingest_file(in, fd, path, &e->id, &e->size), 0);
	close(fd);
}

/* A one-file tree of src/@name. */
static void one_file_tree(struct fixture *f, struct mlfs_ingest *in,
			  const char *name, struct mlfs_id *tree)
{
	struct mlfs_entry e;

	add_file(f, in, name, &e);
	assert_int_equal(mlfs_ingest_tree(in, &e, 1, tree), 0);
}

static struct mlfs_commit_req req_for(const char *ns, const char *name,
				      const struct mlfs_id *tree)
{
	struct mlfs_commit_req req = {
		.ns = ns, .name = name, .message = "m", .author = "t",
		.audit_op = "snapshot", .tree = *tree, .create_repo = true,
	};

	return req;
}

/* A repository "t/r" whose main is one commit of src/a. */
static void first_commit(struct fixture *f, struct mlfs_id *c)
{
	struct mlfs_ingest *in = begin(f);
	struct mlfs_commit_result res;
	struct mlfs_commit_req req;
	struct mlfs_id tree;

	one_file_tree(f, in, "a", &tree);
	req = req_for("t", "r", &tree);
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), 0);
	mlfs_ingest_end(in);
	*c = res.commit;
}

static int head(struct fixture *f, const char *ns, const char *name,
		const char *branch, struct mlfs_id *id)
{
	struct mlfs_repo repo;
	int r = mlfs_repo_get(f->s, ns, name, &repo);

	if (r < 0)
		return r;
	return mlfs_ref_get(f->s, repo.id, MLFS_REF_BRANCH, branch, id);
}

/* Whether the row is there (a reader calls a missing one damage). */
static bool content_stored(struct fixture *f, const struct mlfs_id *digest)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	uint64_t size;
	int r = mlfs_meta_content_get(f->s->meta, digest, &size, &b);

	mlfs_buf_release(&b);
	assert_true(r == 0 || r == -ENOENT);
	return r == 0;
}

static size_t count_packs(struct fixture *f)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/packs", f->dir);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int64_t count_chunks(struct fixture *f)
{
	sqlite3_stmt *st;
	int64_t n;

	assert_int_equal(sqlite3_prepare_v2(mlfs_meta_db(f->s->meta),
					    "SELECT count(*) FROM chunks", -1,
					    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The newest audit record: "op|repo|ref|old|new|message", ids in hex. */
static void last_audit(struct fixture *f, char *buf, size_t size)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(mlfs_meta_db(f->s->meta),
					    "SELECT op || '|' || repo || '|' || "
					    "coalesce(ref, '') || '|' || "
					    "lower(coalesce(hex(old_commit), "
					    "'')) || '|' || lower(coalesce("
					    "hex(new_commit), '')) || '|' || "
					    "coalesce(message, '') "
					    "FROM audit ORDER BY id DESC "
					    "LIMIT 1", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static void test_ingest_two_files_and_a_tree_make_a_commit(void **state)
{
	struct fixture *f = *state;
	struct mlfs_ingest *in = begin(f);
	struct mlfs_entry e[2];
	struct mlfs_commit_result res;
	struct mlfs_commit_req req;
	struct mlfs_import_stats st;
	struct mlfs_commit c;
	struct mlfs_id tree, id;
	struct mlfs_content *ct;
	uint8_t back[FILE_LEN];
	char hex[MLFS_ID_HEX_LEN + 1], want[256], got[256];

	add_file(f, in, "a", &e[0]);
	add_file(f, in, "b", &e[1]);
	assert_int_equal(e[0].size, FILE_LEN);
	assert_int_equal(e[1].size, FILE_LEN);
	assert_memory_not_equal(&e[0].id, &e[1].id, sizeof(e[0].id));
	assert_int_equal(mlfs_ingest_tree(in, e, 2, &tree), 0);
	/* Nothing is in the store before the commit. */
	assert_false(content_stored(f, &e[0].id));
	req = req_for("t", "r", &tree);
	req.tag = "v1";
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), 0);
	assert_true(res.created_repo);
	assert_false(res.has_parent);
	mlfs_ingest_stats(in, &st);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.bytes, 2 * FILE_LEN);
	assert_true(st.new_chunks > 0 && st.new_chunks == st.chunks);
	assert_int_equal(st.new_raw_bytes, 2 * FILE_LEN);
	assert_true(st.new_stored_bytes > 0);
	mlfs_ingest_end(in);

	assert_int_equal(head(f, "t", "r", "main", &id), 0);
	assert_memory_equal(&id, &res.commit, sizeof(id));
	assert_int_equal(mlfs_commit_get(f->s, &res.commit, &c), 0);
	assert_memory_equal(&c.tree, &tree, sizeof(tree));
	assert_string_equal(c.message, "m");
	assert_string_equal(c.author, "t");
	assert_false(c.has_parent);
	mlfs_commit_release(&c);
	/* The content reads back byte for byte. */
	assert_int_equal(mlfs_content_load(f->s, &e[1].id, 0, &ct), 0);
	assert_int_equal(mlfs_content_read(f->s, ct, back, FILE_LEN, 0),
			 FILE_LEN);
	assert_memory_equal(back, f->b, FILE_LEN);
	mlfs_content_free(ct);
	mlfs_id_to_hex(&res.commit, hex);
	snprintf(want, sizeof(want), "tag-create|t/r|tag:v1||%s|m", hex);
	last_audit(f, got, sizeof(got));
	assert_string_equal(got, want);
}

static void test_ingest_next_commit_has_the_head_as_parent(void **state)
{
	struct fixture *f = *state;
	struct mlfs_ingest *in;
	struct mlfs_commit_result res;
	struct mlfs_commit_req req;
	struct mlfs_id c1, c2, tree, id;

	first_commit(f, &c1);
	in = begin(f);
	one_file_tree(f, in, "b", &tree);
	req = req_for("t", "r", &tree);
	req.check_parent = true;
	req.expect = &c1;
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), 0);
	assert_false(res.created_repo);
	assert_true(res.has_parent);
	assert_memory_equal(&res.parent, &c1, sizeof(c1));
	/* A new branch starts from the default branch's head. */
	one_file_tree(f, in, "c", &tree);
	req = req_for("t", "r", &tree);
	req.branch = "dev";
	c2 = res.commit;
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), 0);
	assert_true(res.has_parent);
	assert_memory_equal(&res.parent, &c2, sizeof(c2));
	mlfs_ingest_end(in);
	assert_int_equal(head(f, "t", "r", "main", &id), 0);
	assert_memory_equal(&id, &c2, sizeof(id));
	assert_int_equal(head(f, "t", "r", "dev", &id), 0);
	assert_memory_equal(&id, &res.commit, sizeof(id));
}

static void test_ingest_moved_branch_is_estale_and_commits_nothing(
	void **state)
{
	struct fixture *f = *state;
	struct mlfs_ingest *in;
	struct mlfs_commit_result res;
	struct mlfs_commit_req req;
	struct mlfs_entry e;
	struct mlfs_id c1, other = { { 0x5a } }, tree, id;
	char hex1[MLFS_ID_HEX_LEN + 1], hexo[MLFS_ID_HEX_LEN + 1];
	char want[300];
	struct mlfs_tree *t = NULL;
	struct mlfs_buf tb = MLFS_BUF_INIT;
	int64_t nchunks;

	first_commit(f, &c1);
	nchunks = count_chunks(f);
	mlfs_id_to_hex(&c1, hex1);
	mlfs_id_to_hex(&other, hexo);
	in = begin(f);
	add_file(f, in, "b", &e);
	assert_int_equal(mlfs_ingest_tree(in, &e, 1, &tree), 0);
	req = req_for("t", "r", &tree);
	req.check_parent = true;
	req.expect = &other;
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), -ESTALE);
	snprintf(want, sizeof(want), "branch 'main' of 't/r' is at %s, "
		 "expected %s", hex1, hexo);
	assert_string_equal(mlfs_error_detail(), want);
	assert_false(res.has_parent);
	/* The branch, the chunks, contents and trees are as they were. */
	assert_int_equal(head(f, "t", "r", "main", &id), 0);
	assert_memory_equal(&id, &c1, sizeof(id));
	assert_false(content_stored(f, &e.id));
	/* no row (a reader would call that damage: -EIO) */
	assert_int_equal(mlfs_meta_tree_get(f->s->meta, &tree, &tb), -ENOENT);
	assert_int_equal(mlfs_tree_load(f->s, &tree, &t), -EIO);
	assert_int_equal(count_chunks(f), nchunks);
	/* Expecting no branch where there is one is stale too. */
	req.expect = NULL;
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), -ESTALE);
	snprintf(want, sizeof(want), "branch 'main' of 't/r' is at %s, "
		 "expected no such branch", hex1);
	assert_string_equal(mlfs_error_detail(), want);
	/* A branch that does not exist, expected at a commit. */
	req.branch = "dev";
	req.expect = &c1;
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), -ESTALE);
	snprintf(want, sizeof(want), "branch 'dev' of 't/r' does not exist, "
		 "expected it at %s", hex1);
	assert_string_equal(mlfs_error_detail(), want);
	assert_int_equal(head(f, "t", "r", "dev", &id), -ENOENT);
	/* The rows were kept: the retry with the right head commits. */
	req.branch = NULL;
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), 0);
	assert_true(res.has_parent);
	assert_memory_equal(&res.parent, &c1, sizeof(c1));
	mlfs_ingest_end(in);
	assert_true(content_stored(f, &e.id));
	assert_int_equal(mlfs_tree_load(f->s, &tree, &t), 0);
	mlfs_tree_free(t);
	assert_true(count_chunks(f) > nchunks);
	assert_int_equal(head(f, "t", "r", "main", &id), 0);
	assert_memory_equal(&id, &res.commit, sizeof(id));
}

struct hook {
	int calls;
	struct mlfs_id seen;
	int ret;
};

static int hook_fn(void *ctx, const struct mlfs_id *commit)
{
	struct hook *h = ctx;

	h->calls++;
	h->seen = *commit;
	return h->ret;
}

static void test_ingest_failing_before_commit_rolls_everything_back(
	void **state)
{
	struct fixture *f = *state;
	struct mlfs_ingest *in = begin(f);
	struct hook h = { .ret = -ECANCELED };
	struct mlfs_commit_result res;
	struct mlfs_commit_req req;
	struct mlfs_commit c;
	struct mlfs_repo repo;
	struct mlfs_entry e;
	struct mlfs_id tree, zero = { { 0 } };

	add_file(f, in, "a", &e);
	assert_int_equal(mlfs_ingest_tree(in, &e, 1, &tree), 0);
	req = req_for("t", "new", &tree);
	req.tag = "v1";
	req.before_commit = hook_fn;
	req.ctx = &h;
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), -ECANCELED);
	assert_int_equal(h.calls, 1);
	assert_memory_not_equal(&h.seen, &zero, sizeof(zero));
	assert_false(res.created_repo);
	/* No repository, no commit, no rows. */
	assert_int_equal(mlfs_repo_get(f->s, "t", "new", &repo), -ENOENT);
	assert_int_equal(mlfs_commit_get(f->s, &h.seen, &c), -ENOENT);
	assert_false(content_stored(f, &e.id));
	/* The hook that agrees sees the same commit id, which is made. */
	h.ret = 0;
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), 0);
	assert_int_equal(h.calls, 2);
	mlfs_ingest_end(in);
	assert_int_equal(mlfs_commit_get(f->s, &res.commit, &c), 0);
	assert_memory_equal(&c.tree, &tree, sizeof(tree));
	mlfs_commit_release(&c);
	assert_true(content_stored(f, &e.id));
}

static void test_ingest_existing_tag_is_eexist(void **state)
{
	struct fixture *f = *state;
	struct mlfs_ingest *in;
	struct mlfs_commit_result res;
	struct mlfs_commit_req req;
	struct mlfs_repo repo;
	struct mlfs_id c1, tree, id;

	first_commit(f, &c1);
	assert_int_equal(mlfs_repo_get(f->s, "t", "r", &repo), 0);
	assert_int_equal(mlfs_ref_create(f->s, repo.id, MLFS_REF_TAG, "v1",
					 &c1), 0);
	in = begin(f);
	one_file_tree(f, in, "b", &tree);
	req = req_for("t", "r", &tree);
	req.tag = "v1";
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), -EEXIST);
	assert_string_equal(mlfs_error_detail(),
			    "tag 'v1' already exists in 't/r'");
	mlfs_ingest_end(in);
	assert_int_equal(head(f, "t", "r", "main", &id), 0);
	assert_memory_equal(&id, &c1, sizeof(id));
}

static void test_ingest_missing_repo_without_create_is_enoent(void **state)
{
	struct fixture *f = *state;
	struct mlfs_ingest *in = begin(f);
	struct mlfs_commit_result res;
	struct mlfs_commit_req req;
	struct mlfs_repo repo;
	struct mlfs_id tree;

	one_file_tree(f, in, "a", &tree);
	req = req_for("t", "none", &tree);
	req.create_repo = false;
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), -ENOENT);
	assert_string_equal(mlfs_error_detail(), "no repository 't/none'");
	req = req_for("t", "bad name", &tree);
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), -EINVAL);
	req = req_for("t", "r", &tree);
	req.message = NULL;
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), -EINVAL);
	mlfs_ingest_end(in);
	assert_int_equal(mlfs_repo_get(f->s, "t", "none", &repo), -ENOENT);
	assert_int_equal(mlfs_repo_get(f->s, "t", "r", &repo), -ENOENT);
}

static void test_ingest_unborn_repo_first_commit_has_no_parent(void **state)
{
	struct fixture *f = *state;
	struct mlfs_ingest *in;
	struct mlfs_commit_result res;
	struct mlfs_commit_req req;
	struct mlfs_refspec spec;
	const char *why;
	struct mlfs_resolved rs;
	struct mlfs_repo repo, again;
	struct mlfs_ref *refs;
	struct mlfs_id tree, id;
	size_t n;
	char got[256];

	assert_int_equal(mlfs_repo_create(f->s, "m", "fraud", &repo), 0);
	assert_string_equal(repo.ns, "m");
	assert_string_equal(repo.name, "fraud");
	assert_string_equal(repo.default_branch, "main");
	last_audit(f, got, sizeof(got));
	assert_string_equal(got, "repo-create|m/fraud||||");
	assert_int_equal(mlfs_repo_create(f->s, "m", "fraud", &again),
			 -EEXIST);
	assert_int_equal(mlfs_repo_create(f->s, "m", "..", &again), -EINVAL);
	/* No branch yet: resolving says so. */
	assert_int_equal(mlfs_ref_list(f->s, repo.id, 0, &refs, &n), 0);
	assert_int_equal(n, 0);
	free(refs);
	assert_int_equal(mlfs_refspec_parse("m/fraud", 0, &spec, &why),
			 0);
	assert_int_equal(mlfs_resolve(f->s, &spec, &rs, NULL, NULL), -ENOENT);
	assert_true(rs.unborn);
	assert_int_equal(rs.repo.id, repo.id);
	assert_string_equal(mlfs_error_detail(), "'m/fraud' has no commits "
			    "yet (branch 'main' is unborn)");

	in = begin(f);
	one_file_tree(f, in, "a", &tree);
	req = req_for("m", "fraud", &tree);
	req.create_repo = false;
	req.check_parent = true;
	req.expect = NULL;
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), 0);
	assert_false(res.created_repo);
	assert_false(res.has_parent);
	/* The branch is born: expecting none is stale now. */
	assert_int_equal(mlfs_ingest_commit(in, &req, &res), -ESTALE);
	mlfs_ingest_end(in);
	assert_int_equal(head(f, "m", "fraud", "main", &id), 0);
	assert_int_equal(mlfs_resolve(f->s, &spec, &rs, NULL, NULL), 0);
	assert_false(rs.unborn);
	assert_memory_equal(&rs.commit, &id, sizeof(id));
	mlfs_refspec_release(&spec);
}

static void test_ingest_end_discards_only_packs_not_taken(void **state)
{
	struct fixture *f = *state;
	struct mlfs_ingest *in = begin(f);
	struct mlfs_entry a, b, c;
	size_t kept;

	assert_int_equal(count_packs(f), 0);
	add_file(f, in, "a", &a);
	assert_int_equal(mlfs_ingest_flush(in), 0);
	assert_true(content_stored(f, &a.id));
	kept = count_packs(f); /* one per worker that wrote */
	assert_true(kept >= 1 && kept <= 2);
	/* b's new chunks are written to new packs (the workers finish
	 * their queue when stopped), which the end removes. */
	add_file(f, in, "b", &b);
	mlfs_ingest_end(in);
	/* a's packs stay (rows reference them); b's are gone. */
	assert_true(content_stored(f, &a.id));
	assert_false(content_stored(f, &b.id));
	assert_int_equal(count_packs(f), kept);
	/* An ingest that commits nothing leaves nothing. */
	in = begin(f);
	add_file(f, in, "c", &c);
	mlfs_ingest_end(in);
	assert_false(content_stored(f, &c.id));
	assert_int_equal(count_packs(f), kept);
}

static void test_ingest_file_keeps_the_callers_file_position(void **state)
{
	struct fixture *f = *state;
	struct mlfs_ingest *in = begin(f);
	struct mlfs_id d1, d2;
	uint64_t size;
	char path[PATH_MAX];
	int fd;

	/* A sparse file, so that holes are sought. */
	snprintf(path, sizeof(path), "%s/sparse", f->src);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8u << 20), 0);
	assert_int_equal(pwrite(fd, f->a, FILE_LEN, 3u << 20), FILE_LEN);
	assert_int_equal(lseek(fd, 12345, SEEK_SET), 12345);
	assert_int_equal(mlfs_ingest_file(in, fd, path, &d1, &size), 0);
	assert_int_equal(size, 8u << 20);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 12345);
	/* The same bytes give the same digest, read again from offset 0. */
	assert_int_equal(mlfs_ingest_file(in, fd, path, &d2, &size), 0);
	assert_memory_equal(&d1, &d2, sizeof(d1));
	close(fd);
	/* Not a regular file. */
	fd = open(f->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(mlfs_ingest_file(in, fd, f->src, &d1, &size),
			 -EINVAL);
	close(fd);
	mlfs_ingest_end(in);
}

static void test_ingest_begin_on_read_only_store_is_erofs(void **state)
{
	struct fixture *f = *state;
	struct mlfs_store *ro;
	struct mlfs_ingest *in = (struct mlfs_ingest *)&in;
	struct mlfs_repo repo;

	assert_int_equal(mlfs_store_open(f->dir, MLFS_STORE_RDONLY, &ro), 0);
	assert_int_equal(mlfs_ingest_begin(ro, NULL, &in), -EROFS);
	assert_null(in);
	assert_int_equal(mlfs_repo_create(ro, "m", "x", &repo), -EROFS);
	mlfs_store_close(ro);
	mlfs_ingest_end(NULL); /* accepted */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_ingest_two_files_and_a_tree_make_a_commit,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ingest_next_commit_has_the_head_as_parent,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ingest_moved_branch_is_estale_and_commits_nothing,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ingest_failing_before_commit_rolls_everything_back,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ingest_existing_tag_is_eexist, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ingest_missing_repo_without_create_is_enoent,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ingest_unborn_repo_first_commit_has_no_parent,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ingest_end_discards_only_packs_not_taken,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ingest_file_keeps_the_callers_file_position,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ingest_begin_on_read_only_store_is_erofs,
			setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

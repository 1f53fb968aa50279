/*
 * ingest.c - files become chunks, contents and trees, and then a commit;
 * shared by import.c (a walk of local files) and the snapshot of a working
 * tree. The calling thread cuts and hashes (large files are read ahead by
 * import_read.c); chunks the store lacks go to the worker pool of
 * import_pool.c. Index rows wait in memory for one short transaction that
 * commits after the packs are fsync'd (docs/design.md#crash-safety).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlfs/audit.h"
#include "mlfs/idset.h"
#include "mlfs/ingest.h"
#include "mlfs/vmeta.h"
#include "import_pool.h"
#include "import_read.h"
#include "objid.h"
#include "store_impl.h"

/* A content or tree row, buffered until the commit transaction. */
struct row {
	bool is_tree;
	struct mlfs_id id;
	uint64_t size;
	struct mlfs_buf blob; /* owned */
};

/* Used by one thread at a time; only the pool has threads of its own
 * (and its own lock, import_pool.h). */
struct mlfs_ingest {
	struct mlfs_store *s;
	struct mlfs_ingest_opts o;
	int lock_fd;
	/* Index rows wait in memory: the write transaction only spans the
	 * final inserts, so other writers (tags, imports) are not blocked
	 * for the length of an import. */
	struct pool_result *chunk_rows;
	size_t nchunk_rows, cap_chunk_rows;
	struct row *rows;
	size_t nrows, cap_rows;
	struct mlfs_idset row_ids;
	struct import_pool pool;
	bool pool_started;
	struct mlfs_idset session; /* chunks submitted by this ingest */
	/* Where files are cut, unless a format-aware splitter takes the
	 * file (mlfs_ingest_file: safetensors, by its header). */
	const struct mlfs_splitter *splitter;
	struct mlfs_buf reuse_buf; /* scratch of mlfs_ingest_reuse */
	struct mlfs_import_progress prog;
	struct mlfs_import_stats st;
	double t0, last_progress;
};

int mlfs_ingest_begin(struct mlfs_store *s, const struct mlfs_ingest_opts *o,
		      struct mlfs_ingest **out)
{
	struct mlfs_ingest *in;
	long ncpu;
	int r, nthreads;

	*out = NULL;
	if (s->rdonly)
		return -EROFS;
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->s = s;
	in->lock_fd = -1;
	if (o)
		in->o = *o;
	in->splitter = &mlfs_splitter_fastcdc;
	in->t0 = mlfs_now();
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nthreads = in->o.threads > 0 ? in->o.threads :
		   (int)(ncpu > 0 ? ncpu : 2);
	if (nthreads > IMPORT_POOL_MAX_WORKERS)
		nthreads = IMPORT_POOL_MAX_WORKERS;
	/* Shared with other ingests, exclusive of gc: our packs are not
	 * referenced until we commit, and gc must not take them for debris. */
	r = store_lock(s, false, true, &in->lock_fd);
	if (r < 0) {
		mlfs_error_set("cannot take the store's lock");
		goto out;
	}
	/* Every chunk and file is looked up, in hash order. Only a
	 * cache size: a failure costs time. */
	if (mlfs_meta_cache_for_bulk(s->meta) < 0)
		mlfs_error_clear();
	in->pool.level = s->cfg.zstd_level;
	in->pool.job_cap = s->cfg.chunk.max;
	r = mlfs_pack_writer_new(s->packs_dir, &in->pool.w);
	if (r < 0)
		goto out;
	in->pool_started = true;
	r = import_pool_start(&in->pool, nthreads);
out:
	if (r < 0) {
		mlfs_ingest_end(in);
		return r;
	}
	*out = in;
	return 0;
}

void mlfs_ingest_set_totals(struct mlfs_ingest *in, uint64_t bytes,
			    uint64_t files)
{
	in->prog.bytes_total = bytes;
	in->prog.files_total = files;
}

/* Free the buffered rows (inserted, or never to be). */
static void clear_rows(struct mlfs_ingest *in)
{
	for (size_t i = 0; i < in->nrows; i++)
		mlfs_buf_release(&in->rows[i].blob);
	in->nrows = 0;
	in->nchunk_rows = 0;
	mlfs_idset_release(&in->row_ids);
}

void mlfs_ingest_end(struct mlfs_ingest *in)
{
	if (!in)
		return;
	if (in->pool_started)
		import_pool_stop(&in->pool);
	/* The writer holds only packs written since the last successful
	 * transaction (each one hands the writer on, see keep_packs):
	 * nothing references them. */
	mlfs_pack_writer_discard(in->pool.w);
	mlfs_idset_release(&in->session);
	mlfs_buf_release(&in->reuse_buf);
	clear_rows(in);
	free(in->rows);
	free(in->chunk_rows);
	store_unlock(in->lock_fd);
	free(in);
}

void mlfs_ingest_stats(const struct mlfs_ingest *in,
		       struct mlfs_import_stats *st)
{
	/* The lock is the pool's, not part of what the ingest's const
	 * promises: stored_bytes is updated by the workers. */
	pthread_mutex_t *lock = (pthread_mutex_t *)&in->pool.lock;

	*st = in->st;
	if (in->pool_started) {
		pthread_mutex_lock(lock);
		st->new_stored_bytes = in->pool.stored_bytes;
		pthread_mutex_unlock(lock);
	}
	st->seconds = mlfs_now() - in->t0;
}

/* Take the workers' finished chunks into the rows to insert. */
static int collect_results(struct mlfs_ingest *in)
{
	struct pool_result *v;
	size_t n;
	int r = 0;

	import_pool_take_results(&in->pool, &v, &n);
	if (!n) {
		free(v);
		return 0;
	}
	if (in->nchunk_rows + n > in->cap_chunk_rows) {
		size_t nc = (in->nchunk_rows + n) * 2;
		struct pool_result *nv = realloc(in->chunk_rows,
						 nc * sizeof(*nv));

		if (!nv)
			r = -ENOMEM;
		else {
			in->chunk_rows = nv;
			in->cap_chunk_rows = nc;
		}
	}
	if (r == 0) {
		memcpy(in->chunk_rows + in->nchunk_rows, v, n * sizeof(*v));
		in->nchunk_rows += n;
	}
	free(v);
	return r;
}

/* Buffer a content or tree row; takes @blob's storage (left empty). */
static int add_row(struct mlfs_ingest *in, bool is_tree,
		   const struct mlfs_id *id, uint64_t size,
		   struct mlfs_buf *blob)
{
	int r = mlfs_idset_add(&in->row_ids, id, 0, NULL);

	if (r <= 0)
		return r; /* already buffered (or -ENOMEM) */
	if (in->nrows == in->cap_rows) {
		size_t nc = in->cap_rows ? in->cap_rows * 2 : 256;
		struct row *nv = realloc(in->rows, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		in->rows = nv;
		in->cap_rows = nc;
	}
	in->rows[in->nrows].is_tree = is_tree;
	in->rows[in->nrows].id = *id;
	in->rows[in->nrows].size = size;
	in->rows[in->nrows].blob = *blob;
	in->nrows++;
	memset(blob, 0, sizeof(*blob));
	return 0;
}

/* Encode a directory and buffer it; its id is the hash of the encoding. */
int mlfs_ingest_tree(struct mlfs_ingest *in, const struct mlfs_entry *e,
		     size_t n, struct mlfs_id *id)
{
	struct mlfs_buf enc = MLFS_BUF_INIT;
	int r = mlfs_tree_encode(e, n, &enc);

	if (r == 0) {
		mlfs_hash(&in->s->cfg.key, enc.data, enc.len, id);
		r = add_row(in, true, id, 0, &enc);
	}
	mlfs_buf_release(&enc);
	return r;
}

static void progress(struct mlfs_ingest *in, bool force)
{
	double now;

	if (!in->o.progress)
		return;
	now = mlfs_now();
	if (!force && now - in->last_progress < 0.25)
		return;
	in->last_progress = now;
	in->prog.seconds = now - in->t0;
	in->o.progress(in->o.ctx, &in->prog);
}

static int chunk_seen(struct mlfs_ingest *in, const struct mlfs_id *id)
{
	struct mlfs_chunk_loc loc;
	int r;

	if (mlfs_idset_get(&in->session, id))
		return 1;
	r = mlfs_meta_chunk_get(in->s->meta, id, &loc);
	if (r == 0)
		return 1;
	return r == -ENOENT ? 0 : r;
}

/* Files at least this large are read and chunked on a thread of their
 * own, one buffer ahead of the hashing and dedup done here. */
#define THREADED_READ_MIN (16u << 20)

/* Hash, record and (when new) hand one chunk to the workers. */
static int add_chunk(struct mlfs_ingest *in, struct mlfs_hasher *h,
		     struct mlfs_buf *list, const uint8_t *p, size_t len)
{
	uint8_t ent[MLFS_ID_LEN + 4];
	struct mlfs_id id;
	int r;

	mlfs_hash(&in->s->cfg.key, p, len, &id);
	mlfs_hasher_update(h, p, len);
	memcpy(ent, id.b, MLFS_ID_LEN);
	mlfs_put_le32(ent + MLFS_ID_LEN, (uint32_t)len);
	r = mlfs_buf_append(list, ent, sizeof(ent));
	if (r < 0)
		return r;
	in->st.chunks++;
	r = chunk_seen(in, &id);
	if (r == 0) {
		r = mlfs_idset_add(&in->session, &id, 0, NULL);
		if (r >= 0)
			r = import_pool_submit(&in->pool, &id, p,
					       (uint32_t)len);
		if (r >= 0) {
			in->st.new_chunks++;
			in->st.new_raw_bytes += len;
		}
	}
	in->prog.bytes_done += len;
	return r < 0 ? r : 0;
}

/* Cut @fr's batches into chunks: the whole-file digest and the chunk
 * list of the contents row come out. */
static int cut_file(struct mlfs_ingest *in, struct file_reader *fr,
		    const char *path, struct mlfs_hasher *h,
		    struct mlfs_buf *list, uint64_t *total)
{
	struct read_batch b = { .last = false };
	int r = 0;

	while (r == 0 && !b.last) {
		size_t start = 0;

		r = file_reader_next(fr, &b);
		if (r < 0) {
			mlfs_error_set("cannot read '%s'", path);
			break;
		}
		for (size_t i = 0; r == 0 && i < b.n; i++) {
			r = add_chunk(in, h, list, b.data + start,
				      b.ends[i] - start);
			*total += b.ends[i] - start;
			start = b.ends[i];
		}
		progress(in, false);
	}
	return r;
}

int mlfs_ingest_file(struct mlfs_ingest *in, int fd, const char *path,
		     struct mlfs_id *digest, uint64_t *size)
{
	struct mlfs_buf list = MLFS_BUF_INIT;
	struct mlfs_hasher h = { 0 };
	struct file_reader *fr = NULL;
	const struct mlfs_splitter *sp = in->splitter;
	struct mlfs_st_split *sts = NULL;
	uint64_t total = 0;
	off_t pos = -1;
	struct stat st;
	bool holes, began;
	int r;

	if (fstat(fd, &st) < 0) {
		r = -errno;
		mlfs_error_set("cannot stat '%s'", path);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		mlfs_error_set("'%s' is not a regular file", path);
		return -EINVAL;
	}
	/* Holes are found by seeking, which moves the file position the
	 * caller may rely on: put it back afterwards. */
	holes = (uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size;
	if (holes)
		pos = lseek(fd, 0, SEEK_CUR);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	/* The dedup lookups (one per chunk) share one read snapshot instead
	 * of taking SQLite's file locks per statement; a caller's snapshot
	 * (import's, for the whole walk) is joined. */
	began = mlfs_meta_read_begin(in->s->meta);
	r = mlfs_hasher_init(&h, &in->s->cfg.key);
	/* A file whose header parses as safetensors is cut at its tensors;
	 * any other (or odd) file by FastCDC, never an error. */
	if (r == 0 && mlfs_st_split_open(fd, (uint64_t)st.st_size,
					 &in->s->cfg.chunk, &sts) == 1)
		sp = &mlfs_splitter_safetensors;
	if (r == 0)
		r = file_reader_open(fd, &in->s->cfg.chunk, sp, sts,
				     st.st_size >= THREADED_READ_MIN, holes,
				     &fr);
	if (r == 0)
		r = cut_file(in, fr, path, &h, &list, &total);
	file_reader_close(fr);
	mlfs_st_split_free(sts);
	mlfs_meta_read_end(in->s->meta, began);
	if (pos >= 0)
		(void)lseek(fd, pos, SEEK_SET); /* where it was a moment ago */
	if (r == 0) {
		mlfs_hasher_final(&h, digest);
		*size = total;
		r = collect_results(in);
	}
	if (r == 0)
		r = add_row(in, false, digest, total, &list);
	mlfs_hasher_release(&h);
	mlfs_buf_release(&list);
	in->st.bytes += total;
	in->st.files++;
	in->prog.files_done++;
	return r;
}

int mlfs_ingest_has_content(struct mlfs_ingest *in,
			    const struct mlfs_id *digest, uint64_t size)
{
	uint64_t have;
	int r;

	/* The checks a read of the file makes before trusting the row
	 * (meta.c: present, check value, size). Nothing deletes rows
	 * before the commit, so what is found here is there then. */
	r = mlfs_meta_content_get(in->s->meta, digest, &have,
				  &in->reuse_buf);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || have != size) {
		mlfs_error_clear(); /* not an error: the file is read */
		return 0;
	}
	return 1;
}

int mlfs_ingest_has_tree(struct mlfs_ingest *in, const struct mlfs_id *id)
{
	int r = mlfs_meta_tree_get(in->s->meta, id, &in->reuse_buf);

	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		mlfs_error_clear();
		return 0;
	}
	return 1;
}

void mlfs_ingest_count_cached(struct mlfs_ingest *in, uint64_t size)
{
	in->st.files++;
	in->st.files_cached++;
	in->prog.files_done++;
	in->prog.bytes_done += size;
	progress(in, false);
}

/* Insert every buffered row; inside the transaction. */
static int insert_rows(struct mlfs_ingest *in)
{
	struct mlfs_meta *m = in->s->meta;
	int r = 0;

	for (size_t i = 0; r == 0 && i < in->nchunk_rows; i++) {
		const struct pool_result *x = &in->chunk_rows[i];

		if (i == 0 || x->loc.pack_id != x[-1].loc.pack_id)
			r = mlfs_meta_pack_put(m, x->loc.pack_id);
		if (r == 0)
			r = mlfs_meta_chunk_put(m, &x->id, &x->loc);
	}
	for (size_t i = 0; r == 0 && i < in->nrows; i++) {
		const struct row *x = &in->rows[i];

		if (x->is_tree)
			r = mlfs_meta_tree_put(m, &x->id, x->blob.data,
					       x->blob.len);
		else
			r = mlfs_meta_content_put(m, &x->id, x->size,
						  x->blob.data, x->blob.len);
	}
	return r;
}

/* Every chunk written and durable, every row buffered. */
static int barrier(struct mlfs_ingest *in)
{
	int r = import_pool_drain(&in->pool);

	if (r == 0)
		r = collect_results(in);
	/* Pack bytes reach the disk before the transaction that references
	 * them commits. */
	if (r == 0)
		r = mlfs_pack_writer_sync(in->pool.w);
	return r;
}

/* After a transaction that references the packs written so far: new
 * chunks go to @nw's packs, so that mlfs_ingest_end() discards only what
 * no transaction took. The workers are idle (drained), and take the
 * writer from the pool only after the lock hands them a job. */
static void keep_packs(struct mlfs_ingest *in, struct mlfs_pack_writer *nw)
{
	struct mlfs_pack_writer *old;

	pthread_mutex_lock(&in->pool.lock);
	old = in->pool.w;
	in->pool.w = nw;
	pthread_mutex_unlock(&in->pool.lock);
	mlfs_pack_writer_free(old);
	clear_rows(in);
}

static void default_author(char *buf, size_t size)
{
	const char *u = getenv("USER");
	struct passwd *pw;

	if (!u || !*u) {
		pw = getpwuid(geteuid());
		u = pw ? pw->pw_name : "unknown";
	}
	snprintf(buf, size, "%s", u);
}

/* The pairs a commit writes, checked before anything is. */
static int check_meta(const struct mlfs_kv_list *l)
{
	int r = 0;

	if (l && l->n > MLFS_VMETA_PAIRS_MAX) {
		mlfs_error_set("a version holds at most %d keys",
			       MLFS_VMETA_PAIRS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; l && r == 0 && i < l->n; i++) {
		r = mlfs_vmeta_check_key(l->v[i].key);
		if (r == 0)
			r = mlfs_vmeta_check_value(l->v[i].key,
						   l->v[i].value,
						   strlen(l->v[i].value));
	}
	return r;
}

static int check_req(const struct mlfs_commit_req *req)
{
	const char *why;

	if (mlfs_name_check(req->ns, &why) < 0 ||
	    mlfs_name_check(req->name, &why) < 0 ||
	    (req->branch && mlfs_ref_name_check(req->branch, &why) < 0) ||
	    (req->tag && mlfs_ref_name_check(req->tag, &why) < 0)) {
		mlfs_error_set("%s", why);
		return -EINVAL;
	}
	if (!req->message || !req->audit_op) {
		mlfs_error_set("a commit needs a message and an audit "
			       "operation");
		return -EINVAL;
	}
	return check_meta(req->meta);
}

/* The repository, created when missing if @req asks. */
static int commit_repo(struct mlfs_ingest *in,
		       const struct mlfs_commit_req *req,
		       struct mlfs_repo *repo, struct mlfs_commit_result *res)
{
	struct mlfs_meta *m = in->s->meta;
	int r = mlfs_meta_repo_get(m, req->ns, req->name, repo);

	if (r == -ENOENT && req->create_repo) {
		const struct mlfs_audit_event ev = { .op = "repo-create",
						     .ns = req->ns,
						     .name = req->name };

		r = mlfs_meta_repo_create(m, req->ns, req->name, repo);
		if (r == 0)
			r = mlfs_audit_append(in->s, &ev);
		res->created_repo = r == 0;
	} else if (r == -ENOENT) {
		mlfs_error_set("no repository '%s/%s'", req->ns, req->name);
	}
	return r;
}

/* -ESTALE unless the branch head (@head, when @has_head) is what the
 * request expects. */
static int check_head(const struct mlfs_commit_req *req, const char *branch,
		      bool has_head, const struct mlfs_id *head)
{
	char hh[MLFS_ID_HEX_LEN + 1], eh[MLFS_ID_HEX_LEN + 1];

	if (!req->check_parent)
		return 0;
	if (has_head)
		mlfs_id_to_hex(head, hh);
	if (req->expect)
		mlfs_id_to_hex(req->expect, eh);
	if (!req->expect && has_head)
		mlfs_error_set("branch '%s' of '%s/%s' is at %s, expected no "
			       "such branch", branch, req->ns, req->name, hh);
	else if (req->expect && !has_head)
		mlfs_error_set("branch '%s' of '%s/%s' does not exist, "
			       "expected it at %s", branch, req->ns,
			       req->name, eh);
	else if (req->expect && mlfs_id_cmp(head, req->expect))
		mlfs_error_set("branch '%s' of '%s/%s' is at %s, expected %s",
			       branch, req->ns, req->name, hh, eh);
	else
		return 0;
	return -ESTALE;
}

/* The parent is the branch head now, in the transaction: a commit that
 * landed on the branch meanwhile stays in history. A new branch starts
 * from the default branch's head; an unborn repository has none. */
static int commit_parent(struct mlfs_ingest *in,
			 const struct mlfs_commit_req *req,
			 const struct mlfs_repo *repo, const char *branch,
			 struct mlfs_commit *c)
{
	struct mlfs_meta *m = in->s->meta;
	struct mlfs_id head;
	int r = mlfs_meta_ref_get(m, repo->id, MLFS_REF_BRANCH, branch, &head);

	if (r < 0 && r != -ENOENT)
		return r;
	c->has_parent = r == 0;
	c->parent = head;
	r = check_head(req, branch, c->has_parent, &head);
	if (r < 0 || c->has_parent)
		return r;
	r = mlfs_meta_ref_get(m, repo->id, MLFS_REF_BRANCH,
			      repo->default_branch, &c->parent);
	c->has_parent = r == 0;
	return r == -ENOENT ? 0 : r;
}

/* The audit records of a commit: the branch moved from @old (NULL: the
 * branch is new) and the tag it set, each with the commit message. */
static int commit_audit(struct mlfs_store *s,
			const struct mlfs_commit_req *req, const char *branch,
			const struct mlfs_id *old, const struct mlfs_commit *c)
{
	char ref[MLFS_NAME_MAX + 8];
	struct mlfs_audit_event ev = { .op = req->audit_op, .ns = req->ns,
				       .name = req->name, .ref = ref,
				       .old_commit = old,
				       .new_commit = &c->id,
				       .message = req->message };
	int r;

	snprintf(ref, sizeof(ref), "branch:%s", branch);
	r = mlfs_audit_append(s, &ev);
	if (r < 0 || !req->tag)
		return r;
	snprintf(ref, sizeof(ref), "tag:%s", req->tag);
	ev.op = "tag-create";
	ev.old_commit = NULL;
	return mlfs_audit_append(s, &ev);
}

/* The inputs rows of commit @id (merged copies of @req's); in the
 * transaction. */
static int commit_inputs(struct mlfs_ingest *in,
			 const struct mlfs_commit_req *req,
			 const struct mlfs_id *id)
{
	struct mlfs_input *v;
	struct mlfs_commit c;
	char hex[MLFS_ID_HEX_LEN + 1];
	size_t n;
	int r = 0;

	if (!req->ninputs)
		return 0;
	v = malloc(req->ninputs * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, req->inputs, req->ninputs * sizeof(*v));
	n = mlfs_inputs_merge(v, req->ninputs);
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = mlfs_meta_commit_get(in->s->meta, &v[i].commit, &c);
		if (r == -ENOENT) {
			mlfs_id_to_hex(&v[i].commit, hex);
			mlfs_error_set("input %s is not a commit of this "
				       "store", hex);
		}
		if (r == 0) {
			mlfs_meta_commit_release(&c);
			r = mlfs_meta_input_put(in->s->meta, id, &v[i]);
		}
	}
	free(v);
	return r;
}

/* The commit row, the refs and the audit records; in the transaction. */
static int commit_rows(struct mlfs_ingest *in,
		       const struct mlfs_commit_req *req,
		       const struct mlfs_repo *repo, const char *branch,
		       struct mlfs_commit *c)
{
	struct mlfs_store *s = in->s;
	struct mlfs_id old;
	bool had_branch;
	int r;

	c->repo_id = repo->id;
	c->time = (int64_t)time(NULL);
	mlfs_objid_commit(&s->cfg.key, req->ns, req->name, c, &c->id);
	/* the head before, which a new branch's parent is not */
	r = mlfs_meta_ref_get(s->meta, repo->id, MLFS_REF_BRANCH, branch,
			      &old);
	if (r < 0 && r != -ENOENT)
		return r;
	had_branch = r == 0;
	r = mlfs_meta_commit_put(s->meta, c);
	if (r == 0)
		r = commit_inputs(in, req, &c->id);
	if (r == 0)
		r = mlfs_meta_ref_set(s->meta, repo->id, MLFS_REF_BRANCH,
				      branch, &c->id, c->time);
	if (r == 0 && req->tag)
		r = mlfs_meta_ref_set(s->meta, repo->id, MLFS_REF_TAG,
				      req->tag, &c->id, c->time);
	for (size_t i = 0; r == 0 && req->meta && i < req->meta->n; i++)
		r = mlfs_meta_vmeta_put(s->meta, &c->id, req->meta->v[i].key,
					req->meta->v[i].value);
	if (r == 0)
		r = commit_audit(s, req, branch, had_branch ? &old : NULL, c);
	if (r == 0 && req->before_commit)
		r = req->before_commit(req->ctx, &c->id);
	return r;
}

/* A new tag or branch never takes the name of an alias of the
 * repository (docs/cli.md#references). A branch that exists already
 * keeps moving: stores written otherwise are served as they are. */
static int names_free(struct mlfs_meta *m, const struct mlfs_commit_req *req,
		      const struct mlfs_repo *repo, const char *branch)
{
	const char *names[2] = { req->tag, branch };
	struct mlfs_id at;
	int r;

	r = mlfs_meta_ref_get(m, repo->id, MLFS_REF_BRANCH, branch, &at);
	if (r == 0)
		names[1] = NULL;
	else if (r != -ENOENT)
		return r;
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(names); i++) {
		if (!names[i])
			continue;
		r = mlfs_meta_alias_get(m, repo->id, names[i], &at);
		if (r == -ENOENT)
			continue;
		if (r == 0) {
			mlfs_error_set("name '%s' is taken by an alias of "
				       "'%s/%s'", names[i], req->ns,
				       req->name);
			r = -EEXIST;
		}
		return r;
	}
	return 0;
}

/* The transaction: the rows, and with @req the commit. */
static int commit_txn(struct mlfs_ingest *in,
		      const struct mlfs_commit_req *req,
		      struct mlfs_commit_result *res)
{
	struct mlfs_meta *m = in->s->meta;
	struct mlfs_commit c = { 0 };
	struct mlfs_repo repo;
	struct mlfs_id tag_at;
	const char *branch;
	char author[256];
	int r = mlfs_meta_begin(m);

	if (r < 0)
		return r;
	if (!req) {
		r = insert_rows(in);
		goto out;
	}
	r = commit_repo(in, req, &repo, res);
	if (r < 0)
		goto out;
	if (req->tag &&
	    mlfs_meta_ref_get(m, repo.id, MLFS_REF_TAG, req->tag,
			      &tag_at) == 0) {
		mlfs_error_set("tag '%s' already exists in '%s/%s'", req->tag,
			       req->ns, req->name);
		r = -EEXIST;
		goto out;
	}
	branch = req->branch ? req->branch : repo.default_branch;
	r = names_free(m, req, &repo, branch);
	if (r == 0)
		r = commit_parent(in, req, &repo, branch, &c);
	if (r == 0)
		r = insert_rows(in);
	if (r < 0)
		goto out;
	default_author(author, sizeof(author));
	c.author = (char *)(req->author ? req->author : author);
	c.message = (char *)req->message;
	c.tree = req->tree;
	r = commit_rows(in, req, &repo, branch, &c);
	if (r == 0) {
		res->commit = c.id;
		res->has_parent = c.has_parent;
		res->parent = c.parent;
	}
out:
	if (r < 0) {
		mlfs_meta_rollback(m);
		return r;
	}
	return mlfs_meta_commit(m);
}

/* The barrier, then the transaction; the rows are kept for a retry
 * unless it commits. */
static int store_rows(struct mlfs_ingest *in,
		      const struct mlfs_commit_req *req,
		      struct mlfs_commit_result *res)
{
	struct mlfs_commit_result dummy;
	struct mlfs_pack_writer *nw = NULL;
	int r;

	if (!res)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	if (req) {
		r = check_req(req);
		if (r < 0)
			return r;
	}
	r = barrier(in);
	/* The next writer is made first: once the transaction commits,
	 * nothing may fail before its packs are kept. */
	if (r == 0)
		r = mlfs_pack_writer_new(in->s->packs_dir, &nw);
	if (r == 0)
		r = commit_txn(in, req, res);
	if (r < 0) {
		mlfs_pack_writer_free(nw);
		if (req)
			memset(res, 0, sizeof(*res));
		return r;
	}
	keep_packs(in, nw);
	progress(in, true);
	return 0;
}

int mlfs_ingest_commit(struct mlfs_ingest *in,
		       const struct mlfs_commit_req *req,
		       struct mlfs_commit_result *res)
{
	return store_rows(in, req, res);
}

int mlfs_ingest_flush(struct mlfs_ingest *in)
{
	return store_rows(in, NULL, NULL);
}

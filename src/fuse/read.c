/*
 * read.c - open files of versions and their reads: OPEN, READ (chunks
 * from the store's cache, replied with one writev; the whole-file digest
 * check of verify.c takes each chunk as it is fetched, and the rest of
 * its work is done after the reply) and RELEASE. Reads take the node's
 * state (file.c), loaded by the first read that needs it, so an open the
 * page cache answers costs no SQL; without working trees there are no
 * OPEN and RELEASE at all (FUSE no-open) and reads come with fh 0.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "lineage.h"
#include "ops.h"

/* Loading the open state of @n failed with @r: log it; damage is EIO. */
static int open_failed(struct mlfs_fs *fs, const struct mlfs_node *n,
		       const char *op, int r)
{
	char path[1024];

	mlfs_itable_path(&fs->itable, n, path, sizeof(path));
	mlfs_fs_log(fs, "%s '%s': %s%s%s", op, path, strerror(-r),
		    *mlfs_error_detail() ? ": " : "", mlfs_error_detail());
	return r == -ENOENT || r == -EBADMSG ? -EIO : r;
}

/* Log a failed read of @ino with what the library said. */
static void log_read(struct mlfs_fs *fs, fuse_ino_t ino, const char *fmt,
		     ...) __attribute__((format(printf, 3, 4)));
static void log_read(struct mlfs_fs *fs, fuse_ino_t ino, const char *fmt,
		     ...)
{
	char path[1024], what[512];
	va_list ap;

	/* the node is alive: this file is open */
	mlfs_itable_path(&fs->itable, mlfs_itable_get(&fs->itable, ino),
			 path, sizeof(path));
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	mlfs_fs_log(fs, "read '%s' %s", path, what);
}

/* The whole-file digest of @ino did not match: say so once, and make
 * later opens of the node fail too. */
static void digest_bad(struct mlfs_fs *fs, fuse_ino_t ino,
		       const struct mlfs_content *c)
{
	struct mlfs_node *n = mlfs_itable_get(&fs->itable, ino);
	char hex[MLFS_ID_HEX_LEN + 1];
	bool first;

	pthread_mutex_lock(&fs->itable.lock);
	first = n && !n->digest_bad;
	if (n)
		n->digest_bad = true;
	pthread_mutex_unlock(&fs->itable.lock);
	if (!first)
		return;
	mlfs_id_to_hex(&c->digest, hex);
	log_read(fs, ino, "at EOF: the file's bytes do not match its digest "
		 "%s (damaged database: wrong chunk list)", hex);
}

/*
 * Reply with the @n pieces of @iov. libfuse sends a reply with one
 * writev(2) of the pieces plus its header, and the kernel refuses more
 * than IOV_MAX: a read over more chunks than that (small chunks, 1 MiB
 * reads) is copied into one buffer instead.
 */
static int reply_pieces(fuse_req_t req, const struct iovec *iov, size_t n)
{
	char *buf, *p;
	size_t len = 0;
	int r;

	if (n < IOV_MAX)
		return fuse_reply_iov(req, iov, (int)n);
	for (size_t i = 0; i < n; i++)
		len += iov[i].iov_len;
	buf = malloc(len ? len : 1);
	if (!buf)
		return fuse_reply_err(req, ENOMEM);
	p = buf;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	r = fuse_reply_buf(req, buf, len);
	free(buf);
	return r;
}

/* The chunks one read of a file holds until its bytes are out. */
struct pieces {
	const struct mlfs_chunk *stack_ch[64], **ch;
	struct mlfs_hashsplit_part *stack_parts[64], **parts;
	struct iovec stack_iov[64], *iov;
	size_t first;  /* the first chunk's index in the file */
	size_t nch;    /* chunks the read covers */
	size_t idx;    /* chunks taken from the store so far */
	bool ended;    /* the digest saw this read (at EOF) */
	bool taken;    /* ... and took its parts */
};

static void pieces_init(struct pieces *p)
{
	memset(p, 0, sizeof(*p));
	p->ch = p->stack_ch;
	p->parts = p->stack_parts;
	p->iov = p->stack_iov;
}

/* Take the chunks of [@pos, @end) of @f (@end > @pos) into @p, each
 * checked, with the digest's verdict first when @end is EOF. Returns 0
 * or -EIO (logged) / -ENOMEM; pieces_put() in every case. */
static int pieces_get(struct mlfs_fs *fs, fuse_ino_t ino,
		      struct mlfs_ofile *f, uint64_t pos, uint64_t end,
		      struct pieces *p)
{
	const struct mlfs_content *c = f->c;
	size_t last;
	int dg;

	p->first = mlfs_content_chunk_index(c, pos);
	last = mlfs_content_chunk_index(c, end - 1);
	p->nch = last - p->first + 1;
	if (p->nch > MLFS_ARRAY_SIZE(p->stack_ch)) {
		p->ch = calloc(p->nch, sizeof(*p->ch));
		p->parts = calloc(p->nch, sizeof(*p->parts));
		p->iov = calloc(p->nch, sizeof(*p->iov));
		if (!p->ch || !p->parts || !p->iov) {
			p->nch = 0;
			return -ENOMEM;
		}
	}
	for (p->idx = 0; p->idx < p->nch; p->idx++) {
		size_t i = p->first + p->idx;
		uint64_t cs = c->offs[i], from, to;
		int r = mlfs_ofile_get_chunk(fs->store, f, i, &p->ch[p->idx],
					     &p->parts[p->idx]);

		if (r < 0) {
			char hex[MLFS_ID_HEX_LEN + 1];

			mlfs_id_to_hex(&c->ids[i], hex);
			log_read(fs, ino, "chunk %zu (%s) at offset %llu: "
				 "%s%s%s", i, hex, (unsigned long long)cs,
				 strerror(-r), *mlfs_error_detail() ? ": " : "",
				 mlfs_error_detail());
			return -EIO; /* never hand out wrong or partial bytes */
		}
		from = pos > cs ? pos - cs : 0;
		to = (end < c->offs[i + 1] ? end : c->offs[i + 1]) - cs;
		if (p->ch[p->idx]->len != c->offs[i + 1] - cs) {
			p->idx++;
			log_read(fs, ino, "chunk %zu: %u bytes where the chunk "
				 "list says %llu", i, p->ch[p->idx - 1]->len,
				 (unsigned long long)(c->offs[i + 1] - cs));
			return -EIO;
		}
		p->iov[p->idx].iov_base = (void *)(p->ch[p->idx]->data + from);
		p->iov[p->idx].iov_len = (size_t)(to - from);
	}
	if (end == c->size) {
		/* the verdict comes before the reply of the last bytes */
		dg = mlfs_digest_end(&f->dg, fs->store, c, p->first, p->ch,
				     p->parts, p->nch, true);
		p->ended = p->taken = true;
		if (dg == MLFS_DIGEST_BAD) {
			digest_bad(fs, ino, c);
			return -EIO;
		}
	}
	return 0;
}

/* After the bytes of @p are out (or the read failed with @r): the rest of
 * the digest's work for the read, and the chunks let go. */
static void pieces_put(struct mlfs_fs *fs, fuse_ino_t ino,
		       struct mlfs_ofile *f, struct pieces *p, int r)
{
	/* what the digest still needs of this read costs the reader
	 * nothing now */
	if (!p->ended) {
		p->taken = r == 0;
		if (mlfs_digest_end(&f->dg, fs->store, f->c, p->first, p->ch,
				    p->parts, p->taken ? p->nch : 0, false) ==
		    MLFS_DIGEST_BAD)
			digest_bad(fs, ino, f->c);
	}
	/* a read that failed before its end kept its parts */
	for (size_t i = 0; !p->taken && p->parts && i < p->idx && i < p->nch;
	     i++)
		mlfs_hashsplit_part_free(p->parts[i]);
	/* the reply has been written: the cached chunks may go */
	for (size_t i = 0; i < p->idx && i < p->nch; i++)
		mlfs_chunk_unref(fs->store, p->ch[i]);
	if (p->ch != p->stack_ch)
		free(p->ch);
	if (p->parts != p->stack_parts)
		free(p->parts);
	if (p->iov != p->stack_iov)
		free(p->iov);
}

void mlfs_read_ofile(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct mlfs_ofile *f, struct mlfs_lin_read *rd)
{
	struct mlfs_fs *fs = fs_of(req);
	const struct mlfs_content *c = f->c;
	struct pieces p;
	uint64_t pos = 0, end = 0;
	int r = 0;

	pieces_init(&p);
	if (mlfs_digest_begin(&f->dg) == MLFS_DIGEST_BAD) {
		/* a read-ahead worker may have found it: log it once */
		digest_bad(fs, ino, c);
		r = -EIO;
		goto out;
	}
	if (off < 0) {
		r = -EINVAL;
		goto out;
	}
	pos = (uint64_t)off;
	if (pos >= c->size || !size)
		goto out; /* EOF: empty reply */
	end = size < c->size - pos ? pos + size : c->size;
	mlfs_ofile_readahead(fs->prefetch, f, pos, end, fs->readahead);
	r = pieces_get(fs, ino, f, pos, end, &p);
out:
	/* once the reply is out the kernel may release the file: keep the
	 * open state for the digest and the log until we are done */
	mlfs_ofile_hold(&fs->itable, f);
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (!p.nch)
		fuse_reply_buf(req, NULL, 0);
	else
		reply_pieces(req, p.iov, p.nch);
	if (r == 0 && p.nch)
		mlfs_lin_count(rd, end - pos);
	pieces_put(fs, ino, f, &p, r);
	mlfs_ofile_put(&fs->itable, f);
}

/*
 * A small file's bytes go into the kernel's page cache with its first
 * open (FUSE_NOTIFY_STORE, before the OPEN reply, which keeps the cache),
 * so that reading it costs no READ round trip: the reader of many small
 * files waits for one request per file instead of two. The bytes are
 * checked as a read checks them, the whole-file digest included; on any
 * failure nothing is stored and the reads that follow find and report
 * it. Once per node: the kernel keeps the pages until it drops them, and
 * then reads them as usual.
 */
static bool push_bytes(fuse_req_t req, fuse_ino_t ino, struct mlfs_ofile *f,
		       struct mlfs_lin_read *rd)
{
	struct mlfs_fs *fs = fs_of(req);
	struct fuse_bufvec *bv;
	struct pieces p;
	bool done = false;
	int r;

	pieces_init(&p);
	r = mlfs_digest_begin(&f->dg) == MLFS_DIGEST_BAD ? -EIO :
		pieces_get(fs, ino, f, 0, f->c->size, &p);
	if (r == 0) {
		bv = malloc(sizeof(*bv) + p.nch * sizeof(bv->buf[0]));
		if (bv) {
			*bv = (struct fuse_bufvec){ .count = p.nch };
			for (size_t i = 0; i < p.nch; i++)
				bv->buf[i] = (struct fuse_buf){
					.size = p.iov[i].iov_len,
					.mem = p.iov[i].iov_base,
				};
			done = fuse_lowlevel_notify_store(fs->se, ino, 0, bv,
							  0) == 0;
			if (done)
				mlfs_lin_count(rd, f->c->size);
			free(bv);
		}
	}
	pieces_put(fs, ino, f, &p, r);
	return done;
}

bool mlfs_push_open(fuse_req_t req, fuse_ino_t ino, struct mlfs_node *n,
		    struct mlfs_ofile *f, struct mlfs_lin_read *rd, bool again)
{
	struct mlfs_fs *fs = fs_of(req);
	uint64_t size = f ? f->c->size : n->size;
	bool first, done = false;

	if (!size || size > MLFS_PUSH_MAX)
		return false;
	pthread_mutex_lock(&fs->itable.lock);
	first = !n->pushed;
	n->pushed = true;
	pthread_mutex_unlock(&fs->itable.lock);
	if (!first && !again)
		return false;
	if (f) {
		done = push_bytes(req, ino, f, rd);
	} else if (mlfs_ofile_get(&fs->itable, fs->store, n, &f) == 0) {
		done = push_bytes(req, ino, f, rd);
		mlfs_ofile_done(&fs->itable, n, f);
	} /* else a failed load: the read says why */
	return done;
}

void mlfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mlfs_fs *fs = fs_of(req);
	struct mlfs_node *n = mlfs_itable_get(&fs->itable, ino);
	struct mlfs_vopen *h = NULL;
	bool fresh;
	int r = 0;

	if (!n) {
		r = -ESTALE;
		goto out;
	}
	if (n->type == MLFS_ENTRY_DIR) {
		r = -EISDIR;
		goto out;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		r = -EROFS;
		goto out;
	}
	if (n->type != MLFS_ENTRY_FILE) {
		r = -EINVAL;
		goto out;
	}
	if (mlfs_node_digest_bad(&fs->itable, n)) {
		r = -EIO; /* logged by the read that found it */
		goto out;
	}
	if (fs->no_open) {
		/* "opened" from now on with no request, this file and every
		 * other: reads find the node's state (mlfs_op_read) */
		r = -ENOSYS;
		goto out;
	}
	/* the chunk list is loaded by the first read that needs it (the
	 * node keeps it for its opens): an open the page cache answers
	 * costs no SQL */
	h = calloc(1, sizeof(*h));
	if (!h) {
		r = -ENOMEM;
		goto out;
	}
	mlfs_ofile_node_open(&fs->itable, n);
	h->rd = mlfs_lin_open(fs->lin, fuse_req_ctx(req)->pid,
			      fuse_req_ctx(req)->uid, &n->commit, n->ino,
			      &fresh);
	fi->fh = (uintptr_t)h;
	/* this node's bytes can never change: a moved branch head is a new
	 * node, so whatever the kernel cached stays right. Lineage counts
	 * the bytes served here; reads the page cache answers are not seen
	 * (docs/lineage.md#bytes): dropping the pages at each job's first
	 * open would make every new process read cold. */
	(void)fresh;
	fi->keep_cache = 1;
	fi->noflush = 1;
	(void)mlfs_push_open(req, ino, n, NULL, h->rd, false);
out:
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_open(req, fi);
}

/* A read of a version's file: the node's state, loaded by the first
 * read; with no open (no-open, @rd NULL) the checks an open would have
 * made come first. */
static void read_node(fuse_req_t req, fuse_ino_t ino, size_t size,
		      off_t off, struct mlfs_lin_read *rd)
{
	struct mlfs_fs *fs = fs_of(req);
	struct mlfs_node *n = mlfs_itable_get(&fs->itable, ino);
	struct mlfs_ofile *f = NULL;
	int r;

	if (!n) {
		r = -ESTALE;
		goto out;
	}
	if (n->kind == MLFS_NODE_WT || n->type != MLFS_ENTRY_FILE) {
		r = -EBADF; /* never opened through us */
		goto out;
	}
	if (mlfs_node_digest_bad(&fs->itable, n)) {
		r = -EIO; /* logged by the read that found it */
		goto out;
	}
	r = mlfs_ofile_get(&fs->itable, fs->store, n, &f);
	if (r < 0) {
		r = open_failed(fs, n, "read", r);
		goto out;
	}
	mlfs_read_ofile(req, ino, size, off, f, rd);
	mlfs_ofile_done(&fs->itable, n, f);
	return;
out:
	fuse_reply_err(req, -r);
}

void mlfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi)
{
	struct mlfs_vopen *h = (struct mlfs_vopen *)(uintptr_t)fi->fh;

	read_node(req, ino, size, off, h ? h->rd : NULL);
}

void mlfs_op_release(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi)
{
	struct mlfs_fs *fs = fs_of(req);
	struct mlfs_vopen *h = (struct mlfs_vopen *)(uintptr_t)fi->fh;

	if (!h) {
		fuse_reply_err(req, 0); /* no-open: nothing was opened */
		return;
	}
	mlfs_lin_close(fs->lin, h->rd);
	/* the node is alive until the kernel forgets it, after this */
	mlfs_ofile_node_close(&fs->itable,
			      mlfs_itable_get(&fs->itable, ino));
	free(h);
	fuse_reply_err(req, 0);
}

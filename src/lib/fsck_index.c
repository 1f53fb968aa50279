/*
 * fsck_index.c - the store-wide half of fsck: every chunk index entry
 * points at a matching entry header inside an existing pack whose header
 * is intact, read with one fd per pack (a few kept open) rather than a
 * query or an open per chunk. The entries go into an id map that the
 * walk of the chunk lists (fsck.c) checks lengths and damage against.
 * Also the look at mlfs.db's own header for a store that does not open.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsck_impl.h"

/* An fd of pack @pack_id with its size; -ENOENT when the file is gone.
 * The pack's header is checked the first time it is opened. */
static int pack_open(struct fsck *f, uint64_t pack_id, int *fd,
		     uint64_t *size)
{
	char path[PATH_MAX], pname[40];
	struct pack_fd *slot;
	struct stat sb;
	int r, nfd;

	for (size_t i = 0; i < PACK_FDS; i++) {
		if (f->fds[i].fd >= 0 && f->fds[i].id == pack_id) {
			*fd = f->fds[i].fd;
			*size = f->fds[i].size;
			return 0;
		}
	}
	mlfs_pack_name(pack_id, pname, sizeof(pname));
	snprintf(path, sizeof(path), "%s/%s", f->s->packs_dir, pname);
	nfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nfd < 0)
		return -errno;
	if (fstat(nfd, &sb) < 0) {
		r = -errno;
		close(nfd);
		return r;
	}
	slot = &f->fds[f->next_fd];
	f->next_fd = (f->next_fd + 1) % PACK_FDS;
	if (slot->fd >= 0)
		close(slot->fd);
	slot->id = pack_id;
	slot->fd = nfd;
	slot->size = (uint64_t)sb.st_size;
	*fd = nfd;
	*size = slot->size;
	return 0;
}

/* A pack's header makes it self-describing (repair scans rely on it):
 * check it once per pack. Its chunks are judged by their own entries. */
static int check_pack_header(struct fsck *f, uint64_t pack_id, int fd)
{
	uint8_t hdr[MLFS_PACK_HEADER_LEN];
	struct mlfs_id key = { { 0 } };
	char pname[40];
	uint64_t got;
	bool ok;
	int r;

	mlfs_put_le64(key.b, pack_id);
	if (mlfs_idset_get(&f->packs, &key))
		return 0;
	ok = mlfs_pread_full(fd, hdr, sizeof(hdr), 0) == 0 &&
	     mlfs_pack_header_check(hdr, &got) == 0 && got == pack_id;
	r = mlfs_idset_add(&f->packs, &key, ok ? 1 : 2, NULL);
	if (r < 0)
		return r;
	mlfs_pack_name(pack_id, pname, sizeof(pname));
	if (!ok && fsck_problem(f, "pack", pname, AT_STORE, "header damaged "
				"(bad magic, version or pack id)") < 0)
		return -ENOMEM;
	/* its chunks are indexed: without its row gc takes it for debris */
	r = mlfs_meta_pack_exists(f->s->meta, pack_id);
	if (r < 0)
		return r;
	if (r == 0 && fsck_problem(f, "pack", pname, AT_STORE, "has no row in "
				   "the packs table (damaged database)") < 0)
		return -ENOMEM;
	return 0;
}

/* What is wrong with index entry @id -> @loc ("" when nothing). */
static int chunk_entry_problem(struct fsck *f, const struct mlfs_id *id,
			       const struct mlfs_chunk_loc *loc, char *why,
			       size_t size)
{
	uint8_t hdr[MLFS_PACK_ENTRY_HEADER_LEN];
	uint32_t raw_len, stored_len;
	enum mlfs_codec codec;
	char pname[40];
	struct mlfs_id hid;
	uint64_t psize;
	int fd, r;

	why[0] = '\0';
	mlfs_pack_name(loc->pack_id, pname, sizeof(pname));
	r = pack_open(f, loc->pack_id, &fd, &psize);
	if (r == -ENOENT) {
		char *remote = NULL;

		/* a pack a remote holds (fetched): not a missing one */
		r = mlfs_meta_rpack_get(f->s->meta, loc->pack_id, &remote,
					NULL);
		free(remote);
		if (r == 0)
			return 0;
		r = -ENOENT;
	}
	if (r < 0) {
		snprintf(why, size, "pack %s is %s", pname, r == -ENOENT ?
			 "missing" : strerror(-r));
		return 0;
	}
	r = check_pack_header(f, loc->pack_id, fd);
	if (r < 0)
		return r;
	if (loc->offset + MLFS_PACK_ENTRY_HEADER_LEN + loc->stored_len >
	    psize) {
		snprintf(why, size, "runs past the end of pack %s (truncated "
			 "pack)", pname);
		return 0;
	}
	if (mlfs_pread_full(fd, hdr, sizeof(hdr), loc->offset) < 0) {
		snprintf(why, size, "cannot read pack %s", pname);
		return 0;
	}
	if (mlfs_pack_entry_parse(hdr, &hid, &codec, &raw_len,
				  &stored_len) < 0 ||
	    mlfs_id_cmp(&hid, id) || raw_len != loc->raw_len ||
	    stored_len != loc->stored_len || codec != loc->codec)
		snprintf(why, size, "entry header in pack %s at offset %"
			 PRIu64 " is damaged or does not match the index",
			 pname, loc->offset);
	return 0;
}

static int check_chunk(void *ctx, const struct mlfs_id *id,
		       const struct mlfs_chunk_loc *loc)
{
	struct fsck *f = ctx;
	char hex[MLFS_ID_HEX_LEN + 1], why[512];
	uint64_t v = loc->raw_len;
	int r;

	f->st->chunks++;
	r = chunk_entry_problem(f, id, loc, why, sizeof(why));
	if (r < 0)
		return r;
	if (why[0]) {
		long i;

		mlfs_id_to_hex(id, hex);
		i = fsck_problem(f, "chunk", hex, AT_STORE, "%s", why);
		if (i < 0)
			return -ENOMEM;
		v |= (uint64_t)(i + 1) << 32;
	}
	r = mlfs_idset_add(&f->chunks, id, v, NULL);
	return r < 0 ? r : 0;
}

int fsck_check_index(struct fsck *f)
{
	uint64_t before;
	int r;

	mlfs_error_clear();
	r = mlfs_meta_each_chunk(f->s->meta, check_chunk, f);
	for (size_t i = 0; i < PACK_FDS; i++) {
		if (f->fds[i].fd >= 0)
			close(f->fds[i].fd);
		f->fds[i].fd = -1;
	}
	if (r == -ENOMEM)
		return r;
	f->index_complete = r == 0;
	if (r == 0)
		return 0;
	before = f->st->chunks;
	/* Chunks past the damage are looked up one by one as lists use
	 * them; those lookups report what they cannot read. */
	r = fsck_problem(f, "database", NULL, AT_STORE, "the chunk index "
			 "cannot be read past its %" PRIu64 " first entries: "
			 "%s", before, fsck_db_why(NULL, r));
	return r < 0 ? r : 0;
}

int fsck_chunk_value(struct fsck *f, const struct mlfs_id *id,
		       uint64_t *v)
{
	uint64_t *p = mlfs_idset_get(&f->chunks, id);
	struct mlfs_chunk_loc loc;
	char why[512];
	int r;

	if (p) {
		*v = *p;
		return 0;
	}
	if (f->index_complete)
		return 1;
	mlfs_error_clear();
	r = mlfs_meta_chunk_get(f->s->meta, id, &loc);
	if (r == -ENOENT)
		return 1;
	if (r < 0)
		return r;
	f->st->chunks++;
	r = chunk_entry_problem(f, id, &loc, why, sizeof(why));
	if (r < 0)
		return r;
	*v = loc.raw_len;
	if (why[0]) {
		char hex[MLFS_ID_HEX_LEN + 1];
		long i;

		mlfs_id_to_hex(id, hex);
		i = fsck_problem(f, "chunk", hex, AT_PATH, "%s", why);
		if (i < 0)
			return -ENOMEM;
		*v |= (uint64_t)(i + 1) << 32;
	}
	r = mlfs_idset_add(&f->chunks, id, *v, NULL);
	return r < 0 ? r : 0;
}

/* The SQLite file header (sqlite.org/fileformat.html#the_database_header):
 * magic, page size (BE u16 at 16, 1 meaning 65536), change counter (24),
 * page count (28), and the counter value the page count is valid for
 * (92). SQLite refuses a file shorter than a valid page count says. */
#define SQLITE_HEADER_LEN 100

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* With @opened (SQLite opened the file and read it), its page count
 * was good: a count larger than the file then only means a checkpoint
 * is extending the file right now, not damage. */
static int explain_db(const char *dir, bool opened, char *why, size_t size)
{
	static const char magic[16] = "SQLite format 3";
	uint8_t h[SQLITE_HEADER_LEN];
	uint64_t page, npages, fsize;
	char path[PATH_MAX];
	struct stat sb;
	int fd, r;

	snprintf(path, sizeof(path), "%s/mlfs.db", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fstat(fd, &sb) < 0 ? -errno : 0;
	fsize = r == 0 ? (uint64_t)sb.st_size : 0;
	if (r == 0 && fsize >= sizeof(h))
		r = mlfs_pread_full(fd, h, sizeof(h), 0);
	close(fd);
	if (r < 0)
		return r;
	if (fsize < sizeof(h)) {
		snprintf(why, size, "mlfs.db is %" PRIu64 " bytes, shorter "
			 "than an SQLite header (truncated)", fsize);
		return 1;
	}
	if (memcmp(h, magic, sizeof(magic))) {
		snprintf(why, size, "mlfs.db does not start with the SQLite "
			 "header (overwritten)");
		return 1;
	}
	page = (uint64_t)h[16] << 8 | h[17];
	if (page == 1)
		page = 65536;
	if (page < 512 || page > 65536 || (page & (page - 1))) {
		snprintf(why, size, "mlfs.db's header gives a page size of %"
			 PRIu64 " (damaged header)", page);
		return 1;
	}
	npages = get_be32(h + 28);
	if (!opened && npages && get_be32(h + 24) == get_be32(h + 92) &&
	    fsize < npages * page) {
		snprintf(why, size, "mlfs.db is truncated: %" PRIu64 " bytes, "
			 "its header says %" PRIu64 " pages of %" PRIu64
			 " (%" PRIu64 " bytes)", fsize, npages, page,
			 npages * page);
		return 1;
	}
	if (fsize % page) {
		snprintf(why, size, "mlfs.db is not a whole number of %" PRIu64
			 "-byte pages (%" PRIu64 " bytes): truncated or "
			 "appended to", page, fsize);
		return 1;
	}
	return 0;
}

int mlfs_fsck_explain_db(const char *dir, char *why, size_t size)
{
	return explain_db(dir, false, why, size);
}

/* The store is open: SQLite holds POSIX locks on mlfs.db, and closing
 * any other descriptor of the file would drop them all (another process
 * could then checkpoint and truncate the WAL under our reads, losing
 * commits). So only stat() it: a size that is not a whole number of
 * 512-byte units (the smallest page) is damage. */
int fsck_check_db_file(struct fsck *f)
{
	char path[PATH_MAX], why[256];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/mlfs.db", f->s->dir);
	if (stat(path, &sb) < 0 || sb.st_size % 512 == 0)
		return 0;
	snprintf(why, sizeof(why), "mlfs.db is not a whole number of pages "
		 "(%" PRIu64 " bytes, not a multiple of 512): truncated or "
		 "appended to", (uint64_t)sb.st_size);
	return fsck_problem(f, "database", "mlfs.db", AT_STORE, "%s",
			    why) < 0 ? -ENOMEM : 0;
}

/*
 * fuzz_pack.c - a whole pack file from untrusted bytes: the header
 * (mlfs_pack_header_check), each entry header (mlfs_pack_entry_parse,
 * mlfs_pack_entry_locate) and its stored bytes (mlfs_codec_decode), then
 * the same file through the real I/O paths, mlfs_pack_scan and
 * mlfs_pack_set_read. Invariants: a parsed entry header formats back to
 * the same 40 bytes; the scan finds exactly the entries the in-memory
 * walk does, with the same torn-tail verdict; the pack set reads each of
 * them to the bytes the in-memory decode gave, or fails where it failed;
 * a location from a damaged index row (the input's last 17 bytes) reads
 * only an entry that is really there, else fails with -EBADMSG.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "fuzz.h"
#include "mlfs/pack.h"

#define MAX_ENTRIES 64

struct walk {
	size_t n;
	struct mlfs_id id[MAX_ENTRIES];
	struct mlfs_chunk_loc loc[MAX_ENTRIES];
	bool tail_bad;
};

static char dir[] = "/tmp/mlfs-fuzz-pack.XXXXXX";

static void remove_dir(void)
{
	(void)rmdir(dir); /* best effort: an empty temp dir */
}

static bool same_loc(const struct mlfs_chunk_loc *a,
		     const struct mlfs_chunk_loc *b)
{
	return a->pack_id == b->pack_id && a->offset == b->offset &&
	       a->stored_len == b->stored_len && a->raw_len == b->raw_len &&
	       a->codec == b->codec;
}

/* The walk mlfs_pack_scan does, over memory. */
static int walk_memory(const uint8_t *p, size_t len, struct walk *w)
{
	uint64_t pack_id, off = MLFS_PACK_HEADER_LEN;

	if (len < MLFS_PACK_HEADER_LEN ||
	    mlfs_pack_header_check(p, &pack_id) < 0)
		return -EBADMSG;
	while (off < len && w->n < MAX_ENTRIES) {
		struct mlfs_chunk_loc *loc = &w->loc[w->n];
		struct mlfs_id *id = &w->id[w->n];
		uint8_t again[MLFS_PACK_ENTRY_HEADER_LEN];

		if (len - off < MLFS_PACK_ENTRY_HEADER_LEN ||
		    mlfs_pack_entry_locate(p + off, pack_id, off, len, id,
					   loc) < 0) {
			w->tail_bad = true;
			break;
		}
		mlfs_pack_entry_format(again, id, loc->codec, loc->raw_len,
				       loc->stored_len);
		FUZZ_CHECK(!memcmp(again, p + off, sizeof(again)));
		FUZZ_CHECK(off + MLFS_PACK_ENTRY_HEADER_LEN + loc->stored_len <=
			   len);
		w->n++;
		off += MLFS_PACK_ENTRY_HEADER_LEN + loc->stored_len;
	}
	return 0;
}

static int scan_fn(void *ctx, const struct mlfs_id *id,
		   const struct mlfs_chunk_loc *loc)
{
	struct walk *w = ctx;

	if (w->n == MAX_ENTRIES)
		return -E2BIG; /* the memory walk stopped here too */
	w->id[w->n] = *id;
	w->loc[w->n] = *loc;
	w->n++;
	return 0;
}

/*
 * A chunk location as a damaged index row may give it (offset, lengths
 * and codec from the input's last 17 bytes): mlfs_pack_set_read must
 * refuse it with -EBADMSG unless an entry that decodes sits there, and
 * then return exactly what decoding that entry gives.
 */
static void probe(struct mlfs_pack_set *set, const uint8_t *p, size_t len,
		  uint64_t pack_id)
{
	struct mlfs_chunk_loc loc = { .pack_id = pack_id };
	struct mlfs_id id;
	uint8_t *out, *want;
	int r, w = -EBADMSG;

	if (len < MLFS_PACK_HEADER_LEN + 17)
		return;
	loc.codec = p[len - 17];
	loc.offset = mlfs_get_le64(p + len - 16);
	loc.stored_len = mlfs_get_le32(p + len - 8);
	loc.raw_len = mlfs_get_le32(p + len - 4);
	if (loc.raw_len > MLFS_CHUNK_LIMIT) {
		/* Refused before a byte of the output is written. */
		out = malloc(1);
		FUZZ_CHECK(out != NULL);
		memset(id.b, 0, sizeof(id.b));
		FUZZ_CHECK(mlfs_pack_set_read(set, &id, &loc, out) == -EBADMSG);
		free(out);
		return;
	}
	out = malloc(loc.raw_len + 1);
	want = malloc(loc.raw_len + 1);
	FUZZ_CHECK(out && want);
	memset(id.b, 0, sizeof(id.b));
	if (loc.offset <= len &&
	    len - loc.offset >= MLFS_PACK_ENTRY_HEADER_LEN) {
		const uint8_t *h = p + loc.offset;
		struct mlfs_chunk_loc got;

		memcpy(id.b, h + 16, MLFS_ID_LEN); /* the id it claims */
		if (mlfs_pack_entry_locate(h, pack_id, loc.offset, len, &id,
					   &got) == 0 &&
		    got.stored_len == loc.stored_len &&
		    got.raw_len == loc.raw_len && got.codec == loc.codec)
			w = mlfs_codec_decode(got.codec, h +
					      MLFS_PACK_ENTRY_HEADER_LEN,
					      got.stored_len, want,
					      got.raw_len);
	}
	r = mlfs_pack_set_read(set, &id, &loc, out);
	FUZZ_CHECK(r == w || (r == -ENOMEM && w == 0));
	if (r == 0)
		FUZZ_CHECK(!memcmp(out, want, loc.raw_len));
	free(out);
	free(want);
}

static void write_file(const char *path, const uint8_t *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(mlfs_pwrite_full(fd, p, len, 0) == 0);
	FUZZ_CHECK(close(fd) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct walk mem, scan;
	char path[PATH_MAX], name[40];
	struct mlfs_pack_set *set = NULL;
	uint64_t pack_id = 0;
	bool tail_bad;
	int rm, rs;

	static bool have_dir;

	if (!have_dir) {
		FUZZ_CHECK(mkdtemp(dir) != NULL);
		atexit(remove_dir);
		have_dir = true;
	}
	memset(&mem, 0, sizeof(mem));
	memset(&scan, 0, sizeof(scan));
	rm = walk_memory(data, size, &mem);
	if (size >= MLFS_PACK_HEADER_LEN)
		(void)mlfs_pack_header_check(data, &pack_id); /* name only */
	mlfs_pack_name(pack_id, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_file(path, data, size);

	rs = mlfs_pack_scan(path, scan_fn, &scan, &tail_bad);
	if (rm < 0) {
		FUZZ_CHECK(rs == -EBADMSG);
		goto out;
	}
	FUZZ_CHECK(rs == 0 || (rs == -E2BIG && mem.n == MAX_ENTRIES));
	FUZZ_CHECK(scan.n == mem.n);
	if (rs == 0 && mem.n < MAX_ENTRIES)
		FUZZ_CHECK(tail_bad == mem.tail_bad);
	FUZZ_CHECK(mlfs_pack_set_new(dir, &set) == 0);
	for (size_t i = 0; i < mem.n; i++) {
		const struct mlfs_chunk_loc *loc = &mem.loc[i];
		const uint8_t *stored = data + loc->offset +
					MLFS_PACK_ENTRY_HEADER_LEN;
		uint8_t *a = malloc(loc->raw_len + 1);
		uint8_t *b = malloc(loc->raw_len + 1);
		int da, db;

		FUZZ_CHECK(a && b);
		FUZZ_CHECK(same_loc(loc, &scan.loc[i]));
		FUZZ_CHECK(!memcmp(mem.id[i].b, scan.id[i].b, MLFS_ID_LEN));
		da = mlfs_codec_decode(loc->codec, stored, loc->stored_len, a,
				       loc->raw_len);
		db = mlfs_pack_set_read(set, &mem.id[i], loc, b);
		FUZZ_CHECK(da == 0 || da == -EBADMSG || da == -ENOMEM);
		FUZZ_CHECK(db == da);
		if (da == 0)
			FUZZ_CHECK(!memcmp(a, b, loc->raw_len));
		free(a);
		free(b);
	}
	probe(set, data, size, pack_id);
out:
	mlfs_pack_set_free(set);
	unlink(path);
	return 0;
}

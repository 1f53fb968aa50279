/*
 * fuzz_filecache.c - filecache_parse() on an untrusted files cache body
 * (STORE/cache/files-*, docs/format.md#files-cache, its check value cut
 * off) of the repository n/r and source "/". Invariants: failure is
 * -EBADMSG and leaves no cache; on success every entry the body holds is
 * found by its path, and a lookup never reads past the body (ASan).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "filecache.h"
#include "fuzz.h"
#include "mlfs/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mlfs_hash_key key;
	struct filecache *fc;
	uint8_t *p;
	int r;

	if (filecache_open("/nonexistent", &key, "n", "r", "/", false, 0,
			   &fc) < 0)
		return 0;
	p = malloc(size ? size : 1);
	FUZZ_CHECK(p);
	memcpy(p, data, size);
	r = filecache_parse(fc, p, size); /* takes p */
	FUZZ_CHECK(r == 0 || r == -EBADMSG);
	FUZZ_CHECK(filecache_loaded(fc) == (r == 0));
	if (r == 0) {
		size_t off = FILECACHE_HDR + (size_t)data[32] +
			     ((size_t)data[33] << 8);

		while (off < size) {
			const uint8_t *e = data + off;
			size_t plen = (size_t)e[60] | (size_t)e[61] << 8;
			char *rel = fuzz_strndup(e + FILECACHE_ENT, plen);
			struct stat st;
			struct mlfs_id id;

			memset(&st, 0, sizeof(st));
			st.st_mode = (mode_t)mlfs_get_le32(e + 40);
			st.st_dev = (dev_t)mlfs_get_le64(e);
			st.st_ino = (ino_t)mlfs_get_le64(e + 8);
			st.st_size = (off_t)mlfs_get_le64(e + 16);
			/* every time is racy against a cache of time 0 */
			(void)filecache_lookup(fc, rel, &st, &id);
			free(rel);
			off += FILECACHE_ENT + plen;
		}
		FUZZ_CHECK(off == size);
	}
	filecache_free(fc);
	return 0;
}

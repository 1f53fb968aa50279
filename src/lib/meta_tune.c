/*
 * meta_tune.c - per-connection SQLite tuning that a caller asks for when
 * it knows its access pattern (an import's lookups in hash order). It
 * changes how fast statements run, never what they return.
 */
#include <sqlite3.h>

#include "meta_internal.h"

int mlfs_meta_cache_for_bulk(struct mlfs_meta *m)
{
	int rc;

	/* SQLite's default page cache is 2 MiB: lookups in random key order
	 * (every file's content of a 100,000-file re-import) then read most
	 * pages again with pread, one copy each. 64 MiB holds the contents
	 * of such a tree; it is allocated only as pages are read. */
	mlfs_meta_lock(m);
	rc = sqlite3_exec(m->db, "PRAGMA cache_size = -65536;", NULL, NULL,
			  NULL);
	mlfs_meta_unlock(m);
	return rc == SQLITE_OK ? 0 : mlfs_meta_errno(rc);
}

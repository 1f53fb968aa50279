/*
 * cmd_gc.c - mlfs gc: reclaim pack files no version references.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mlfs/gc.h"

static const char usage[] =
	"usage: mlfs gc [--dry-run] [--json]\n\n"
	"Remove pack files that hold no data of any version: what imports\n"
	"killed or failed before their commit leave behind. Waits for "
	"nothing:\n"
	"while an import runs, gc exits 1 and removes nothing. Versions are\n"
	"never deleted (deleting a tag or branch keeps its commits), so gc\n"
	"never frees data a version can reach.\n"
	"  --dry-run  only count what would be removed\n";

int cmd_gc(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct mlfs_store *s = NULL;
	struct mlfs_gc_stats st;
	bool dry = false;
	unsigned flags = 0;
	char b[32];
	int ch, r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, "n", opts, NULL)) != -1) {
		if (ch == 'n')
			dry = true;
		else if (ch == 'j')
			c->json = true;
		else
			return cli_usage_error("gc", "unknown option");
	}
	if (optind != argc)
		return cli_usage_error("gc", "unexpected argument '%s'",
				       argv[optind]);
	if (dry) {
		r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
	} else {
		/* a full disk refuses writable opens (the -shm guard), but gc
		 * writes no row: it is how such a disk gets space back */
		char *dir = c->store_dir ? strdup(c->store_dir) :
			    mlfs_store_default_dir();

		r = dir ? mlfs_store_open(dir, 0, &s) : -ENOMEM;
		free(dir);
		if (r == -ENOSPC) {
			flags |= MLFS_GC_FULL_DISK;
			r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
		} else if (r < 0) {
			r = cli_open_store(c, 0, &s);
		}
	}
	if (r)
		return r;
	r = mlfs_gc_run(s, flags | (dry ? MLFS_GC_DRY_RUN : 0), &st);
	if (r == -EBUSY) {
		r = cli_error(0, "an import is running; run gc when it has "
			      "finished");
		goto out;
	}
	if (r < 0) {
		r = cli_error(r, "gc failed");
		goto out;
	}
	if (c->json)
		printf("{\"dry_run\": %s, \"packs\": %" PRIu64
		       ", \"unreferenced_packs\": %" PRIu64
		       ", \"unreferenced_bytes\": %" PRIu64
		       ", \"damaged_packs_kept\": %" PRIu64 "}\n",
		       dry ? "true" : "false", st.packs_seen,
		       st.packs_unreferenced, st.bytes_unreferenced,
		       st.packs_kept_damaged);
	else
		printf("%s %" PRIu64 " of %" PRIu64 " pack files (%s) that no "
		       "version references\n", dry ? "would remove" : "removed",
		       st.packs_unreferenced, st.packs_seen,
		       cli_human_bytes(st.bytes_unreferenced, b, sizeof(b)));
	r = CLI_OK;
	if (st.packs_kept_damaged)
		/* the rest of gc's work stands; the store needs a look */
		r = cli_error(0, "kept %" PRIu64 " pack file%s that chunks "
			      "use but the database has no row of: the "
			      "database is damaged; run 'mlfs fsck'",
			      st.packs_kept_damaged,
			      st.packs_kept_damaged == 1 ? "" : "s");
out:
	mlfs_store_close(s);
	return r;
}

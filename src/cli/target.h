/*
 * target.h - a file or tree of a version named on the command line
 * ("ns/name[@ref][/path]"), kept with the commit it resolved to so that
 * cat and export can name damage as "'ns/name@ref:path' (commit <id>)".
 */
#ifndef MLFS_CLI_TARGET_H
#define MLFS_CLI_TARGET_H

#include "mlfs/hash.h"
#include "mlfs/store.h"
#include "mlfs/tree.h"

struct cli_target {
	char *version;         /* "ns/name@ref" (owned) */
	char *path;            /* path in the version, "" for the root */
	struct mlfs_id commit;
	struct mlfs_entry_copy ent;
};

/* Resolve @arg and look up the entry it names; reports errors (damage
 * as cli_target_damaged does). Returns CLI_OK or an exit code. Release
 * @t with cli_target_release (also after a failure). */
int cli_target_lookup(struct mlfs_store *s, const char *arg,
		      struct cli_target *t);
void cli_target_release(struct cli_target *t);

/* Report damage found in @t at @sub (a path below t->path, "" for the
 * entry itself), with mlfs_error_detail() saying what mismatched:
 * "mlfs: 'ns/name@ref:path' (commit <id>) is damaged: <detail>".
 * Returns CLI_FAILED. */
int cli_target_damaged(const struct cli_target *t, const char *sub, int r);

#endif

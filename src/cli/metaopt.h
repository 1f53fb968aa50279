/*
 * metaopt.h - the --meta KEY=VALUE and --metrics FILE options that
 * import, snapshot and run share: each is checked as it is parsed, so a
 * bad one is a usage error (exit 2) before anything is written.
 */
#ifndef MLFS_CLI_METAOPT_H
#define MLFS_CLI_METAOPT_H

#include <stdbool.h>

#include "mlfs/vmeta.h"

/* Add one --meta argument (@is_file false) or the pairs of one --metrics
 * file (@is_file true) to @l; later ones replace earlier ones of the
 * same key. Returns CLI_OK, or CLI_USAGE after "mlfs <cmd>: --meta
 * '<arg>': <why>" (or "--metrics: <why>") on stderr. */
int cli_meta_option(const char *cmd, struct mlfs_kv_list *l, bool is_file,
		    const char *arg);

#endif

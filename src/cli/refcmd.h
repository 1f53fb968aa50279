/*
 * refcmd.h - shared implementation of "mlfs tag" and "mlfs branch".
 */
#ifndef MLFS_REFCMD_H
#define MLFS_REFCMD_H

#include "cli.h"

int cli_ref_command(struct cli *c, int argc, char **argv,
		    enum mlfs_ref_kind kind, const char *usage);

#endif

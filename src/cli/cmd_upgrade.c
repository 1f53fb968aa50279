/*
 * cmd_upgrade.c - mlfs upgrade: bring a store made by an older mlfs to
 * the current schema. Reading commands and the mount never change a
 * store, so they ask for this instead of migrating behind a reader.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: mlfs upgrade [--store DIR]\n\n"
	"Migrate the store's database to this mlfs's schema. Rows that no\n"
	"id covers (chunk lists, refs, branch history) get their check\n"
	"values; a row that fails the checks possible is left unsealed and\n"
	"reported by 'mlfs fsck'. Writing commands (import, tag, branch)\n"
	"upgrade as they open; this command does only that.\n";

int cmd_upgrade(struct cli *c, int argc, char **argv)
{
	struct mlfs_store *s = NULL;
	char *dir;
	int r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	if (argc > 1)
		return cli_usage_error("upgrade", "unexpected argument '%s'",
				       argv[1]);
	dir = c->store_dir ? strdup(c->store_dir) : mlfs_store_default_dir();
	if (!dir)
		return cli_error(-ENOMEM, "cannot find the store");
	/* A read-only open tells whether there is anything to do without
	 * taking the write lock. */
	r = mlfs_store_open(dir, MLFS_STORE_RDONLY, &s);
	mlfs_store_close(s);
	s = NULL;
	if (r == 0) {
		printf("store '%s' is up to date\n", dir);
		free(dir);
		return CLI_OK;
	}
	if (r == -ESTALE) {
		r = cli_open_store(c, 0, &s);
		if (r == CLI_OK)
			printf("upgraded store '%s'\n", dir);
		mlfs_store_close(s);
		free(dir);
		return r;
	}
	/* Anything else: let the shared open report it. */
	r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
	if (r == CLI_OK)
		printf("store '%s' is up to date\n", dir);
	mlfs_store_close(s);
	free(dir);
	return r;
}

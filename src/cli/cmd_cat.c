/*
 * cmd_cat.c - mlfs cat: a file of a version to stdout, every chunk
 * verified; a damaged chunk fails the command instead of printing it.
 */
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "mlfs/export.h"

static const char usage[] =
	"usage: mlfs cat NS/NAME[@REF]/PATH\n\n"
	"Write the bytes of one file of a version to standard output.\n"
	"Exits 1 (and names the chunk and pack) when stored data is "
	"damaged.\n";

int cmd_cat(struct cli *c, int argc, char **argv)
{
	struct mlfs_entry_copy ent = { 0 };
	struct mlfs_store *s = NULL;
	int r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage_error("cat", "expected one "
				       "NS/NAME[@REF]/PATH");
	r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
	if (r)
		return r;
	r = cli_lookup(s, argv[1], &ent);
	if (r)
		goto out;
	if (ent.e.type == MLFS_ENTRY_DIR) {
		r = cli_error(-EISDIR, "cannot cat '%s'", argv[1]);
		goto out;
	}
	if (ent.e.type == MLFS_ENTRY_SYMLINK) {
		r = cli_error(0, "'%s' is a symlink to '%s'", argv[1],
			      ent.e.target);
		goto out;
	}
	r = mlfs_export_content_fd(s, &ent.e.id, 1);
	r = r < 0 ? cli_error(r, "cannot read '%s'", argv[1]) : CLI_OK;
out:
	mlfs_entry_copy_release(&ent);
	mlfs_store_close(s);
	return r;
}

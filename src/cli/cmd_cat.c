/*
 * cmd_cat.c - mlfs cat: a file of a version to stdout, every chunk, the
 * size and the whole-file digest verified; damage fails the command
 * naming the version, the path and what mismatched.
 */
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "mlfs/export.h"
#include "target.h"

static const char usage[] =
	"usage: mlfs cat NS/NAME[@REF]/PATH\n\n"
	"Write the bytes of one file of a version to standard output.\n"
	"Every chunk, the file's size and its whole-file digest are checked "
	"as it\n"
	"streams; damage exits 1 naming version, path and what mismatched "
	"(the\n"
	"bytes already written are then not the file).\n";

int cmd_cat(struct cli *c, int argc, char **argv)
{
	enum mlfs_export_fault fault;
	struct cli_target t = { 0 };
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
	r = cli_target_lookup(s, argv[1], &t);
	if (r)
		goto out;
	if (t.ent.e.type == MLFS_ENTRY_DIR) {
		r = cli_error(-EISDIR, "cannot cat '%s'", argv[1]);
		goto out;
	}
	if (t.ent.e.type == MLFS_ENTRY_SYMLINK) {
		r = cli_error(0, "'%s' is a symlink to '%s'", argv[1],
			      t.ent.e.target);
		goto out;
	}
	r = mlfs_export_content_fd(s, &t.ent.e, 1, 0, &fault);
	if (r < 0 && fault == MLFS_EXPORT_DAMAGED)
		r = cli_target_damaged(&t, "", r);
	else if (r < 0 && fault == MLFS_EXPORT_WRITE)
		r = cli_error(r, "cannot write '%s' to standard output",
			      argv[1]);
	else if (r < 0)
		r = cli_error(r, "cannot read '%s'", argv[1]);
	else
		r = CLI_OK;
out:
	cli_target_release(&t);
	mlfs_store_close(s);
	return r;
}

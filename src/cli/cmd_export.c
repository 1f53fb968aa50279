/*
 * cmd_export.c - mlfs export: a version (or part of one) to a directory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mlfs/export.h"

static const char usage[] =
	"usage: mlfs export [-q] NS/NAME[@REF][/PATH] DEST\n\n"
	"Write a version (or a subdirectory or file of it) to DEST, which "
	"must\n"
	"not exist: bytes, permission bits, mtimes and symlinks as "
	"imported.\n"
	"A damaged chunk stops the export (exit 1) naming file, chunk and "
	"pack;\n"
	"the file being written is removed.\n";

int cmd_export(struct cli *c, int argc, char **argv)
{
	struct mlfs_entry_copy ent = { 0 };
	struct mlfs_export_stats st;
	struct mlfs_store *s = NULL;
	bool quiet = false;
	int r, i = 1;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	if (argc > 1 && !strcmp(argv[1], "-q")) {
		quiet = true;
		i++;
	}
	if (argc - i != 2)
		return cli_usage_error("export", "expected "
				       "NS/NAME[@REF][/PATH] and DEST");
	r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
	if (r)
		return r;
	r = cli_lookup(s, argv[i], &ent);
	if (r)
		goto out;
	r = mlfs_export(s, &ent.e, argv[i + 1], &st);
	if (r == -EEXIST) {
		mlfs_error_clear();
		r = cli_error(0, "'%s' already exists; export needs a new "
			      "path", argv[i + 1]);
		goto out;
	}
	if (r < 0) {
		r = cli_error(r, "export of '%s' failed", argv[i]);
		goto out;
	}
	if (!quiet)
		fprintf(stderr, "exported %" PRIu64 " files, %" PRIu64
			" directories, %" PRIu64 " symlinks, %" PRIu64
			" bytes\n", st.files, st.dirs, st.symlinks, st.bytes);
	r = CLI_OK;
out:
	mlfs_entry_copy_release(&ent);
	mlfs_store_close(s);
	return r;
}

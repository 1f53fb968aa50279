/*
 * cmd_export.c - mlfs export: a version (or part of one) to a directory,
 * every chunk, size and whole-file digest verified; runs of zeros are
 * written as holes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mlfs/export.h"
#include "target.h"

static const char usage[] =
	"usage: mlfs export [-q] NS/NAME[@REF][/PATH] DEST\n\n"
	"Write a version (or a subdirectory or file of it) to DEST, which "
	"must\n"
	"not exist: bytes, permission bits, mtimes and symlinks as "
	"imported;\n"
	"aligned 4 KiB blocks of zeros become holes. Every chunk, each "
	"file's\n"
	"size and whole-file digest are checked: damage stops the export "
	"(exit 1)\n"
	"naming version, path and what mismatched, and the file being "
	"written\n"
	"is removed.\n";

/* The file DEST/@rel, or DEST itself, for messages. */
static void dest_path(char *buf, size_t size, const char *dest,
		      const char *rel)
{
	snprintf(buf, size, "%s%s%s", dest, rel[0] ? "/" : "", rel);
}

static int report(const struct cli_target *t, const char *arg,
		  const char *dest, const struct mlfs_export_stats *st, int r)
{
	char path[PATH_MAX + 64];
	int ret;

	dest_path(path, sizeof(path), dest, st->fault_path);
	if (r == -EEXIST && st->fault_path[0] == '\0') {
		mlfs_error_clear();
		return cli_error(0, "'%s' already exists; export needs a new "
				 "path", dest);
	}
	if (st->fault == MLFS_EXPORT_DAMAGED)
		ret = cli_target_damaged(t, st->fault_path, r);
	else
		ret = cli_error(r, "export of '%s' failed", arg);
	if (st->removed_partial)
		fprintf(stderr, "mlfs: removed the partial file '%s'\n", path);
	return ret;
}

int cmd_export(struct cli *c, int argc, char **argv)
{
	struct cli_target t = { 0 };
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
	r = cli_target_lookup(s, argv[i], &t);
	if (r)
		goto out;
	r = mlfs_export(s, &t.ent.e, argv[i + 1], &st);
	if (r < 0) {
		r = report(&t, argv[i], argv[i + 1], &st, r);
		goto out;
	}
	if (!quiet)
		fprintf(stderr, "exported %" PRIu64 " files, %" PRIu64
			" directories, %" PRIu64 " symlinks, %" PRIu64
			" bytes\n", st.files, st.dirs, st.symlinks, st.bytes);
	r = CLI_OK;
out:
	cli_target_release(&t);
	mlfs_store_close(s);
	return r;
}

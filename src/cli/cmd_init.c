/*
 * cmd_init.c - mlfs init: create a store, private or shared read-only
 * with a group (docs/design.md#sharing-a-store).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: mlfs init [--store DIR] [--zstd-level N] [--shared GROUP]\n\n"
	"Create an empty store: DIR/mlfs.db, DIR/packs/ and DIR/config.\n"
	"  --store DIR      where (default $MLFS_STORE, /var/lib/mlfs for "
	"root,\n"
	"                   ~/.local/share/mlfs otherwise); missing parents "
	"are made\n"
	"  --zstd-level N   compression level for new chunks, 1-19 "
	"(default 3)\n"
	"  --shared GROUP   let the members of GROUP read the store (and "
	"verify it);\n"
	"                   only you write it\n";

/* GROUP by name or number. Returns 0 or -ENOENT. */
static int find_group(const char *name, gid_t *gid)
{
	struct group *g = getgrnam(name);
	char *end;
	unsigned long n;

	if (g) {
		*gid = g->gr_gid;
		return 0;
	}
	errno = 0;
	n = strtoul(name, &end, 10);
	if (errno || end == name || *end || n > (gid_t)-2)
		return -ENOENT;
	*gid = (gid_t)n;
	return 0;
}

int cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "zstd-level", required_argument, NULL, 'z' },
		{ "shared", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mlfs_store_init_opts o = { 0 };
	const char *group = NULL;
	char *dir;
	int ch, r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;

		if (ch == 's') {
			group = optarg;
			if (find_group(group, &o.group) < 0)
				return cli_usage_error("init", "no group "
						       "'%s'", group);
			o.shared = true;
			continue;
		}
		if (ch != 'z')
			return cli_usage_error("init", "unknown option");
		o.zstd_level = (int)strtol(optarg, &end, 10);
		if (*end || o.zstd_level < 1 || o.zstd_level > 19)
			return cli_usage_error("init", "--zstd-level must be "
					       "1-19, not '%s'", optarg);
	}
	if (optind != argc)
		return cli_usage_error("init", "unexpected argument '%s'",
				       argv[optind]);
	dir = c->store_dir ? strdup(c->store_dir) : mlfs_store_default_dir();
	if (!dir)
		return cli_error(-ENOMEM, "cannot find the store");
	r = mlfs_store_init(dir, &o);
	if (r == -EEXIST)
		r = cli_error(0, "'%s' is already an mlfs store", dir);
	else if (r == -ENOTEMPTY)
		r = cli_error(0, "'%s' is not empty; choose an empty or new "
			      "directory", dir);
	else if (r == -EPERM && group)
		r = cli_error(r, "cannot give the store '%s' to group '%s' "
			      "(you must be a member of it)", dir, group);
	else if (r < 0)
		r = cli_error(r, "cannot create a store in '%s'", dir);
	else if (group)
		printf("initialized empty mlfs store in %s, readable by "
		       "group %s\n", dir, group);
	else
		printf("initialized empty mlfs store in %s\n", dir);
	free(dir);
	return r;
}

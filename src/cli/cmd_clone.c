/*
 * cmd_clone.c - mlfs clone: a new store with a remote's hash key and
 * chunking (from the bucket's config object), the remote added, and
 * everything fetched: the store's database is rebuilt from the bucket
 * alone, while the chunk data stays there (docs/remote.md).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remoteout.h"

static const char usage[] =
	"usage: mlfs clone s3://BUCKET[/PREFIX] [--store DIR] [--endpoint "
	"URL]\n"
	"                  [--region R] [--virtual-host] [--origin NAME] "
	"[--json]\n"
	"                  [--cache-size N]\n\n"
	"Create a store in DIR (new or empty) for the remote at the URL, "
	"name the\n"
	"remote NAME (default origin) and pull everything it holds.\n";

int cmd_clone(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		REMOTE_OPTIONS,
		{ "origin", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = "origin";
	struct remote_where w = { 0 };
	struct mlfs_store_init_opts io = { 0 };
	struct mlfs_remote_stats st = { 0 };
	struct mlfs_store_config cfg;
	struct mlfs_store *s = NULL;
	struct mlfs_remote r;
	bool json = false;
	char *dir = NULL;
	int ch, rc, e;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		rc = remote_where_opt("clone", ch, &w);
		if (rc > 1)
			return rc;
		if (rc == 1)
			continue;
		if (ch == 'o')
			name = optarg;
		else if (ch == 'J')
			json = true;
		else
			return cli_usage_error("clone", "unknown option");
	}
	if (argc - optind != 1)
		return cli_usage_error("clone", "clone takes one URL");
	rc = remote_where_make(name, argv[optind], &w, "cannot clone", &r);
	if (rc != CLI_OK)
		return rc;
	dir = c->store_dir ? strdup(c->store_dir) : mlfs_store_default_dir();
	if (!dir) {
		rc = cli_error(-ENOMEM, "cannot find the store");
		goto out;
	}
	e = mlfs_remote_read_config(&r, &cfg);
	if (e < 0) {
		rc = remote_fail(e, "clone", &r);
		goto out;
	}
	io.zstd_level = cfg.zstd_level;
	io.chunk = cfg.chunk;
	io.key = &cfg.key;
	e = mlfs_store_init(dir, &io);
	if (e == -EEXIST || e == -ENOTEMPTY) {
		rc = cli_error(0, "'%s' is %s; clone into a new or empty "
			       "directory", dir, e == -EEXIST ?
			       "already an mlfs store" : "not empty");
		goto out;
	}
	if (e < 0) {
		rc = cli_error(e, "cannot create a store in '%s'", dir);
		goto out;
	}
	c->store_dir = dir;
	rc = cli_open_store(c, 0, &s);
	if (rc != CLI_OK)
		goto out;
	e = mlfs_remote_add(s, &r);
	if (e == 0)
		e = mlfs_remote_fetch(s, &r, true, &st);
	if (e < 0) {
		rc = remote_fail(e, "clone", &r);
		fprintf(stderr, "hint: the store in '%s' has remote '%s'; "
			"'mlfs pull --store %s' tries again\n", dir, r.name,
			dir);
		goto out;
	}
	if (!json)
		printf("cloned %s into %s\n", r.url, dir);
	remote_print(&r, &st, false, json, NULL);
out:
	memset(&cfg, 0, sizeof(cfg)); /* the key */
	mlfs_remote_stats_release(&st);
	mlfs_remote_release(&r);
	mlfs_store_close(s);
	free(dir);
	return rc;
}

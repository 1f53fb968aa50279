/*
 * cmd_fetch.c - mlfs fetch and mlfs pull: bring a remote's commits,
 * trees, contents and chunk locations (the data stays in the bucket);
 * fetch creates refs the store lacks, pull also fast-forwards branches
 * and moves aliases to the remote's (docs/remote.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "remoteout.h"

static const char fetch_usage[] =
	"usage: mlfs fetch [REMOTE] [--json]\n\n"
	"Bring the commits, trees and contents of REMOTE's refs and where "
	"their\n"
	"chunks are (the data stays remote). Branches, tags and aliases the "
	"store\n"
	"lacks are created; existing ones are left and reported (see 'mlfs "
	"pull').\n";

static const char pull_usage[] =
	"usage: mlfs pull [REMOTE] [--json]\n\n"
	"mlfs fetch, then fast-forward each local branch that is behind "
	"REMOTE's\n"
	"(never one with edits through the mount, never one that diverged) "
	"and\n"
	"move aliases to REMOTE's targets.\n";

static int fetch_or_pull(struct cli *c, int argc, char **argv, bool pull)
{
	const char *cmd = pull ? "pull" : "fetch", *name = NULL;
	struct mlfs_remote_stats st = { 0 };
	struct mlfs_store *s = NULL;
	struct mlfs_remote r;
	bool json = false;
	int rc, e;

	if (cli_want_help(argc, argv, pull ? pull_usage : fetch_usage))
		return CLI_OK;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (argv[i][0] == '-' || name)
			return cli_usage_error(cmd, "unexpected argument '%s'",
					       argv[i]);
		else
			name = argv[i];
	}
	rc = remote_open(c, name, 0, &s, &r);
	if (rc != CLI_OK)
		return rc;
	e = mlfs_remote_fetch(s, &r, pull, &st);
	if (e < 0) {
		rc = remote_fail(e, "fetch from", &r);
	} else {
		remote_print(&r, &st, false, json);
		if (st.rejected && pull)
			rc = CLI_FAILED;
	}
	mlfs_remote_stats_release(&st);
	mlfs_remote_release(&r);
	mlfs_store_close(s);
	return rc;
}

int cmd_fetch(struct cli *c, int argc, char **argv)
{
	return fetch_or_pull(c, argc, argv, false);
}

int cmd_pull(struct cli *c, int argc, char **argv)
{
	return fetch_or_pull(c, argc, argv, true);
}

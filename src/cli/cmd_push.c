/*
 * cmd_push.c - mlfs push: upload to a remote what it lacks and move its
 * refs, rejecting what is not a fast-forward as git does (docs/remote.md).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remoteout.h"

static const char usage[] =
	"usage: mlfs push [REMOTE] [NS/NAME[@REF]...] [--force] [--jobs N] "
	"[--json]\n\n"
	"Upload the packs, contents, trees and commits REMOTE lacks, then "
	"its refs.\n"
	"REMOTE defaults to the only remote, else 'origin'; without "
	"NS/NAME every\n"
	"repository goes with all its branches, tags and aliases.\n"
	"  --force    move a remote branch or alias that is not an ancestor "
	"(audited)\n"
	"  --jobs N   parallel uploads of packs and metadata (default 4)\n"
	"  --json     print the result as JSON\n";

int cmd_push(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	struct mlfs_remote_push_opts o = { 0 };
	struct mlfs_remote_stats st = { 0 };
	struct mlfs_store *s = NULL;
	struct mlfs_remote r;
	const char *name = NULL;
	bool json = false;
	double t0 = mlfs_now();
	int ch, rc, e;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		char *end;

		if (ch == 'f') {
			o.force = true;
		} else if (ch == 'J') {
			json = true;
		} else if (ch == 'j') {
			o.jobs = (int)strtol(optarg, &end, 10);
			if (*end || o.jobs < 1 || o.jobs > 16)
				return cli_usage_error("push", "--jobs must be "
						       "1-16");
		} else {
			return cli_usage_error("push", "unknown option");
		}
	}
	/* a first argument without '/' is the remote's name */
	if (optind < argc && !strchr(argv[optind], '/'))
		name = argv[optind++];
	o.specs = argv + optind;
	o.nspecs = (size_t)(argc - optind);
	o.progress = remote_progress;
	o.ctx = &t0;
	rc = remote_open(c, name, 0, &s, &r);
	if (rc != CLI_OK)
		return rc;
	e = mlfs_remote_push(s, &r, &o, &st);
	if (e == -EINVAL && mlfs_error_detail()[0]) {
		fprintf(stderr, "mlfs: %s\n", mlfs_error_detail());
		mlfs_error_clear();
		rc = CLI_USAGE;
	} else if (e < 0) {
		rc = remote_fail(e, "push to", &r);
	} else {
		size_t meta = 0;

		remote_print(&r, &st, true, json, NULL);
		for (size_t i = 0; i < st.nvmeta; i++)
			meta += st.vmeta[i].status == MLFS_VMETA_REJECTED;
		if (st.rejected > meta) {
			fprintf(stderr, "mlfs: %zu ref(s) rejected by remote "
				"'%s'; fetch first ('mlfs pull %s'), or push "
				"--force for branches and aliases\n",
				st.rejected - meta, r.name, r.name);
			rc = CLI_FAILED;
		}
		if (meta) {
			fprintf(stderr, "mlfs: metadata of %zu version(s) "
				"rejected by remote '%s': changed there since "
				"this store last synced; fetch first ('mlfs "
				"fetch %s'), or push --force to overwrite\n",
				meta, r.name, r.name);
			rc = CLI_FAILED;
		}
	}
	mlfs_remote_stats_release(&st);
	mlfs_remote_release(&r);
	mlfs_store_close(s);
	return rc;
}

/*
 * cmd_fetch.c - mlfs fetch and mlfs pull: bring a remote's commits,
 * trees, contents and chunk locations (the data stays in the bucket);
 * fetch creates refs the store lacks, pull also fast-forwards branches
 * and moves aliases to the remote's (docs/remote.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remoteout.h"

static const char fetch_usage[] =
	"usage: mlfs fetch [REMOTE] [--data NS/NAME[@REF]]... [--json]\n\n"
	"Bring the commits, trees and contents of REMOTE's refs and where "
	"their\n"
	"chunks are (the data stays remote). Branches, tags and aliases the "
	"store\n"
	"lacks are created; existing ones are left and reported (see 'mlfs "
	"pull').\n"
	"  --data NS/NAME[@REF]  also bring the version's chunks into the "
	"local\n"
	"                        cache, to read it without the bucket\n";

static const char pull_usage[] =
	"usage: mlfs pull [REMOTE] [--data NS/NAME[@REF]]... [--json]\n\n"
	"mlfs fetch, then fast-forward each local branch that is behind "
	"REMOTE's\n"
	"(never one with edits through the mount, never one that diverged) "
	"and\n"
	"move aliases to REMOTE's targets.\n";

/* --data: the chunks of all the versions named, into the cache, at once
 * (so that together they must fit it). Resolved after the fetch, which
 * may bring them. */
static int prefetch(struct mlfs_store *s, char **data, size_t n,
		    struct mlfs_remote_prefetch_stats *ps)
{
	struct mlfs_id *v = calloc(n, sizeof(*v));
	int rc = v ? CLI_OK : cli_error(-ENOMEM, "cannot cache versions");
	int e;

	for (size_t i = 0; rc == CLI_OK && i < n; i++) {
		struct mlfs_refspec spec;
		struct mlfs_resolved res;

		rc = cli_resolve(s, data[i], false, &spec, &res);
		if (rc == CLI_OK) {
			mlfs_refspec_release(&spec);
			v[i] = res.commit;
		}
	}
	if (rc == CLI_OK) {
		mlfs_error_clear();
		e = mlfs_remote_prefetch(s, v, n, ps);
		if (e == -EFBIG) {
			fprintf(stderr, "mlfs: cannot cache %s%s: %s\n",
				n > 1 ? "these versions, " : "", data[0],
				mlfs_error_detail());
			mlfs_error_clear();
			rc = CLI_FAILED;
		} else if (e < 0) {
			rc = cli_error(e, "cannot cache %s%s",
				       n > 1 ? "these versions, " : "",
				       data[0]);
		}
	}
	free(v);
	return rc;
}

/* What --data cached: a line, or the JSON member remote_print adds. */
static void prefetch_print(char **data, size_t n,
			   const struct mlfs_remote_prefetch_stats *ps,
			   bool json, char *tail, size_t tail_size)
{
	char b[32];

	if (json) {
		snprintf(tail, tail_size, ",\"data\":{\"versions\":%zu,"
			 "\"files\":%llu,\"chunks\":%llu,\"bytes\":%llu}",
			 n, (unsigned long long)ps->files,
			 (unsigned long long)ps->chunks,
			 (unsigned long long)ps->bytes);
		return;
	}
	printf("cached ");
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", data[i]);
	printf(": %llu file(s), %llu remote chunk(s), %s\n",
	       (unsigned long long)ps->files, (unsigned long long)ps->chunks,
	       cli_human_bytes(ps->bytes, b, sizeof(b)));
}

static int fetch_or_pull(struct cli *c, int argc, char **argv, bool pull)
{
	const char *cmd = pull ? "pull" : "fetch", *name = NULL;
	struct mlfs_remote_stats st = { 0 };
	struct mlfs_store *s = NULL;
	struct mlfs_remote r;
	bool json = false;
	char **data = NULL;
	size_t ndata = 0;
	int rc, e;

	if (cli_want_help(argc, argv, pull ? pull_usage : fetch_usage))
		return CLI_OK;
	data = calloc((size_t)argc, sizeof(*data));
	if (!data)
		return cli_error(-ENOMEM, "cannot %s", cmd);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--data")) {
			if (i + 1 == argc) {
				free(data);
				return cli_usage_error(cmd, "--data needs "
						       "NS/NAME[@REF]");
			}
			struct mlfs_refspec spec;
			const char *why;

			/* malformed: a usage error before anything moves */
			/* as cli_resolve reads it: @REMOTE/BRANCH too */
			if (mlfs_refspec_parse(argv[i + 1],
					       MLFS_REFSPEC_REMOTE, &spec,
					       &why) < 0) {
				int k = cli_usage_error(cmd, "--data '%s': %s",
							argv[i + 1], why);

				free(data);
				return k;
			}
			mlfs_refspec_release(&spec);
			data[ndata++] = argv[++i];
		} else if (argv[i][0] == '-' || name) {
			free(data);
			return cli_usage_error(cmd, "unexpected argument '%s'",
					       argv[i]);
		} else {
			name = argv[i];
		}
	}
	rc = remote_open(c, name, 0, &s, &r);
	if (rc != CLI_OK) {
		free(data);
		return rc;
	}
	e = mlfs_remote_fetch(s, &r, pull, &st);
	if (e < 0) {
		rc = remote_fail(e, "fetch from", &r);
	} else {
		struct mlfs_remote_prefetch_stats ps;
		char tail[256] = "";
		int k = ndata ? prefetch(s, data, ndata, &ps) : CLI_OK;

		if (ndata && k == CLI_OK && json)
			prefetch_print(data, ndata, &ps, true, tail,
				       sizeof(tail));
		remote_print(&r, &st, false, json, tail);
		if (ndata && k == CLI_OK && !json)
			prefetch_print(data, ndata, &ps, false, NULL, 0);
		if (st.rejected && pull)
			rc = CLI_FAILED;
		if (k != CLI_OK)
			rc = k;
	}
	free(data);
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

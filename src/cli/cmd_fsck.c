/*
 * cmd_fsck.c - mlfs fsck: check the store, report damage per repository,
 * version and file; exit 1 when anything is wrong.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "mlfs/fsck.h"

static const char usage[] =
	"usage: mlfs fsck [--read-data] [--json]\n\n"
	"Check that every chunk the database references exists in its pack "
	"with\n"
	"a matching entry header, and that every tree, content and commit "
	"is\n"
	"present. With --read-data also decompress every chunk and check it\n"
	"against its id, and check every file's digest. Problems name the\n"
	"repository, version, file, chunk and pack. Exit 0 clean, 1 damaged.\n"
	"Unreferenced bytes at a pack's end (left by an interrupted import)\n"
	"are not damage.\n";

struct fsck_out {
	bool json;
	bool first;
};

static void report(void *ctx, const struct mlfs_fsck_problem *p)
{
	struct fsck_out *o = ctx;

	if (o->json) {
		printf("%s{\"repo\": ", o->first ? "" : ", ");
		if (p->repo)
			cli_json_str(stdout, p->repo);
		else
			fputs("null", stdout);
		printf(", \"commit\": ");
		if (p->commit)
			cli_json_str(stdout, p->commit);
		else
			fputs("null", stdout);
		printf(", \"path\": ");
		if (p->path)
			cli_json_str(stdout, p->path);
		else
			fputs("null", stdout);
		printf(", \"problem\": ");
		cli_json_str(stdout, p->what);
		fputc('}', stdout);
		o->first = false;
		return;
	}
	if (p->repo && p->commit && p->path)
		printf("%s@%.12s: %s: %s\n", p->repo, p->commit, p->path,
		       p->what);
	else if (p->repo && p->commit)
		printf("%s@%.12s: %s\n", p->repo, p->commit, p->what);
	else if (p->repo)
		printf("%s: %s\n", p->repo, p->what);
	else
		printf("store: %s\n", p->what);
}

int cmd_fsck(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "read-data", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct fsck_out o = { .first = true };
	struct mlfs_fsck_stats st;
	struct mlfs_store *s = NULL;
	bool read_data = false;
	int ch, r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'r')
			read_data = true;
		else if (ch == 'j')
			c->json = true;
		else
			return cli_usage_error("fsck", "unknown option");
	}
	if (optind != argc)
		return cli_usage_error("fsck", "unexpected argument '%s'",
				       argv[optind]);
	o.json = c->json;
	r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
	if (r)
		return r;
	if (o.json)
		printf("{\"problems\": [");
	r = mlfs_fsck(s, read_data, report, &o, &st);
	if (r < 0) {
		if (o.json)
			printf("]}\n");
		r = cli_error(r, "fsck could not run");
		goto out;
	}
	if (o.json)
		printf("], \"repos\": %" PRIu64 ", \"commits\": %" PRIu64
		       ", \"trees\": %" PRIu64 ", \"contents\": %" PRIu64
		       ", \"chunks\": %" PRIu64 ", \"chunks_read\": %" PRIu64
		       ", \"unreferenced_packs\": %" PRIu64
		       ", \"unreferenced_bytes\": %" PRIu64
		       ", \"ok\": %s}\n", st.repos, st.commits, st.trees,
		       st.contents, st.chunks, st.chunks_read,
		       st.unreferenced_packs, st.unreferenced_bytes,
		       st.problems ? "false" : "true");
	else
		fprintf(st.problems ? stderr : stdout,
			"fsck: %" PRIu64 " repositories, %" PRIu64
			" versions, %" PRIu64 " trees, %" PRIu64
			" files' contents, %" PRIu64 " chunks checked%s: %"
			PRIu64 " problems\n", st.repos, st.commits, st.trees,
			st.contents, st.chunks,
			read_data ? " (data read)" : "", st.problems);
	if (st.unreferenced_packs && !o.json) {
		char b[32];

		fprintf(stderr, "note: %" PRIu64 " pack files (%s) hold no "
			"data of any version (left by interrupted imports, or "
			"written by one running now); 'mlfs gc' removes them\n",
			st.unreferenced_packs,
			cli_human_bytes(st.unreferenced_bytes, b, sizeof(b)));
	}
	r = st.problems ? CLI_FAILED : CLI_OK;
out:
	mlfs_store_close(s);
	return r;
}

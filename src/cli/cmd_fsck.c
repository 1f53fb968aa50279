/*
 * cmd_fsck.c - mlfs fsck: check the store, name every damaged object
 * with the repository, version and path it was found at; exit 1 when
 * anything is wrong. With --json one document, printed once the check
 * has run (nothing before it).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mlfs/fsck.h"

static const char usage[] =
	"usage: mlfs fsck [--read-data] [--json]\n\n"
	"Check every ref, commit, tree and file's chunk list against what\n"
	"it was written with (hashes and check values), that every chunk of\n"
	"every list is in the chunk index with the right length, and that\n"
	"every indexed chunk has a matching entry header in an existing "
	"pack.\n"
	"With --read-data also decompress every chunk and check it against\n"
	"its id, and check every file's digest. Each damaged object is named\n"
	"once, with the repository, version and path it was first found at.\n"
	"Exit 0 clean, 1 damaged. Unreferenced bytes at a pack's end (left\n"
	"by an interrupted import) are not damage.\n";

struct fsck_out {
	FILE *f;     /* where problems go: stdout, or the JSON buffer */
	bool json;
	bool first;
};

static void json_field(FILE *f, const char *key, const char *v)
{
	fprintf(f, ", \"%s\": ", key);
	if (v)
		cli_json_str(f, v);
	else
		fputs("null", f);
}

static void report_json(struct fsck_out *o, const struct mlfs_fsck_problem *p)
{
	fprintf(o->f, "%s{\"kind\": ", o->first ? "" : ", ");
	cli_json_str(o->f, p->kind);
	json_field(o->f, "object", p->object);
	json_field(o->f, "repo", p->repo);
	json_field(o->f, "version", p->version);
	json_field(o->f, "commit", p->commit);
	json_field(o->f, "path", p->path);
	json_field(o->f, "detail", p->what);
	fprintf(o->f, ", \"more_versions\": %" PRIu64 "}", p->more_versions);
	o->first = false;
}

/* "models/m@v1 (commit 3c4d5e6f7a8b), path 'a/b'", or as much of it as
 * the problem has. */
static void where(FILE *f, const struct mlfs_fsck_problem *p)
{
	fputs(p->repo, f);
	if (!p->version)
		return;
	fprintf(f, "@%s", p->version);
	/* The commit id, unless the version is named by it already. */
	if (p->commit && strncmp(p->commit, p->version, strlen(p->version)) &&
	    !(p->object && !strcmp(p->object, p->commit)))
		fprintf(f, " (commit %.12s)", p->commit);
	if (p->path && p->path[0]) {
		struct mlfs_buf q = MLFS_BUF_INIT;
		const char *name = cli_quote(&q, p->path);

		/* A name that needs quoting comes back in "..." already. */
		if (strcmp(name, p->path))
			fprintf(f, ", path %s", name);
		else
			fprintf(f, ", path '%s'", name);
		mlfs_buf_release(&q);
	} else if (p->path) {
		fputs(", root directory", f);
	}
}

static void report(void *ctx, const struct mlfs_fsck_problem *p)
{
	struct fsck_out *o = ctx;
	bool ref = !strcmp(p->kind, "tag") || !strcmp(p->kind, "branch");

	if (o->json) {
		report_json(o, p);
		return;
	}
	if (!strcmp(p->kind, "database"))
		fputs("database damaged", o->f);
	else if (p->object)
		fprintf(o->f, ref ? "damaged %s '%s'" : "damaged %s %s",
			p->kind, p->object);
	else
		fprintf(o->f, "damaged %s", p->kind);
	if (p->repo) {
		fputs(" (", o->f);
		where(o->f, p);
		fputc(')', o->f);
	}
	fprintf(o->f, ": %s", p->what);
	if (p->more_versions)
		fprintf(o->f, "; also used by %" PRIu64 " more version%s",
			p->more_versions, p->more_versions == 1 ? "" : "s");
	fputc('\n', o->f);
}

static void print_json(const char *problems,
		       const struct mlfs_fsck_stats *st)
{
	printf("{\"problems\": [%s], \"repos\": %" PRIu64 ", \"commits\": %"
	       PRIu64 ", \"trees\": %" PRIu64 ", \"contents\": %" PRIu64
	       ", \"chunks\": %" PRIu64 ", \"chunks_read\": %" PRIu64
	       ", \"unreferenced_packs\": %" PRIu64
	       ", \"unreferenced_bytes\": %" PRIu64 ", \"worktrees\": %"
	       PRIu64 ", \"worktree_nodes\": %" PRIu64
	       ", \"pending_snapshots\": %" PRIu64 ", \"audit_records\": %"
	       PRIu64 ", \"ok\": %s}\n",
	       problems, st->repos, st->commits, st->trees, st->contents,
	       st->chunks, st->chunks_read, st->unreferenced_packs,
	       st->unreferenced_bytes, st->worktrees, st->worktree_nodes,
	       st->pending_snapshots, st->audit_records,
	       st->problems ? "false" : "true");
}

static void print_text(const struct mlfs_fsck_stats *st, bool read_data)
{
	fprintf(st->problems ? stderr : stdout,
		"fsck: %" PRIu64 " repositories, %" PRIu64 " versions, %"
		PRIu64 " trees, %" PRIu64 " files' contents, %" PRIu64
		" chunks, %" PRIu64 " audit records checked%s: %" PRIu64
		" problems\n", st->repos, st->commits, st->trees,
		st->contents, st->chunks, st->audit_records,
		read_data ? " (data read)" : "", st->problems);
	if (st->worktrees)
		fprintf(st->problems ? stderr : stdout, "fsck: %" PRIu64
			" working trees, %" PRIu64 " of their inodes checked\n",
			st->worktrees, st->worktree_nodes);
	if (st->pending_snapshots)
		fprintf(stderr, "note: %" PRIu64 " snapshot(s) were "
			"interrupted; the next mount or 'mlfs snapshot' of "
			"the store finishes or undoes them\n",
			st->pending_snapshots);
	if (st->unreferenced_packs) {
		char b[32];

		fprintf(stderr, "note: %" PRIu64 " pack files (%s) hold no "
			"data of any version (left by interrupted imports, or "
			"written by one running now); 'mlfs gc' removes them\n",
			st->unreferenced_packs,
			cli_human_bytes(st->unreferenced_bytes, b, sizeof(b)));
	}
}

/* The store did not open (already reported): if mlfs.db's header shows
 * why, say so; SQLite itself only calls such a file malformed. */
static void explain_open(const struct cli *c)
{
	char *dir = c->store_dir ? strdup(c->store_dir) :
		    mlfs_store_default_dir();
	char why[256];

	if (dir && mlfs_fsck_explain_db(dir, why, sizeof(why)) == 1)
		fprintf(stderr, "database damaged: %s\n", why);
	free(dir);
}

int cmd_fsck(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "read-data", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct fsck_out o = { .f = stdout, .first = true };
	struct mlfs_fsck_stats st;
	struct mlfs_store *s = NULL;
	char *buf = NULL;
	size_t len = 0;
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
	if (r) {
		explain_open(c);
		return r;
	}
	if (o.json) {
		o.f = open_memstream(&buf, &len);
		if (!o.f) {
			r = cli_error(-ENOMEM, "fsck could not run");
			goto out;
		}
	}
	r = mlfs_fsck(s, read_data, report, &o, &st);
	if (o.json)
		fclose(o.f);
	if (r < 0) {
		r = cli_error(r, "fsck could not run");
		goto out;
	}
	if (o.json)
		print_json(buf ? buf : "", &st);
	else
		print_text(&st, read_data);
	r = st.problems ? CLI_FAILED : CLI_OK;
out:
	free(buf);
	mlfs_store_close(s);
	return r;
}

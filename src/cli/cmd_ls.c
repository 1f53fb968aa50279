/*
 * cmd_ls.c - mlfs ls: list the entries of a version's directory.
 */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
	"usage: mlfs ls [-l] [-R] [--json] NS/NAME[@REF][/PATH]\n\n"
	"List a directory (or one file) of a version.\n"
	"  -l      long format: type and mode, size, mtime (UTC), name\n"
	"  -R      recurse into subdirectories\n"
	"  --json  one JSON array of entries {path, type, mode, size, "
	"mtime_ns, digest|tree|target}\n";

struct ls {
	struct mlfs_store *s;
	bool lng, rec, json, first;
};

static void mode_str(const struct mlfs_entry *e, char *b)
{
	static const char rwx[] = "rwxrwxrwx";

	b[0] = e->type == MLFS_ENTRY_DIR ? 'd' :
	       e->type == MLFS_ENTRY_SYMLINK ? 'l' : '-';
	for (int i = 0; i < 9; i++)
		b[1 + i] = e->mode & (0400u >> i) ? rwx[i] : '-';
	/* setuid, setgid, sticky as ls(1) shows them: s/t over x, S/T
	 * without x */
	if (e->mode & 04000)
		b[3] = b[3] == 'x' ? 's' : 'S';
	if (e->mode & 02000)
		b[6] = b[6] == 'x' ? 's' : 'S';
	if (e->mode & 01000)
		b[9] = b[9] == 'x' ? 't' : 'T';
	b[10] = '\0';
}

static void print_entry(struct ls *l, const struct mlfs_entry *e,
			const char *path)
{
	char hex[MLFS_ID_HEX_LEN + 1], m[11], when[32], dir[PATH_MAX + 1];
	struct mlfs_buf q = MLFS_BUF_INIT;
	time_t t = (time_t)(e->mtime_ns / 1000000000);
	struct tm tm;

	mlfs_id_to_hex(&e->id, hex);
	if (l->json) {
		printf("%s{\"path\": ", l->first ? "" : ", ");
		cli_json_str(stdout, path);
		printf(", \"type\": \"%s\", \"mode\": %u, \"size\": %" PRIu64
		       ", \"mtime_ns\": %" PRId64,
		       e->type == MLFS_ENTRY_DIR ? "dir" :
		       e->type == MLFS_ENTRY_SYMLINK ? "symlink" : "file",
		       e->mode, e->size, e->mtime_ns);
		if (e->type == MLFS_ENTRY_FILE)
			printf(", \"digest\": \"%s\"", hex);
		else if (e->type == MLFS_ENTRY_DIR)
			printf(", \"tree\": \"%s\"", hex);
		else {
			printf(", \"target\": ");
			cli_json_str(stdout, e->target);
		}
		fputc('}', stdout);
		l->first = false;
		return;
	}
	if (!l->lng) {
		/* The '/' of a directory goes inside the quotes. */
		if (e->type == MLFS_ENTRY_DIR) {
			snprintf(dir, sizeof(dir), "%s/", path);
			path = dir;
		}
		printf("%s\n", cli_quote(&q, path));
		mlfs_buf_release(&q);
		return;
	}
	mode_str(e, m);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s %12" PRIu64 " %s %s", m, e->size, when, cli_quote(&q, path));
	if (e->target)
		printf(" -> %s", cli_quote(&q, e->target));
	putchar('\n');
	mlfs_buf_release(&q);
}

static int list_dir(struct ls *l, const struct mlfs_id *id,
		    const char *prefix)
{
	struct mlfs_tree *t;
	char path[PATH_MAX];
	int r = mlfs_tree_load(l->s, id, &t);

	if (r < 0)
		return r;
	for (size_t i = 0; i < t->n; i++) {
		snprintf(path, sizeof(path), "%s%s%s", prefix,
			 prefix[0] ? "/" : "", t->e[i].name);
		print_entry(l, &t->e[i], path);
	}
	for (size_t i = 0; r == 0 && l->rec && i < t->n; i++) {
		if (t->e[i].type != MLFS_ENTRY_DIR)
			continue;
		snprintf(path, sizeof(path), "%s%s%s", prefix,
			 prefix[0] ? "/" : "", t->e[i].name);
		r = list_dir(l, &t->e[i].id, path);
	}
	mlfs_tree_free(t);
	return r;
}

int cmd_ls(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct ls l = { .first = true };
	struct mlfs_entry_copy ent = { 0 };
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	bool empty;
	int ch, r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, "lR", opts, NULL)) != -1) {
		if (ch == 'l')
			l.lng = true;
		else if (ch == 'R')
			l.rec = true;
		else if (ch == 'j')
			l.json = true;
		else
			return cli_usage_error("ls", "unknown option");
	}
	if (argc - optind != 1)
		return cli_usage_error("ls", "expected one "
				       "NS/NAME[@REF][/PATH]");
	r = cli_open_store(c, MLFS_STORE_RDONLY, &l.s);
	if (r)
		return r;
	/* A repository with no commits yet lists as an empty directory
	 * (as the mount shows it); a path in it does not exist. */
	r = cli_resolve_unborn(l.s, argv[optind], true, &spec, &res);
	if (r)
		goto out;
	empty = res.unborn && !spec.path[0];
	mlfs_refspec_release(&spec);
	if (empty) {
		if (l.json)
			fputs("[]\n", stdout);
		goto out;
	}
	r = cli_lookup(l.s, argv[optind], &ent);
	if (r)
		goto out;
	if (l.json)
		fputc('[', stdout);
	if (ent.e.type == MLFS_ENTRY_DIR)
		r = list_dir(&l, &ent.e.id, "");
	else
		print_entry(&l, &ent.e, ent.e.name);
	if (l.json)
		fputs("]\n", stdout);
	r = r < 0 ? cli_error(r, "cannot list '%s'", argv[optind]) : CLI_OK;
out:
	mlfs_entry_copy_release(&ent);
	mlfs_store_close(l.s);
	return r;
}

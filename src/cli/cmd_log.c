/*
 * cmd_log.c - mlfs log and mlfs show: commits, newest first, with the
 * tags, branches and aliases that point at them.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mlfs/alias.h"
#include "mlfs/vmeta.h"

static const char log_usage[] =
	"usage: mlfs log NS/NAME[@REF] [-n N] [--meta] [--json]\n\n"
	"Show the first-parent history from REF (default: the default "
	"branch),\n"
	"newest first, with tags, branches and aliases pointing at each\n"
	"commit.\n"
	"      --meta  also the metadata of each commit (see 'mlfs meta')\n";

static const char show_usage[] =
	"usage: mlfs show NS/NAME[@REF] [--meta] [--json]\n\n"
	"Show one commit: id, parent, tree, author, date, message, refs.\n"
	"      --meta  also its metadata (see 'mlfs meta')\n";

static void iso_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The metadata of a commit, under it (text) or as a "meta" member. */
static void print_meta(bool json, const struct mlfs_kv_list *kv)
{
	if (json) {
		printf(", \"meta\": {");
		for (size_t i = 0; i < kv->n; i++) {
			printf("%s", i ? ", " : "");
			cli_json_str(stdout, kv->v[i].key);
			printf(": ");
			cli_json_str(stdout, kv->v[i].value);
		}
		printf("}");
		return;
	}
	if (!kv->n)
		return;
	printf("Meta:\n");
	for (size_t i = 0; i < kv->n; i++)
		printf("    %s=%s\n", kv->v[i].key, kv->v[i].value);
	printf("\n");
}

/* The names pointing at one commit. */
struct decor {
	const struct mlfs_ref *refs;
	size_t nref;
	const struct mlfs_alias *aliases;
	size_t nalias;
	const struct mlfs_kv_list *kv; /* with --meta, else NULL */
};

/* The aliases at @c as a JSON array, or decorations "alias: NAME". */
static void print_aliases(bool json, const struct mlfs_commit *c,
			  const struct decor *d, bool any)
{
	for (size_t i = 0; i < d->nalias; i++) {
		/* A damaged alias's target is unknown: decorate nothing. */
		if (d->aliases[i].damaged ||
		    mlfs_id_cmp(&d->aliases[i].commit, &c->id))
			continue;
		if (json) {
			printf("%s", any ? ", " : "");
			cli_json_str(stdout, d->aliases[i].name);
		} else {
			printf("%salias: %s", any ? ", " : " (",
			       d->aliases[i].name);
		}
		any = true;
	}
	if (!json && any)
		fputc(')', stdout);
}

static void print_commit(bool json, bool first, const struct mlfs_commit *c,
			 const struct decor *d)
{
	const struct mlfs_ref *refs = d->refs;
	size_t nref = d->nref;

	char hex[MLFS_ID_HEX_LEN + 1], phex[MLFS_ID_HEX_LEN + 1];
	char thex[MLFS_ID_HEX_LEN + 1], when[32];
	bool any = false;

	mlfs_id_to_hex(&c->id, hex);
	mlfs_id_to_hex(&c->parent, phex);
	mlfs_id_to_hex(&c->tree, thex);
	iso_time(c->time, when, sizeof(when));
	if (json) {
		printf("%s{\"commit\": \"%s\", \"parent\": %s%s%s, "
		       "\"tree\": \"%s\", \"author\": ", first ? "" : ", ",
		       hex, c->has_parent ? "\"" : "",
		       c->has_parent ? phex : "null",
		       c->has_parent ? "\"" : "", thex);
		cli_json_str(stdout, c->author);
		printf(", \"time\": %lld, \"date\": \"%s\", \"message\": ",
		       (long long)c->time, when);
		cli_json_str(stdout, c->message);
		printf(", \"tags\": [");
		for (size_t i = 0; i < nref; i++) {
			if (refs[i].kind != MLFS_REF_TAG || refs[i].damaged ||
			    memcmp(refs[i].commit.b, c->id.b, MLFS_ID_LEN))
				continue;
			printf("%s", any ? ", " : "");
			cli_json_str(stdout, refs[i].name);
			any = true;
		}
		printf("], \"branches\": [");
		any = false;
		for (size_t i = 0; i < nref; i++) {
			if (refs[i].kind != MLFS_REF_BRANCH ||
			    refs[i].damaged ||
			    memcmp(refs[i].commit.b, c->id.b, MLFS_ID_LEN))
				continue;
			printf("%s", any ? ", " : "");
			cli_json_str(stdout, refs[i].name);
			any = true;
		}
		printf("], \"aliases\": [");
		print_aliases(true, c, d, false);
		printf("]");
		if (d->kv)
			print_meta(true, d->kv);
		printf("}");
		return;
	}
	printf("commit %s", hex);
	for (size_t i = 0; i < nref; i++) {
		/* A damaged ref's target is unknown: decorate nothing. */
		if (refs[i].damaged ||
		    memcmp(refs[i].commit.b, c->id.b, MLFS_ID_LEN))
			continue;
		printf("%s%s%s", any ? ", " : " (",
		       refs[i].kind == MLFS_REF_TAG ? "tag: " : "",
		       refs[i].name);
		any = true;
	}
	print_aliases(false, c, d, any);
	fputc('\n', stdout);
	if (c->has_parent)
		printf("Parent: %s\n", phex);
	printf("Tree:   %s\n", thex);
	printf("Author: %s\nDate:   %s\n\n    %s\n\n", c->author, when,
	       c->message);
	if (d->kv)
		print_meta(false, d->kv);
}

static int run(struct cli *c, int argc, char **argv, bool show)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "max-count", required_argument, NULL, 'n' },
		{ "meta", no_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = show ? "show" : "log";
	struct mlfs_commit *v = NULL;
	struct mlfs_ref *refs = NULL;
	struct mlfs_alias *aliases = NULL;
	struct mlfs_store *s = NULL;
	struct decor d;
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	size_t n = 0, nref = 0, nalias = 0, max = show ? 1 : 0;
	bool meta = false;
	int ch, r;

	if (cli_want_help(argc, argv, show ? show_usage : log_usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, show ? "" : "n:", opts,
				 NULL)) != -1) {
		if (ch == 'j') {
			c->json = true;
		} else if (ch == 'M') {
			meta = true;
		} else if (ch == 'n' && !show) {
			char *end;

			max = strtoul(optarg, &end, 10);
			if (*end || !max || optarg[0] == '-')
				return cli_usage_error(name, "-n needs a "
						       "positive number");
		} else {
			return cli_usage_error(name, "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(name, "expected one NS/NAME[@REF]");
	r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
	if (r)
		return r;
	/* The log of a repository with no commits yet is empty; show has
	 * nothing to show and says so. */
	r = show ? cli_resolve(s, argv[optind], false, &spec, &res) :
		   cli_resolve_unborn(s, argv[optind], false, &spec, &res);
	if (r)
		goto out;
	mlfs_refspec_release(&spec);
	if (!res.unborn)
		r = mlfs_commit_history(s, &res.commit, max, &v, &n);
	if (r == 0)
		r = mlfs_ref_list(s, res.repo.id, 0, &refs, &nref);
	if (r == 0)
		r = mlfs_alias_list(s, res.repo.id, &aliases, &nalias);
	if (r < 0) {
		r = cli_error(r, "cannot read the history of '%s'",
			      argv[optind]);
		goto out;
	}
	if (c->json && !show)
		fputc('[', stdout);
	d = (struct decor){ refs, nref, aliases, nalias, NULL };
	for (size_t i = 0; i < n; i++) {
		struct mlfs_kv_list kv = MLFS_KV_LIST_INIT;
		char hex[MLFS_ID_HEX_LEN + 1];

		/* Read before anything of this commit is printed, so damage
		 * is said in place of the commit, not after half of it. */
		r = meta ? mlfs_vmeta_get(s, &v[i].id, &kv) : 0;
		if (r < 0) {
			if (c->json)
				fputs("]\n", stdout);
			mlfs_id_to_hex(&v[i].id, hex);
			r = cli_error(r, "cannot read the metadata of commit "
				      "%s", hex);
			goto out;
		}
		d.kv = meta ? &kv : NULL;
		print_commit(c->json, i == 0, &v[i], &d);
		mlfs_kv_list_release(&kv);
	}
	if (c->json)
		fputs(show ? "\n" : "]\n", stdout);
	r = CLI_OK;
out:
	free(aliases);
	free(refs);
	mlfs_commit_list_free(v, n);
	mlfs_store_close(s);
	return r;
}

int cmd_log(struct cli *c, int argc, char **argv)
{
	return run(c, argc, argv, false);
}

int cmd_show(struct cli *c, int argc, char **argv)
{
	return run(c, argc, argv, true);
}

/*
 * cmd_du.c - mlfs du: what versions cost, and what dedup saves.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mlfs/alias.h"
#include "mlfs/du.h"

static const char usage[] =
	"usage: mlfs du [NS/NAME[@REF]] [--json]\n\n"
	"Per version: logical bytes (sum of file sizes), stored bytes (pack\n"
	"bytes of the distinct chunks it uses, after dedup and "
	"compression),\n"
	"and unique bytes (chunks no other version in the store uses: what\n"
	"deleting the version would free). Without @REF, every version of "
	"the\n"
	"repository; without an argument, of every repository.\n";

static const char *repo_name(const struct mlfs_repo *v, size_t n, int64_t id,
			     char *buf, size_t size)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id) {
			snprintf(buf, size, "%s/%s", v[i].ns, v[i].name);
			return buf;
		}
	return "?";
}

/* Append @name to the comma-separated list in @buf (@used bytes so
 * far); false when it does not fit. */
static bool add_name(char *buf, size_t size, size_t *used, const char *name)
{
	int k = snprintf(buf + *used, size - *used, "%s%s", *used ? "," : "",
			 name);

	if (k < 0 || (size_t)k >= size - *used)
		return false;
	*used += (size_t)k;
	return true;
}

/* The tags, branches, then aliases at @commit. */
static void refs_of(struct mlfs_store *s, int64_t repo_id,
		    const struct mlfs_id *commit, char *buf, size_t size)
{
	struct mlfs_ref *refs;
	struct mlfs_alias *al;
	size_t n, used = 0;
	bool room = true;

	buf[0] = '\0';
	if (mlfs_ref_list(s, repo_id, 0, &refs, &n) < 0)
		return;
	for (size_t i = 0; room && i < n; i++)
		if (!refs[i].damaged &&
		    !memcmp(refs[i].commit.b, commit->b, MLFS_ID_LEN))
			room = add_name(buf, size, &used, refs[i].name);
	free(refs);
	if (mlfs_alias_list(s, repo_id, &al, &n) < 0)
		return;
	for (size_t i = 0; room && i < n; i++)
		if (!al[i].damaged && !mlfs_id_cmp(&al[i].commit, commit))
			room = add_name(buf, size, &used, al[i].name);
	free(al);
}

int cmd_du(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct mlfs_store *s = NULL;
	struct mlfs_repo *repos = NULL;
	struct mlfs_du_row *rows = NULL;
	struct mlfs_refspec spec = { 0 };
	struct mlfs_resolved res;
	size_t nrepos = 0, n = 0;
	uint64_t tl, ts, packs = 0, db = 0;
	int64_t repo_id = 0;
	const struct mlfs_id *only = NULL;
	char b1[32], b2[32], b3[32];
	int ch, r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'j')
			return cli_usage_error("du", "unknown option");
		c->json = true;
	}
	if (argc - optind > 1)
		return cli_usage_error("du", "expected at most one "
				       "NS/NAME[@REF]");
	r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
	if (r)
		return r;
	if (optind < argc) {
		r = cli_resolve(s, argv[optind], false, &spec, &res);
		if (r)
			goto out;
		repo_id = res.repo.id;
		if (spec.rev[0] || spec.has_date || spec.back)
			only = &res.commit;
	}
	r = mlfs_repo_list(s, &repos, &nrepos);
	if (r == 0)
		r = mlfs_du(s, repo_id, only, &rows, &n, &tl, &ts);
	if (r == 0)
		r = mlfs_store_usage(s, &packs, &db);
	if (r < 0) {
		r = cli_error(r, "cannot compute usage");
		goto out;
	}
	if (c->json)
		printf("{\"versions\": [");
	else
		printf("%-24s %-12s %-16s %8s %11s %11s %11s\n", "REPO",
		       "COMMIT", "REFS", "FILES", "LOGICAL", "STORED",
		       "UNIQUE");
	for (size_t i = 0; i < n; i++) {
		char name[2 * MLFS_NAME_MAX + 2], hex[MLFS_ID_HEX_LEN + 1];
		char refs[256];

		repo_name(repos, nrepos, rows[i].repo_id, name, sizeof(name));
		mlfs_id_to_hex(&rows[i].commit, hex);
		refs_of(s, rows[i].repo_id, &rows[i].commit, refs,
			sizeof(refs));
		if (c->json) {
			printf("%s{\"repo\": ", i ? ", " : "");
			cli_json_str(stdout, name);
			printf(", \"commit\": \"%s\", \"refs\": ", hex);
			cli_json_str(stdout, refs);
			printf(", \"files\": %" PRIu64 ", \"logical\": %" PRIu64
			       ", \"stored\": %" PRIu64 ", \"unique\": %" PRIu64
			       "}", rows[i].files, rows[i].logical,
			       rows[i].stored, rows[i].unique);
		} else {
			printf("%-24s %.12s %-16s %8" PRIu64 " %11s %11s "
			       "%11s\n", name, hex, refs[0] ? refs : "-",
			       rows[i].files,
			       cli_human_bytes(rows[i].logical, b1, sizeof(b1)),
			       cli_human_bytes(rows[i].stored, b2, sizeof(b2)),
			       cli_human_bytes(rows[i].unique, b3,
					       sizeof(b3)));
		}
	}
	if (c->json) {
		printf("], \"total_logical\": %" PRIu64 ", \"total_stored\": %"
		       PRIu64 ", \"store_packs_bytes\": %" PRIu64
		       ", \"store_db_bytes\": %" PRIu64 "}\n", tl, ts, packs,
		       db);
	} else {
		printf("total: %s logical in %zu versions, %s stored "
		       "(%.2fx of logical after dedup and compression); on "
		       "disk: packs %s",
		       cli_human_bytes(tl, b1, sizeof(b1)), n,
		       cli_human_bytes(ts, b2, sizeof(b2)),
		       tl ? (double)ts / (double)tl : 0.0,
		       cli_human_bytes(packs, b3, sizeof(b3)));
		printf(", database %s\n", cli_human_bytes(db, b1, sizeof(b1)));
	}
	r = CLI_OK;
out:
	mlfs_refspec_release(&spec);
	free(rows);
	free(repos);
	mlfs_store_close(s);
	return r;
}

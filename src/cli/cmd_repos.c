/*
 * cmd_repos.c - mlfs repos: list repositories.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: mlfs repos [--json]\n\n"
	"List repositories with their default branch head, branch and tag\n"
	"counts.\n";

int cmd_repos(struct cli *c, int argc, char **argv)
{
	struct mlfs_store *s = NULL;
	struct mlfs_repo *v = NULL;
	size_t n = 0, damaged = 0;
	int r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			c->json = true;
		else
			return cli_usage_error("repos", "unexpected argument "
					       "'%s'", argv[i]);
	}
	r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
	if (r)
		return r;
	r = mlfs_repo_list(s, &v, &n);
	if (r < 0) {
		r = cli_error(r, "cannot list repositories");
		goto out;
	}
	if (c->json)
		fputc('[', stdout);
	for (size_t i = 0; i < n; i++) {
		struct mlfs_ref *refs = NULL;
		size_t nref = 0, ntags = 0, nbranches = 0;
		char hex[MLFS_ID_HEX_LEN + 1] = "";
		struct mlfs_id head;

		if (v[i].damaged) {
			damaged++;
			if (c->json) {
				printf("%s{\"namespace\": ", i ? ", " : "");
				cli_json_str(stdout, v[i].ns);
				printf(", \"name\": ");
				cli_json_str(stdout, v[i].name);
				printf(", \"damaged\": true}");
			} else {
				printf("%s/%s\t(damaged)\n", v[i].ns,
				       v[i].name);
			}
			continue;
		}
		if (mlfs_ref_list(s, v[i].id, 0, &refs, &nref) == 0) {
			for (size_t k = 0; k < nref; k++) {
				if (refs[k].kind == MLFS_REF_TAG)
					ntags++;
				else
					nbranches++;
			}
			free(refs);
		}
		if (mlfs_ref_get(s, v[i].id, MLFS_REF_BRANCH,
				 v[i].default_branch, &head) == 0)
			mlfs_id_to_hex(&head, hex);
		if (c->json) {
			printf("%s{\"repo\": ", i ? ", " : "");
			char full[2 * MLFS_NAME_MAX + 2];

			snprintf(full, sizeof(full), "%s/%s", v[i].ns,
				 v[i].name);
			cli_json_str(stdout, full);
			printf(", \"namespace\": ");
			cli_json_str(stdout, v[i].ns);
			printf(", \"name\": ");
			cli_json_str(stdout, v[i].name);
			printf(", \"default_branch\": ");
			cli_json_str(stdout, v[i].default_branch);
			printf(", \"head\": %s%s%s, \"branches\": %zu, "
			       "\"tags\": %zu}", hex[0] ? "\"" : "",
			       hex[0] ? hex : "null", hex[0] ? "\"" : "",
			       nbranches, ntags);
		} else {
			printf("%s/%s\t%s %.12s\t%zu branches, %zu tags\n",
			       v[i].ns, v[i].name, v[i].default_branch,
			       hex[0] ? hex : "-", nbranches, ntags);
		}
	}
	if (c->json)
		fputs("]\n", stdout);
	r = damaged ? cli_error(0, "%zu %s damaged; run 'mlfs fsck'",
				damaged, damaged == 1 ? "repository is" :
				"repositories are") : CLI_OK;
out:
	free(v);
	mlfs_store_close(s);
	return r;
}

/*
 * cmd_lineage.c - mlfs lineage: the versions a version was made from,
 * and theirs (or, --downstream, every version made from it), as a tree:
 * one line per version, indented per level. The graph and its checks are
 * the library's (lineage.h); docs/lineage.md says how it is recorded.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "mlfs/lineage.h"

static const char usage[] =
	"usage: mlfs lineage NS/NAME@REF [--downstream] [--depth N] [--json]\n\n"
	"Show the inputs of a version (the versions read by the job that\n"
	"wrote it, and those named with --input), then their inputs, and so\n"
	"on: repository, short commit id, [the branches, tags and aliases at\n"
	"it now], files opened and bytes read, and how it was recorded\n"
	"(mount or manual).\n\n"
	"      --downstream  every version made from it instead, transitively\n"
	"      --depth N     at most N levels (default: all)\n"
	"      --json        the tree as JSON\n";

static void put_refs(const struct mlfs_lineage_node *n)
{
	size_t k = 0;

	if (!n->nbranches && !n->ntags && !n->naliases)
		return;
	printf(" [");
	for (size_t i = 0; i < n->nbranches; i++)
		printf("%s%s", k++ ? " " : "", n->branches[i]);
	for (size_t i = 0; i < n->ntags; i++)
		printf("%s%s", k++ ? " " : "", n->tags[i]);
	for (size_t i = 0; i < n->naliases; i++)
		printf("%salias:%s", k++ ? " " : "", n->aliases[i]);
	printf("]");
}

static void put_text(const struct mlfs_lineage_node *n, unsigned level)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	mlfs_id_to_hex(&n->commit, hex);
	printf("%*s%s/%s %.12s", (int)(2 * level), "", n->ns, n->name, hex);
	put_refs(n);
	if (level)
		printf(" %" PRIu64 " file(s), %" PRIu64 " byte(s), %s",
		       n->edge.files, n->edge.bytes,
		       mlfs_input_how_name(n->edge.how));
	if (n->cycle)
		printf(" (cycle: shown above)");
	if (n->truncated)
		printf(" (more below --depth)");
	printf("\n");
	for (size_t i = 0; i < n->nkids; i++)
		put_text(&n->kids[i], level + 1);
}

static void put_strv(const char *key, char **v, size_t n)
{
	printf(", \"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			printf(", ");
		cli_json_str(stdout, v[i]);
	}
	printf("]");
}

static void put_json(const struct mlfs_lineage_node *n, bool root,
		     bool downstream)
{
	char hex[MLFS_ID_HEX_LEN + 1], repo[2 * MLFS_NAME_MAX + 2];

	mlfs_id_to_hex(&n->commit, hex);
	snprintf(repo, sizeof(repo), "%s/%s", n->ns, n->name);
	printf("{\"repo\": ");
	cli_json_str(stdout, repo);
	printf(", \"commit\": \"%s\"", hex);
	put_strv("branches", n->branches, n->nbranches);
	put_strv("tags", n->tags, n->ntags);
	put_strv("aliases", n->aliases, n->naliases);
	if (!root)
		printf(", \"files\": %" PRIu64 ", \"bytes\": %" PRIu64
		       ", \"how\": \"%s\"", n->edge.files, n->edge.bytes,
		       mlfs_input_how_name(n->edge.how));
	printf(", \"cycle\": %s, \"truncated\": %s, \"%s\": [",
	       n->cycle ? "true" : "false", n->truncated ? "true" : "false",
	       downstream ? "used_by" : "inputs");
	for (size_t i = 0; i < n->nkids; i++) {
		if (i)
			printf(", ");
		put_json(&n->kids[i], false, downstream);
	}
	printf("]}");
}

static int parse_depth(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > 1000000)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int cmd_lineage(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "downstream", no_argument, NULL, 'D' },
		{ "depth", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct mlfs_lineage_node *tree = NULL;
	struct mlfs_store *s = NULL;
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	bool downstream = false;
	unsigned depth = 0;
	int ch, r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'D')
			downstream = true;
		else if (ch == 'j')
			c->json = true;
		else if (ch == 'd' && parse_depth(optarg, &depth) < 0)
			return cli_usage_error("lineage", "bad depth '%s': a "
					       "number of levels, at least 1",
					       optarg);
		else if (ch != 'd')
			return cli_usage_error("lineage", "unknown option");
	}
	if (optind + 1 != argc)
		return cli_usage_error("lineage", "expected one NS/NAME@REF");
	r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
	if (r)
		return r;
	r = cli_resolve(s, argv[optind], false, &spec, &res);
	if (r)
		goto out;
	mlfs_refspec_release(&spec);
	r = mlfs_lineage_walk(s, &res.commit, downstream, depth, &tree);
	if (r < 0) {
		r = cli_error(r, "cannot read the lineage of '%s'",
			      argv[optind]);
		goto out;
	}
	if (c->json) {
		put_json(tree, true, downstream);
		printf("\n");
	} else {
		put_text(tree, 0);
	}
	r = CLI_OK;
out:
	mlfs_lineage_free(tree);
	mlfs_store_close(s);
	return r;
}

/*
 * cmd_meta.c - mlfs meta: show, set and remove the key/value metadata of
 * one version. Every pair is checked before the store is opened for
 * writing; the changes and their audit records are one transaction
 * (mlfs_vmeta_update).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mlfs/vmeta.h"

static const char usage[] =
	"usage: mlfs meta NS/NAME@REF [KEY=VALUE]... [--unset KEY]... "
	"[--json]\n\n"
	"Show the key/value metadata of a version (\"key=value\" lines, by "
	"key),\n"
	"or set KEY to VALUE and remove the keys given to --unset, all at "
	"once,\n"
	"each change with an audit record. A value that is a number is a\n"
	"metric (see 'mlfs metrics'). Keys: 1-128 of [A-Za-z0-9._-]; values:\n"
	"up to 4096 bytes of UTF-8, no control characters.\n"
	"      --unset KEY  remove KEY (it must be set)\n"
	"      --json       print the metadata, or the changes, as JSON\n";

static void print_pairs(bool json, const char *hex,
			const struct mlfs_kv_list *l)
{
	if (!json) {
		for (size_t i = 0; i < l->n; i++)
			printf("%s=%s\n", l->v[i].key, l->v[i].value);
		return;
	}
	printf("{\"commit\": \"%s\", \"meta\": {", hex);
	for (size_t i = 0; i < l->n; i++) {
		printf("%s", i ? ", " : "");
		cli_json_str(stdout, l->v[i].key);
		printf(": ");
		cli_json_str(stdout, l->v[i].value);
	}
	printf("}}\n");
}

static void print_changes(bool json, const char *hex,
			  const struct mlfs_vmeta_change *ch, size_t n)
{
	if (json)
		printf("{\"commit\": \"%s\", \"changes\": [", hex);
	for (size_t i = 0; i < n; i++) {
		if (!json) {
			if (!ch[i].new)
				printf("unset %s (was %s)\n", ch[i].key,
				       ch[i].old);
			else if (ch[i].old)
				printf("set %s=%s (was %s)\n", ch[i].key,
				       ch[i].new, ch[i].old);
			else
				printf("set %s=%s\n", ch[i].key, ch[i].new);
			continue;
		}
		printf("%s{\"key\": ", i ? ", " : "");
		cli_json_str(stdout, ch[i].key);
		printf(", \"old\": ");
		if (ch[i].old)
			cli_json_str(stdout, ch[i].old);
		else
			printf("null");
		printf(", \"new\": ");
		if (ch[i].new)
			cli_json_str(stdout, ch[i].new);
		else
			printf("null");
		printf("}");
	}
	if (json)
		printf("]}\n");
	else if (n == 0)
		printf("nothing changed\n");
}

/* Check the request: pairs parsed into @set, @unset keys valid, no key
 * both set and unset. Returns CLI_OK or CLI_USAGE (reported). */
static int parse_request(int argc, char **argv, int first,
			 struct mlfs_kv_list *set, char **unset,
			 size_t nunset)
{
	char why[512];

	for (int i = first; i < argc; i++) {
		mlfs_error_clear();
		if (mlfs_vmeta_parse_arg(set, argv[i]) == 0)
			continue;
		snprintf(why, sizeof(why), "%s", mlfs_error_detail());
		mlfs_error_clear();
		return cli_usage_error("meta", "'%s': %s", argv[i], why);
	}
	for (size_t i = 0; i < nunset; i++) {
		if (mlfs_vmeta_check_key(unset[i]) < 0) {
			snprintf(why, sizeof(why), "%s", mlfs_error_detail());
			mlfs_error_clear();
			return cli_usage_error("meta", "--unset: %s", why);
		}
		if (mlfs_kv_list_find(set, unset[i]))
			return cli_usage_error("meta", "key '%s' is both set "
					       "and unset", unset[i]);
	}
	return CLI_OK;
}

int cmd_meta(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "unset", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct mlfs_kv_list set = MLFS_KV_LIST_INIT, cur = MLFS_KV_LIST_INIT;
	struct mlfs_vmeta_change *ch = NULL;
	struct mlfs_store *s = NULL;
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	char **unset = NULL, **nu, hex[MLFS_ID_HEX_LEN + 1];
	size_t nunset = 0, nch = 0;
	bool have_spec = false, change;
	int opt, r;

	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	/* Options may come anywhere; after "--" a KEY=VALUE may start
	 * with '-'. */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'j') {
			c->json = true;
		} else if (opt == 'u') {
			nu = realloc(unset, (nunset + 1) * sizeof(*nu));
			if (!nu) {
				r = cli_error(-ENOMEM, "out of memory");
				goto out;
			}
			unset = nu;
			unset[nunset++] = optarg;
		} else {
			r = cli_usage_error("meta", "unknown option");
			goto out;
		}
	}
	r = CLI_OK;
	if (optind >= argc) {
		r = cli_usage_error("meta", "expected NS/NAME@REF");
		goto out;
	}
	r = parse_request(argc, argv, optind + 1, &set, unset, nunset);
	if (r)
		goto out;
	change = set.n || nunset;
	r = cli_open_store(c, change ? 0 : MLFS_STORE_RDONLY, &s);
	if (r)
		goto out;
	r = cli_resolve(s, argv[optind], false, &spec, &res);
	if (r)
		goto out;
	have_spec = true;
	mlfs_id_to_hex(&res.commit, hex);
	if (!change) {
		r = mlfs_vmeta_get(s, &res.commit, &cur);
		if (r < 0) {
			r = cli_error(r, "cannot read the metadata of '%s' "
				      "(commit %s)", argv[optind], hex);
			goto out;
		}
		print_pairs(c->json, hex, &cur);
		r = CLI_OK;
		goto out;
	}
	mlfs_error_clear();
	r = mlfs_vmeta_update(s, res.repo.ns, res.repo.name, &res.commit,
			      &set, unset, nunset, &ch, &nch);
	if (r == -ENOENT) {
		char why[512];

		snprintf(why, sizeof(why), "%s", mlfs_error_detail());
		mlfs_error_clear();
		r = cli_error(0, "%s on '%s' (commit %s); nothing was changed",
			      why, argv[optind], hex);
		goto out;
	}
	if (r < 0) {
		r = cli_error(r, "cannot change the metadata of '%s' (commit "
			      "%s); nothing was changed", argv[optind], hex);
		goto out;
	}
	print_changes(c->json, hex, ch, nch);
	r = CLI_OK;
out:
	if (have_spec)
		mlfs_refspec_release(&spec);
	mlfs_vmeta_changes_free(ch, nch);
	mlfs_kv_list_release(&set);
	mlfs_kv_list_release(&cur);
	free(unset);
	mlfs_store_close(s);
	return r;
}

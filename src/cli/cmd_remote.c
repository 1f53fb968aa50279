/*
 * cmd_remote.c - mlfs remote add|remove|list: the S3 buckets this store
 * pushes to and fetches from (docs/remote.md). Only where a remote is
 * goes in the store; credentials come from the environment or
 * ~/.aws/credentials each time one is used.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remoteout.h"

static const char usage[] =
	"usage: mlfs remote add NAME s3://BUCKET[/PREFIX] [--endpoint URL]\n"
	"                       [--region R] [--virtual-host]\n"
	"       mlfs remote remove NAME\n"
	"       mlfs remote list [--json]\n\n"
	"Name the S3 buckets this store pushes to and fetches from.\n"
	"  --endpoint URL   http(s)://HOST[:PORT] of the S3 service "
	"(default AWS)\n"
	"  --region R       SigV4 region (default us-east-1)\n"
	"  --virtual-host   address BUCKET.HOST instead of HOST/BUCKET\n"
	"  --cache-size N   bound of the local cache of its chunks (default "
	"1G)\n"
	"Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and\n"
	"AWS_SESSION_TOKEN), else ~/.aws/credentials, profile AWS_PROFILE.\n";

static int remote_add(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		REMOTE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct remote_where w = { 0 };
	struct mlfs_store *s = NULL;
	struct mlfs_remote rm;
	int ch, r;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		r = remote_where_opt("remote", ch, &w);
		if (r > 1)
			return r;
		if (r == 0)
			return cli_usage_error("remote", "unknown option");
	}
	if (argc - optind != 2)
		return cli_usage_error("remote", "add takes NAME and URL");
	r = remote_where_make(argv[optind], argv[optind + 1], &w,
			      "cannot add remote", &rm);
	if (r != CLI_OK)
		return r;
	r = cli_open_store(c, 0, &s);
	if (r == CLI_OK) {
		int e = mlfs_remote_add(s, &rm);

		if (e == -EEXIST)
			r = cli_error(0, "remote '%s' already exists", rm.name);
		else if (e < 0)
			r = cli_error(e, "cannot add remote '%s'", rm.name);
		mlfs_store_close(s);
	}
	mlfs_remote_release(&rm);
	return r;
}

static int remote_remove(struct cli *c, int argc, char **argv)
{
	struct mlfs_store *s = NULL;
	int r, e;

	if (argc != 2)
		return cli_usage_error("remote", "remove takes NAME");
	r = cli_open_store(c, 0, &s);
	if (r != CLI_OK)
		return r;
	mlfs_error_clear();
	e = mlfs_remote_remove(s, argv[1]);
	if (e == -ENOENT)
		r = cli_error(0, "no remote '%s'", argv[1]);
	else if (e == -EBUSY) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", mlfs_error_detail());
		mlfs_error_clear();
		r = cli_error(0, "cannot remove remote '%s': %s", argv[1],
			      msg);
	} else if (e < 0)
		r = cli_error(e, "cannot remove remote '%s'", argv[1]);
	mlfs_store_close(s);
	return r;
}

static void json_opt(const char *key, const char *v, bool comma)
{
	printf("\"%s\":", key);
	if (v)
		cli_json_str(stdout, v);
	else
		fputs("null", stdout);
	if (comma)
		putchar(',');
}

static int remote_list(struct cli *c, int argc, char **argv)
{
	struct mlfs_store *s = NULL;
	struct mlfs_remote *v = NULL;
	bool json = false;
	size_t n = 0;
	int r, e;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else
			return cli_usage_error("remote", "unexpected argument "
					       "'%s'", argv[i]);
	}
	r = cli_open_store(c, MLFS_STORE_RDONLY, &s);
	if (r != CLI_OK)
		return r;
	e = mlfs_remote_list(s, &v, &n);
	if (e < 0) {
		r = cli_error(e, "cannot list remotes");
		goto out;
	}
	if (json)
		putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (!json) {
			printf("%s\t%s", v[i].name, v[i].url);
			if (v[i].endpoint)
				printf("\t--endpoint %s", v[i].endpoint);
			if (v[i].region)
				printf("\t--region %s", v[i].region);
			if (v[i].virtual_host)
				printf("\t--virtual-host");
			if (v[i].cache_size)
				printf("\t--cache-size %llu",
				       (unsigned long long)v[i].cache_size);
			putchar('\n');
			continue;
		}
		printf("%s{", i ? "," : "");
		json_opt("name", v[i].name, true);
		json_opt("url", v[i].url, true);
		json_opt("bucket", v[i].bucket, true);
		json_opt("prefix", v[i].prefix, true);
		json_opt("endpoint", v[i].endpoint, true);
		json_opt("region", v[i].region, true);
		printf("\"virtual_host\":%s,\"cache_size\":%llu}",
		       v[i].virtual_host ? "true" : "false",
		       (unsigned long long)(v[i].cache_size ? v[i].cache_size :
					    MLFS_REMOTE_CACHE_DEFAULT));
	}
	if (json)
		puts("]");
out:
	mlfs_remote_list_free(v, n);
	mlfs_store_close(s);
	return r;
}

int cmd_remote(struct cli *c, int argc, char **argv)
{
	if (cli_want_help(argc, argv, usage))
		return CLI_OK;
	if (argc < 2)
		return cli_usage_error("remote", "add, remove or list?");
	if (!strcmp(argv[1], "add"))
		return remote_add(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "remove") || !strcmp(argv[1], "rm"))
		return remote_remove(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "list") || !strcmp(argv[1], "ls"))
		return remote_list(c, argc - 1, argv + 1);
	return cli_usage_error("remote", "unknown subcommand '%s'", argv[1]);
}

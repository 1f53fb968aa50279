/*
 * metaopt.c - --meta KEY=VALUE and --metrics FILE on the command line
 * (metaopt.h); the rules are the library's (mlfs/vmeta.h).
 */
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "metaopt.h"

int cli_meta_option(const char *cmd, struct mlfs_kv_list *l, bool is_file,
		    const char *arg)
{
	char why[512];
	int r;

	mlfs_error_clear();
	r = is_file ? mlfs_vmeta_read_metrics(l, arg) :
		      mlfs_vmeta_parse_arg(l, arg);
	if (r == 0)
		return CLI_OK;
	snprintf(why, sizeof(why), "%s", r == -ENOMEM ? "out of memory" :
		 mlfs_error_detail());
	mlfs_error_clear();
	if (is_file)
		return cli_usage_error(cmd, "--metrics: %s", why);
	return cli_usage_error(cmd, "--meta '%s': %s", arg, why);
}

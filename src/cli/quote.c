/*
 * quote.c - names in the CLI's text output, quoted as git quotes paths
 * (mlfs_quote_path, include/mlfs/quote.h): one name, one line, whatever
 * bytes it holds. --json output goes through cli_json_str instead.
 */
#include <stdio.h>
#include <string.h>

#include "mlfs/quote.h"

#include "cli.h"

const char *cli_quote(struct mlfs_buf *b, const char *name)
{
	b->len = 0;
	if (mlfs_quote_path(b, name, strlen(name)) < 0 ||
	    mlfs_buf_append(b, "", 1) < 0)
		return name; /* out of memory: raw beats nothing */
	return (const char *)b->data;
}

void cli_put_name(FILE *f, const char *name)
{
	struct mlfs_buf b = MLFS_BUF_INIT;

	fputs(cli_quote(&b, name), f);
	mlfs_buf_release(&b);
}

/*
 * inputs.c - "--input NS/NAME@REF" of snapshot, import and run: each
 * reference resolved to its commit before anything is written, as an
 * input named by hand (lineage.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "cli.h"
#include "mlfs/lineage.h"

int cli_inputs_resolve(struct mlfs_store *s, char *const *args, size_t n,
		       struct mlfs_input **out)
{
	struct mlfs_input *v;

	*out = NULL;
	if (!n)
		return CLI_OK;
	v = calloc(n, sizeof(*v));
	if (!v)
		return cli_error(-ENOMEM, "cannot resolve the inputs");
	for (size_t i = 0; i < n; i++) {
		struct mlfs_refspec spec;
		struct mlfs_resolved res;
		int r = cli_resolve(s, args[i], false, &spec, &res);

		if (r) {
			free(v);
			return r;
		}
		mlfs_refspec_release(&spec);
		v[i].commit = res.commit;
		v[i].how = MLFS_INPUT_MANUAL;
	}
	*out = v;
	return CLI_OK;
}

int cli_inputs_add(char ***args, size_t *n, char *arg)
{
	char **nv = realloc(*args, (*n + 1) * sizeof(*nv));

	if (!nv)
		return cli_error(-ENOMEM, "cannot parse the options");
	nv[(*n)++] = arg;
	*args = nv;
	return CLI_OK;
}

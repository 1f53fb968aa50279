/*
 * target.c - resolve "ns/name[@ref][/path]" for cat and export, keeping
 * the version and commit it names, and word damage found in it the same
 * way for both commands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "target.h"

/* "ns/name@ref" of @arg: up to the '/' that starts the path, with the
 * default branch named when @arg gives no ref. */
static char *version_name(const char *arg, const struct mlfs_resolved *res)
{
	const char *slash = strchr(arg, '/');
	const char *end = slash ? strchr(slash + 1, '/') : NULL;
	size_t len = end ? (size_t)(end - arg) : strlen(arg);
	bool has_ref = memchr(arg, '@', len) != NULL;
	size_t extra = has_ref ? 0 : 1 + strlen(res->repo.default_branch);
	char *v = malloc(len + extra + 1);

	if (!v)
		return NULL;
	memcpy(v, arg, len);
	if (has_ref)
		v[len] = '\0';
	else
		snprintf(v + len, extra + 1, "@%s", res->repo.default_branch);
	return v;
}

int cli_target_lookup(struct mlfs_store *s, const char *arg,
		      struct cli_target *t)
{
	struct mlfs_commit commit = { 0 };
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	int r;

	memset(t, 0, sizeof(*t));
	r = cli_resolve(s, arg, true, &spec, &res);
	if (r)
		return r;
	t->commit = res.commit;
	t->version = version_name(arg, &res);
	t->path = strdup(spec.path ? spec.path : "");
	if (!t->version || !t->path) {
		mlfs_refspec_release(&spec);
		return cli_error(-ENOMEM, "cannot read '%s'", arg);
	}
	mlfs_error_clear();
	r = mlfs_commit_get(s, &res.commit, &commit);
	if (r == 0)
		r = mlfs_tree_lookup_path(s, &commit.tree, spec.path,
					  &t->ent);
	mlfs_commit_release(&commit);
	mlfs_refspec_release(&spec);
	if (r == -EIO || r == -EBADMSG)
		return cli_target_damaged(t, "", r);
	return r < 0 ? cli_error(r, "cannot read '%s'", arg) : CLI_OK;
}

void cli_target_release(struct cli_target *t)
{
	free(t->version);
	free(t->path);
	mlfs_entry_copy_release(&t->ent);
	memset(t, 0, sizeof(*t));
}

int cli_target_damaged(const struct cli_target *t, const char *sub, int r)
{
	char hex[MLFS_ID_HEX_LEN + 1];
	const char *d = mlfs_error_detail();
	const char *sep = t->path[0] && sub[0] ? "/" : "";
	bool any = t->path[0] || sub[0];

	mlfs_id_to_hex(&t->commit, hex);
	fprintf(stderr, "mlfs: '%s%s%s%s%s' (commit %s) is damaged: %s\n",
		t->version, any ? ":" : "", t->path, sep, sub, hex,
		d[0] ? d : strerror(-r));
	mlfs_error_clear();
	return CLI_FAILED;
}

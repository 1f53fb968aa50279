/*
 * repo.h - repositories, commits (immutable versions), branches, tags,
 * and resolving a parsed reference to a commit.
 */
#ifndef MLFS_REPO_H
#define MLFS_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/names.h"
#include "mlfs/util.h"

struct mlfs_store;

struct mlfs_repo {
	int64_t id;
	char ns[MLFS_NAME_MAX + 1];
	char name[MLFS_NAME_MAX + 1];
	char default_branch[MLFS_NAME_MAX + 1];
	int64_t created; /* seconds since the epoch */
	/* Only in lists (mlfs_repo_list): the row failed its checks and must
	 * not be used; mlfs_repo_get fails with -EIO instead. */
	bool damaged;
};

struct mlfs_commit {
	struct mlfs_id id;
	struct mlfs_id parent;
	bool has_parent;
	struct mlfs_id tree;
	int64_t repo_id;
	int64_t time;  /* seconds since the epoch */
	char *author;  /* owned */
	char *message; /* owned */
	/* Only in lists (mlfs_commit_list_all): the row failed verification;
	 * no field but id may be used. mlfs_commit_get fails instead. */
	bool damaged;
};

enum mlfs_ref_kind {
	MLFS_REF_BRANCH = 'b',
	MLFS_REF_TAG = 't',
	/* Only as mlfs_resolved.rev_kind: aliases are not refs rows and
	 * never in mlfs_ref_list (mlfs/alias.h). */
	MLFS_REF_ALIAS = 'a',
	/* Only as mlfs_resolved.rev_kind: "@REMOTE/BRANCH", a
	 * remote-tracking ref (mlfs/remote.h, struct mlfs_track). */
	MLFS_REF_TRACK = 'r',
};

struct mlfs_ref {
	enum mlfs_ref_kind kind;
	char name[MLFS_NAME_MAX + 1];
	struct mlfs_id commit;
	/* The row failed its check: @commit must not be used (resolving the
	 * name fails with -EIO). Listed so that damage is seen, not hidden. */
	bool damaged;
};

/* Returns 0 or -ENOENT. */
MLFS_MUST_CHECK int mlfs_repo_get(struct mlfs_store *s, const char *ns,
				  const char *name, struct mlfs_repo *out);
/* Create the repository "@ns/@name" with no commits: its default branch
 * is unborn (no branch row) until the first commit, which has no parent.
 * Fills @out. Appends the audit line "repo-create ns/name".
 * Returns 0, -EINVAL (bad name; mlfs_error_detail() says why), -EEXIST,
 * -EROFS (read-only store), -EBUSY, -ENOSPC, -EIO. */
MLFS_MUST_CHECK int mlfs_repo_create(struct mlfs_store *s, const char *ns,
				     const char *name, struct mlfs_repo *out);
/* All repositories sorted by ns, name; *out malloc'd (caller frees).
 * Damaged rows are listed with ->damaged set. */
MLFS_MUST_CHECK int mlfs_repo_list(struct mlfs_store *s,
				   struct mlfs_repo **out, size_t *n);
/* Namespaces, sorted: *out is a malloc'd array of malloc'd strings;
 * free with mlfs_strv_free. */
MLFS_MUST_CHECK int mlfs_namespace_list(struct mlfs_store *s, char ***out,
					size_t *n);
void mlfs_strv_free(char **v, size_t n);

/* Returns 0 or -ENOENT. Release with mlfs_commit_release. */
MLFS_MUST_CHECK int mlfs_commit_get(struct mlfs_store *s,
				    const struct mlfs_id *id,
				    struct mlfs_commit *out);
void mlfs_commit_release(struct mlfs_commit *c);

/* Refs of @repo_id, of @kind or both when @kind is 0, sorted by kind then
 * name. *out malloc'd. */
MLFS_MUST_CHECK int mlfs_ref_list(struct mlfs_store *s, int64_t repo_id,
				  int kind, struct mlfs_ref **out, size_t *n);
/* Returns 0 or -ENOENT. */
MLFS_MUST_CHECK int mlfs_ref_get(struct mlfs_store *s, int64_t repo_id,
				 enum mlfs_ref_kind kind, const char *name,
				 struct mlfs_id *commit);
/* Create tag or branch @name at @commit (a commit of @repo_id).
 * Returns 0, -EEXIST (a ref of that kind exists, or an alias has the
 * name: then the error detail says so), -EINVAL (bad name), -ENOENT (no
 * such commit), -EIO (a damaged alias row of that name). */
MLFS_MUST_CHECK int mlfs_ref_create(struct mlfs_store *s, int64_t repo_id,
				    enum mlfs_ref_kind kind, const char *name,
				    const struct mlfs_id *commit);
/* Delete a ref. Deleting the default branch is -EBUSY. Commits stay in
 * the store (reachable through tags, other branches, or by id). */
MLFS_MUST_CHECK int mlfs_ref_delete(struct mlfs_store *s, int64_t repo_id,
				    enum mlfs_ref_kind kind, const char *name);

/* One change of a branch head, from the branch history. */
struct mlfs_reflog_entry {
	int64_t row;                      /* order of the changes */
	char branch[MLFS_NAME_MAX + 1];
	struct mlfs_id commit;            /* zero when deleted */
	bool deleted;                     /* the branch was deleted */
	int64_t time;                     /* seconds since the epoch */
	/* The entry fails its check value: no field but row and branch may
	 * be used. */
	bool damaged;
};

/* The history of every branch of @repo_id, oldest first (for fsck).
 * *out malloc'd (caller frees). Returns 0, -ENOMEM, -EBADMSG (the table
 * cannot be read). */
MLFS_MUST_CHECK int mlfs_reflog_list(struct mlfs_store *s, int64_t repo_id,
				     struct mlfs_reflog_entry **out,
				     size_t *n);

/* How a reference resolved. */
struct mlfs_resolved {
	struct mlfs_repo repo;
	struct mlfs_id commit;
	/* What @rev named: MLFS_REF_TAG, MLFS_REF_BRANCH, MLFS_REF_ALIAS,
	 * or 'c' (commit id prefix); the default branch when the spec had
	 * no @rev. */
	int rev_kind;
	/* True when the result can never change: a commit id (prefix), or
	 * a "@{date}" in the past. Branches, "branch~N", aliases and tags
	 * (which can be deleted and made again on another commit) move. */
	bool immutable;
	/* Set with -ENOENT when @rev is empty or names the default branch
	 * and that branch is unborn: the repository (@repo, filled) has no
	 * commits yet (mlfs_repo_create). A listing may then be empty. */
	bool unborn;
};

/*
 * Pick the reading of "@X/Y..." (mlfs_refspec_parse, ->alt_path): branch
 * Y of remote X when the store has a remote X, else rev X and path
 * "Y...". Afterwards ->alt_path is NULL. Returns 0 or -errno of the
 * database. mlfs_resolve picks the same way for a spec not settled, but
 * leaves its ->path as it is.
 */
MLFS_MUST_CHECK int mlfs_refspec_settle(struct mlfs_store *s,
					struct mlfs_refspec *spec);

/*
 * Resolve @spec: the repository, then with ->remote the remote-tracking
 * ref (remote, branch) as the last fetch or push saw it (-ENOENT: no such
 * remote or no such branch in it; -EINVAL: no branch written), else @rev
 * as tag, else branch, else
 * alias, else commit-id prefix (tags win over branches, as in git; mlfs
 * never gives an alias the name of a tag or branch, so the order only
 * matters in stores written otherwise), then "@{date}" (branch head at
 * that time, from the branch history; -EINVAL for a tag or alias), then
 * "~N". The commit reached is loaded and verified.
 * Returns 0; -ENOENT (no such repository, ref, commit or no history that
 * old; ->unborn when the repository has no commits yet); -ENOTUNIQ
 * (ambiguous prefix: *candidates, if non-NULL, gets a malloc'd array of
 * the matching ids and *ncand its length); -EIO (a
 * ref, history entry or commit on the way failed verification: the
 * error detail names it).
 */
MLFS_MUST_CHECK int mlfs_resolve(struct mlfs_store *s,
				 const struct mlfs_refspec *spec,
				 struct mlfs_resolved *out,
				 struct mlfs_id **candidates, size_t *ncand);

/* First-parent history from @start, newest first, at most @max (0 = all).
 * *out malloc'd array of commits; free with mlfs_commit_list_free. */
MLFS_MUST_CHECK int mlfs_commit_history(struct mlfs_store *s,
					const struct mlfs_id *start,
					size_t max, struct mlfs_commit **out,
					size_t *n);
void mlfs_commit_list_free(struct mlfs_commit *v, size_t n);

/* Every commit of @repo_id (0 = all repos), any order. A commit whose row
 * fails verification is listed with ->damaged set: callers must skip or
 * report it, never use its fields. */
MLFS_MUST_CHECK int mlfs_commit_list_all(struct mlfs_store *s,
					 int64_t repo_id,
					 struct mlfs_commit **out, size_t *n);

#endif

/*
 * names.h - the rules for repository, branch and tag names, and the
 * parser for references "<ns>/<name>[@<ref>][/<path>]". Syntax only: the
 * store resolves what a parsed reference points at (mlfs/repo.h).
 */
#ifndef MLFS_NAMES_H
#define MLFS_NAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "mlfs/util.h"

#define MLFS_NAME_MAX 128
/* Rule text quoted by every name error. */
#define MLFS_NAME_RULE \
	"names are 1-128 characters of [A-Za-z0-9._-], not starting with " \
	"'.' or '-', without '..'"

/* Check one name part (namespace, repository name, branch, tag).
 * Returns 0 or -EINVAL with *why set to a static explanation. */
MLFS_MUST_CHECK int mlfs_name_check(const char *s, const char **why);

/* mlfs_name_check for a new tag, branch or alias name, which must also
 * not be 32 hex digits: a commit's full id names that commit for good
 * (docs/cli.md#refs), and such a name would shadow it where the commit
 * exists in the repository or be taken for it where not. */
MLFS_MUST_CHECK int mlfs_ref_name_check(const char *s, const char **why);

/* Is @s a whole commit id (32 hex digits, either case)? */
bool mlfs_is_full_id(const char *s);

/* Shortest commit-id prefix accepted in a reference. */
#define MLFS_COMMIT_PREFIX_MIN 8

struct mlfs_refspec {
	char ns[MLFS_NAME_MAX + 1];
	char name[MLFS_NAME_MAX + 1];
	/* Tag, branch or hex commit prefix; empty means the default branch.
	 * With @remote set: the remote's branch (empty: none was written,
	 * "@origin/", which resolving refuses). */
	char rev[MLFS_NAME_MAX + 1];
	/* "@REMOTE/BRANCH" (MLFS_REFSPEC_REMOTE): a remote-tracking ref. */
	char remote[MLFS_NAME_MAX + 1];
	/* Owned, or NULL. When "@X/Y..." also reads as rev X and path
	 * "Y..." (a path is allowed, or only '/' follows X), that path:
	 * mlfs_refspec_settle() takes this reading when the store has no
	 * remote X. */
	char *alt_path;
	bool has_date;      /* "@{date}": the branch head as of @date */
	int64_t date;       /* seconds since the epoch, UTC */
	unsigned back;      /* "~N": N first-parent steps back */
	char *path;         /* owned; "" for the root; no leading '/' */
};

/* Flags of mlfs_refspec_parse. */
#define MLFS_REFSPEC_PATH   1u /* accept a trailing "/path" */
#define MLFS_REFSPEC_REMOTE 2u /* read "@X/Y" as remote X's branch Y */

/* Parse @s. Without MLFS_REFSPEC_PATH a path is -EINVAL. With
 * MLFS_REFSPEC_REMOTE, "@X/Y[~N]" is branch Y of remote X (->remote),
 * when Y is a name; with a path allowed it may also be rev X and path
 * "Y...": ->alt_path keeps that reading for mlfs_refspec_settle().
 * Returns 0, -ENOMEM or -EINVAL with *why set. Release with
 * mlfs_refspec_release. */
MLFS_MUST_CHECK int mlfs_refspec_parse(const char *s, unsigned flags,
				       struct mlfs_refspec *out,
				       const char **why);
void mlfs_refspec_release(struct mlfs_refspec *r);

/* Parse an ISO-8601 date or date-time ("2024-03-01", "2024-03-01T12:00",
 * "2024-03-01 12:00:05Z", "...+02:00"); no zone means UTC.
 * Returns 0 or -EINVAL. */
MLFS_MUST_CHECK int mlfs_parse_date(const char *s, int64_t *out);

/* True when @s is 8..32 lower/upper-case hex digits. */
bool mlfs_is_hex_prefix(const char *s);

#endif

/*
 * vmeta.h - key/value metadata of versions (docs/cli.md#mlfs-meta): the
 * rules for keys and values, "KEY=VALUE" arguments and --metrics files
 * (a flat JSON object of numbers), and the rows of a commit, each with a
 * keyed check value (docs/format.md#version-metadata). A value that is a
 * finite decimal number is a metric; it is stored as the user's text and
 * shown as such, never re-formatted.
 */
#ifndef MLFS_VMETA_H
#define MLFS_VMETA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/util.h"

struct mlfs_store;

/* Keys are 1-128 bytes of [A-Za-z0-9._-]. */
#define MLFS_VMETA_KEY_MAX 128
/* Values are at most 4096 bytes of UTF-8 with no control characters
 * (bytes 0x00-0x1f and 0x7f): one line, printable as it is. */
#define MLFS_VMETA_VALUE_MAX 4096
/* Pairs one version holds. */
#define MLFS_VMETA_PAIRS_MAX 1024
/* Largest --metrics file read. */
#define MLFS_VMETA_FILE_MAX (1u << 20)

struct mlfs_kv {
	char *key;   /* owned by the list */
	char *value;
};

/* Pairs with distinct keys, in the order first set (mlfs_kv_list_sort
 * orders them by key, bytewise). Owner frees with mlfs_kv_list_release. */
struct mlfs_kv_list {
	struct mlfs_kv *v;
	size_t n, cap;
};
#define MLFS_KV_LIST_INIT { NULL, 0, 0 }

/* Free the pairs and reset to empty; accepts an empty list. */
void mlfs_kv_list_release(struct mlfs_kv_list *l);
/* The pair with @key, or NULL. */
const struct mlfs_kv *mlfs_kv_list_find(const struct mlfs_kv_list *l,
					const char *key);
void mlfs_kv_list_sort(struct mlfs_kv_list *l);

/* 0 when @key is a valid key; else -EINVAL with mlfs_error_detail()
 * saying why ("key 'a b': only letters, digits, '.', '_' and '-'"). */
MLFS_MUST_CHECK int mlfs_vmeta_check_key(const char *key);
/* 0 when the @len bytes at @value are a valid value of @key (named in
 * the detail); else -EINVAL with mlfs_error_detail() saying why. */
MLFS_MUST_CHECK int mlfs_vmeta_check_value(const char *key,
					   const char *value, size_t len);

/* True when @value is a metric: a decimal number, in full, with an
 * optional sign, digits with at most one '.', an optional exponent
 * ("0.93", "-1", "+2.5e-3", ".5", "7."), and finite as a double. "nan",
 * "inf", "0x10", " 1" and "1 " are not metrics (they stay strings). Its
 * value goes to *@num when not NULL. */
bool mlfs_vmeta_is_metric(const char *value, double *num);

/* Set @key to a copy of @value in @l (checked first), replacing the
 * pair with that key if there is one. A number-looking value that is not
 * finite ("1e999") is refused rather than kept as a string.
 * Returns 0, -EINVAL (bad key or value: the detail says which), -E2BIG
 * (over MLFS_VMETA_PAIRS_MAX pairs), -ENOMEM. */
MLFS_MUST_CHECK int mlfs_kv_list_set(struct mlfs_kv_list *l,
				     const char *key, const char *value);

/* Add the "KEY=VALUE" argument @arg (split at the first '=') to @l, as
 * mlfs_kv_list_set. -EINVAL also when there is no '=' or the key is
 * empty. */
MLFS_MUST_CHECK int mlfs_vmeta_parse_arg(struct mlfs_kv_list *l,
					 const char *arg);

/* Add the members of the metrics document @text (@len bytes) to @l: a
 * JSON object whose every value is a finite number, stored as its
 * literal text. @label names the document in errors. Returns 0,
 * -EINVAL (not JSON, not an object, a value not a number, a number out
 * of range, a bad key: the detail says which), -EFBIG (over
 * MLFS_VMETA_FILE_MAX), -E2BIG, -ENOMEM. Nothing is added on error. */
MLFS_MUST_CHECK int mlfs_vmeta_parse_metrics(struct mlfs_kv_list *l,
					     const char *text, size_t len,
					     const char *label);
/* The same on the file at @path (read whole, at most
 * MLFS_VMETA_FILE_MAX bytes). Returns what mlfs_vmeta_parse_metrics
 * returns, or -errno from open/read (the detail names @path). */
MLFS_MUST_CHECK int mlfs_vmeta_read_metrics(struct mlfs_kv_list *l,
					    const char *path);

/*
 * The metadata of commit @commit into @out (appended; @out should be
 * empty), sorted by key. Each row is checked against its check value
 * first: a damaged row is -EIO with mlfs_error_detail() naming the key
 * and the commit. Returns 0 (also for a commit with none), -EIO,
 * -EBADMSG, -ENOMEM.
 */
MLFS_MUST_CHECK int mlfs_vmeta_get(struct mlfs_store *s,
				   const struct mlfs_id *commit,
				   struct mlfs_kv_list *out);

/* One change mlfs_vmeta_update made: @old NULL = added, @new NULL =
 * removed. Strings owned by the array. */
struct mlfs_vmeta_change {
	char *key, *old, *new;
};
void mlfs_vmeta_changes_free(struct mlfs_vmeta_change *c, size_t n);

/*
 * Set the pairs of @set and remove the keys @unset (@nunset of them) on
 * commit @commit of repository @ns/@name, in one transaction that also
 * appends one audit record per key that changes (op "meta-set" with the
 * new value as message, or "meta-unset"; ref "meta:KEY"). Setting a key
 * to the value it has changes nothing. *@changes (may be NULL) gets the
 * changes made, in key order; free with mlfs_vmeta_changes_free.
 * Returns 0; -EINVAL (a key both set and unset, a bad key); -ENOENT (the
 * commit is not one of @ns/@name's, or an unset key is absent: the
 * detail says which; nothing is changed); -E2BIG (the version would
 * hold over MLFS_VMETA_PAIRS_MAX pairs); -EIO (a damaged row); -EROFS;
 * -EBUSY; -ENOSPC; -ENOMEM.
 */
MLFS_MUST_CHECK int mlfs_vmeta_update(struct mlfs_store *s, const char *ns,
				      const char *name,
				      const struct mlfs_id *commit,
				      const struct mlfs_kv_list *set,
				      char *const *unset, size_t nunset,
				      struct mlfs_vmeta_change **changes,
				      size_t *nchanges);

#endif

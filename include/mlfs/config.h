/*
 * config.h - a store's config file, STORE/config: format version,
 * chunking, zstd level and the hash key. Text of "key = value" lines
 * (docs/format.md#config). The parser is pure and takes untrusted bytes.
 */
#ifndef MLFS_CONFIG_H
#define MLFS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mlfs/chunker.h"
#include "mlfs/hash.h"
#include "mlfs/util.h"

#define MLFS_FORMAT_VERSION 1u
/* A config file longer than this is not one of ours: -EBADMSG. */
#define MLFS_CONFIG_MAX 65536u

struct mlfs_store_config {
	uint32_t format;
	struct mlfs_chunk_params chunk;
	int zstd_level;
	struct mlfs_hash_key key;
};

/* Parse the @len bytes at @text (not NUL-terminated; nothing past @len is
 * read) into @out, which is written only on success. Lines are
 * "key = value", '#' comments and blank lines; "\r\n" ends are accepted;
 * unknown keys are ignored (advisory settings of a newer minor mlfs).
 * Returns 0, -EPROTONOSUPPORT (format newer than MLFS_FORMAT_VERSION;
 * checked first, since a newer format may change everything else) or
 * -EBADMSG (over MLFS_CONFIG_MAX bytes, a NUL byte, a line without '=',
 * a key given twice, a missing key (all but "hash" are required), a
 * malformed or out-of-range value, another hash). */
MLFS_MUST_CHECK int mlfs_config_parse(const char *text, size_t len,
				      struct mlfs_store_config *out);

/* Write @c as config text into @buf of @size bytes (NUL-terminated).
 * Returns the length without the NUL, or -ENOBUFS (too small). */
MLFS_MUST_CHECK int mlfs_config_format(const struct mlfs_store_config *c,
				       char *buf, size_t size);

/* Read and parse @dir/config. Returns 0, -ENOENT (no config: not a
 * store), -EACCES (may not read it), the errors of mlfs_config_parse
 * (also -EBADMSG for a file that is not regular or is over
 * MLFS_CONFIG_MAX), -errno. */
MLFS_MUST_CHECK int mlfs_config_read(const char *dir,
				     struct mlfs_store_config *out);

/* Write @c to @dir/config atomically with permissions @mode (0600, or
 * 0640 for a store shared with a group). Returns 0 or -errno. */
MLFS_MUST_CHECK int mlfs_config_write(const char *dir,
				      const struct mlfs_store_config *c,
				      mode_t mode);

#endif

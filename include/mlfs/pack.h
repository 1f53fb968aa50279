/*
 * pack.h - append-only pack files of chunks. A pack is self-describing:
 * a header, then entries (header + stored bytes) that a scan can walk
 * without the database. Format: docs/format.md#packs.
 */
#ifndef MLFS_PACK_H
#define MLFS_PACK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/chunker.h"
#include "mlfs/codec.h"
#include "mlfs/hash.h"
#include "mlfs/util.h"

#define MLFS_PACK_MAGIC "MLFSPACK"
#define MLFS_PACK_VERSION 1u
#define MLFS_PACK_HEADER_LEN 32u
#define MLFS_PACK_ENTRY_MAGIC 0x4b434c4du /* "MLCK" little-endian */
#define MLFS_PACK_ENTRY_HEADER_LEN 40u
/* A writer starts a new pack past this size. */
#define MLFS_PACK_TARGET_SIZE (64ull * 1024 * 1024)

/* Where a chunk lives. */
struct mlfs_chunk_loc {
	uint64_t pack_id;   /* 64-bit random name of the pack */
	uint64_t offset;    /* of the entry header */
	uint32_t stored_len;
	uint32_t raw_len;
	uint8_t codec;
};

/* Pack file name for @pack_id: "pack-<16 hex>.mlp" (buf >= 32 bytes). */
void mlfs_pack_name(uint64_t pack_id, char *buf, size_t size);

/*
 * A pack writer, shared by the import workers: appends are serialised by
 * @lock, the data written with pwrite outside it. The writer rolls to a
 * new pack past MLFS_PACK_TARGET_SIZE and remembers every pack it wrote
 * so mlfs_pack_writer_sync() can make them all durable.
 */
struct mlfs_pack_writer;

/* Create a writer for packs in directory @dir (borrowed string copied).
 * Returns 0 or -errno. */
MLFS_MUST_CHECK int mlfs_pack_writer_new(const char *dir,
					 struct mlfs_pack_writer **out);
/* Writers appending concurrently should use different slots: each slot
 * fills its own pack, so appends do not contend on one file's lock. */
#define MLFS_PACK_WRITER_SLOTS 16

/* Append one chunk entry to the pack of @slot (< MLFS_PACK_WRITER_SLOTS).
 * @stored is the encoded bytes. Fills @loc. Thread-safe. Returns 0 or
 * -errno (-ENOSPC on a full disk, -EINVAL for a bad slot). */
MLFS_MUST_CHECK int mlfs_pack_writer_append(struct mlfs_pack_writer *w,
					    unsigned slot,
					    const struct mlfs_id *id,
					    enum mlfs_codec codec,
					    uint32_t raw_len,
					    const void *stored,
					    uint32_t stored_len,
					    struct mlfs_chunk_loc *loc);
/* fsync every pack written and the packs directory: after this returns 0
 * the appended entries survive power loss. */
MLFS_MUST_CHECK int mlfs_pack_writer_sync(struct mlfs_pack_writer *w);
/* Bytes appended so far (all packs). */
uint64_t mlfs_pack_writer_bytes(const struct mlfs_pack_writer *w);
/* Close and unlink every pack this writer created (after a failed
 * import nothing references them). Accepts NULL; frees the writer. */
void mlfs_pack_writer_discard(struct mlfs_pack_writer *w);
/* Close fds; accepts NULL. Does not sync. */
void mlfs_pack_writer_free(struct mlfs_pack_writer *w);

/* Parse and check an entry header read from disk (untrusted).
 * Returns 0 or -EBADMSG. */
MLFS_MUST_CHECK int mlfs_pack_entry_parse(const uint8_t *hdr,
					  struct mlfs_id *id,
					  enum mlfs_codec *codec,
					  uint32_t *raw_len,
					  uint32_t *stored_len);
/* Write the MLFS_PACK_ENTRY_HEADER_LEN-byte entry header for a chunk
 * into @hdr: the exact bytes mlfs_pack_entry_parse accepts back. */
void mlfs_pack_entry_format(uint8_t *hdr, const struct mlfs_id *id,
			    enum mlfs_codec codec, uint32_t raw_len,
			    uint32_t stored_len);
/* Check the entry header @hdr read at offset @off of pack @pack_id, a
 * file of @pack_size bytes (all untrusted): the header must parse
 * (mlfs_pack_entry_parse), start past the pack header and its stored
 * bytes end within the file. Fills @id and @loc. This is the step of
 * mlfs_pack_scan, without I/O. Returns 0 or -EBADMSG. */
MLFS_MUST_CHECK int mlfs_pack_entry_locate(const uint8_t *hdr,
					   uint64_t pack_id, uint64_t off,
					   uint64_t pack_size,
					   struct mlfs_id *id,
					   struct mlfs_chunk_loc *loc);
/* Check a pack header. Returns 0 or -EBADMSG. */
MLFS_MUST_CHECK int mlfs_pack_header_check(const uint8_t *hdr,
					   uint64_t *pack_id);

/* Read-side cache of open pack fds, thread-safe. */
struct mlfs_pack_set;
MLFS_MUST_CHECK int mlfs_pack_set_new(const char *dir,
				      struct mlfs_pack_set **out);
void mlfs_pack_set_free(struct mlfs_pack_set *s);
/* Read and decode the chunk at @loc into @out (exactly raw_len bytes);
 * verifies the entry header matches @id and @loc. Does NOT verify the
 * hash (the store does, it has the key). @loc is untrusted (an index
 * row). Returns 0, -ENOENT (pack file missing), -EBADMSG (entry header or
 * zstd frame corrupt, or @loc out of range), -errno. */
MLFS_MUST_CHECK int mlfs_pack_set_read(struct mlfs_pack_set *s,
				       const struct mlfs_id *id,
				       const struct mlfs_chunk_loc *loc,
				       void *out);
/* Size of a pack file, or -ENOENT. */
MLFS_MUST_CHECK int mlfs_pack_set_size(struct mlfs_pack_set *s,
				       uint64_t pack_id, uint64_t *size);

/* Walk every entry of one pack file (for fsck and repair). Calls @fn per
 * entry with its location; stops at a torn tail (reported via @tail_bad).
 * Returns 0, -EBADMSG for a bad pack header, or @fn's negative result. */
typedef int (*mlfs_pack_scan_fn)(void *ctx, const struct mlfs_id *id,
				 const struct mlfs_chunk_loc *loc);
MLFS_MUST_CHECK int mlfs_pack_scan(const char *path, mlfs_pack_scan_fn fn,
				   void *ctx, bool *tail_bad);

#endif

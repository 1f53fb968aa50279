/*
 * listing.h - a directory listing that changes (the root's namespaces, a
 * namespace's entries, a working tree's directory) as READDIR reads it:
 * names with their READDIR offsets, cookies that hash the name, so that
 * a listing built again between two READDIRs (another reader started
 * from 0, the directory changed) resumes after the same name. Shared by
 * its readers (counted); built and sealed by one. Used by dir.c.
 */
#ifndef MLFS_FUSE_LISTING_H
#define MLFS_FUSE_LISTING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mlfs/util.h"

/* Offsets: 1 after ".", 2 after "..", then a listing's entry is followed
 * by its cookie, above LISTING_OFF_ENTRIES and below 2^63 (a signed
 * off_t). */
#define LISTING_OFF_ENTRIES 2

struct mlfs_dent {
	char *name;
	uint64_t ino;
	uint64_t cookie; /* the READDIR offset after it */
	mode_t type;     /* S_IFDIR ... */
};

struct mlfs_listing {
	atomic_uint refs;
	size_t n, cap;
	struct mlfs_dent *d; /* by cookie once sealed */
};

/* An empty listing with one reference, or NULL (out of memory). */
struct mlfs_listing *mlfs_listing_new(void);
/* Add @name (its cookie: a hash of it). Returns 0 or -ENOMEM. */
MLFS_MUST_CHECK int mlfs_listing_add(struct mlfs_listing *l, const char *name,
				     uint64_t ino, mode_t type);
/* Sort by cookie; names of one cookie (one pair in 2^31 for 2^16
 * names) take the next numbers up, in name order. Readers may seek
 * from then on. */
void mlfs_listing_seal(struct mlfs_listing *l);
/* The first entry after offset @off (> LISTING_OFF_ENTRIES): n when none
 * is left. */
size_t mlfs_listing_seek(const struct mlfs_listing *l, uint64_t off);
/* Drop a reference (NULL: nothing); the last frees @l. */
void mlfs_listing_put(struct mlfs_listing *l);

#endif

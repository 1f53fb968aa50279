/*
 * import_read.h - reading a source file and cutting it into chunks ahead
 * of the ingest (internal to ingest.c). For large files a reader thread
 * reads and chunks the next buffer while the importer hashes and dedups
 * the current one, so a mostly-unchanged re-import uses both cores.
 */
#ifndef MLFS_IMPORT_READ_H
#define MLFS_IMPORT_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "mlfs/chunker.h"

/* A buffer of whole chunks: chunk i is data[ends[i-1] .. ends[i]). */
struct read_batch {
	const uint8_t *data;
	const size_t *ends;
	size_t n;
	bool last; /* no batch follows */
};

struct file_reader;

/* Start reading @fd (borrowed; stays open until file_reader_close) from
 * offset 0, cut by @sp with its per-file state @sp_state (borrowed, may
 * be NULL; used by the reader thread until file_reader_close). @threaded: read ahead on a thread of its own. @holes: the
 * file may have holes (fewer blocks than its size): find them with
 * SEEK_DATA/SEEK_HOLE and fill them with zeros instead of reading them
 * (without it, three fewer system calls per file). Returns 0 or -errno. */
int file_reader_open(int fd, const struct mlfs_chunk_params *cp,
		     const struct mlfs_splitter *sp, void *sp_state,
		     bool threaded, bool holes, struct file_reader **out);
/* The next batch, in file order; valid until the next call. Returns 0,
 * or the read error (-errno). */
int file_reader_next(struct file_reader *fr, struct read_batch *b);
/* Stop (also early, after an error) and free; accepts NULL. */
void file_reader_close(struct file_reader *fr);

#endif

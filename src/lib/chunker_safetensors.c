/*
 * chunker_safetensors.c - the safetensors splitter: a file is cut into
 * regions (the header; each tensor of at least min bytes; each run of
 * smaller tensors and gaps between them) and each region into FastCDC
 * chunks from its own start. The header is checked by the diff's parser
 * (mlfs_st_parse_header); the state kept while cutting is the regions'
 * end offsets. Anything that does not parse is FastCDC's, silently.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/chunker.h"
#include "mlfs/diff.h"

struct mlfs_st_split {
	uint64_t *ends; /* region ends, strictly increasing, last = size */
	size_t n;
	size_t i;       /* the region being cut */
	uint64_t pos;   /* file offset of the next byte next() is given */
};

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* The region ends of parsed file @f of @size bytes: the header's end,
 * both ends of every tensor of @min bytes or more, the file's end. */
static int build_ends(const struct mlfs_st_file *f, uint64_t size,
		      uint32_t min, struct mlfs_st_split *s)
{
	size_t n = 0, k = 0;

	s->ends = malloc((2 * f->n + 2) * sizeof(*s->ends));
	if (!s->ends)
		return -ENOMEM;
	s->ends[n++] = 8 + f->header_len;
	for (size_t i = 0; i < f->n; i++) {
		if (f->t[i].len < min)
			continue;
		s->ends[n++] = f->t[i].off;
		s->ends[n++] = f->t[i].off + f->t[i].len;
	}
	s->ends[n++] = size;
	qsort(s->ends, n, sizeof(*s->ends), cmp_u64);
	/* Tensors that touch share an end; the header end may be the
	 * first tensor's start. No region is empty. */
	for (size_t i = 0; i < n; i++)
		if (k == 0 || s->ends[i] != s->ends[k - 1])
			s->ends[k++] = s->ends[i];
	s->n = k;
	return 0;
}

int mlfs_st_split_new(const uint8_t *head, size_t len, uint64_t size,
		      const struct mlfs_chunk_params *p,
		      struct mlfs_st_split **out)
{
	struct mlfs_st_file f;
	struct mlfs_st_split *s = NULL;
	uint64_t n;

	*out = NULL;
	if (len < 8 || size < 8)
		return 0;
	n = mlfs_get_le64(head);
	if (n > MLFS_ST_SPLIT_HEADER_MAX || n > len - 8 || n > size - 8)
		return 0;
	if (mlfs_st_parse_header(head + 8, (size_t)n, size, &f, NULL, 0) < 0)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s || build_ends(&f, size, p->min, s) < 0) {
		mlfs_st_split_free(s);
		s = NULL;
	}
	mlfs_st_file_release(&f);
	*out = s;
	return s != NULL;
}

int mlfs_st_split_open(int fd, uint64_t size,
		       const struct mlfs_chunk_params *p,
		       struct mlfs_st_split **out)
{
	uint8_t first[9], *head;
	uint64_t n;
	int r = 0;

	*out = NULL;
	/* Length, then '{': the smallest header is "{}". A file of at most
	 * min bytes is one chunk whoever cuts it: not even read here. */
	if (size < 10 || size <= p->min ||
	    mlfs_pread_full(fd, first, sizeof(first), 0) < 0)
		return 0;
	n = mlfs_get_le64(first);
	if (n < 2 || n > MLFS_ST_SPLIT_HEADER_MAX || n > size - 8 ||
	    first[8] != '{')
		return 0;
	head = malloc(8 + (size_t)n);
	if (!head)
		return 0;
	if (mlfs_pread_full(fd, head, 8 + (size_t)n, 0) == 0)
		r = mlfs_st_split_new(head, 8 + (size_t)n, size, p, out);
	free(head);
	return r;
}

void mlfs_st_split_free(struct mlfs_st_split *s)
{
	if (!s)
		return;
	free(s->ends);
	free(s);
}

static size_t st_next(const struct mlfs_chunk_params *p, void *state,
		      const uint8_t *buf, size_t len, bool eof)
{
	struct mlfs_st_split *s = state;
	uint64_t left;
	size_t cut;

	/* Past the size the header was checked against (the file grew
	 * while it was read): FastCDC from there. */
	if (s->i == s->n)
		return mlfs_chunker_next(p, buf, len, eof);
	/* A region in @buf to its end is cut as if the file ended there;
	 * a cut FastCDC finds short of it is the same with more bytes. */
	left = s->ends[s->i] - s->pos;
	if (left <= len)
		cut = mlfs_chunker_next(p, buf, (size_t)left, true);
	else
		cut = mlfs_chunker_next(p, buf, len, eof);
	if (!cut)
		return 0;
	s->pos += cut;
	if (s->pos == s->ends[s->i])
		s->i++;
	return cut;
}

const struct mlfs_splitter mlfs_splitter_safetensors = {
	.name = "safetensors",
	.next = st_next,
};

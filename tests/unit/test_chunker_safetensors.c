/*
 * test_chunker_safetensors.c - the safetensors splitter: cuts on the
 * header's end and tensor boundaries, FastCDC restarted inside a tensor
 * (the same chunks wherever the tensor sits), bounds, streaming, and the
 * silent FastCDC fallback for anything that is not a safetensors file.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mlfs/chunker.h"
#include "mlfs/hash.h"
#include "mlfs/idset.h"

/* Small chunks, so tensors of a few KiB span many of them. */
static const struct mlfs_chunk_params sp = { 256, 1024, 4096 };

struct tdef {
	const char *name;
	size_t len;    /* U8 elements = bytes */
	uint64_t seed; /* its bytes */
};

struct stfile {
	uint8_t *d;
	size_t len;
	size_t hdr_end;     /* 8 + header length */
	size_t off[16];     /* absolute start of each tensor */
};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void fill_random(uint8_t *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = splitmix(&seed);

		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
}

/* A safetensors file of tensors @t (in this order), its header padded
 * with a __metadata__ string of @pad bytes. */
static void make_st(const struct tdef *t, size_t n, size_t pad,
		    struct stfile *f)
{
	char *h = malloc(4096 + pad), *at;
	size_t off = 0, hl;

	assert_non_null(h);
	assert_true(n <= 16);
	at = h + sprintf(h, "{\"__metadata__\":{\"pad\":\"");
	memset(at, 'x', pad);
	at += pad;
	at += sprintf(at, "\"}");
	for (size_t i = 0; i < n; i++) {
		at += sprintf(at, ",\"%s\":{\"dtype\":\"U8\",\"shape\":[%zu],"
			      "\"data_offsets\":[%zu,%zu]}", t[i].name,
			      t[i].len, off, off + t[i].len);
		off += t[i].len;
	}
	at += sprintf(at, "}");
	hl = (size_t)(at - h);
	f->hdr_end = 8 + hl;
	f->len = f->hdr_end + off;
	f->d = malloc(f->len);
	assert_non_null(f->d);
	mlfs_put_le64(f->d, hl);
	memcpy(f->d + 8, h, hl);
	off = f->hdr_end;
	for (size_t i = 0; i < n; i++) {
		f->off[i] = off;
		fill_random(f->d + off, t[i].len, t[i].seed);
		off += t[i].len;
	}
	free(h);
}

/* Cut @d with the splitter (a fresh state), giving it @step more bytes
 * at a time as import's reader does (0: all at once). Returns the number
 * of chunks; (*cuts)[i] is chunk i's end. NULL state: FastCDC. */
static size_t cut_st(const uint8_t *d, size_t len, size_t step,
		     size_t **cuts, bool *took)
{
	struct mlfs_st_split *s = NULL;
	const struct mlfs_splitter *x = &mlfs_splitter_fastcdc;
	size_t n = 0, pos = 0, have = step ? 0 : len;
	size_t *v = malloc((len + 1) * sizeof(*v));

	assert_non_null(v);
	if (mlfs_st_split_new(d, len, len, &sp, &s) == 1)
		x = &mlfs_splitter_safetensors;
	else
		assert_null(s);
	if (took)
		*took = s != NULL;
	while (pos < len) {
		size_t c;

		if (step && have < len)
			have = have + step < len ? have + step : len;
		c = x->next(&sp, s, d + pos, have - pos, have == len);
		if (!c) {
			assert_true(have < len);
			continue;
		}
		assert_true(c <= have - pos);
		pos += c;
		v[n++] = pos;
	}
	mlfs_st_split_free(s);
	*cuts = v;
	return n;
}

static bool has_cut(const size_t *cuts, size_t n, size_t at)
{
	for (size_t i = 0; i < n; i++)
		if (cuts[i] == at)
			return true;
	return false;
}

static const struct tdef base[] = {
	{ "a.weight", 20000, 1 },
	{ "a.bias", 100, 2 },     /* under min: grouped */
	{ "b.weight", 9000, 3 },
	{ "b.norm", 3000, 4 },
	{ "c.weight", 30001, 5 },
};

static void test_st_cuts_on_header_end_and_tensor_boundaries(void **state)
{
	struct stfile f;
	size_t *cuts, n;
	bool took;

	(void)state;
	make_st(base, 5, 10, &f);
	n = cut_st(f.d, f.len, 0, &cuts, &took);
	assert_true(took);
	assert_true(has_cut(cuts, n, f.hdr_end));
	for (size_t i = 0; i < 5; i++) {
		assert_true(has_cut(cuts, n, f.off[i]) || f.off[i] == f.hdr_end);
		if (base[i].len >= sp.min)
			assert_true(has_cut(cuts, n, f.off[i] + base[i].len));
	}
	/* The 100-byte bias is no chunk of its own: it starts a chunk (after
	 * a.weight) that runs into b.weight's start only. */
	assert_true(has_cut(cuts, n, f.off[1]));
	assert_false(has_cut(cuts, n, f.off[1] + 100) &&
		     !has_cut(cuts, n, f.off[2]));
	assert_int_equal(cuts[n - 1], f.len);
	free(cuts);
	free(f.d);
}

static void test_st_chunks_within_bounds(void **state)
{
	struct stfile f;
	size_t *cuts, n, start = 0;

	(void)state;
	/* A header larger than max is cut inside too. */
	make_st(base, 5, 10000, &f);
	n = cut_st(f.d, f.len, 0, &cuts, NULL);
	assert_true(has_cut(cuts, n, f.hdr_end));
	for (size_t i = 0; i < n; i++) {
		size_t len = cuts[i] - start;
		bool region_end = cuts[i] == f.hdr_end || cuts[i] == f.len;

		for (size_t k = 0; k < 5; k++)
			region_end |= cuts[i] == f.off[k];
		assert_true(len >= 1 && len <= sp.max);
		/* Short of min only where a region ends. */
		if (len < sp.min)
			assert_true(region_end);
		start = cuts[i];
	}
	free(cuts);
	free(f.d);
}

/* The chunk ids of @f in @set; returns the chunk count. */
static size_t st_ids(const struct stfile *f, struct mlfs_idset *set)
{
	static const struct mlfs_hash_key key = { { 1, 2, 3 } };
	size_t *cuts, n = cut_st(f->d, f->len, 0, &cuts, NULL), start = 0;

	for (size_t i = 0; i < n; i++) {
		struct mlfs_id id;

		mlfs_hash(&key, f->d + start, cuts[i] - start, &id);
		assert_true(mlfs_idset_add(set, &id, 0, NULL) >= 0);
		start = cuts[i];
	}
	free(cuts);
	return n;
}

static void test_st_unchanged_tensor_same_chunks_after_header_growth(
	void **state)
{
	/* v2: a longer header, a tensor inserted before b.weight, c.weight
	 * rewritten. */
	static const struct tdef v2[] = {
		{ "a.weight", 20000, 1 },
		{ "a.bias", 100, 2 },
		{ "new.weight", 7777, 9 },
		{ "b.weight", 9000, 3 },
		{ "b.norm", 3000, 4 },
		{ "c.weight", 30001, 6 },
	};
	static const struct mlfs_hash_key key = { { 1, 2, 3 } };
	struct mlfs_idset s2 = MLFS_IDSET_INIT;
	struct stfile f1, f2;
	size_t n, start = 0, shared = 0, want = 0, *cuts;

	(void)state;
	make_st(base, 5, 10, &f1);
	make_st(v2, 6, 300, &f2);
	assert_true(f2.hdr_end > f1.hdr_end);
	assert_true(st_ids(&f2, &s2) > 0);
	/* Every chunk of v1 from the header's end to c.weight is in v2. */
	n = cut_st(f1.d, f1.len, 0, &cuts, NULL);
	for (size_t i = 0; i < n; i++) {
		struct mlfs_id id;

		mlfs_hash(&key, f1.d + start, cuts[i] - start, &id);
		if (start >= f1.hdr_end && cuts[i] <= f1.off[4]) {
			want++;
			shared += mlfs_idset_get(&s2, &id) != NULL;
		}
		start = cuts[i];
	}
	assert_true(want > 20);
	assert_int_equal(shared, want);
	free(cuts);
	mlfs_idset_release(&s2);
	free(f1.d);
	free(f2.d);
}

static void test_st_byte_at_a_time_cuts_as_all_at_once(void **state)
{
	static const size_t steps[] = { 1, 7, 4096, 5000 };
	struct stfile f;
	size_t *a, na;

	(void)state;
	make_st(base, 5, 5000, &f);
	na = cut_st(f.d, f.len, 0, &a, NULL);
	for (size_t k = 0; k < MLFS_ARRAY_SIZE(steps); k++) {
		size_t *b, nb = cut_st(f.d, f.len, steps[k], &b, NULL);

		assert_int_equal(nb, na);
		assert_memory_equal(a, b, na * sizeof(*a));
		free(b);
	}
	free(a);
	free(f.d);
}

/* @d does not parse: no state, and cut_st's FastCDC cuts are those of
 * mlfs_chunker_next over the whole buffer. */
static void assert_falls_back(const uint8_t *d, size_t len)
{
	struct mlfs_st_split *s = (struct mlfs_st_split *)&s;
	size_t *cuts, n, pos = 0;
	bool took = true;

	assert_int_equal(mlfs_st_split_new(d, len, len, &sp, &s), 0);
	assert_null(s);
	n = cut_st(d, len, 0, &cuts, &took);
	assert_false(took);
	for (size_t i = 0; i < n; i++) {
		pos += mlfs_chunker_next(&sp, d + pos, len - pos, true);
		assert_int_equal(cuts[i], pos);
	}
	assert_int_equal(pos, len);
	free(cuts);
}

/* A file of header @json (its real length) and @data bytes of data. */
static void falls_back_with(const char *json, size_t data)
{
	size_t hl = strlen(json), len = 8 + hl + data;
	uint8_t *d = calloc(1, len);

	assert_non_null(d);
	mlfs_put_le64(d, hl);
	memcpy(d + 8, json, hl);
	fill_random(d + 8 + hl, data, 77);
	assert_falls_back(d, len);
	free(d);
}

static void test_st_malformed_headers_fall_back_to_fastcdc(void **state)
{
	struct stfile f;
	uint8_t *big;

	(void)state;
	make_st(base, 5, 10, &f);
	/* Truncated: the header is longer than the file. */
	assert_falls_back(f.d, f.hdr_end - 1);
	/* The header ends early but the JSON goes on: bad JSON. */
	mlfs_put_le64(f.d, f.hdr_end - 8 - 5);
	assert_falls_back(f.d, f.len);
	/* A huge length. */
	mlfs_put_le64(f.d, UINT64_MAX - 3);
	assert_falls_back(f.d, f.len);
	free(f.d);
	/* Shorter than a length. */
	assert_falls_back((const uint8_t *)"\x02\0\0", 3);
	falls_back_with("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],"
			"\"data_offsets\":[0,4]", 4);              /* bad JSON */
	falls_back_with("[1,2]", 100);                             /* no object */
	falls_back_with("{\"a\":{\"dtype\":\"U8\",\"shape\":[400],"
			"\"data_offsets\":[400,0]}}", 400);         /* begin > end */
	falls_back_with("{\"a\":{\"dtype\":\"U8\",\"shape\":[400],"
			"\"data_offsets\":[0,400]},\"b\":{\"dtype\":\"U8\","
			"\"shape\":[400],\"data_offsets\":[300,700]}}",
			700);                                      /* overlap */
	falls_back_with("{\"a\":{\"dtype\":\"U8\",\"shape\":[400],"
			"\"data_offsets\":[0,400]}}", 399);         /* past EOF */
	falls_back_with("{\"a\":{\"dtype\":\"F99\",\"shape\":[400],"
			"\"data_offsets\":[0,400]}}", 400);         /* dtype */
	falls_back_with("{\"a\":{\"dtype\":\"F16\",\"shape\":[400],"
			"\"data_offsets\":[0,400]}}", 800);         /* size */
	/* A header over the splitter's cap, well formed up to it. */
	big = malloc(MLFS_ST_SPLIT_HEADER_MAX + 16);
	assert_non_null(big);
	memset(big + 8, ' ', MLFS_ST_SPLIT_HEADER_MAX + 8);
	big[8] = '{';
	big[MLFS_ST_SPLIT_HEADER_MAX + 8] = '}';
	mlfs_put_le64(big, MLFS_ST_SPLIT_HEADER_MAX + 1);
	assert_falls_back(big, MLFS_ST_SPLIT_HEADER_MAX + 16);
	/* ... and just under it, taken (an empty header, data after). */
	mlfs_put_le64(big, MLFS_ST_SPLIT_HEADER_MAX - 8);
	big[MLFS_ST_SPLIT_HEADER_MAX - 1] = '}';
	{
		struct mlfs_st_split *s = NULL;

		assert_int_equal(mlfs_st_split_new(big,
					MLFS_ST_SPLIT_HEADER_MAX + 16,
					MLFS_ST_SPLIT_HEADER_MAX + 16, &sp,
					&s), 1);
		assert_non_null(s);
		mlfs_st_split_free(s);
	}
	free(big);
}

static void test_st_open_reads_the_header_of_a_file(void **state)
{
	char path[] = "/tmp/mlfs-test-stsplit.XXXXXX";
	int fd = mkstemp(path);
	struct mlfs_st_split *s = NULL;
	struct stfile f;

	(void)state;
	assert_true(fd >= 0);
	make_st(base, 5, 10, &f);
	assert_int_equal(write(fd, f.d, f.len), (ssize_t)f.len);
	assert_int_equal(lseek(fd, 5, SEEK_SET), 5);
	assert_int_equal(mlfs_st_split_open(fd, f.len, &sp, &s), 1);
	assert_non_null(s);
	mlfs_st_split_free(s);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 5); /* position kept */
	/* The size it is told of is what the offsets are checked against. */
	assert_int_equal(mlfs_st_split_open(fd, f.len - 1, &sp, &s), 0);
	assert_null(s);
	/* An empty header, then data: taken. */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(ftruncate(fd, 1000), 0);
	assert_int_equal(pwrite(fd, "\x02\0\0\0\0\0\0\0{}", 10, 0), 10);
	assert_int_equal(mlfs_st_split_open(fd, 1000, &sp, &s), 1);
	mlfs_st_split_free(s);
	/* Not looked at when the file is one chunk anyway (<= min). */
	assert_int_equal(mlfs_st_split_open(fd, sp.min, &sp, &s), 0);
	assert_null(s);
	/* Whitespace before the '{' (JSON allows it): not taken. */
	assert_int_equal(pwrite(fd, "\x04\0\0\0\0\0\0\0 {} ", 12, 0), 12);
	assert_int_equal(mlfs_st_split_open(fd, 1000, &sp, &s), 0);
	assert_null(s);
	mlfs_st_split_free(NULL);
	close(fd);
	unlink(path);
	free(f.d);
}

/* 100,000 tensors: the header parses within the cap and the state holds
 * only region ends (every tensor here is over min: 2 per tensor). */
static void test_st_header_of_100000_tensors(void **state)
{
	enum { N = 100000, TLEN = 256 };
	size_t cap = (size_t)N * 80 + 64, hl, len, *cuts, n;
	char *h = malloc(cap), *at = h;
	uint8_t *d;

	(void)state;
	assert_non_null(h);
	*at++ = '{';
	for (size_t i = 0; i < N; i++)
		at += sprintf(at, "%s\"t%zu\":{\"dtype\":\"U8\",\"shape\":[%d],"
			      "\"data_offsets\":[%zu,%zu]}", i ? "," : "", i,
			      TLEN, i * TLEN, (i + 1) * TLEN);
	*at++ = '}';
	hl = (size_t)(at - h);
	assert_true(hl < MLFS_ST_SPLIT_HEADER_MAX);
	len = 8 + hl + (size_t)N * TLEN;
	d = malloc(len);
	assert_non_null(d);
	mlfs_put_le64(d, hl);
	memcpy(d + 8, h, hl);
	fill_random(d + 8 + hl, (size_t)N * TLEN, 5);
	n = cut_st(d, len, 0, &cuts, NULL);
	assert_true(has_cut(cuts, n, 8 + hl));
	for (size_t i = 1; i <= N; i++)
		assert_int_equal(cuts[n - 1 - (N - i)], 8 + hl + i * TLEN);
	free(cuts);
	free(d);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_st_cuts_on_header_end_and_tensor_boundaries),
		cmocka_unit_test(test_st_chunks_within_bounds),
		cmocka_unit_test(test_st_unchanged_tensor_same_chunks_after_header_growth),
		cmocka_unit_test(test_st_byte_at_a_time_cuts_as_all_at_once),
		cmocka_unit_test(test_st_malformed_headers_fall_back_to_fastcdc),
		cmocka_unit_test(test_st_open_reads_the_header_of_a_file),
		cmocka_unit_test(test_st_header_of_100000_tensors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

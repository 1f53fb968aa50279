/*
 * fuzz_json.c - mlfs_json_parse() on untrusted bytes (a config, an index,
 * a safetensors header), and the JSON content diff. Input: the whole is
 * one document; when it holds a NUL byte, the bytes before and after it
 * are also diffed as two versions of a .json file. Invariants: only
 * -EBADMSG (with a reason)/-ENOMEM on failure; a document takes at most 5
 * bytes per input byte; written back out and parsed again it writes the
 * same bytes; a value diffed against itself is equal; the content diff
 * returns 0 and its --json member parses.
 */
#include <errno.h>

#include "fuzz.h"
#include "mlfs/diff.h"

static void rewrite(const struct mlfs_json *j, struct mlfs_buf *out)
{
	struct mlfs_jw w;

	mlfs_jw_init(&w, out);
	mlfs_jw_value(&w, mlfs_json_root(j));
	FUZZ_CHECK(w.err == 0 || w.err == -ENOMEM);
	if (w.err)
		abort(); /* out of memory on fuzz-sized input: a leak */
}

static void diff(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
	struct mlfs_diff_src sa = { "c.json", la, a, NULL, NULL };
	struct mlfs_diff_src sb = { "c.json", lb, b, NULL, NULL };
	struct mlfs_diff_content_opts o = { .max_examples = 3 };
	struct mlfs_diff_out out;
	struct mlfs_json *j = NULL;
	char err[160];
	int r;

	memset(&out, 0, sizeof(out));
	r = mlfs_diff_content(&sa, &sb, &o, &out);
	FUZZ_CHECK(r == 0 || r == -ENOMEM);
	if (r == 0 && out.json.len) {
		FUZZ_CHECK(mlfs_json_parse((const char *)out.json.data,
					   out.json.len, &j, err,
					   sizeof(err)) == 0);
		FUZZ_CHECK(mlfs_jv_type(mlfs_json_root(j)) ==
			   MLFS_JSON_OBJECT);
	}
	if (r == 0 && la == lb && !memcmp(a, b, la) &&
	    !strcmp(out.format, "json"))
		FUZZ_CHECK(out.equal);
	mlfs_json_free(j);
	mlfs_diff_out_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlfs_buf one = MLFS_BUF_INIT, two = MLFS_BUF_INIT;
	struct mlfs_json *j = NULL, *k = NULL;
	const uint8_t *nul = memchr(data, 0, size);
	char err[128];
	int r = mlfs_json_parse((const char *)data, size, &j, err,
				sizeof(err));

	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -ENOMEM);
		FUZZ_CHECK(j == NULL);
		FUZZ_CHECK(r != -EBADMSG || strlen(err) > 0);
	} else {
		FUZZ_CHECK(mlfs_json_size(j) <= 5 * size + 4096);
		rewrite(j, &one);
		r = mlfs_json_parse((const char *)one.data, one.len, &k, err,
				    sizeof(err));
		FUZZ_CHECK(r == 0);
		rewrite(k, &two);
		FUZZ_CHECK(one.len == two.len &&
			   !memcmp(one.data, two.data, one.len));
		diff(data, size, data, size);
	}
	if (nul)
		diff(data, (size_t)(nul - data), nul + 1,
		     size - (size_t)(nul - data) - 1);
	mlfs_json_free(j);
	mlfs_json_free(k);
	mlfs_buf_release(&one);
	mlfs_buf_release(&two);
	return 0;
}

/*
 * fuzz_csv.c - the CSV/TSV diff (record reader, row hashing, matching,
 * examples) on two untrusted versions. Input: a flags byte (bit 0: match
 * rows by key column "id"; bit 1: the files are .tsv; bits 2-4: examples
 * per kind), a le16 length of the old version, its bytes, then the new
 * version. Invariants: only -EBADMSG/-E2BIG (with a reason)/-ENOMEM on
 * failure;
 * every row of each side is accounted for once (unchanged + changed +
 * removed = old rows, unchanged + changed + added = new rows), changed
 * rows only by key; a version diffed against itself is equal; the --json
 * member parses and says as much.
 */
#include <errno.h>

#include "fuzz.h"
#include "mlfs/diff.h"

static void run(const uint8_t *a, size_t la, const uint8_t *b, size_t lb,
		unsigned flags)
{
	const char *path = flags & 2 ? "d.tsv" : "d.csv";
	struct mlfs_diff_src sa = { path, la, a, NULL, NULL };
	struct mlfs_diff_src sb = { path, lb, b, NULL, NULL };
	struct mlfs_diff_content_opts o = { .key = flags & 1 ? "id" : NULL,
					    .max_examples = (flags >> 2) & 7 };
	struct mlfs_csv_result res;
	struct mlfs_diff_out out;
	struct mlfs_json *j = NULL;
	char err[160];
	int r;

	memset(&out, 0, sizeof(out));
	r = mlfs_csv_diff(&sa, &sb, &o, &out, &res);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -E2BIG || r == -ENOMEM);
		FUZZ_CHECK(r == -ENOMEM || strlen(out.err) > 0);
		mlfs_diff_out_release(&out);
		return;
	}
	FUZZ_CHECK(res.rows_same + res.rows_changed + res.rows_removed ==
		   res.rows_a);
	FUZZ_CHECK(res.rows_same + res.rows_changed + res.rows_added ==
		   res.rows_b);
	FUZZ_CHECK(o.key || res.rows_changed == 0);
	if (la == lb && !memcmp(a, b, la))
		FUZZ_CHECK(out.equal && res.rows_same == res.rows_a);
	FUZZ_CHECK(mlfs_json_parse((const char *)out.json.data, out.json.len,
				   &j, err, sizeof(err)) == 0);
	FUZZ_CHECK(mlfs_jv_num(mlfs_jv_get(mlfs_json_root(j), "rows_a")) ==
		   (double)res.rows_a);
	mlfs_json_free(j);
	mlfs_diff_out_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned flags = (unsigned)fuzz_take(&in, 1);
	size_t la = (size_t)fuzz_take(&in, 2);

	if (la > in.n)
		la = in.n;
	run(in.p, la, in.p + la, in.n - la, flags);
	run(in.p, la, in.p, la, flags);
	return 0;
}

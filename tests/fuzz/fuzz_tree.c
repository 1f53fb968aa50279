/*
 * fuzz_tree.c - mlfs_tree_decode() on untrusted bytes (a tree blob read
 * from mlfs.db). Invariants: only -EBADMSG/-ENOMEM on failure; a decoded
 * tree is sorted, its names valid, and it encodes back to exactly the
 * input (one encoding per tree, so one id); mlfs_tree_find finds each
 * entry by its name.
 */
#include <errno.h>

#include "fuzz.h"
#include "mlfs/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlfs_buf enc = MLFS_BUF_INIT;
	struct mlfs_tree *t = NULL;
	int r = mlfs_tree_decode(data, size, &t);

	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -ENOMEM);
		return 0;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct mlfs_entry *e = &t->e[i];
		size_t nl = strlen(e->name);

		FUZZ_CHECK(nl > 0 && nl <= 255 && !strchr(e->name, '/'));
		FUZZ_CHECK(strcmp(e->name, ".") && strcmp(e->name, ".."));
		FUZZ_CHECK(i == 0 || strcmp(t->e[i - 1].name, e->name) < 0);
		FUZZ_CHECK(e->type >= MLFS_ENTRY_FILE &&
			   e->type <= MLFS_ENTRY_SYMLINK);
		FUZZ_CHECK((e->mode & ~07777u) == 0);
		FUZZ_CHECK((e->type == MLFS_ENTRY_SYMLINK) == !!e->target);
		FUZZ_CHECK(mlfs_tree_find(t, e->name) == e);
	}
	r = mlfs_tree_encode(t->e, t->n, &enc);
	FUZZ_CHECK(r == 0 || r == -ENOMEM);
	if (r == 0)
		FUZZ_CHECK(enc.len == size && !memcmp(enc.data, data, size));
	mlfs_buf_release(&enc);
	mlfs_tree_free(t);
	return 0;
}

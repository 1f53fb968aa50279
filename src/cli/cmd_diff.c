/*
 * cmd_diff.c - "mlfs diff A B [-- PATH...]": the tree diff of two
 * versions, then, for modified files of known formats, what changed in
 * their content. Exit 0 when equal, 1 when different, 2 on any error
 * (as diff(1)). The --json schema is documented in docs/diff.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mlfs/content.h"
#include "mlfs/diff.h"
#include "mlfs/quote.h"

#define CLI_DIFFERENT 1
#define CLI_TROUBLE 2

static const char diff_usage[] =
	"usage: mlfs diff [options] <ns/name[@ref]> <ns/name[@ref]> "
	"[-- <path>...]\n"
	"\n"
	"    --stat             per-file size and new bytes, and a summary "
	"line\n"
	"    --name-status      only the status letter and path of each "
	"change\n"
	"    --json             one JSON document (schema: docs/diff.md)\n"
	"    --no-content       do not diff file contents\n"
	"    --no-renames       report moved files as removed + added\n"
	"    --key <col>        match CSV rows by this column\n"
	"    --max-examples <n> examples per kind of row change (default 5)\n"
	"    -U <n>             lines of context in text diffs (default 3)\n"
	"\n"
	"Exit status: 0 equal, 1 different, 2 error.\n";

enum mode { MODE_FULL, MODE_STAT, MODE_NAME_STATUS, MODE_JSON };

struct dir_seen {
	char *dir;
	bool sharded;
};

struct diff_cli {
	struct mlfs_store *s;
	enum mode mode;
	bool content;
	struct mlfs_id tree_a, tree_b;
	struct mlfs_diff_content_opts co;
	struct mlfs_buf jbuf;
	struct mlfs_jw jw;
	struct dir_seen *dirs;
	size_t ndirs;
	uint64_t changes;
};

static const char *status_word(enum mlfs_diff_status s)
{
	switch (s) {
	case MLFS_DIFF_ADDED: return "added";
	case MLFS_DIFF_REMOVED: return "removed";
	case MLFS_DIFF_MODIFIED: return "modified";
	case MLFS_DIFF_RENAMED: return "renamed";
	case MLFS_DIFF_TYPE: return "type_changed";
	}
	return "?";
}

static const char *type_word(enum mlfs_entry_type t)
{
	return t == MLFS_ENTRY_DIR ? "dir" : t == MLFS_ENTRY_SYMLINK ?
	       "symlink" : "file";
}

static void jflush(struct diff_cli *d)
{
	if (d->jbuf.len)
		fwrite(d->jbuf.data, 1, d->jbuf.len, stdout);
	d->jbuf.len = 0;
}

static void json_entry(struct mlfs_jw *w, const char *key,
		       const struct mlfs_entry *e)
{
	char hex[MLFS_ID_HEX_LEN + 1], mode[16];

	mlfs_jw_key(w, key);
	if (!e) {
		mlfs_jw_null(w);
		return;
	}
	mlfs_jw_obj(w);
	mlfs_jw_key(w, "type");
	mlfs_jw_str(w, type_word(e->type));
	snprintf(mode, sizeof(mode), "%04o", e->mode & 07777);
	mlfs_jw_key(w, "mode");
	mlfs_jw_str(w, mode);
	mlfs_jw_key(w, "size");
	mlfs_jw_u64(w, e->size);
	if (e->type == MLFS_ENTRY_SYMLINK) {
		mlfs_jw_key(w, "target");
		mlfs_jw_str(w, e->target);
	} else {
		mlfs_id_to_hex(&e->id, hex);
		mlfs_jw_key(w, e->type == MLFS_ENTRY_DIR ? "tree" : "digest");
		mlfs_jw_str(w, hex);
	}
	mlfs_jw_obj_end(w);
}

static bool is_st_name(const char *p)
{
	size_t l = strlen(p);

	return (l >= 12 && !strcmp(p + l - 12, ".safetensors")) ||
	       (l >= 23 && !strcmp(p + l - 23, ".safetensors.index.json"));
}

/* Print @text indented by four spaces. */
static void print_indented(const struct mlfs_buf *b)
{
	size_t i = 0;

	while (i < b->len) {
		const char *p = (const char *)b->data + i;
		const char *nl = memchr(p, '\n', b->len - i);
		size_t l = nl ? (size_t)(nl - p) : b->len - i;

		/* fwrite: a line of content may hold a NUL byte. */
		fputs("    ", stdout);
		fwrite(p, 1, l, stdout);
		putchar('\n');
		i += l + 1;
	}
}

/* "sharded checkpoint 'DIR/'", or C-quoted "DIR/" when the name needs it.
 * Returns 0 or -ENOMEM. */
static int sharded_label(const char *dir, char **label)
{
	struct mlfs_buf q = MLFS_BUF_INIT;
	char *slashed = NULL;
	int n = -1;

	if (!mlfs_quote_needed(dir, strlen(dir)))
		n = asprintf(label, "sharded checkpoint '%s/'", dir);
	else if (asprintf(&slashed, "%s/", dir) >= 0)
		n = asprintf(label, "sharded checkpoint %s",
			     cli_quote(&q, slashed));
	free(slashed);
	mlfs_buf_release(&q);
	return n < 0 ? -ENOMEM : 0;
}

/*
 * Content of one record: a shard of a sharded checkpoint is diffed with
 * its whole directory, once; other modified files on their own.
 * Returns 0 (out filled or left empty) or -errno.
 */
static int content_for(struct diff_cli *d, const struct mlfs_diff_rec *r,
		       struct mlfs_diff_out *out, char **label)
{
	*label = NULL;
	if (is_st_name(r->path)) {
		const char *slash = strrchr(r->path, '/');
		size_t dl = slash ? (size_t)(slash - r->path) : 0;
		struct dir_seen *ds = NULL, *nv;
		int s;

		for (size_t i = 0; i < d->ndirs && !ds; i++)
			if (strlen(d->dirs[i].dir) == dl &&
			    !memcmp(d->dirs[i].dir, r->path, dl))
				ds = &d->dirs[i];
		if (ds && ds->sharded)
			return 0; /* already shown with the directory */
		if (!ds) {
			nv = realloc(d->dirs, (d->ndirs + 1) * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			d->dirs = nv;
			ds = &d->dirs[d->ndirs];
			ds->dir = strndup(r->path, dl);
			ds->sharded = false;
			if (!ds->dir)
				return -ENOMEM;
			d->ndirs++;
			s = mlfs_diff_safetensors_sharded(d->s, &d->tree_a,
							  &d->tree_b, ds->dir,
							  &d->co, out);
			if (s < 0 && s != -EBADMSG)
				return s;
			if (s == 1 || s == -EBADMSG) {
				ds->sharded = true;
				if (sharded_label(ds->dir, label) < 0)
					return -ENOMEM;
				return 0;
			}
		}
	}
	if (r->status != MLFS_DIFF_MODIFIED ||
	    !(r->what & MLFS_DIFF_F_CONTENT) ||
	    r->b->type != MLFS_ENTRY_FILE)
		return 0;
	return mlfs_diff_content_stored(d->s, r->path, &r->a->id, &r->b->id,
					&d->co, out);
}

/* A symlink target: in single quotes, or C-quoted when it needs it. */
static void put_target(const char *t)
{
	struct mlfs_buf q = MLFS_BUF_INIT;

	if (mlfs_quote_needed(t, strlen(t)))
		fputs(cli_quote(&q, t), stdout);
	else
		printf("'%s'", t);
	mlfs_buf_release(&q);
}

/* Paths in text output are quoted as git quotes them (docs/diff.md). */
static void print_record(struct diff_cli *d, const struct mlfs_diff_rec *r)
{
	char h1[32], h2[32], h3[32];

	switch (r->status) {
	case MLFS_DIFF_RENAMED:
		fputs("R  ", stdout);
		cli_put_name(stdout, r->old_path);
		fputs(" -> ", stdout);
		cli_put_name(stdout, r->path);
		break;
	default:
		printf("%c  ", (char)r->status);
		cli_put_name(stdout, r->path);
	}
	if (r->status == MLFS_DIFF_ADDED && r->b->type == MLFS_ENTRY_FILE)
		printf("  (%s)", cli_human_bytes(r->b->size, h1, sizeof(h1)));
	if (r->status == MLFS_DIFF_TYPE)
		printf("  (%s -> %s)", type_word(r->a->type),
		       type_word(r->b->type));
	if (r->what & MLFS_DIFF_F_MODE)
		printf("  mode %04o -> %04o", r->a->mode & 07777,
		       r->b->mode & 07777);
	if (r->what == MLFS_DIFF_F_MTIME)
		fputs("  (modification time only)", stdout);
	if (r->what & MLFS_DIFF_F_TARGET) {
		fputs("  -> ", stdout);
		put_target(r->b->target);
		fputs(" (was ", stdout);
		put_target(r->a->target);
		putchar(')');
	}
	if (r->has_chunks) {
		const struct mlfs_diff_chunks *c = &r->chunks;

		printf("  (%s -> %s; %" PRIu64 "/%" PRIu64 " chunks shared, "
		       "%s new)", cli_human_bytes(r->a->size, h1, sizeof(h1)),
		       cli_human_bytes(r->b->size, h2, sizeof(h2)),
		       c->shared_chunks, c->b_chunks,
		       cli_human_bytes(c->new_bytes, h3, sizeof(h3)));
	}
	putchar('\n');
	(void)d;
}

static int on_change(void *ctx, const struct mlfs_diff_rec *r)
{
	struct diff_cli *d = ctx;
	struct mlfs_diff_out out;
	char *label = NULL;
	char h1[32], h2[32];
	int e = 0;

	d->changes++;
	memset(&out, 0, sizeof(out));
	if (d->mode == MODE_NAME_STATUS) {
		if (r->status == MLFS_DIFF_RENAMED) {
			fputs("R\t", stdout);
			cli_put_name(stdout, r->old_path);
		} else {
			putchar((char)r->status);
		}
		putchar('\t');
		cli_put_name(stdout, r->path);
		putchar('\n');
		return 0;
	}
	if (d->mode == MODE_STAT) {
		uint64_t sa = r->a ? r->a->size : 0, sb = r->b ? r->b->size : 0;
		uint64_t nb = r->has_chunks ? r->chunks.new_bytes :
			      r->status == MLFS_DIFF_ADDED ||
			      r->status == MLFS_DIFF_TYPE ? sb : 0;

		printf(" %c ", (char)r->status);
		if (r->status == MLFS_DIFF_RENAMED) {
			cli_put_name(stdout, r->old_path);
			fputs(" -> ", stdout);
		}
		cli_put_name(stdout, r->path);
		printf(" | %s -> %s", cli_human_bytes(sa, h1, sizeof(h1)),
		       cli_human_bytes(sb, h2, sizeof(h2)));
		printf(", %s new\n", cli_human_bytes(nb, h1, sizeof(h1)));
		return 0;
	}
	if (d->content) {
		e = content_for(d, r, &out, &label);
		if (e < 0) {
			struct mlfs_buf q = MLFS_BUF_INIT;

			cli_error(e, "cannot diff the content of %s",
				  cli_quote(&q, r->path));
			mlfs_buf_release(&q);
			goto out;
		}
	}
	if (d->mode == MODE_FULL) {
		print_record(d, r);
		if (label)
			printf("    %s:\n", label);
		if (out.err[0]) {
			/* The reason may name a tensor: quoted if it must. */
			struct mlfs_buf q = MLFS_BUF_INIT;

			printf("    cannot read as %s: %s\n",
			       label ? "safetensors" : "its format",
			       cli_quote(&q, out.err));
			mlfs_buf_release(&q);
		}
		print_indented(&out.text);
		goto out;
	}
	/* JSON */
	mlfs_jw_obj(&d->jw);
	mlfs_jw_key(&d->jw, "status");
	mlfs_jw_str(&d->jw, status_word(r->status));
	mlfs_jw_key(&d->jw, "path");
	mlfs_jw_str(&d->jw, r->path);
	if (r->status == MLFS_DIFF_RENAMED) {
		mlfs_jw_key(&d->jw, "old_path");
		mlfs_jw_str(&d->jw, r->old_path);
	}
	json_entry(&d->jw, "a", r->a);
	json_entry(&d->jw, "b", r->b);
	mlfs_jw_key(&d->jw, "content_changed");
	mlfs_jw_bool(&d->jw, r->what & MLFS_DIFF_F_CONTENT);
	mlfs_jw_key(&d->jw, "mode_changed");
	mlfs_jw_bool(&d->jw, r->what & MLFS_DIFF_F_MODE);
	mlfs_jw_key(&d->jw, "target_changed");
	mlfs_jw_bool(&d->jw, r->what & MLFS_DIFF_F_TARGET);
	mlfs_jw_key(&d->jw, "mtime_only");
	mlfs_jw_bool(&d->jw, r->what == MLFS_DIFF_F_MTIME);
	if (r->has_chunks) {
		mlfs_jw_key(&d->jw, "chunks");
		mlfs_jw_obj(&d->jw);
		mlfs_jw_key(&d->jw, "a");
		mlfs_jw_u64(&d->jw, r->chunks.a_chunks);
		mlfs_jw_key(&d->jw, "b");
		mlfs_jw_u64(&d->jw, r->chunks.b_chunks);
		mlfs_jw_key(&d->jw, "shared");
		mlfs_jw_u64(&d->jw, r->chunks.shared_chunks);
		mlfs_jw_key(&d->jw, "shared_bytes");
		mlfs_jw_u64(&d->jw, r->chunks.shared_bytes);
		mlfs_jw_key(&d->jw, "new_bytes");
		mlfs_jw_u64(&d->jw, r->chunks.new_bytes);
		mlfs_jw_obj_end(&d->jw);
	}
	if (out.format) {
		mlfs_jw_key(&d->jw, "content");
		if (out.json.len && !d->jw.err) {
			/* Splice the format's object in as a value. */
			d->jw.after_key = false;
			d->jw.err = mlfs_buf_append(d->jw.b, out.json.data,
						    out.json.len);
		} else {
			mlfs_jw_null(&d->jw);
		}
		if (label) {
			mlfs_jw_key(&d->jw, "content_scope");
			mlfs_jw_str(&d->jw, label);
		}
	}
	if (out.err[0]) {
		mlfs_jw_key(&d->jw, "content_error");
		mlfs_jw_str(&d->jw, out.err);
	}
	mlfs_jw_obj_end(&d->jw);
	e = d->jw.err;
	jflush(d);
out:
	free(label);
	mlfs_diff_out_release(&out);
	return e;
}

static int parse_num(const char *s, unsigned long *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || *out > 1000000 ? -EINVAL : 0;
}

static void json_side(struct mlfs_jw *w, const char *key, const char *arg,
		      const struct mlfs_resolved *res,
		      const struct mlfs_id *tree)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	mlfs_jw_key(w, key);
	mlfs_jw_obj(w);
	mlfs_jw_key(w, "ref");
	mlfs_jw_str(w, arg);
	mlfs_jw_key(w, "repo");
	{
		char rn[2 * MLFS_NAME_MAX + 2];

		snprintf(rn, sizeof(rn), "%s/%s", res->repo.ns, res->repo.name);
		mlfs_jw_str(w, rn);
	}
	mlfs_id_to_hex(&res->commit, hex);
	mlfs_jw_key(w, "commit");
	mlfs_jw_str(w, hex);
	mlfs_id_to_hex(tree, hex);
	mlfs_jw_key(w, "tree");
	mlfs_jw_str(w, hex);
	mlfs_jw_obj_end(w);
}

int cmd_diff(struct cli *c, int argc, char **argv)
{
	struct diff_cli d;
	struct mlfs_diff_opts o;
	struct mlfs_diff_stats st;
	struct mlfs_refspec spec[2];
	struct mlfs_resolved res[2];
	struct mlfs_commit cm[2];
	const char *refs[2] = { NULL, NULL };
	const char **paths = NULL;
	bool have_spec[2] = { false, false }, have_cm[2] = { false, false };
	size_t npaths = 0, nrefs = 0;
	unsigned long num;
	int ret = CLI_TROUBLE, r;
	char h[32];

	if (cli_want_help(argc, argv, diff_usage))
		return CLI_OK;
	memset(&d, 0, sizeof(d));
	memset(&o, 0, sizeof(o));
	memset(cm, 0, sizeof(cm));
	d.mode = c->json ? MODE_JSON : MODE_FULL;
	d.content = true;
	d.co.max_examples = 5;
	d.co.context = 3;
	paths = calloc((size_t)argc + 1, sizeof(*paths));
	if (!paths)
		return cli_error(-ENOMEM, "diff"), CLI_TROUBLE;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			for (i++; i < argc; i++) {
				const char *p = argv[i];

				while (*p == '/')
					p++;
				paths[npaths++] = p;
			}
			break;
		}
		if (!strcmp(a, "--stat")) {
			d.mode = MODE_STAT;
		} else if (!strcmp(a, "--name-status")) {
			d.mode = MODE_NAME_STATUS;
		} else if (!strcmp(a, "--json")) {
			d.mode = MODE_JSON;
		} else if (!strcmp(a, "--no-content")) {
			d.content = false;
		} else if (!strcmp(a, "--no-renames")) {
			o.flags |= MLFS_DIFF_NO_RENAMES;
		} else if (!strcmp(a, "--key") || !strncmp(a, "--key=", 6)) {
			d.co.key = a[5] == '=' ? a + 6 :
				   i + 1 < argc ? argv[++i] : NULL;
			if (!d.co.key || !*d.co.key) {
				ret = cli_usage_error("diff", "--key needs a "
						      "column name");
				goto out;
			}
		} else if (!strcmp(a, "--max-examples") ||
			   !strncmp(a, "--max-examples=", 15)) {
			const char *v = a[14] == '=' ? a + 15 : i + 1 < argc ?
					argv[++i] : NULL;

			if (parse_num(v, &num) < 0) {
				ret = cli_usage_error("diff",
						      "--max-examples needs a "
						      "number (0-1000000)");
				goto out;
			}
			d.co.max_examples = num;
		} else if (!strncmp(a, "-U", 2) ||
			   !strncmp(a, "--unified=", 10)) {
			const char *v = a[1] == 'U' ?
					(a[2] ? a + 2 :
					 i + 1 < argc ? argv[++i] : NULL) :
					a + 10;

			if (parse_num(v, &num) < 0) {
				ret = cli_usage_error("diff",
						      "-U needs a number");
				goto out;
			}
			d.co.context = (unsigned)num;
		} else if (a[0] == '-' && a[1]) {
			ret = cli_usage_error("diff", "unknown option '%s'", a);
			goto out;
		} else if (nrefs < 2) {
			refs[nrefs++] = a;
		} else {
			ret = cli_usage_error("diff", "too many versions "
					      "(paths go after '--')");
			goto out;
		}
	}
	if (nrefs != 2) {
		ret = cli_usage_error("diff", "need two versions to compare");
		goto out;
	}
	if (cli_open_store(c, MLFS_STORE_RDONLY, &d.s) != CLI_OK)
		goto out;
	for (int k = 0; k < 2; k++) {
		if (cli_resolve(d.s, refs[k], false, &spec[k], &res[k]) !=
		    CLI_OK)
			goto out;
		have_spec[k] = true;
		r = mlfs_commit_get(d.s, &res[k].commit, &cm[k]);
		if (r < 0) {
			cli_error(r, "cannot read the commit of '%s'", refs[k]);
			goto out;
		}
		have_cm[k] = true;
	}
	d.tree_a = cm[0].tree;
	d.tree_b = cm[1].tree;
	if (d.mode == MODE_NAME_STATUS || d.mode == MODE_STAT)
		d.content = false;
	if (d.mode != MODE_NAME_STATUS)
		o.flags |= MLFS_DIFF_CHUNK_STATS;
	o.paths = paths;
	o.npaths = npaths;
	o.fn = on_change;
	o.ctx = &d;

	if (d.mode == MODE_JSON) {
		mlfs_jw_init(&d.jw, &d.jbuf);
		mlfs_jw_obj(&d.jw);
		mlfs_jw_key(&d.jw, "schema");
		mlfs_jw_str(&d.jw, "mlfs.diff/1");
		json_side(&d.jw, "a", refs[0], &res[0], &d.tree_a);
		json_side(&d.jw, "b", refs[1], &res[1], &d.tree_b);
		mlfs_jw_key(&d.jw, "paths");
		mlfs_jw_arr(&d.jw);
		for (size_t i = 0; i < npaths; i++)
			mlfs_jw_str(&d.jw, paths[i]);
		mlfs_jw_arr_end(&d.jw);
		mlfs_jw_key(&d.jw, "changes");
		mlfs_jw_arr(&d.jw);
		jflush(&d);
	}
	mlfs_error_clear();
	r = mlfs_diff_trees(d.s, &d.tree_a, &d.tree_b, &o, &st);
	if (r < 0) {
		if (d.mode == MODE_JSON)
			fflush(stdout);
		/* A content failure was reported where it happened. */
		if (r != -EIO || !d.changes)
			cli_error(r, "cannot diff '%s' and '%s'", refs[0],
				  refs[1]);
		goto out;
	}
	if (d.mode == MODE_JSON) {
		mlfs_jw_arr_end(&d.jw);
		mlfs_jw_key(&d.jw, "summary");
		mlfs_jw_obj(&d.jw);
		mlfs_jw_key(&d.jw, "added");
		mlfs_jw_u64(&d.jw, st.added);
		mlfs_jw_key(&d.jw, "removed");
		mlfs_jw_u64(&d.jw, st.removed);
		mlfs_jw_key(&d.jw, "modified");
		mlfs_jw_u64(&d.jw, st.modified);
		mlfs_jw_key(&d.jw, "renamed");
		mlfs_jw_u64(&d.jw, st.renamed);
		mlfs_jw_key(&d.jw, "type_changed");
		mlfs_jw_u64(&d.jw, st.type_changed);
		mlfs_jw_key(&d.jw, "new_bytes");
		mlfs_jw_u64(&d.jw, st.new_bytes);
		mlfs_jw_obj_end(&d.jw);
		mlfs_jw_key(&d.jw, "equal");
		mlfs_jw_bool(&d.jw, d.changes == 0);
		mlfs_jw_obj_end(&d.jw);
		if (!d.jw.err)
			d.jw.err = mlfs_buf_append(&d.jbuf, "\n", 1);
		if (d.jw.err) {
			cli_error(d.jw.err, "cannot write the JSON output");
			goto out;
		}
		jflush(&d);
	} else if (d.mode == MODE_STAT) {
		printf(" %" PRIu64 " changes: %" PRIu64 " added, %" PRIu64
		       " removed, %" PRIu64 " modified, %" PRIu64 " renamed, %"
		       PRIu64 " type changes; %s new\n", d.changes, st.added,
		       st.removed, st.modified, st.renamed, st.type_changed,
		       cli_human_bytes(st.new_bytes, h, sizeof(h)));
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error(-EIO, "cannot write the diff");
		goto out;
	}
	ret = d.changes ? CLI_DIFFERENT : CLI_OK;
out:
	for (int k = 0; k < 2; k++) {
		if (have_cm[k])
			mlfs_commit_release(&cm[k]);
		if (have_spec[k])
			mlfs_refspec_release(&spec[k]);
	}
	for (size_t i = 0; i < d.ndirs; i++)
		free(d.dirs[i].dir);
	free(d.dirs);
	mlfs_buf_release(&d.jbuf);
	mlfs_store_close(d.s);
	free(paths);
	return ret;
}

/*
 * gen_seeds.c - writes the generated seed inputs of tests/fuzz/corpus/
 * with the library's own encoders: trees, chunk lists, whole pack files
 * (through the pack writer), stored chunks of every codec and store
 * configs, plus reference strings and file data for the chunker.
 * Deterministic; run by `make fuzz-seeds`, and the output is checked in.
 * Inputs found by fuzzing sit beside these.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlfs/chunker.h"
#include "mlfs/codec.h"
#include "mlfs/config.h"
#include "mlfs/pack.h"
#include "mlfs/remote.h"
#include "mlfs/tree.h"
#include "mlfs/util.h"
#include "objid.h"

static const char *top;
static void *cctx;

static void die(const char *what, int r)
{
	fprintf(stderr, "gen_seeds: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

static void put(const char *harness, const char *name, const void *p,
		size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top, harness);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path, errno);
	snprintf(path, sizeof(path), "%s/%s/%s", top, harness, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f))
		die(path, errno ? errno : EIO);
}

/* A small xorshift generator: seeds must not change between runs. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill_id(struct mlfs_id *id)
{
	for (int i = 0; i < MLFS_ID_LEN; i++)
		id->b[i] = (uint8_t)next();
}

/* float16 weights ~ normal(0, 0.02), or float32 when @f32. */
static void weights(uint8_t *p, size_t len, int f32)
{
	for (size_t i = 0; i + (f32 ? 4 : 2) <= len; i += f32 ? 4 : 2) {
		double u = ((double)(next() >> 11) + 1) / 9007199254740993.0;
		double v = (double)(next() >> 11) / 9007199254740992.0;
		float w = (float)(0.02 * sqrt(-2 * log(u)) *
				  cos(6.2831853 * v));
		uint32_t b;

		memcpy(&b, &w, 4);
		if (f32) {
			mlfs_put_le32(p + i, b);
		} else {
			/* float32 -> float16 by truncation, good enough */
			uint32_t e = (b >> 23) & 0xff, m = (b >> 13) & 0x3ff;
			uint16_t h = (uint16_t)((b >> 16) & 0x8000);

			if (e > 112)
				h |= (uint16_t)(((e - 112) << 10) | m);
			p[i] = (uint8_t)h;
			p[i + 1] = (uint8_t)(h >> 8);
		}
	}
}

static void text(uint8_t *p, size_t len)
{
	static const char words[] = "id,label,score\n17,cat,0.25\n"
				    "the quick brown fox jumps ";

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)words[i % (sizeof(words) - 1)];
}

/* ---- trees ---- */

static void put_tree(const char *name, const struct mlfs_entry *e, size_t n)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	int r = mlfs_tree_encode(e, n, &b);

	if (r < 0)
		die(name, r);
	put("tree", name, b.data, b.len);
	mlfs_buf_release(&b);
}

static void gen_trees(void)
{
	char longname[256];
	struct mlfs_entry e[4] = {
		{ .name = "config.json", .type = MLFS_ENTRY_FILE,
		  .mode = 0644, .mtime_ns = 1700000000123456789ll,
		  .size = 512 },
		{ .name = "latest", .type = MLFS_ENTRY_SYMLINK,
		  .target = "weights/model.safetensors", .mode = 0777,
		  .mtime_ns = -1, .size = 25 },
		{ .name = "run.sh", .type = MLFS_ENTRY_FILE, .mode = 04755,
		  .mtime_ns = 0, .size = 0 },
		{ .name = "weights", .type = MLFS_ENTRY_DIR, .mode = 0755 },
	};

	for (int i = 0; i < 4; i++)
		fill_id(&e[i].id);
	put_tree("empty", NULL, 0);
	put_tree("one-file", e, 1);
	put_tree("mixed", e, 4);
	memset(longname, 'x', 255);
	longname[255] = '\0';
	e[3].name = longname;
	e[3].mtime_ns = INT64_MIN;
	e[3].size = UINT64_MAX;
	put_tree("long-name", e, 4);
}

/* ---- chunk lists: mode byte, le64 size, 20-byte entries ---- */

static void gen_chunklists(void)
{
	static const uint32_t lens[] = { 65536, 131072, 1, 8388608, 70001 };
	uint8_t b[9 + 5 * 20];
	uint64_t sum = 0;

	for (int i = 0; i < 5; i++) {
		struct mlfs_id id;

		fill_id(&id);
		memcpy(b + 9 + 20 * i, id.b, MLFS_ID_LEN);
		mlfs_put_le32(b + 9 + 20 * i + 16, lens[i]);
		sum += lens[i];
	}
	b[0] = 0;
	mlfs_put_le64(b + 1, sum);
	put("chunklist", "five", b, sizeof(b));
	b[0] = 1;
	put("chunklist", "five-summed", b, sizeof(b));
	b[0] = 0;
	mlfs_put_le64(b + 1, 0);
	put("chunklist", "empty-file", b, 9);
	mlfs_put_le64(b + 1, 65536);
	put("chunklist", "one", b, 9 + 20);
}

/* ---- stored chunks: mode byte, le32 raw length, stored bytes ---- */

/* @want: the codec the seed must have (the data is chosen for it). */
static void put_codec(const char *name, const uint8_t *raw, size_t len,
		      int level, enum mlfs_codec want)
{
	struct mlfs_buf enc = MLFS_BUF_INIT, in = MLFS_BUF_INIT;
	enum mlfs_codec codec;
	uint8_t hdr[5];
	char rt[64];
	int r = mlfs_codec_encode(&cctx, level, raw, len, &enc, &codec);

	if (r < 0)
		die(name, r);
	if (codec != want)
		die(name, -EPROTO);
	hdr[0] = (uint8_t)codec;
	mlfs_put_le32(hdr + 1, (uint32_t)len);
	if (mlfs_buf_append(&in, hdr, 5) || mlfs_buf_append(&in, enc.data,
							    enc.len))
		die(name, -ENOMEM);
	put("codec", name, in.data, in.len);
	/* Round-trip mode: the raw bytes are the input. */
	in.len = 0;
	hdr[0] = 8 | 0x20;
	if (mlfs_buf_append(&in, hdr, 5) ||
	    mlfs_buf_append(&in, raw, len < 4096 ? len : 4096))
		die(name, -ENOMEM);
	snprintf(rt, sizeof(rt), "rt-%s", name);
	put("codec", rt, in.data, in.len);
	mlfs_buf_release(&in);
	mlfs_buf_release(&enc);
}

static void gen_codecs(void)
{
	uint8_t *p = malloc(16388);

	if (!p)
		die("codec", -ENOMEM);
	/* Weights: mantissa planes stay raw (PLANES2/4). */
	weights(p, 16384, 0);
	put_codec("planes2-f16", p, 16384, 3, MLFS_CODEC_PLANES2);
	weights(p, 16385, 1);
	put_codec("planes4-f32", p, 16385, 3, MLFS_CODEC_PLANES4);
	text(p, 3000);
	put_codec("zstd-text", p, 3000, 3, MLFS_CODEC_ZSTD);
	for (int i = 0; i < 600; i++)
		p[i] = (uint8_t)next();
	put_codec("raw-random", p, 600, 3, MLFS_CODEC_RAW);
	free(p);
}

/* Weights of few distinct values: every plane compresses, so the older
 * all-frames codecs (ZSTD_SHUF2/4). Generated last, so the seeds before
 * them keep their random bytes. */
static void gen_old_codecs(void)
{
	uint8_t *p = malloc(16384);

	if (!p)
		die("codec", -ENOMEM);
	weights(p, 16384, 0);
	for (int i = 0; i < 16384; i += 2)
		p[i] &= 0xc0;
	put_codec("shuf2-f16", p, 16384, 3, MLFS_CODEC_ZSTD_SHUF2);
	weights(p, 16384, 1);
	for (int i = 0; i < 16384; i += 4) {
		p[i] = 0;
		p[i + 1] = 0;
		p[i + 2] &= 0xe0;
	}
	put_codec("shuf4-f32", p, 16384, 3, MLFS_CODEC_ZSTD_SHUF4);
	free(p);
}

/* ---- packs: a real pack file written by the pack writer ---- */

static void gen_packs(void)
{
	char dir[] = "/tmp/mlfs-gen-seeds.XXXXXX", path[PATH_MAX + 64];
	char name[40];
	struct mlfs_pack_writer *w;
	struct mlfs_chunk_loc loc;
	struct mlfs_buf enc = MLFS_BUF_INIT, file = MLFS_BUF_INIT;
	uint8_t *p = malloc(8192);
	struct stat st;
	int r, fd;

	if (!p || !mkdtemp(dir))
		die("pack", -errno);
	r = mlfs_pack_writer_new(dir, &w);
	for (int i = 0; r == 0 && i < 4; i++) {
		enum mlfs_codec codec;
		struct mlfs_id id;
		size_t len = 8192 >> i;

		if (i == 0)
			weights(p, len, 0);
		else if (i == 1)
			weights(p, len, 1);
		else if (i == 2)
			text(p, len);
		else
			for (size_t k = 0; k < len; k++)
				p[k] = (uint8_t)next();
		fill_id(&id);
		r = mlfs_codec_encode(&cctx, 3, p, len, &enc, &codec);
		if (r == 0)
			r = mlfs_pack_writer_append(w, 0, &id, codec,
						    (uint32_t)len, enc.data,
						    (uint32_t)enc.len, &loc);
	}
	if (r < 0)
		die("pack writer", r);
	mlfs_pack_name(loc.pack_id, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 ||
	    mlfs_buf_reserve(&file, (size_t)st.st_size) < 0 ||
	    mlfs_pread_full(fd, file.data, (size_t)st.st_size, 0) < 0)
		die(path, -errno);
	close(fd);
	file.len = (size_t)st.st_size;
	/* A fixed pack id and time, so the seeds do not change per run. */
	mlfs_put_le64(file.data + 16, 0x0123456789abcdefull);
	mlfs_put_le64(file.data + 24, 1700000000);
	put("pack", "four-codecs", file.data, file.len);
	put("pack", "header-only", file.data, MLFS_PACK_HEADER_LEN);
	put("pack", "torn-tail", file.data, file.len - 7);
	mlfs_pack_writer_discard(w);
	rmdir(dir);
	mlfs_buf_release(&enc);
	mlfs_buf_release(&file);
	free(p);
}

/* ---- references: flags byte (bit 0 allows a path), then the text ---- */

static void gen_refspecs(void)
{
	static const char *refs[] = {
		"\001models/m",
		"\001models/m@v1/weights/model.safetensors",
		"\001ns/n@main~2/a//b/",
		"\000ns/n@{2024-03-01}",
		"\001ns/n@main@{2024-03-01T12:00:05+02:00}~3/x",
		"\000ns/n@3f9c2a1b",
		"\001datasets/fraud@{1999-12-31 23:59:59.5Z}~",
		"\000ns/n@main/x",
		"\001a/b@c/../d",
		/* flag 2: "@REMOTE/BRANCH"; 3: and a path */
		"\002models/m@origin/main~1",
		"\003models/m@origin/main/w/model.bin",
		"\002ns/n@origin/",
		"\003ns/n@v1//x/y",
		"\002ns/n@origin/main@{2024-03-01}",
	};
	char name[16];

	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		snprintf(name, sizeof(name), "ref-%zu", i);
		put("refspec", name, refs[i], 1 + strlen(refs[i] + 1));
	}
}

/* ---- chunker: 3 parameter bytes, 2 stop bytes, then file data ---- */

static void gen_chunker(void)
{
	uint8_t b[5 + 8192];

	b[0] = 0;      /* min 64 */
	b[1] = 3;      /* avg 1024 */
	b[2] = 200;    /* max avg + 201 */
	b[3] = 0x34;
	b[4] = 0x12;
	for (size_t i = 5; i < sizeof(b); i++)
		b[i] = (uint8_t)next();
	put("chunker", "random", b, sizeof(b));
	weights(b + 5, sizeof(b) - 5, 0);
	b[1] = 5;      /* avg 4096 */
	put("chunker", "f16", b, sizeof(b));
	memset(b + 5, 0, 4096);
	put("chunker", "zeros", b, 5 + 4096);
	text(b + 5, 3000);
	b[1] = 0;      /* avg 128 */
	put("chunker", "text", b, 5 + 3000);
}

/* ---- store configs, as mlfs_config_format writes them ---- */

static void gen_configs(void)
{
	struct mlfs_store_config c = {
		.format = MLFS_FORMAT_VERSION,
		.chunk = { 16384, 65536, 262144 },
		.zstd_level = 3,
	};
	char text[4096], crlf[8192];
	size_t k = 0;
	int n;

	for (int i = 0; i < MLFS_HASH_KEY_LEN; i++)
		c.key.secret[i] = (uint8_t)next();
	n = mlfs_config_format(&c, text, sizeof(text));
	if (n < 0)
		die("config", n);
	put("config", "default", text, (size_t)n);
	/* CRLF line ends, a comment and an unknown key: also accepted. */
	k = (size_t)snprintf(crlf, sizeof(crlf), "# written by hand\r\n"
			     "future_knob = 7\r\n");
	for (int i = 0; i < n; i++) {
		if (text[i] == '\n')
			crlf[k++] = '\r';
		crlf[k++] = text[i];
	}
	put("config", "crlf-comment", crlf, k);
	c.format = MLFS_FORMAT_VERSION + 1;
	n = mlfs_config_format(&c, text, sizeof(text));
	if (n < 0)
		die("config", n);
	put("config", "newer-format", text, (size_t)n);
}

/* ---- bucket objects (fuzz_remote: a selector byte, then the object;
 * check values made with that harness's fixed key) ---- */

static void put_sel(const char *name, uint8_t sel, const void *pre,
		    size_t plen, const void *p, size_t len)
{
	uint8_t *b = malloc(1 + plen + len);

	if (!b)
		die("remote seed", ENOMEM);
	b[0] = sel;
	if (plen)
		memcpy(b + 1, pre, plen);
	memcpy(b + 1 + plen, p, len);
	put("remote", name, b, 1 + plen + len);
	free(b);
}

static void gen_remote(void)
{
	struct mlfs_hash_key k;
	struct mlfs_store_config c = {
		.format = MLFS_FORMAT_VERSION,
		.chunk = { 16384, 65536, 262144 },
		.zstd_level = 3,
	};
	struct mlfs_remote_idx_entry e[3];
	struct mlfs_remote_kv kv[2] = { { "acc", "0.91" }, { "lr", "3e-4" } };
	struct mlfs_remote_input in[1];
	struct mlfs_remote_commit rc = { .ns = "ml", .name = "model",
					 .time = 1700000000,
					 .author = "alice", .message = "v2",
					 .kv = kv, .nkv = 2, .in = in,
					 .nin = 1, .has_parent = true };
	struct mlfs_commit lc = { 0 };
	struct mlfs_buf b = MLFS_BUF_INIT;
	uint8_t chunks[40];
	struct mlfs_id d;
	static const char *const texts[] = {
		"refs/ml/model/branches/main", "refs/ml/model/tags/v1.0",
		"refs/a/b/aliases/prod", "s3://my-bucket/team/mlfs",
		"s3://bkt", "s3://bkt/a/../b",
	};

	for (size_t i = 0; i < sizeof(k.secret); i++)
		k.secret[i] = (uint8_t)(i * 7 + 1);
	c.key = k;
	if (mlfs_remote_config_format(&c, &b) < 0)
		die("remote config", EINVAL);
	put_sel("config", 0, NULL, 0, b.data, b.len);
	for (int i = 0; i < 3; i++) {
		fill_id(&e[i].id);
		e[i].loc = (struct mlfs_chunk_loc){
			.pack_id = 0x1122334455667788ull,
			.offset = 32 + (uint64_t)i * 1000, .stored_len = 900,
			.raw_len = 4000, .codec = 1 };
	}
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (mlfs_id_cmp(&e[j].id, &e[i].id) < 0) {
				struct mlfs_remote_idx_entry t = e[i];

				e[i] = e[j];
				e[j] = t;
			}
	if (mlfs_remote_idx_format(&k, 0x1122334455667788ull, 3100, e, 3,
				   &b) < 0)
		die("remote idx", EINVAL);
	put_sel("idx", 1, NULL, 0, b.data, b.len);
	fill_id(&d);
	for (int i = 0; i < 2; i++) {
		struct mlfs_id id;

		fill_id(&id);
		memcpy(chunks + 20 * i, id.b, 16);
		mlfs_put_le32(chunks + 20 * i + 16, 5000);
	}
	if (mlfs_remote_content_format(&k, &d, 10000, chunks, 40, &b) < 0)
		die("remote content", EINVAL);
	put_sel("content", 2, d.b, 16, b.data, b.len);
	fill_id(&rc.parent);
	fill_id(&rc.tree);
	fill_id(&in[0].commit);
	in[0].files = 2;
	in[0].bytes = 1234;
	in[0].how = 1;
	lc.parent = rc.parent;
	lc.has_parent = true;
	lc.tree = rc.tree;
	lc.time = rc.time;
	lc.author = rc.author;
	lc.message = rc.message;
	mlfs_objid_commit(&k, rc.ns, rc.name, &lc, &rc.id);
	if (mlfs_remote_commit_format(&k, &rc, &b) < 0)
		die("remote commit", EINVAL);
	put_sel("commit", 3, rc.id.b, 16, b.data, b.len);
	for (int kind = 0; kind < 3; kind++) {
		static const int kinds[] = { 'b', 't', 'a' };
		char name[16];
		uint8_t kb = (uint8_t)kind;

		if (mlfs_remote_ref_format(&k, "ns", "name", kinds[kind],
					   "main", &d, &b) < 0)
			die("remote ref", EINVAL);
		snprintf(name, sizeof(name), "ref-%c", kinds[kind]);
		put_sel(name, 4, &kb, 1, b.data, b.len);
	}
	for (size_t i = 0; i < MLFS_ARRAY_SIZE(texts); i++) {
		char name[16];

		snprintf(name, sizeof(name), "text-%zu", i);
		put_sel(name, i < 3 ? 5 : 6, NULL, 0, texts[i],
			strlen(texts[i]));
	}
	{
		const uint64_t packs[2] = { 0x1122334455667788ull,
					    0x99aabbccddeeff00ull };
		struct mlfs_id cid;

		fill_id(&cid);
		if (mlfs_remote_packlist_format(&k, &cid, packs, 2, &b) < 0)
			die("remote packlist", EINVAL);
		put_sel("packlist", 7, cid.b, 16, b.data, b.len);
	}
	{
		struct mlfs_remote_input vin[2];
		struct mlfs_remote_vmeta v = { .kv = kv, .nkv = 2, .in = vin,
					       .nin = 2 };

		/* fixed ids: fill_id's sequence feeds the seeds after these */
		memset(&v.commit, 0xc3, sizeof(v.commit));
		memset(&vin[0].commit, 0x5a, sizeof(vin[0].commit));
		memset(&vin[1].commit, 0x17, sizeof(vin[1].commit));
		vin[0].files = vin[1].files = 1;
		vin[0].bytes = 10;
		vin[1].bytes = 20;
		vin[0].how = 1;
		vin[1].how = 2;
		mlfs_remote_inputs_sort(vin, 2);
		if (mlfs_remote_vmeta_format(&k, &v, &b) < 0)
			die("remote vmeta", EINVAL);
		put_sel("vmeta", 8, v.commit.b, 16, b.data, b.len);
		v.nkv = v.nin = 0;
		if (mlfs_remote_vmeta_format(&k, &v, &b) < 0)
			die("remote vmeta", EINVAL);
		put_sel("vmeta-empty", 8, v.commit.b, 16, b.data, b.len);
	}
	mlfs_buf_release(&b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds CORPUS_DIR\n");
		return 2;
	}
	top = argv[1];
	if (mkdir(top, 0755) < 0 && errno != EEXIST)
		die(top, errno);
	gen_trees();
	gen_chunklists();
	gen_codecs();
	gen_packs();
	gen_refspecs();
	gen_configs();
	gen_chunker();
	gen_remote();
	gen_old_codecs();
	mlfs_codec_cctx_free(cctx);
	return 0;
}

/*
 * vmeta_parse.c - the rules for version metadata and the parsing of what
 * users give: "KEY=VALUE" arguments and --metrics files (a flat JSON
 * object of finite numbers, read with the hostile-input JSON parser of
 * diff_json_parse.c). No store is touched here: every pair is checked
 * before a command writes anything (docs/cli.md#mlfs-meta).
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

#include "mlfs/diff.h"
#include "mlfs/vmeta.h"

void mlfs_kv_list_release(struct mlfs_kv_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

const struct mlfs_kv *mlfs_kv_list_find(const struct mlfs_kv_list *l,
					const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].key, key))
			return &l->v[i];
	return NULL;
}

static int kv_cmp(const void *a, const void *b)
{
	const struct mlfs_kv *x = a, *y = b;

	return strcmp(x->key, y->key);
}

void mlfs_kv_list_sort(struct mlfs_kv_list *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), kv_cmp);
}

static bool key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int mlfs_vmeta_check_key(const char *key)
{
	size_t n = strlen(key);

	if (n == 0) {
		mlfs_error_set("empty key");
		return -EINVAL;
	}
	if (n > MLFS_VMETA_KEY_MAX) {
		mlfs_error_set("key '%.40s...' is %zu bytes, over %d", key, n,
			       MLFS_VMETA_KEY_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (!key_char((unsigned char)key[i])) {
			mlfs_error_set("key '%s': only letters, digits, '.', "
				       "'_' and '-' may be used", key);
			return -EINVAL;
		}
	return 0;
}

/* Length of the UTF-8 sequence at @p (at most @n bytes), or 0 when it is
 * not one: overlong forms, surrogates and code points past U+10FFFF are
 * refused, as a JSON or terminal consumer of the value would. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0], min, cp;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, min = 0x80, cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, min = 0x800, cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, min = 0x10000, cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int mlfs_vmeta_check_value(const char *key, const char *value, size_t len)
{
	const unsigned char *p = (const unsigned char *)value;
	size_t i = 0, l;

	if (len > MLFS_VMETA_VALUE_MAX) {
		mlfs_error_set("value of '%s' is %zu bytes, over %d", key, len,
			       MLFS_VMETA_VALUE_MAX);
		return -EINVAL;
	}
	while (i < len) {
		if (p[i] < 0x20 || p[i] == 0x7f) {
			mlfs_error_set("value of '%s' holds a control "
				       "character (byte %zu)", key, i);
			return -EINVAL;
		}
		l = utf8_len(p + i, len - i);
		if (!l) {
			mlfs_error_set("value of '%s' is not UTF-8 (byte %zu)",
				       key, i);
			return -EINVAL;
		}
		i += l;
	}
	return 0;
}

/* The decimal grammar of metrics: [+-] (digits [. digits*] | . digits)
 * [(e|E) [+-] digits], all of @s. Returns whether @s matches. */
static bool decimal_syntax(const char *s)
{
	size_t digits = 0;

	if (*s == '+' || *s == '-')
		s++;
	while (*s >= '0' && *s <= '9')
		s++, digits++;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9')
			s++, digits++;
	}
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

bool mlfs_vmeta_is_metric(const char *value, double *num)
{
	double d;

	if (!decimal_syntax(value))
		return false;
	/* The grammar is a subset of strtod's, so it reads all of it; only
	 * the range can fail (an underflow to 0 or a denormal is still a
	 * finite number the user wrote). */
	d = strtod(value, NULL);
	if (!isfinite(d))
		return false;
	if (num)
		*num = d;
	return true;
}

int mlfs_kv_list_set(struct mlfs_kv_list *l, const char *key,
		     const char *value)
{
	struct mlfs_kv *slot = (struct mlfs_kv *)mlfs_kv_list_find(l, key);
	char *k = NULL, *v;
	int r = mlfs_vmeta_check_key(key);

	if (r == 0)
		r = mlfs_vmeta_check_value(key, value, strlen(value));
	if (r < 0)
		return r;
	if (decimal_syntax(value) && !mlfs_vmeta_is_metric(value, NULL)) {
		mlfs_error_set("value of '%s' is a number out of range: '%s'",
			       key, value);
		return -EINVAL;
	}
	if (!slot && l->n >= MLFS_VMETA_PAIRS_MAX) {
		mlfs_error_set("more than %d keys", MLFS_VMETA_PAIRS_MAX);
		return -E2BIG;
	}
	v = strdup(value);
	if (!v)
		return -ENOMEM;
	if (slot) {
		free(slot->value);
		slot->value = v;
		return 0;
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		struct mlfs_kv *nv = realloc(l->v, nc * sizeof(*nv));

		if (!nv)
			goto nomem;
		l->v = nv;
		l->cap = nc;
	}
	k = strdup(key);
	if (!k)
		goto nomem;
	l->v[l->n++] = (struct mlfs_kv){ k, v };
	return 0;
nomem:
	free(v);
	return -ENOMEM;
}

int mlfs_vmeta_parse_arg(struct mlfs_kv_list *l, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *key;
	int r;

	if (!eq) {
		mlfs_error_set("'%s' is not KEY=VALUE", arg);
		return -EINVAL;
	}
	if (eq == arg) {
		mlfs_error_set("'%s': empty key", arg);
		return -EINVAL;
	}
	key = strndup(arg, (size_t)(eq - arg));
	if (!key)
		return -ENOMEM;
	r = mlfs_kv_list_set(l, key, eq + 1);
	free(key);
	return r;
}

/* Put "@label: " before the current error detail (copied first: the
 * detail is the buffer mlfs_error_set writes). */
static void prefix_detail(const char *label)
{
	char why[256];

	snprintf(why, sizeof(why), "%s", mlfs_error_detail());
	mlfs_error_set("%s: %s", label, why);
}

/* Copy the members of @obj into @tmp, each checked. */
static int metrics_members(struct mlfs_jv obj, const char *label,
			   struct mlfs_kv_list *tmp)
{
	size_t n = mlfs_jv_count(obj), klen, vlen;
	struct mlfs_jv v = mlfs_jv_first(obj);
	char lit[MLFS_VMETA_VALUE_MAX + 1];
	const char *k, *s;
	int r;

	for (size_t i = 0; i < n; i++, v = mlfs_jv_next(v)) {
		k = mlfs_jv_key(v, &klen);
		if (!k || strlen(k) != klen) {
			mlfs_error_set("%s: a key holds a NUL byte", label);
			return -EINVAL;
		}
		r = mlfs_vmeta_check_key(k);
		if (r < 0) {
			prefix_detail(label);
			return r;
		}
		if (mlfs_jv_type(v) != MLFS_JSON_NUMBER) {
			mlfs_error_set("%s: value of '%s' is not a number "
				       "(metrics files hold a flat object of "
				       "numbers)", label, k);
			return -EINVAL;
		}
		s = mlfs_jv_str(v, &vlen);
		if (vlen > MLFS_VMETA_VALUE_MAX) {
			mlfs_error_set("%s: value of '%s' is %zu bytes, over "
				       "%d", label, k, vlen,
				       MLFS_VMETA_VALUE_MAX);
			return -EINVAL;
		}
		memcpy(lit, s, vlen);
		lit[vlen] = '\0';
		if (!mlfs_vmeta_is_metric(lit, NULL)) {
			mlfs_error_set("%s: value of '%s' is not a finite "
				       "number: %s", label, k, lit);
			return -EINVAL;
		}
		r = mlfs_kv_list_set(tmp, k, lit);
		if (r < 0) {
			prefix_detail(label);
			return r;
		}
	}
	return 0;
}

int mlfs_vmeta_parse_metrics(struct mlfs_kv_list *l, const char *text,
			     size_t len, const char *label)
{
	struct mlfs_kv_list tmp = MLFS_KV_LIST_INIT;
	struct mlfs_json *doc = NULL;
	struct mlfs_jv root;
	char err[160] = "";
	int r;

	if (len > MLFS_VMETA_FILE_MAX) {
		mlfs_error_set("%s: %zu bytes, over the %u a metrics file may "
			       "hold", label, len, MLFS_VMETA_FILE_MAX);
		return -EFBIG;
	}
	r = mlfs_json_parse(text, len, &doc, err, sizeof(err));
	if (r == -EBADMSG || r == -E2BIG) {
		/* The likeliest cause, said plainly: Python's json.dump
		 * writes NaN and Infinity, which JSON does not have. */
		bool nonfinite = memmem(text, len, "NaN", 3) ||
				 memmem(text, len, "Infinity", 8);

		mlfs_error_set("%s: not JSON%s: %s", label, nonfinite ?
			       " (NaN and Infinity are not numbers in JSON, "
			       "and metrics must be finite)" : "", err);
		return -EINVAL;
	}
	if (r < 0)
		return r;
	root = mlfs_json_root(doc);
	if (mlfs_jv_type(root) != MLFS_JSON_OBJECT) {
		mlfs_error_set("%s: not a JSON object (metrics files hold a "
			       "flat object of numbers)", label);
		r = -EINVAL;
		goto out;
	}
	r = metrics_members(root, label, &tmp);
	/* All or nothing: @l changes only once every member passed. */
	for (size_t i = 0; r == 0 && i < tmp.n; i++)
		r = mlfs_kv_list_set(l, tmp.v[i].key, tmp.v[i].value);
out:
	mlfs_kv_list_release(&tmp);
	mlfs_json_free(doc);
	return r;
}

/* Read all of @fd, at most MLFS_VMETA_FILE_MAX bytes (-EFBIG past). */
static int read_capped(int fd, struct mlfs_buf *b)
{
	size_t cap = (size_t)MLFS_VMETA_FILE_MAX + 1;
	ssize_t got;
	int r = mlfs_buf_reserve(b, 64 * 1024);

	while (r == 0) {
		if (b->len == b->cap &&
		    (r = mlfs_buf_reserve(b, b->cap * 2)) < 0)
			break;
		got = read(fd, b->data + b->len,
			   (b->cap < cap ? b->cap : cap) - b->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		b->len += (size_t)got;
		if (b->len > MLFS_VMETA_FILE_MAX)
			return -EFBIG;
	}
	return r;
}

int mlfs_vmeta_read_metrics(struct mlfs_kv_list *l, const char *path)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct stat sb;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		mlfs_error_set("cannot open metrics file '%s': %s", path,
			       strerror(-r));
		return r;
	}
	if (fstat(fd, &sb) < 0) {
		r = -errno;
	} else if (!S_ISREG(sb.st_mode)) {
		r = -EINVAL;
	} else if ((uint64_t)sb.st_size > MLFS_VMETA_FILE_MAX) {
		r = -EFBIG;
	} else {
		r = read_capped(fd, &b);
	}
	close(fd);
	if (r == -EFBIG)
		mlfs_error_set("metrics file '%s' is over the %u bytes a "
			       "metrics file may hold", path,
			       MLFS_VMETA_FILE_MAX);
	else if (r == -EINVAL)
		mlfs_error_set("metrics file '%s' is not a regular file",
			       path);
	else if (r < 0)
		mlfs_error_set("cannot read metrics file '%s': %s", path,
			       strerror(-r));
	if (r == 0) {
		char label[PATH_MAX + 24];

		snprintf(label, sizeof(label), "metrics file '%s'", path);
		r = mlfs_vmeta_parse_metrics(l, (const char *)b.data, b.len,
					     label);
	}
	mlfs_buf_release(&b);
	return r;
}

/*
 * control.c - messages between commands and a running mount (control.h):
 * encoding, a strict parser of untrusted bytes, and the client's call.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mlfs/control.h"

static int key_ok(const char *k, size_t len)
{
	if (!len || len > 64)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || k[i] == '_'))
			return 0;
	return 1;
}

static int add_n(struct mlfs_ctl_msg *m, const char *key, size_t klen,
		 char *value)
{
	struct mlfs_ctl_field *f;

	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 8;
		struct mlfs_ctl_field *nv = realloc(m->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		m->v = nv;
		m->cap = nc;
	}
	f = &m->v[m->n];
	f->key = strndup(key, klen);
	if (!f->key)
		return -ENOMEM;
	f->value = value;
	m->n++;
	return 0;
}

int mlfs_ctl_add(struct mlfs_ctl_msg *m, const char *key, const char *value)
{
	char *v;
	int r;

	if (!key_ok(key, strlen(key)))
		return -EINVAL;
	v = strdup(value ? value : "");
	if (!v)
		return -ENOMEM;
	r = add_n(m, key, strlen(key), v);
	if (r < 0)
		free(v);
	return r;
}

int mlfs_ctl_addf(struct mlfs_ctl_msg *m, const char *key, const char *fmt,
		  ...)
{
	char *v = NULL;
	va_list ap;
	int r;

	if (!key_ok(key, strlen(key)))
		return -EINVAL;
	va_start(ap, fmt);
	r = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	r = add_n(m, key, strlen(key), v);
	if (r < 0)
		free(v);
	return r;
}

const char *mlfs_ctl_get(const struct mlfs_ctl_msg *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].key, key))
			return m->v[i].value;
	return NULL;
}

void mlfs_ctl_release(struct mlfs_ctl_msg *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].value);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

int mlfs_ctl_encode(const struct mlfs_ctl_msg *m, struct mlfs_buf *out)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < m->n; i++) {
		const char *v = m->v[i].value;

		r = mlfs_buf_printf(out, "%s=", m->v[i].key);
		for (; r == 0 && *v; v++) {
			if (*v == '\\')
				r = mlfs_buf_append(out, "\\\\", 2);
			else if (*v == '\n')
				r = mlfs_buf_append(out, "\\n", 2);
			else
				r = mlfs_buf_append(out, v, 1);
		}
		if (r == 0)
			r = mlfs_buf_append(out, "\n", 1);
	}
	if (r == 0)
		r = mlfs_buf_append(out, "\n", 1);
	if (r == 0 && out->len > MLFS_CTL_MAX)
		r = -EMSGSIZE;
	return r;
}

/* Unescape @len bytes of @p into a new string. */
static int unescape(const char *p, size_t len, char **out)
{
	char *v = malloc(len + 1), *q = v;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\0')
			goto bad;
		if (p[i] != '\\') {
			*q++ = p[i];
			continue;
		}
		if (++i == len)
			goto bad;
		if (p[i] == '\\')
			*q++ = '\\';
		else if (p[i] == 'n')
			*q++ = '\n';
		else
			goto bad;
	}
	*q = '\0';
	*out = v;
	return 0;
bad:
	free(v);
	return -EBADMSG;
}

long mlfs_ctl_parse(const void *buf, size_t len, struct mlfs_ctl_msg *out)
{
	const char *p = buf, *end = p + len;
	int r = 0;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eq;
		char *value;

		if (!nl)
			break;
		if (nl == p) {
			if ((size_t)(nl + 1 - (const char *)buf) > MLFS_CTL_MAX)
				r = -EBADMSG;
			if (r < 0)
				break;
			return (long)(nl + 1 - (const char *)buf);
		}
		eq = memchr(p, '=', (size_t)(nl - p));
		if (!eq || !key_ok(p, (size_t)(eq - p))) {
			r = -EBADMSG;
			break;
		}
		r = unescape(eq + 1, (size_t)(nl - eq - 1), &value);
		if (r < 0)
			break;
		r = add_n(out, p, (size_t)(eq - p), value);
		if (r < 0) {
			free(value);
			break;
		}
		p = nl + 1;
	}
	if (r == 0 && len > MLFS_CTL_MAX)
		r = -EBADMSG;
	mlfs_ctl_release(out);
	return r;
}

int mlfs_ctl_read(int fd, struct mlfs_ctl_msg *out)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	long k = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		ssize_t got;

		r = mlfs_buf_reserve(&b, b.len + 4096);
		if (r < 0)
			break;
		got = read(fd, b.data + b.len, 4096);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			break;
		}
		if (got == 0) {
			r = -EPIPE;
			break;
		}
		b.len += (size_t)got;
		k = mlfs_ctl_parse(b.data, b.len, out);
		if (k != 0) {
			r = k < 0 ? (int)k : 0;
			break;
		}
		if (b.len > MLFS_CTL_MAX) {
			r = -EBADMSG;
			break;
		}
	}
	mlfs_buf_release(&b);
	return r;
}

int mlfs_ctl_write(int fd, const struct mlfs_ctl_msg *m)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	size_t off = 0;
	int r = mlfs_ctl_encode(m, &b);

	while (r == 0 && off < b.len) {
		ssize_t k = write(fd, b.data + off, b.len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			r = -errno;
		else
			off += (size_t)k;
	}
	mlfs_buf_release(&b);
	return r;
}

int mlfs_ctl_call(const char *store_dir, const struct mlfs_ctl_msg *req,
		  struct mlfs_ctl_msg *reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	memset(reply, 0, sizeof(*reply));
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/work/%s",
			     store_dir, MLFS_CTL_SOCKET) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = mlfs_ctl_write(fd, req);
	if (r == 0)
		r = mlfs_ctl_read(fd, reply);
	close(fd);
	return r;
}

/*
 * names.c - name rules and the reference grammar:
 *   ref  := ns "/" name [ "@" rev ] [ "/" path ]
 *   rev  := "{" date "}" [ "~" N ]
 *         | word [ "@{" date "}" ] [ "~" [N] ]
 *         | remote "/" branch [ "~" [N] ]     (MLFS_REFSPEC_REMOTE)
 * Names cannot hold '@', '/', '{' or '~', so the grammar is unambiguous
 * but for "@X/Y" where a path may follow: remote X's branch Y, or rev X
 * and path "Y". Both readings are kept; the store, which knows its
 * remotes, picks (mlfs_refspec_settle).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlfs/names.h"

static bool name_char(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '_' || c == '-';
}

int mlfs_name_check(const char *s, const char **why)
{
	size_t n = strlen(s);

	if (n == 0) {
		*why = "empty name; " MLFS_NAME_RULE;
		return -EINVAL;
	}
	if (n > MLFS_NAME_MAX) {
		*why = "name longer than 128 characters; " MLFS_NAME_RULE;
		return -EINVAL;
	}
	if (s[0] == '.' || s[0] == '-') {
		*why = "name starts with '.' or '-'; " MLFS_NAME_RULE;
		return -EINVAL;
	}
	if (strstr(s, "..")) {
		/* Never a path step, whatever a consumer does with it. */
		*why = "name contains '..'; " MLFS_NAME_RULE;
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!name_char((unsigned char)s[i]) ||
		    (unsigned char)s[i] >= 0x80) {
			*why = "name has a character outside [A-Za-z0-9._-]; "
			       MLFS_NAME_RULE;
			return -EINVAL;
		}
	}
	return 0;
}

bool mlfs_is_full_id(const char *s)
{
	return strlen(s) == 32 && mlfs_is_hex_prefix(s);
}

int mlfs_ref_name_check(const char *s, const char **why)
{
	int r = mlfs_name_check(s, why);

	if (r == 0 && mlfs_is_full_id(s)) {
		*why = "a name of 32 hex digits is a commit id; tags, branches "
		       "and aliases need another name";
		r = -EINVAL;
	}
	return r;
}

bool mlfs_is_hex_prefix(const char *s)
{
	size_t n = strlen(s);

	if (n < MLFS_COMMIT_PREFIX_MIN || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int parse_num(const char **p, int digits, int *out)
{
	int v = 0;

	for (int i = 0; i < digits; i++) {
		if (!isdigit((unsigned char)**p))
			return -EINVAL;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

int mlfs_parse_date(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0, zh = 0, zm = 0, sign = 0;
	const char *p = s;
	time_t t;

	if (parse_num(&p, 4, &y) || *p++ != '-' || parse_num(&p, 2, &mo) ||
	    *p++ != '-' || parse_num(&p, 2, &d))
		return -EINVAL;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (parse_num(&p, 2, &h) || *p++ != ':' ||
		    parse_num(&p, 2, &mi))
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (parse_num(&p, 2, &sec))
				return -EINVAL;
			if (*p == '.' || *p == ',') {
				p++;
				if (!isdigit((unsigned char)*p))
					return -EINVAL;
				while (isdigit((unsigned char)*p))
					p++;
			}
		}
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '+' ? 1 : -1;
			if (parse_num(&p, 2, &zh))
				return -EINVAL;
			if (*p == ':')
				p++;
			if (parse_num(&p, 2, &zm))
				return -EINVAL;
		}
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 59 || zh > 23 || zm > 59)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises Feb 30 to Mar 2: refuse dates that moved. */
	if (tm.tm_mday != d || tm.tm_mon != mo - 1)
		return -EINVAL;
	*out = (int64_t)t - sign * (zh * 3600 + zm * 60);
	return 0;
}

/* Copy [p, end) into a fixed name field and check it. */
static int take_name(const char *p, const char *end, char *dst,
		     const char **why)
{
	size_t n = (size_t)(end - p);

	if (n > MLFS_NAME_MAX) {
		*why = "name longer than 128 characters; " MLFS_NAME_RULE;
		return -EINVAL;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
	return mlfs_name_check(dst, why);
}

static int parse_date_braced(const char **pp, int64_t *date,
			     const char **why)
{
	const char *p = *pp + 1, *close = strchr(p, '}');
	char buf[64];

	if (!close || (size_t)(close - p) >= sizeof(buf)) {
		*why = "'@{' without a closing '}'";
		return -EINVAL;
	}
	memcpy(buf, p, (size_t)(close - p));
	buf[close - p] = '\0';
	if (mlfs_parse_date(buf, date) < 0) {
		*why = "bad date in '@{...}': use ISO-8601, e.g. 2024-03-01 "
		       "or 2024-03-01T12:00:00Z";
		return -EINVAL;
	}
	*pp = close + 1;
	return 0;
}

static int parse_back(const char **pp, unsigned *back, const char **why)
{
	const char *p = *pp + 1;
	unsigned long v = 1;

	if (isdigit((unsigned char)*p)) {
		char *end;

		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || v > 1000000) {
			*why = "'~N' out of range";
			return -EINVAL;
		}
		p = end;
	}
	if (*p && *p != '/') {
		*why = "'~' must be followed by a number, e.g. '@main~2'";
		return -EINVAL;
	}
	*back = (unsigned)v;
	*pp = p;
	return 0;
}

static int parse_path(const char *p, char **out, const char **why)
{
	size_t n = strlen(p);
	char *d = malloc(n + 1), *w = d;

	if (!d)
		return -ENOMEM;
	while (*p) {
		const char *seg;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		seg = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - seg);
		if ((len == 1 && seg[0] == '.') ||
		    (len == 2 && seg[0] == '.' && seg[1] == '.')) {
			free(d);
			*why = "'.' and '..' are not allowed in a path";
			return -EINVAL;
		}
		if (w != d)
			*w++ = '/';
		memcpy(w, seg, len);
		w += len;
	}
	*w = '\0';
	*out = d;
	return 0;
}

/* Only '/' (or nothing) from @p on. */
static bool only_slashes(const char *p)
{
	return p[strspn(p, "/")] == '\0';
}

/*
 * "@X" (in out->rev) is followed by "/" at @p: read "Y[~N][/path]" as
 * remote X's branch Y. Returns 0 (read: out->remote set, *pp past it),
 * 1 (not a tracking ref, and with a path allowed the caller reads rev X
 * and a path instead) or -errno.
 */
static int parse_tracking(const char **pp, bool allow_path,
			  struct mlfs_refspec *out, const char **why)
{
	/* "@X//Y" is "@X/Y", as a path's repeated '/' are one */
	const char *p = *pp + strspn(*pp, "/"), *end = p + strcspn(p, "~/@");
	bool ambiguous = allow_path || only_slashes(p);
	char branch[MLFS_NAME_MAX + 1];
	unsigned back = 0;
	int r;

	if (end == p && *p) {
		*why = "'@<remote>/' must be followed by a branch, e.g. "
		       "'@origin/main'";
		return allow_path ? 1 : -EINVAL;
	}
	branch[0] = '\0';
	if (end != p) {
		r = take_name(p, end, branch, why);
		if (r < 0)
			return allow_path ? 1 : r;
		p = end;
	}
	if (*p == '@') {
		*why = "a remote-tracking ref has no history: '@{date}' does "
		       "not apply to '@<remote>/<branch>'";
		return allow_path ? 1 : -EINVAL;
	}
	if (*p == '~') {
		r = parse_back(&p, &back, why);
		if (r < 0)
			return allow_path ? 1 : r;
	}
	if (!allow_path && !only_slashes(p)) {
		*why = "a path is not allowed here; name only "
		       "<namespace>/<name>[@<ref>]";
		return -EINVAL;
	}
	if (ambiguous) {
		r = parse_path(*pp, &out->alt_path, why);
		if (r == -EINVAL)
			r = 0; /* no path reading: a tracking ref only */
		if (r < 0)
			return r;
	}
	memcpy(out->remote, out->rev, sizeof(out->remote));
	memcpy(out->rev, branch, sizeof(out->rev));
	out->back = back;
	*pp = p;
	return 0;
}

int mlfs_refspec_parse(const char *s, unsigned flags,
		       struct mlfs_refspec *out, const char **why)
{
	bool allow_path = flags & MLFS_REFSPEC_PATH;
	const char *p = s, *end;
	int r;

	memset(out, 0, sizeof(*out));
	*why = "";
	end = strchr(p, '/');
	if (!end) {
		*why = "a repository is written <namespace>/<name>";
		return -EINVAL;
	}
	r = take_name(p, end, out->ns, why);
	if (r < 0)
		return r;
	p = end + 1;
	end = p + strcspn(p, "@/");
	r = take_name(p, end, out->name, why);
	if (r < 0)
		return r;
	p = end;
	if (*p == '@') {
		p++;
		if (*p == '/' || *p == '\0') {
			*why = flags & MLFS_REFSPEC_REMOTE ?
			       "'@' must be followed by a ref, e.g. '@v3', "
			       "'@main~2' or '@origin/main'" :
			       "'@' must be followed by a ref, e.g. '@v3' or "
			       "'@main~2'";
			return -EINVAL;
		}
		if (*p == '{') {
			r = parse_date_braced(&p, &out->date, why);
			if (r < 0)
				return r;
			out->has_date = true;
		} else {
			end = p + strcspn(p, "@~/");
			r = take_name(p, end, out->rev, why);
			if (r < 0)
				return r;
			p = end;
			r = 1;
			if (*p == '/' && (flags & MLFS_REFSPEC_REMOTE))
				r = parse_tracking(&p, allow_path, out, why);
			if (r < 0)
				return r;
			if (r == 0) {
				*why = "";
			} else if (*p == '@') {
				if (p[1] != '{') {
					*why = "after '@<ref>' only '@{date}' "
					       "may follow";
					return -EINVAL;
				}
				p++;
				r = parse_date_braced(&p, &out->date, why);
				if (r < 0)
					return r;
				out->has_date = true;
			}
		}
		if (*p == '~') {
			r = parse_back(&p, &out->back, why);
			if (r < 0)
				return r;
		}
		if (*p && *p != '/') {
			*why = "unexpected characters after the ref";
			return -EINVAL;
		}
	}
	if (*p == '/' && !allow_path) {
		while (*p == '/')
			p++;
		if (*p) {
			*why = "a path is not allowed here; name only "
			       "<namespace>/<name>[@<ref>]";
			return -EINVAL;
		}
	}
	r = parse_path(*p ? p : "", &out->path, why);
	if (r < 0)
		return r;
	return 0;
}

void mlfs_refspec_release(struct mlfs_refspec *r)
{
	free(r->path);
	r->path = NULL;
	free(r->alt_path);
	r->alt_path = NULL;
}

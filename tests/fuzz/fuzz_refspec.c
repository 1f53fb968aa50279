/*
 * fuzz_refspec.c - the reference and name grammar of names.c on user
 * input (command lines, mount lookups): mlfs_refspec_parse,
 * mlfs_name_check, mlfs_is_hex_prefix and mlfs_parse_date. Input: a
 * flags byte (bit 0: allow a path, bit 1: "@REMOTE/BRANCH"), then the
 * string. Invariants: every
 * failure is -EINVAL with an explanation; a parsed reference has valid
 * names, a clean path (no leading, trailing or doubled '/', no '.' or
 * '..' steps) and, written back out in canonical form, parses to the
 * same reference.
 */
#include <errno.h>
#include <time.h>

#include "fuzz.h"
#include "mlfs/names.h"

static void check_path(const char *p)
{
	FUZZ_CHECK(p[0] != '/');
	FUZZ_CHECK(!strstr(p, "//"));
	FUZZ_CHECK(!*p || p[strlen(p) - 1] != '/');
	for (const char *seg = p; *seg;) {
		size_t n = strcspn(seg, "/");

		FUZZ_CHECK(!(n == 1 && seg[0] == '.'));
		FUZZ_CHECK(!(n == 2 && seg[0] == '.' && seg[1] == '.'));
		seg += n;
		if (*seg == '/')
			seg++;
	}
}

static void check_name(const char *s)
{
	const char *why = NULL;

	FUZZ_CHECK(mlfs_name_check(s, &why) == 0);
	FUZZ_CHECK(strlen(s) >= 1 && strlen(s) <= MLFS_NAME_MAX);
	FUZZ_CHECK(strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			     "abcdefghijklmnopqrstuvwxyz0123456789._-") ==
		   strlen(s));
	FUZZ_CHECK(s[0] != '.' && s[0] != '-' && !strstr(s, ".."));
}

/* Write @r back as text; false when its date has no 4-digit year. */
static bool format_ref(const struct mlfs_refspec *r, char *buf, size_t size)
{
	char date[40] = "", back[24] = "";
	int n;

	if (r->has_date) {
		time_t t = (time_t)r->date;
		struct tm tm;

		if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 ||
		    tm.tm_year + 1900 > 9999)
			return false;
		snprintf(date, sizeof(date), "{%04d-%02d-%02dT%02d:%02d:%02dZ}",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	}
	/* "~0" kept: "@X~0/Y" is rev X and path Y, "@X/Y" may be remote
	 * X's branch Y (MLFS_REFSPEC_REMOTE) */
	if (r->back || r->rev[0] || r->has_date)
		snprintf(back, sizeof(back), "~%u", r->back);
	if (r->remote[0]) {
		n = snprintf(buf, size, "%s/%s@%s/%s%s%s", r->ns, r->name,
			     r->remote, r->rev, back, r->path[0] ? "/" : "");
		FUZZ_CHECK(n > 0 && (size_t)n < size);
		return true;
	}
	n = snprintf(buf, size, "%s/%s%s%s%s%s%s%s", r->ns, r->name,
		     r->rev[0] || r->has_date || r->back ? "@" : "", r->rev,
		     r->rev[0] && r->has_date ? "@" : "", date, back,
		     r->path[0] ? "/" : "");
	FUZZ_CHECK(n > 0 && (size_t)n < size);
	return true;
}

static void check_refspec(const char *s, unsigned flags)
{
	bool allow_path = flags & MLFS_REFSPEC_PATH;
	struct mlfs_refspec a, b;
	const char *why = NULL;
	char *text;
	size_t cap;
	int r = mlfs_refspec_parse(s, flags, &a, &why);

	FUZZ_CHECK(why != NULL);
	if (r < 0) {
		FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
		FUZZ_CHECK(r == -ENOMEM || why[0]);
		mlfs_refspec_release(&a);
		return;
	}
	check_name(a.ns);
	check_name(a.name);
	if (a.rev[0])
		check_name(a.rev);
	if (a.remote[0]) {
		/* a remote's branch: no history, no path unless allowed,
		 * and no branch only when nothing but '/' followed */
		FUZZ_CHECK(flags & MLFS_REFSPEC_REMOTE);
		check_name(a.remote);
		FUZZ_CHECK(!a.has_date);
		FUZZ_CHECK(a.rev[0] || (!a.path[0] && a.alt_path &&
					!a.alt_path[0]));
	}
	if (a.alt_path) {
		FUZZ_CHECK(a.remote[0]);
		check_path(a.alt_path);
	}
	FUZZ_CHECK(a.back <= 1000000);
	FUZZ_CHECK(a.path != NULL);
	check_path(a.path);
	FUZZ_CHECK(allow_path || !a.path[0]);
	cap = strlen(s) + 3 * MLFS_NAME_MAX + 128;
	text = malloc(cap);
	FUZZ_CHECK(text != NULL);
	if (format_ref(&a, text, cap)) {
		strcat(text, a.path);
		FUZZ_CHECK(mlfs_refspec_parse(text, flags, &b, &why) == 0);
		FUZZ_CHECK(!strcmp(a.ns, b.ns) && !strcmp(a.name, b.name));
		FUZZ_CHECK(!strcmp(a.remote, b.remote));
		FUZZ_CHECK(!strcmp(a.rev, b.rev) && !strcmp(a.path, b.path));
		FUZZ_CHECK(a.has_date == b.has_date && a.back == b.back);
		FUZZ_CHECK(!a.has_date || a.date == b.date);
		mlfs_refspec_release(&b);
	}
	free(text);
	mlfs_refspec_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned flags = (unsigned)fuzz_take(&in, 1);
	char *s = fuzz_strndup(in.p, in.n);
	const char *why = NULL;
	int64_t date;
	int r;

	check_refspec(s, flags & (MLFS_REFSPEC_PATH | MLFS_REFSPEC_REMOTE));
	r = mlfs_name_check(s, &why);
	FUZZ_CHECK(r == 0 || (r == -EINVAL && why && why[0]));
	if (r == 0)
		check_name(s);
	if (mlfs_is_hex_prefix(s))
		FUZZ_CHECK(strlen(s) >= MLFS_COMMIT_PREFIX_MIN &&
			   strlen(s) <= 32 &&
			   strspn(s, "0123456789abcdefABCDEF") == strlen(s));
	r = mlfs_parse_date(s, &date);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r == 0 && strlen(s) == 10) {
		/* A bare date is midnight UTC of that day. */
		time_t t = (time_t)date;
		struct tm tm;
		char back[32];

		FUZZ_CHECK(gmtime_r(&t, &tm) != NULL);
		snprintf(back, sizeof(back), "%04d-%02d-%02d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		FUZZ_CHECK(!strcmp(back, s) && date % 86400 == 0);
	}
	free(s);
	return 0;
}

/* Shell-like word splitting (see shlex.h). Two passes over the text: the
 * first counts words and bytes so that the second writes into exactly
 * sized arena memory. */
#include "compose/shlex.h"

#include <errno.h>
#include <string.h>

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One pass; with out == NULL only counts. Returns 0 or -EINVAL. */
static int split(const char *s, char *out, char **argv, size_t *nwords, size_t *nbytes, struct berr *err)
{
	size_t words = 0;
	size_t bytes = 0;
	size_t i = 0;
	for (;;) {
		/* Backslash-newline between words vanishes, as in the shell. */
		while (blank(s[i]) || (s[i] == '\\' && s[i + 1] == '\n')) {
			i += s[i] == '\\' ? 2 : 1;
		}
		if (s[i] == '\0') {
			break;
		}
		if (argv != NULL) {
			argv[words] = out + bytes;
		}
		/* A word runs to the next unquoted blank; '' alone is a word. */
		while (s[i] != '\0' && !blank(s[i])) {
			char c = s[i];
			if (c == '\'') {
				const char *end = strchr(s + i + 1, '\'');
				if (end == NULL) {
					return berr_setx(err, EINVAL, "unterminated single quote");
				}
				size_t n = (size_t)(end - (s + i + 1));
				if (out != NULL) {
					memcpy(out + bytes, s + i + 1, n);
				}
				bytes += n;
				i += n + 2;
			} else if (c == '"') {
				i++;
				for (;;) {
					char d = s[i];
					if (d == '\0') {
						return berr_setx(err, EINVAL, "unterminated double quote");
					}
					if (d == '"') {
						i++;
						break;
					}
					if (d == '\\' && s[i + 1] == '\n') {
						i += 2;
						continue;
					}
					if (d == '\\' && (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '$' ||
							  s[i + 1] == '`')) {
						d = s[i + 1];
						i++;
					}
					if (out != NULL) {
						out[bytes] = d;
					}
					bytes++;
					i++;
				}
			} else if (c == '\\') {
				if (s[i + 1] == '\0') {
					return berr_setx(err, EINVAL, "ends with a lone backslash");
				}
				if (s[i + 1] != '\n') {
					if (out != NULL) {
						out[bytes] = s[i + 1];
					}
					bytes++;
				}
				i += 2;
			} else {
				if (out != NULL) {
					out[bytes] = c;
				}
				bytes++;
				i++;
			}
		}
		if (out != NULL) {
			out[bytes] = '\0';
		}
		bytes++;
		words++;
	}
	*nwords = words;
	*nbytes = bytes;
	return 0;
}

int compose_shlex_split(struct arena *a, const char *s, char ***argv, size_t *argc, struct berr *err)
{
	size_t words;
	size_t bytes;
	int ret = split(s, NULL, NULL, &words, &bytes, err);
	if (ret < 0) {
		return ret;
	}
	char **v = arena_alloc(a, (words + 1) * sizeof(*v));
	char *text = arena_alloc(a, bytes + 1);
	if (v == NULL || text == NULL) {
		return berr_set(err, ENOMEM, "split command");
	}
	ret = split(s, text, v, &words, &bytes, err);
	if (ret < 0) {
		return ret;
	}
	v[words] = NULL;
	*argv = v;
	*argc = words;
	return 0;
}

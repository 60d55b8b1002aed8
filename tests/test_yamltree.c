/* lib/yamltree: duplicate keys found in small and in indexed mappings,
 * with both lines named; lookups through the index; anchors redefined. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lib/yamltree.h"

static int parse(struct yt_doc *doc, const char *text, struct berr *err)
{
	return yt_parse(doc, "t.yaml", text, strlen(text), err);
}

static void test_duplicate_small(void)
{
	struct yt_doc doc;
	struct berr err = {0};
	CHECK(parse(&doc, "a: 1\nb: 2\na: 3\n", &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "t.yaml:3: duplicate key 'a' (first at line 1)");
}

static void test_duplicate_large(void)
{
	char text[4096] = "";
	size_t len = 0;
	for (int i = 0; i < 40; i++) {
		len += (size_t)snprintf(text + len, sizeof(text) - len, "k%d: %d\n", i, i);
	}
	snprintf(text + len, sizeof(text) - len, "k25: again\n");
	struct yt_doc doc;
	struct berr err = {0};
	CHECK(parse(&doc, text, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "t.yaml:41: duplicate key 'k25' (first at line 26)");
	/* Without the duplicate every key is found through the index. */
	text[len] = '\0';
	CHECK_EQ_INT(parse(&doc, text, &err), 0);
	CHECK(doc.root->index != NULL);
	int all = 1;
	for (int i = 0; i < 40; i++) {
		char key[16];
		char want[16];
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(want, sizeof(want), "%d", i);
		const struct yt_node *v = yt_get(doc.root, key);
		all &= v != NULL && strcmp(v->value, want) == 0;
	}
	CHECK(all);
	CHECK(yt_get(doc.root, "k40") == NULL);
	CHECK(yt_get(doc.root, "k") == NULL);
	yt_free(&doc);
}

static void test_anchor_redefined(void)
{
	struct yt_doc doc;
	struct berr err = {0};
	CHECK_EQ_INT(parse(&doc, "a: &x one\nb: *x\nc: &x two\nd: *x\n", &err), 0);
	CHECK(strcmp(yt_get(doc.root, "b")->value, "one") == 0);
	CHECK(strcmp(yt_get(doc.root, "d")->value, "two") == 0);
	yt_free(&doc);
	CHECK(parse(&doc, "a: *nope\n", &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "t.yaml:1: unknown alias *nope");
}

int main(void)
{
	RUN(test_duplicate_small);
	RUN(test_duplicate_large);
	RUN(test_anchor_redefined);
	return check_summary();
}

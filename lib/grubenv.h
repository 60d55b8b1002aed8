/* GRUB environment blocks: the 1 KiB files that GRUB's load_env reads and
 * save_env rewrites in place ("# GRUB Environment Block" then key=value
 * lines, '#' padding to the end). Parsing and formatting in memory only;
 * which copies exist on the ESP and how they are written is bootenv.h's.
 *
 * The parser follows GRUB's own (grub-core/lib/envblk.c): lines starting
 * with '#' are comments, '\' escapes the next character, a line without
 * '=' or a value without its newline ends the block, and a key given twice
 * takes its last value. */
#ifndef BERTH_GRUBENV_H
#define BERTH_GRUBENV_H

#include <stddef.h>

#include "lib/berr.h"

#define GRUBENV_SIZE 1024
#define GRUBENV_SECTOR 512
#define GRUBENV_SIGNATURE "# GRUB Environment Block\n"
#define GRUBENV_MAX_VARS 24
#define GRUBENV_KEY_MAX 32
#define GRUBENV_VALUE_MAX 384

struct grubenv_var {
	char key[GRUBENV_KEY_MAX];
	char value[GRUBENV_VALUE_MAX];
};

/* Variables in the order they were first set (the order they are written). */
struct grubenv {
	size_t n;
	struct grubenv_var vars[GRUBENV_MAX_VARS];
};

void grubenv_init(struct grubenv *e);

/* Parses a block of len bytes; -EINVAL without the signature. Variables
 * that do not fit the limits above are an error, never cut. */
int grubenv_parse(struct grubenv *e, const char *blk, size_t len, struct berr *err);

/* The value of key, or NULL. */
const char *grubenv_get(const struct grubenv *e, const char *key);

/* Sets key (letters, digits, '_') to value (no NUL); -EINVAL or -ENOSPC
 * when either does not fit. */
int grubenv_set(struct grubenv *e, const char *key, const char *value, struct berr *err);

void grubenv_unset(struct grubenv *e, const char *key);

/* Writes the block: the variables in order from the start, except tail_key
 * (if set), whose line is the last one and lies wholly in the block's last
 * 512-byte sector, so that a reader can tell a block whose first and last
 * sectors come from different writes (see bootstate.h). -ENOSPC when the
 * variables do not fit. */
int grubenv_format(const struct grubenv *e, const char *tail_key, char blk[GRUBENV_SIZE], struct berr *err);

#endif

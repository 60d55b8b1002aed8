/* libFuzzer entry point for GRUB environment blocks: the boot state that
 * init and `berth os` read from the ESP (which anyone with the disk can
 * write), through the parser and into the A/B model. Invariants: the model
 * read is always one GRUB would boot (slots A or B, tries 0-9), and what
 * is written back parses to the same model. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bootstate.h"
#include "lib/grubenv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct grubenv e;
	static struct grubenv again;
	static char blk[GRUBENV_SIZE];
	struct bootstate bs;
	struct bootstate back;
	if (grubenv_parse(&e, (const char *)data, size, NULL) < 0) {
		return 0;
	}
	bootstate_from_env(&bs, &e);
	if (slot_index(bs.slot) < 0 || (bs.trial != 0 && slot_index(bs.trial) < 0) || bs.tries < 0 ||
	    bs.tries > BOOT_TRIES_MAX) {
		abort();
	}
	if (bootstate_to_env(&bs, &e, NULL) < 0 || grubenv_format(&e, "berth_seqe", blk, NULL) < 0) {
		return 0; /* a rollback reason too long for the block is refused, not cut */
	}
	if (grubenv_parse(&again, blk, sizeof(blk), NULL) < 0 || bootstate_from_env(&back, &again) != 1 ||
	    back.slot != bs.slot || back.trial != bs.trial || back.tries != bs.tries || back.seq != bs.seq ||
	    strcmp(back.rollback.reason, bs.rollback.reason) != 0) {
		abort();
	}
	return 0;
}

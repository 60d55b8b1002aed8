/* The boot state: GRUB environment blocks as GRUB reads and writes them,
 * the A/B model and its transitions, and the torn-write-safe pair of
 * copies (on a plain file standing for the ESP). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "lib/bootenv.h"
#include "lib/bootstate.h"
#include "lib/grubenv.h"
#include "lib/healthfile.h"

static void test_grubenv_round_trip(void)
{
	struct grubenv e;
	struct grubenv back;
	char blk[GRUBENV_SIZE];
	grubenv_init(&e);
	CHECK_EQ_INT(grubenv_set(&e, "a", "1", NULL), 0);
	CHECK_EQ_INT(grubenv_set(&e, "with_escapes", "back\\slash\nnewline", NULL), 0);
	CHECK_EQ_INT(grubenv_set(&e, "tail", "42", NULL), 0);
	CHECK_EQ_INT(grubenv_set(&e, "a", "2", NULL), 0);
	CHECK(grubenv_set(&e, "bad-name", "x", NULL) < 0);
	CHECK_EQ_INT(grubenv_format(&e, "tail", blk, NULL), 0);
	CHECK(memcmp(blk, GRUBENV_SIGNATURE, strlen(GRUBENV_SIGNATURE)) == 0);
	/* The tail variable's line lies wholly in the last sector. */
	char *t = memmem(blk, sizeof(blk), "\ntail=42\n", 9);
	CHECK(t != NULL && t + 1 - blk >= GRUBENV_SECTOR);
	CHECK(blk[GRUBENV_SIZE - 1] == '#');
	CHECK_EQ_INT(grubenv_parse(&back, blk, sizeof(blk), NULL), 0);
	CHECK_EQ_INT(back.n, 3);
	CHECK(strcmp(grubenv_get(&back, "a"), "2") == 0);
	CHECK(strcmp(grubenv_get(&back, "with_escapes"), "back\\slash\nnewline") == 0);
	CHECK(strcmp(grubenv_get(&back, "tail"), "42") == 0);
	CHECK(grubenv_parse(&back, "# GRUB Environment\n", 19, NULL) < 0);
}

/* What grub-editenv writes, and what GRUB's save_env does to a value of
 * the same length: replaced in place, nothing else moves. */
static void test_grubenv_reads_grub_blocks(void)
{
	char blk[GRUBENV_SIZE];
	memset(blk, '#', sizeof(blk));
	const char *text = GRUBENV_SIGNATURE "berth_slot=B\nsaved_entry=x=y\n";
	memcpy(blk, text, strlen(text));
	struct grubenv e;
	CHECK_EQ_INT(grubenv_parse(&e, blk, sizeof(blk), NULL), 0);
	CHECK(strcmp(grubenv_get(&e, "berth_slot"), "B") == 0);
	CHECK(strcmp(grubenv_get(&e, "saved_entry"), "x=y") == 0);
	/* A value without its newline ends the block, as in GRUB. */
	memcpy(blk + strlen(text), "cut=abc", 7);
	memset(blk + strlen(text) + 7, 'z', sizeof(blk) - strlen(text) - 7);
	CHECK_EQ_INT(grubenv_parse(&e, blk, sizeof(blk), NULL), 0);
	CHECK(grubenv_get(&e, "cut") == NULL);

	struct bootstate bs;
	struct grubenv env;
	char a[GRUBENV_SIZE];
	bootstate_init(&bs);
	bootstate_arm_trial(&bs, 'B', 3, "1.2.3");
	CHECK_EQ_INT(bootstate_to_env(&bs, &env, NULL), 0);
	CHECK_EQ_INT(grubenv_format(&env, "berth_seqe", a, NULL), 0);
	char *tries = memmem(a, sizeof(a), "berth_tries=3\n", 14);
	CHECK(tries != NULL);
	tries[12] = '2'; /* what save_env writes */
	CHECK_EQ_INT(grubenv_parse(&env, a, sizeof(a), NULL), 0);
	CHECK_EQ_INT(bootstate_from_env(&bs, &env), 1);
	CHECK_EQ_INT(bs.tries, 2);
	CHECK(bs.trial == 'B');
}

static void test_model_transitions(void)
{
	struct bootstate bs;
	bootstate_init(&bs);
	CHECK(bs.slot == 'A' && bs.trial == 0 && bs.state[0] == SLOT_GOOD && bs.state[1] == SLOT_EMPTY);
	CHECK_EQ_INT(bootstate_verdict(&bs, 'A', 0), BOOT_NORMAL);

	bootstate_begin_write(&bs, 'B');
	CHECK_EQ_INT(bs.state[1], SLOT_WRITING);
	bootstate_begin_write(&bs, 'A'); /* never the good slot */
	CHECK_EQ_INT(bs.state[0], SLOT_GOOD);
	bootstate_arm_trial(&bs, 'B', 3, "2.0");
	CHECK(bs.trial == 'B' && bs.tries == 3 && bs.state[1] == SLOT_TRIAL);
	CHECK_EQ_INT(bootstate_verdict(&bs, 'B', 1), BOOT_TRIAL);
	/* Its boots ran out: GRUB booted A, no trial flag. */
	bs.tries = 0;
	CHECK_EQ_INT(bootstate_verdict(&bs, 'A', 0), BOOT_TRIAL_ENDED);
	bootstate_fail_trial(&bs, 'B', 1700000000, "it hung");
	CHECK(bs.trial == 0 && bs.slot == 'A' && bs.state[1] == SLOT_FAILED);
	CHECK(bs.rollback.slot == 'B' && strcmp(bs.rollback.version, "2.0") == 0);
	CHECK(bs.rollback.unreported && strcmp(bs.rollback.reason, "it hung") == 0);
	CHECK_EQ_INT(bootstate_verdict(&bs, 'A', 0), BOOT_NORMAL);

	bootstate_begin_write(&bs, 'B');
	bootstate_arm_trial(&bs, 'B', 12, "2.1");
	CHECK_EQ_INT(bs.tries, BOOT_TRIES_MAX);
	bootstate_mark_good(&bs, 'B');
	CHECK(bs.slot == 'B' && bs.trial == 0 && bs.state[1] == SLOT_GOOD && bs.trial_version[0] == '\0');
	CHECK_EQ_INT(bootstate_verdict(&bs, 'B', 0), BOOT_NORMAL);
	/* GRUB fell back to A, which is not the good slot. */
	CHECK_EQ_INT(bootstate_verdict(&bs, 'A', 0), BOOT_NOT_EXPECTED);

	bootstate_request_rollback(&bs, 3, "2.0", "2.1", 1700000100);
	CHECK(bs.trial == 'A' && bs.tries == 3 && bs.slot == 'B');
	CHECK(bs.rollback.slot == 'B' && !bs.rollback.unreported);
	CHECK_STR_CONTAINS(bs.rollback.reason, "operator");
}

static void test_env_mapping_is_what_grub_reads(void)
{
	struct bootstate bs;
	struct bootstate back;
	struct grubenv e;
	bootstate_init(&bs);
	bs.seq = 41;
	bootstate_arm_trial(&bs, 'B', 3, "0.2.0+gabc");
	bootstate_fail_trial(&bs, 'B', 1700000000, "the health gate failed after 60 s: web (unhealthy)");
	CHECK_EQ_INT(bootstate_to_env(&bs, &e, NULL), 0);
	CHECK(strcmp(grubenv_get(&e, "berth_trial"), "-") == 0);
	CHECK(strcmp(grubenv_get(&e, "berth_seq"), grubenv_get(&e, "berth_seqe")) == 0);
	CHECK_EQ_INT(bootstate_from_env(&back, &e), 1);
	CHECK(back.seq == 41 && back.slot == 'A' && back.trial == 0 && back.state[1] == SLOT_FAILED);
	CHECK(strcmp(back.rollback.reason, bs.rollback.reason) == 0 && back.rollback.time == 1700000000);
	/* Values GRUB would not take are read the way grub.cfg reads them. */
	grubenv_set(&e, "berth_slot", "C", NULL);
	grubenv_set(&e, "berth_trial", "x", NULL);
	grubenv_set(&e, "berth_tries", "10", NULL);
	CHECK_EQ_INT(bootstate_from_env(&back, &e), 1);
	CHECK(back.slot == 'A' && back.trial == 0 && back.tries == 0);
	/* A torn block: the markers differ. */
	grubenv_set(&e, "berth_seqe", "0000000040", NULL);
	CHECK_EQ_INT(bootstate_from_env(&back, &e), 0);
}

static char dir[] = "/tmp/berth-test-bootenv.XXXXXX";

/* A 64 KiB "ESP" with the primary's halves at 8 KiB and 9 KiB and the
 * backup's apart, at 20 KiB and 30 KiB (FAT may scatter them). */
static void fake_esp(struct bootenv *be, const char *path)
{
	memset(be, 0, sizeof(*be));
	snprintf(be->esp, sizeof(be->esp), "%s", path);
	be->off[0][0] = 8192;
	be->off[0][1] = 9216;
	be->off[1][0] = 20480;
	be->off[1][1] = 30720;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 65536) == 0);
	close(fd);
}

static void write_at(const char *path, uint64_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, data, len, (off_t)off) == (ssize_t)len);
	close(fd);
}

static void read_at(const char *path, uint64_t off, void *data, size_t len)
{
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && pread(fd, data, len, (off_t)off) == (ssize_t)len);
	close(fd);
}

static void test_pair_survives_torn_writes(void)
{
	char path[64];
	struct bootenv be;
	struct bootstate bs;
	struct bootstate got;
	int which;
	snprintf(path, sizeof(path), "%s/esp", dir);
	fake_esp(&be, path);
	/* Neither copy: a fresh image's state, as GRUB's defaults. */
	CHECK_EQ_INT(bootenv_load(&be, &got, &which, NULL), 0);
	CHECK(which == -1 && got.slot == 'A' && got.trial == 0);

	bootstate_init(&bs);
	CHECK_EQ_INT(bootenv_save(&be, &bs, "t", NULL), 0);
	CHECK_EQ_INT(bs.seq, 1);
	CHECK_EQ_INT(bootenv_load(&be, &got, &which, NULL), 0);
	CHECK_EQ_INT(which, 0);

	/* Save a change, keeping what was there before. */
	char old_primary[2][512];
	read_at(path, be.off[0][0], old_primary[0], 512);
	read_at(path, be.off[0][1], old_primary[1], 512);
	bootstate_arm_trial(&bs, 'B', 3, "2.0");
	CHECK_EQ_INT(bootenv_save(&be, &bs, "t", NULL), 0);
	CHECK_EQ_INT(bootenv_load(&be, &got, &which, NULL), 0);
	CHECK(which == 0 && got.trial == 'B' && got.seq == 2);

	/* A cut after the backup, before the primary: the old state. */
	write_at(path, be.off[0][0], old_primary[0], 512);
	write_at(path, be.off[0][1], old_primary[1], 512);
	CHECK_EQ_INT(bootenv_load(&be, &got, &which, NULL), 0);
	CHECK(which == 0 && got.trial == 0 && got.seq == 1);

	/* A torn primary (new first half, old second): the backup, new. */
	char new_primary[512];
	read_at(path, be.off[1][0], new_primary, 512);
	write_at(path, be.off[0][0], new_primary, 512);
	CHECK_EQ_INT(bootenv_load(&be, &got, &which, NULL), 0);
	CHECK(which == 1 && got.trial == 'B' && got.seq == 2);

	/* The next save repairs both. */
	CHECK_EQ_INT(bootenv_save(&be, &got, "t", NULL), 0);
	CHECK_EQ_INT(bootenv_load(&be, &got, &which, NULL), 0);
	CHECK(which == 0 && got.trial == 'B' && got.seq == 3);
}

static void test_cmdline(void)
{
	char slot;
	int left;
	CHECK_EQ_INT(boot_cmdline_slot("root=/dev/dm-0 berth.slot=B berth.trial=2 quiet\n", &slot, &left), 0);
	CHECK(slot == 'B' && left == 2);
	CHECK_EQ_INT(boot_cmdline_slot("berth.slot=A\n", &slot, &left), 0);
	CHECK(slot == 'A' && left == -1);
	CHECK(boot_cmdline_slot("xberth.slot=A berth.slot=C", &slot, &left) < 0);
}

static void test_healthfile_round_trip(void)
{
	struct healthfile h;
	struct healthfile back;
	memset(&h, 0, sizeof(h));
	h.pid = 42;
	h.state = BERTHD_READY;
	h.checked = 3;
	h.healthy = 1;
	h.nwaiting = 2;
	snprintf(h.waiting[0].name, sizeof(h.waiting[0].name), "web");
	snprintf(h.waiting[0].status, sizeof(h.waiting[0].status), "unhealthy");
	snprintf(h.waiting[1].name, sizeof(h.waiting[1].name), "db.1");
	snprintf(h.waiting[1].status, sizeof(h.waiting[1].status), "restarting");
	snprintf(h.message, sizeof(h.message), "two\nlines");
	char *text = healthfile_format(&h);
	CHECK(text != NULL);
	CHECK_EQ_INT(healthfile_parse(&back, text, NULL), 0);
	CHECK(back.pid == 42 && back.state == BERTHD_READY && back.checked == 3 && back.healthy == 1);
	CHECK(back.nwaiting == 2 && strcmp(back.waiting[1].name, "db.1") == 0);
	CHECK(strcmp(back.waiting[1].status, "restarting") == 0 && strcmp(back.message, "two lines") == 0);
	free(text);
	CHECK(healthfile_parse(&back, "something else\n", NULL) < 0);
}

int main(void)
{
	if (check_tmpdir(dir) < 0) {
		return 2;
	}
	RUN(test_grubenv_round_trip);
	RUN(test_grubenv_reads_grub_blocks);
	RUN(test_model_transitions);
	RUN(test_env_mapping_is_what_grub_reads);
	RUN(test_pair_survives_torn_writes);
	RUN(test_cmdline);
	RUN(test_healthfile_round_trip);
	return check_summary();
}

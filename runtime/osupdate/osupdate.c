/* `berth os` (see osupdate.h). The order of an update is the point of this
 * file: the whole bundle is in memory and verified (signature, every hash,
 * version) before a byte of the inactive slot is written; the slot is
 * marked "writing" in the boot state while it is written, so that nothing
 * boots it; it is read back from the disk and compared; only then is it
 * armed for a trial boot. A power cut at any point leaves the host booting
 * its good slot, and running the update again finishes the job. */
#include "osupdate/osupdate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/blkdev.h"
#include "lib/bootenv.h"
#include "lib/cleanup.h"
#include "lib/failpoint.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/hostcfg.h"
#include "lib/timeutil.h"
#include "osupdate/bundle.h"
#include "osupdate/slot.h"

#define MAX_KEYS 16
#define SPOOL_MAX (1024ull * 1024 * 1024)

static void print_err(const char *what, const struct berr *err)
{
	fprintf(stderr, "berth os %s: %s\n", what, err->msg);
}

/* ---- progress -------------------------------------------------------------------- */

struct progress {
	int tty;
	const char *last_what;
	int last_pct;
};

static void on_progress(const char *what, uint64_t done, uint64_t total, void *ctx)
{
	struct progress *p = ctx;
	int pct = total > 0 ? (int)(done * 100 / total) : 100;
	if (!p->tty || (p->last_what == what && p->last_pct == pct)) {
		return;
	}
	p->last_what = what;
	p->last_pct = pct;
	fprintf(stderr, "\r  %-13s %3d%%  %6.1f of %.1f MB", what, pct, (double)done / 1e6, (double)total / 1e6);
	if (done == total) {
		fprintf(stderr, "\n");
	}
	fflush(stderr);
}

static void phase(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void phase(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* ---- trusted keys, and the bundle in memory ---------------------------------------- */

static int load_keys(const char *dir, struct trusted_key *keys, size_t *nkeys, struct berr *err)
{
	*nkeys = 0;
	auto_closedir DIR *d = opendir(dir);
	if (d == NULL) {
		return berr_set(err, errno, "trusted update keys: %s", dir);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL && *nkeys < MAX_KEYS) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".pub") != 0) {
			continue;
		}
		char path[512];
		char text[512];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (read_file(path, text, sizeof(text), err) < 0 ||
		    trusted_key_parse(&keys[*nkeys], text, path, err) < 0) {
			return -EINVAL;
		}
		(*nkeys)++;
	}
	if (*nkeys == 0) {
		return berr_setx(err, ENOKEY, "no trusted update keys (*.pub) in %s", dir);
	}
	return 0;
}

/* A bundle copied into memory (a sealed memfd), so that the bytes checked
 * are the bytes written, whatever happens to the file meanwhile. */
struct spool {
	uint8_t *data;
	size_t size;
};

static uint64_t mem_available(void)
{
	char buf[4096];
	if (read_file("/proc/meminfo", buf, sizeof(buf), NULL) < 0) {
		return SPOOL_MAX;
	}
	const char *p = strstr(buf, "MemAvailable:");
	return p != NULL ? strtoull(p + 13, NULL, 10) * 1024 : SPOOL_MAX;
}

static int spool_in(const char *path, struct spool *s, struct berr *err)
{
	memset(s, 0, sizeof(*s));
	/* Half of what is free: the host keeps running its containers. */
	uint64_t limit = mem_available() / 2;
	if (limit > SPOOL_MAX) {
		limit = SPOOL_MAX;
	}
	auto_close int in = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		return berr_set(err, errno, "open %s", path);
	}
	auto_close int mfd = memfd_create("berth-bundle", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0) {
		return berr_set(err, errno, "memfd");
	}
	auto_free char *buf = malloc(1u << 20);
	if (buf == NULL) {
		return berr_setx(err, ENOMEM, "spool buffer");
	}
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(in, buf, 1u << 20);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return berr_set(err, errno, "read %s", strcmp(path, "-") == 0 ? "standard input" : path);
		}
		if (n == 0) {
			break;
		}
		total += (uint64_t)n;
		if (total > limit) {
			return berr_setx(err, EFBIG,
					 "the bundle is larger than the %" PRIu64 " MB this host can hold in memory",
					 limit >> 20);
		}
		if (write_all(mfd, buf, (size_t)n) < 0) {
			return berr_set(err, errno, "spool the bundle in memory");
		}
	}
	if (total == 0) {
		return berr_setx(err, EINVAL, "%s is empty", strcmp(path, "-") == 0 ? "standard input" : path);
	}
	fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	void *map = mmap(NULL, (size_t)total, PROT_READ, MAP_PRIVATE, mfd, 0);
	if (map == MAP_FAILED) {
		return berr_set(err, errno, "map the bundle");
	}
	s->data = map;
	s->size = (size_t)total;
	return 0;
}

static void spool_free(struct spool *s)
{
	if (s->data != NULL) {
		munmap(s->data, s->size);
	}
}

/* Reads, parses and verifies a bundle: signature first (nothing else of an
 * unsigned manifest is believed), then every part. */
static int verify_bundle(const char *path, const char *keys_dir, struct spool *s, struct bundle *b,
			 struct progress *prog, struct berr *err)
{
	static struct trusted_key keys[MAX_KEYS];
	size_t nkeys;
	const struct trusted_key *signer;
	if (load_keys(keys_dir, keys, &nkeys, err) < 0 || spool_in(path, s, err) < 0 ||
	    bundle_parse(b, s->data, s->size, err) < 0 || bundle_check_signature(b, keys, nkeys, &signer, err) < 0 ||
	    bundle_check_parts(b, on_progress, prog, err) < 0) {
		return -EINVAL;
	}
	char id[2 * BUNDLE_KEYID_LEN + 1];
	hex_encode(signer->keyid, BUNDLE_KEYID_LEN, id);
	phase("bundle: Berth %s (build %s), %.1f MB, signed by key %s (%s)", b->m.version, b->m.build,
	      (double)s->size / 1e6, id, signer->source);
	phase("verified: signature, kernel, root image, hash tree");
	return 0;
}

/* ---- the running host ------------------------------------------------------------------ */

struct host {
	char booted; /* the running slot */
	int trial_boot;
	char disk[64];
	char version[BUNDLE_VERSION_MAX];
	struct bootenv be;
};

static int host_open(struct host *h, struct berr *err)
{
	char cmdline[4096];
	memset(h, 0, sizeof(*h));
	int tries;
	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline), err) < 0) {
		return -EIO;
	}
	if (boot_cmdline_slot(cmdline, &h->booted, &tries) < 0) {
		return berr_setx(err, ENOENT,
				 "this host was not booted by Berth's GRUB (no berth.slot= on its command "
				 "line): it has no slots to update");
	}
	h->trial_boot = tries >= 0;
	os_version(h->version, sizeof(h->version));
	if (blk_disk_of("/", h->disk, sizeof(h->disk), err) < 0 || bootenv_open(&h->be, h->disk, err) < 0) {
		return -EIO;
	}
	return 0;
}

static int trial_boots(void)
{
	static struct host_config cfg;
	hostcfg_defaults(&cfg);
	hostcfg_load(&cfg, "/config/host.yaml", "host.yaml");
	hostcfg_free(&cfg);
	return cfg.trial_boots;
}

static void reboot_now(char slot)
{
	phase("rebooting into slot %c", slot);
	/* init's reboot: services stopped in order, filesystems unmounted. */
	if (kill(1, SIGTERM) < 0) {
		fprintf(stderr, "berth os: ask init to reboot: %s\n", strerror(errno));
	}
}

/* ---- update ------------------------------------------------------------------------------ */

struct update_opts {
	int no_reboot;
	int force;
	const char *path;
};

static int refuse_state(const struct host *h, const struct bootstate *bs, int force, struct berr *err)
{
	if (bs->trial != 0 && bs->trial == h->booted) {
		return berr_setx(
			err, EBUSY,
			"slot %c is on its trial boot and not yet marked good; wait for its health gate (berth os "
			"status)",
			h->booted);
	}
	if (bs->slot != h->booted && !force) {
		return berr_setx(err, EBUSY,
				 "this host runs slot %c, but its good slot is %c (GRUB fell back?); updating would "
				 "overwrite the good slot (--force to do it anyway)",
				 h->booted, bs->slot);
	}
	return 0;
}

static int apply(const struct update_opts *o, const struct bundle *b, struct host *h, struct progress *prog,
		 struct berr *err)
{
	if (version_compare(b->m.version, h->version) < 0 && !o->force) {
		return berr_setx(err, EPERM, "refusing a downgrade from %s to %s (--force to do it anyway)", h->version,
				 b->m.version);
	}
	auto_close int lock = bootenv_lock(1, err);
	if (lock < 0) {
		return lock;
	}
	struct bootstate bs;
	if (bootenv_load(&h->be, &bs, NULL, err) < 0 || refuse_state(h, &bs, o->force, err) < 0) {
		return -EINVAL;
	}
	char target = slot_other(h->booted);
	struct slot_target t;
	static char env[1024];
	if (slot_find(&t, h->disk, target, &h->be, err) < 0 || slot_env_format(&t, &b->m, env, err) < 0) {
		return -EIO;
	}
	uint64_t need = b->m.parts[PART_ROOT].size + b->m.parts[PART_HASHTREE].size;
	if (need > t.dev_bytes) {
		return berr_setx(err, ENOSPC,
				 "the root image and its tree (%" PRIu64 " MB) do not fit slot %c (%" PRIu64 " MB)",
				 need >> 20, target, t.dev_bytes >> 20);
	}
	failpoint("begin");
	bootstate_begin_write(&bs, target);
	if (bootenv_save(&h->be, &bs, "writing", err) < 0) {
		return -EIO;
	}
	phase("writing slot %c (%s)", target, t.dev);
	uint64_t t0 = monotonic_ms();
	if (slot_write_root(&t, b, on_progress, prog, err) < 0 || slot_verify_root(&t, b, on_progress, prog, err) < 0 ||
	    slot_write_esp(&t, b, env, err) < 0 || slot_verify_esp(&t, b, env, err) < 0) {
		return -EIO;
	}
	int tries = trial_boots();
	bootstate_arm_trial(&bs, target, tries, b->m.version);
	if (bootenv_save(&h->be, &bs, "arm", err) < 0) {
		return -EIO;
	}
	failpoint("armed");
	phase("slot %c written and read back in %.1f s; armed for a trial boot (%d boot%s to pass its health gate)",
	      target, (double)(monotonic_ms() - t0) / 1000, tries, tries == 1 ? "" : "s");
	return 0;
}

static int cmd_update(int argc, char **argv)
{
	struct update_opts o = {0};
	static const struct option longopts[] = {
		{"no-reboot", no_argument, NULL, 'n'}, {"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	int opt;
	while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (opt == 'n') {
			o.no_reboot = 1;
		} else if (opt == 'f') {
			o.force = 1;
		} else {
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: berth os update [--no-reboot] [--force] FILE|-\n");
		return 2;
	}
	o.path = argv[optind];
	failpoint_arm_from_env();
	struct berr err = {0};
	struct host h;
	struct spool s = {0};
	static struct bundle b;
	struct progress prog = {.tty = isatty(STDERR_FILENO)};
	if (host_open(&h, &err) < 0) {
		print_err("update", &err);
		return 1;
	}
	int ret = verify_bundle(o.path, TRUSTED_KEYS_DIR, &s, &b, &prog, &err);
	if (ret == 0) {
		ret = apply(&o, &b, &h, &prog, &err);
	}
	spool_free(&s);
	if (ret < 0) {
		print_err("update", &err);
		return 1;
	}
	if (o.no_reboot) {
		phase("staged: slot %c boots at the next reboot", slot_other(h.booted));
	} else {
		reboot_now(slot_other(h.booted));
	}
	return 0;
}

/* ---- verify ------------------------------------------------------------------------------ */

static int cmd_verify(int argc, char **argv)
{
	const char *keys = TRUSTED_KEYS_DIR;
	static const struct option longopts[] = {{"keys", required_argument, NULL, 'k'}, {NULL, 0, NULL, 0}};
	int opt;
	while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (opt == 'k') {
			keys = optarg;
		} else {
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: berth os verify [--keys DIR] FILE|-\n");
		return 2;
	}
	struct berr err = {0};
	struct spool s = {0};
	static struct bundle b;
	struct progress prog = {.tty = isatty(STDERR_FILENO)};
	int ret = verify_bundle(argv[optind], keys, &s, &b, &prog, &err);
	spool_free(&s);
	if (ret < 0) {
		print_err("verify", &err);
		return 1;
	}
	return 0;
}

/* ---- status and rollback ----------------------------------------------------------------- */

struct slot_info {
	char version[BUNDLE_VERSION_MAX];
	char build[BUNDLE_VERSION_MAX];
};

static void read_slot_infos(const struct host *h, struct slot_info info[2])
{
	char esp[64];
	memset(info, 0, 2 * sizeof(info[0]));
	if (esp_mount(&h->be, 0, esp, sizeof(esp), NULL) < 0) {
		return;
	}
	for (int i = 0; i < 2; i++) {
		slot_read_info(esp, "AB"[i], info[i].version, sizeof(info[i].version), info[i].build,
			       sizeof(info[i].build));
	}
	esp_unmount(esp, NULL);
}

static void slot_state_text(const struct host *h, const struct bootstate *bs, int i, char *out, size_t size)
{
	char slot = "AB"[i];
	if (slot == h->booted && bs->trial == slot) {
		snprintf(out, size, "active, trial (health gate)");
	} else if (slot == h->booted && bs->slot == slot) {
		snprintf(out, size, "active");
	} else if (bs->trial == slot) {
		snprintf(out, size, "trial (%d boot%s left)", bs->tries, bs->tries == 1 ? "" : "s");
	} else if (slot == h->booted) {
		snprintf(out, size, "active, %s", slot_state_name(bs->state[i]));
	} else if (bs->state[i] == SLOT_WRITING) {
		snprintf(out, size, "incomplete");
	} else {
		snprintf(out, size, "%s", slot_state_name(bs->state[i]));
	}
}

static int cmd_status(int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: berth os status\n");
		return 2;
	}
	struct berr err = {0};
	struct host h;
	struct bootstate bs;
	int which;
	if (host_open(&h, &err) < 0 || bootenv_load(&h.be, &bs, &which, &err) < 0) {
		print_err("status", &err);
		return 1;
	}
	struct slot_info info[2];
	auto_close int lock = bootenv_lock(1, NULL);
	if (lock >= 0) {
		read_slot_infos(&h, info);
	} else {
		memset(info, 0, sizeof(info));
	}
	printf("%-5s %-28s %s\n", "SLOT", "STATE", "VERSION");
	for (int i = 0; i < 2; i++) {
		char state[64];
		slot_state_text(&h, &bs, i, state, sizeof(state));
		const char *v = info[i].version[0] ? info[i].version : "-";
		if ("AB"[i] == h.booted) {
			v = h.version;
		}
		printf("%-5c %-28s %s\n", "AB"[i], state, v);
	}
	if (which != 0) {
		printf("boot state: read from %s\n", which == 1 ? "the backup copy (the primary is torn)" : "defaults");
	}
	const struct boot_rollback *r = &bs.rollback;
	if (r->slot == 0) {
		printf("last rollback: none\n");
		return 0;
	}
	char when[64] = "an unknown time";
	time_t t = (time_t)r->time;
	struct tm tm;
	if (r->time > 0 && gmtime_r(&t, &tm) != NULL) {
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	}
	printf("last rollback: from slot %c (%s) at %s: %s\n", r->slot, r->version[0] ? r->version : "?", when,
	       r->reason);
	return 0;
}

static int cmd_rollback(int argc, char **argv)
{
	int no_reboot = 0;
	int force = 0;
	static const struct option longopts[] = {
		{"no-reboot", no_argument, NULL, 'n'}, {"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	int opt;
	while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (opt == 'n') {
			no_reboot = 1;
		} else if (opt == 'f') {
			force = 1;
		} else {
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: berth os rollback [--no-reboot] [--force]\n");
		return 2;
	}
	struct berr err = {0};
	struct host h;
	struct bootstate bs;
	if (host_open(&h, &err) < 0) {
		print_err("rollback", &err);
		return 1;
	}
	auto_close int lock = bootenv_lock(1, &err);
	if (lock < 0 || bootenv_load(&h.be, &bs, NULL, &err) < 0 || refuse_state(&h, &bs, 0, &err) < 0) {
		print_err("rollback", &err);
		return 1;
	}
	char target = slot_other(bs.slot);
	int ti = slot_index(target);
	if (bs.trial == target) {
		fprintf(stderr, "berth os rollback: slot %c is already armed for a trial boot; reboot to try it\n",
			target);
		return 1;
	}
	if (bs.state[ti] != SLOT_GOOD && !force) {
		fprintf(stderr,
			"berth os rollback: slot %c is %s, not a good slot to go back to (--force to try it anyway)\n",
			target, slot_state_name(bs.state[ti]));
		return 1;
	}
	struct slot_info info[2];
	read_slot_infos(&h, info);
	if (info[ti].version[0] == '\0') {
		fprintf(stderr, "berth os rollback: slot %c has no kernel or slot.env on the %s\n", target, ESP_LABEL);
		return 1;
	}
	bootstate_request_rollback(&bs, trial_boots(), info[ti].version, h.version, (int64_t)time(NULL));
	if (bootenv_save(&h.be, &bs, "rollback", &err) < 0) {
		print_err("rollback", &err);
		return 1;
	}
	phase("slot %c (%s) armed for a trial boot; slot %c stays good until it passes its health gate", target,
	      info[ti].version, bs.slot);
	if (no_reboot) {
		phase("staged: slot %c boots at the next reboot", target);
	} else {
		reboot_now(target);
	}
	return 0;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static int os_usage(FILE *out)
{
	fprintf(out, "usage: berth os update [--no-reboot] [--force] FILE|-   install an update bundle\n"
		     "       berth os status                                  both slots and the last rollback\n"
		     "       berth os rollback [--no-reboot] [--force]        boot the other slot\n"
		     "       berth os verify [--keys DIR] FILE|-              check a bundle, install nothing\n");
	return out == stdout ? 0 : 2;
}

int osupdate_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} cmds[] = {{"update", cmd_update}, {"status", cmd_status}, {"rollback", cmd_rollback}, {"verify", cmd_verify}};
	if (argc < 2) {
		return os_usage(stderr);
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		return os_usage(stdout);
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) == 0) {
			optind = 1;
			return cmds[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "berth os: unknown command '%s'\n", argv[1]);
	return os_usage(stderr);
}

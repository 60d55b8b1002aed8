/* Random seed (see entropy.h). Runs in PID 1 during boot. */
#include "init/entropy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"

#define SEED_DIR "/data/berth"
#define SEED_FILE SEED_DIR "/random-seed"
#define SEED_BYTES 512

static int sync_dir(const char *dir)
{
	auto_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		return -errno;
	}
	return 0;
}

static void credit_old_seed(int on_disk)
{
	unsigned char seed[SEED_BYTES];
	ssize_t n;
	{
		auto_close int fd = open(SEED_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (errno != ENOENT) {
				blog_warn("random seed: open %s: %s", SEED_FILE, strerror(errno));
			}
			return;
		}
		n = read(fd, seed, sizeof(seed));
	}
	if (n <= 0) {
		unlink(SEED_FILE);
		return;
	}
	int credit = on_disk;
	if (unlink(SEED_FILE) < 0 || sync_dir(SEED_DIR) < 0) {
		credit = 0;
	}
	struct {
		struct rand_pool_info info;
		unsigned char data[SEED_BYTES];
	} pool;
	pool.info.entropy_count = credit ? (int)n * 8 : 0;
	pool.info.buf_size = (int)n;
	memcpy(pool.data, seed, (size_t)n);
	auto_close int rnd = open("/dev/urandom", O_RDWR | O_CLOEXEC);
	if (rnd < 0 || ioctl(rnd, RNDADDENTROPY, &pool) < 0) {
		blog_warn("random seed: could not add it: %s", strerror(errno));
		return;
	}
	explicit_bzero(&pool, sizeof(pool));
	explicit_bzero(seed, sizeof(seed));
	blog_info("random seed: %zd bytes from the last boot %s", n, credit ? "credited" : "mixed in (not credited)");
}

static void write_new_seed(void)
{
	unsigned char seed[SEED_BYTES];
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		blog_warn("random seed: the kernel's generator is not ready; no seed saved this boot");
		return;
	}
	if (mkdir(SEED_DIR, 0700) < 0 && errno != EEXIST) {
		blog_warn("random seed: mkdir %s: %s", SEED_DIR, strerror(errno));
		return;
	}
	const char *tmp = SEED_FILE ".tmp";
	auto_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, seed, sizeof(seed)) != (ssize_t)sizeof(seed) || fsync(fd) < 0 ||
	    rename(tmp, SEED_FILE) < 0) {
		blog_warn("random seed: write %s: %s", SEED_FILE, strerror(errno));
		unlink(tmp);
	}
	explicit_bzero(seed, sizeof(seed));
	sync_dir(SEED_DIR);
}

void entropy_seed(int on_disk)
{
	credit_old_seed(on_disk);
	write_new_seed();
}

/* tscmark: puts the CPU's time stamp counter into the kernel log, so that
 * the benchmarks can tell how long the machine ran before the kernel's
 * clock started (firmware, bootloader, kernel decompression).
 *
 * Under QEMU with -icount the TSC counts guest nanoseconds from the
 * machine's reset, while the kernel log's timestamps count from the
 * moment the kernel started its clock; one record carrying the TSC gets a
 * timestamp of the same instant, and the difference is the time before
 * the kernel. The counter is also printed on stdout, with CLOCK_MONOTONIC.
 * Part of the benchmarks, never of the image. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t rdtsc(void)
{
	uint32_t lo;
	uint32_t hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

int main(void)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("tscmark: open /dev/kmsg");
		return 1;
	}
	char line[96];
	uint64_t tsc = rdtsc();
	int n = snprintf(line, sizeof(line), "<6>tscmark: tsc %llu\n", (unsigned long long)tsc);
	/* The record is timestamped when written: nothing between the read
	 * of the counter and the write. */
	if (write(fd, line, (size_t)n) != n) {
		perror("tscmark: write /dev/kmsg");
		return 1;
	}
	close(fd);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("tsc %llu\nmonotonic_ns %llu\n", (unsigned long long)tsc,
	       (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec);
	return 0;
}

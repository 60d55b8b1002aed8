/* Persistent network namespaces (see netns.h). */
#include "net/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* Namespaces stacked on one path (mounted twice by mistake) are peeled off
 * one by one; this bounds the loop. */
#define NETNS_MAX_STACK 16

int netns_exists(const char *path)
{
	struct statfs sfs;
	if (statfs(path, &sfs) < 0) {
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	}
	if ((unsigned long)sfs.f_type != (unsigned long)NSFS_MAGIC) {
		return 0;
	}
	auto_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		return -errno;
	}
	int type = ioctl(fd, NS_GET_NSTYPE);
	if (type < 0) {
		/* Kernels before 4.11 cannot tell; nsfs is enough then. */
		return errno == ENOTTY ? 1 : -errno;
	}
	return type == CLONE_NEWNET ? 1 : 0;
}

int netns_open(const char *path, struct berr *err)
{
	int exists = netns_exists(path);
	if (exists < 0) {
		return berr_set(err, -exists, "network namespace %s", path);
	}
	if (exists == 0) {
		return berr_setx(err, EINVAL, "%s is not a network namespace", path);
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		return berr_set(err, errno, "open network namespace %s", path);
	}
	return fd;
}

/* ---- creation ---- */

/* Runs in the child: a new namespace, mounted on path, with lo up. */
static int create_in_child(const char *path, struct berr *err)
{
	if (unshare(CLONE_NEWNET) < 0) {
		return berr_set(err, errno, "create a network namespace for %s", path);
	}
	/* The child shares the parent's mount namespace, so the parent sees
	 * this mount; it keeps the namespace alive after the child exits. */
	if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0) {
		return berr_set(err, errno, "bind-mount a new network namespace on %s", path);
	}
	struct nl_sock nl;
	int ret = nl_open(&nl, err);
	if (ret == 0) {
		ret = nl_link_up(&nl, "lo", err);
		nl_close(&nl);
	}
	if (ret < 0) {
		berr_prefix(err, "network namespace %s", path);
		(void)umount2(path, MNT_DETACH);
	}
	return ret;
}

/* Forks the child that makes the namespace; its verdict comes back as a
 * whole struct berr through a pipe (one write below PIPE_BUF is atomic),
 * which also works when the caller's SIGCHLD handling reaps it first. */
static int create_namespace(const char *path, struct berr *err)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		return berr_set(err, errno, "pipe for network namespace %s", path);
	}
	auto_close int rd = fds[0];
	auto_close int wr = fds[1];
	pid_t pid = fork();
	if (pid < 0) {
		return berr_set(err, errno, "fork for network namespace %s", path);
	}
	if (pid == 0) {
		struct berr child_err;
		berr_clear(&child_err);
		(void)create_in_child(path, &child_err);
		ssize_t n = write(wr, &child_err, sizeof(child_err));
		_exit(n == (ssize_t)sizeof(child_err) && child_err.code == 0 ? 0 : 1);
	}
	close(take_fd(&wr));
	struct berr child_err;
	ssize_t n;
	do {
		n = read(rd, &child_err, sizeof(child_err));
	} while (n < 0 && errno == EINTR);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (n != (ssize_t)sizeof(child_err)) {
		return berr_setx(err, EIO, "network namespace %s: the helper process died", path);
	}
	if (child_err.code != 0) {
		child_err.msg[sizeof(child_err.msg) - 1] = '\0';
		if (err != NULL) {
			*err = child_err;
		}
		return -child_err.code;
	}
	return 0;
}

int netns_create(const char *path, struct berr *err)
{
	int exists = netns_exists(path);
	if (exists < 0) {
		return berr_set(err, -exists, "network namespace %s", path);
	}
	if (exists > 0) {
		return berr_setx(err, EEXIST, "network namespace %s already exists", path);
	}
	int created = 1;
	auto_close int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* A leftover mount point (after a reboot, or a crash between
		 * the unmount and the unlink) is reused; symlinks and other
		 * types are not. */
		created = 0;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
		struct stat st;
		if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
			return berr_setx(err, EEXIST, "network namespace %s: exists and is not a regular file", path);
		}
	}
	if (fd < 0) {
		return berr_set(err, errno, "create network namespace file %s", path);
	}
	close(take_fd(&fd));
	int ret = create_namespace(path, err);
	if (ret == 0 && netns_exists(path) != 1) {
		ret = berr_setx(err, EIO, "network namespace %s: not mounted after creation", path);
	}
	if (ret < 0 && created) {
		(void)unlink(path);
	}
	return ret;
}

int netns_remove(const char *path, struct berr *err)
{
	for (int i = 0; i < NETNS_MAX_STACK; i++) {
		int exists = netns_exists(path);
		if (exists < 0) {
			return berr_set(err, -exists, "network namespace %s", path);
		}
		if (exists == 0) {
			break;
		}
		/* MNT_DETACH: a process that still holds the file open (or a
		 * socket inside) must not make removal fail. */
		if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0) {
			return berr_set(err, errno, "unmount network namespace %s", path);
		}
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		return berr_set(err, errno, "remove network namespace file %s", path);
	}
	return 0;
}

/* ---- working inside ---- */

/* Enters the namespace at path; *home is the caller's own, to return to. */
static int netns_enter(const char *path, int *home, struct berr *err)
{
	auto_close int target = netns_open(path, err);
	if (target < 0) {
		return target;
	}
	auto_close int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		return berr_set(err, errno, "open /proc/thread-self/ns/net");
	}
	if (setns(target, CLONE_NEWNET) < 0) {
		return berr_set(err, errno, "enter network namespace %s", path);
	}
	*home = take_fd(&self);
	return 0;
}

/* Returns to the caller's namespace. Failing to do so would leave every
 * later socket, and every container network, in the wrong namespace:
 * there is no safe way on, so the process stops (its supervisor restarts
 * it in the right one). */
static void netns_leave(int home, const char *path)
{
	if (setns(home, CLONE_NEWNET) < 0) {
		blog_err("cannot return from network namespace %s: %s", path, strerror(errno));
		abort();
	}
	close(home);
}

int netns_socket(const char *path, int domain, int type, int protocol, struct berr *err)
{
	int home;
	int ret = netns_enter(path, &home, err);
	if (ret < 0) {
		return ret;
	}
	int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
	int saved = errno;
	netns_leave(home, path);
	if (fd < 0) {
		return berr_set(err, saved, "socket in network namespace %s", path);
	}
	return fd;
}

int netns_rtnl_open(const char *path, struct nl_sock *nl, struct berr *err)
{
	nl->fd = -1;
	int home;
	int ret = netns_enter(path, &home, err);
	if (ret < 0) {
		return ret;
	}
	ret = nl_open(nl, err);
	netns_leave(home, path);
	if (ret < 0) {
		return berr_prefix(err, "network namespace %s", path);
	}
	return 0;
}

/* Scope-bound cleanup for fds, memory, FILE and DIR handles. Ownership is
 * handed on explicitly: `int out = fd; fd = -1; return out;`. */
#ifndef BERTH_CLEANUP_H
#define BERTH_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void close_fdp(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void free_ptrp(void *p)
{
	free(*(void **)p);
}

static inline void fclose_filep(FILE **f)
{
	if (*f != NULL) {
		fclose(*f);
	}
}

static inline void closedir_dirp(DIR **d)
{
	if (*d != NULL) {
		closedir(*d);
	}
}

#define auto_close __attribute__((cleanup(close_fdp)))
#define auto_free __attribute__((cleanup(free_ptrp)))
#define auto_fclose __attribute__((cleanup(fclose_filep)))
#define auto_closedir __attribute__((cleanup(closedir_dirp)))

/* Hands an owned fd or pointer out of a cleanup-managed variable. */
static inline int take_fd(int *fd)
{
	int out = *fd;
	*fd = -1;
	return out;
}

static inline void *take_ptr(void *p)
{
	void *out = *(void **)p;
	*(void **)p = NULL;
	return out;
}

#endif

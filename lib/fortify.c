/* Run-time halves of lib/fortify.h: the checks GCC emits calls to when a
 * destination's size is known but the length is not. This file calls the
 * real functions, so fortify.h's macros (force-included) are undone. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#undef memcpy
#undef memmove
#undef memset
#undef strcpy
#undef stpcpy
#undef strcat
#undef strncpy
#undef strncat
#undef snprintf
#undef vsnprintf
#undef sprintf

__attribute__((noreturn)) void __chk_fail(void);

void __chk_fail(void)
{
	static const char msg[] = "*** buffer overflow detected ***: terminated\n";
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	abort();
}

void *__memcpy_chk(void *d, const void *s, size_t n, size_t dn);
void *__memcpy_chk(void *d, const void *s, size_t n, size_t dn)
{
	if (n > dn) {
		__chk_fail();
	}
	return memcpy(d, s, n);
}

void *__memmove_chk(void *d, const void *s, size_t n, size_t dn);
void *__memmove_chk(void *d, const void *s, size_t n, size_t dn)
{
	if (n > dn) {
		__chk_fail();
	}
	return memmove(d, s, n);
}

void *__memset_chk(void *d, int c, size_t n, size_t dn);
void *__memset_chk(void *d, int c, size_t n, size_t dn)
{
	if (n > dn) {
		__chk_fail();
	}
	return memset(d, c, n);
}

char *__strcpy_chk(char *d, const char *s, size_t dn);
char *__strcpy_chk(char *d, const char *s, size_t dn)
{
	size_t n = strlen(s) + 1;
	if (n > dn) {
		__chk_fail();
	}
	return memcpy(d, s, n);
}

char *__stpcpy_chk(char *d, const char *s, size_t dn);
char *__stpcpy_chk(char *d, const char *s, size_t dn)
{
	size_t n = strlen(s);
	if (n + 1 > dn) {
		__chk_fail();
	}
	memcpy(d, s, n + 1);
	return d + n;
}

char *__strcat_chk(char *d, const char *s, size_t dn);
char *__strcat_chk(char *d, const char *s, size_t dn)
{
	size_t dl = strnlen(d, dn);
	size_t sl = strlen(s);
	if (dl >= dn || sl + 1 > dn - dl) {
		__chk_fail();
	}
	memcpy(d + dl, s, sl + 1);
	return d;
}

char *__strncpy_chk(char *d, const char *s, size_t n, size_t dn);
char *__strncpy_chk(char *d, const char *s, size_t n, size_t dn)
{
	if (n > dn) {
		__chk_fail();
	}
	return strncpy(d, s, n);
}

char *__strncat_chk(char *d, const char *s, size_t n, size_t dn);
char *__strncat_chk(char *d, const char *s, size_t n, size_t dn)
{
	size_t dl = strnlen(d, dn);
	size_t sl = strnlen(s, n);
	if (dl >= dn || sl + 1 > dn - dl) {
		__chk_fail();
	}
	return strncat(d, s, n);
}

__attribute__((format(printf, 5, 0))) int __vsnprintf_chk(char *d, size_t n, int flag, size_t dn, const char *fmt,
							  va_list ap);
int __vsnprintf_chk(char *d, size_t n, int flag, size_t dn, const char *fmt, va_list ap)
{
	(void)flag;
	if (n > dn) {
		__chk_fail();
	}
	return vsnprintf(d, n, fmt, ap);
}

__attribute__((format(printf, 5, 6))) int __snprintf_chk(char *d, size_t n, int flag, size_t dn, const char *fmt, ...);
int __snprintf_chk(char *d, size_t n, int flag, size_t dn, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = __vsnprintf_chk(d, n, flag, dn, fmt, ap);
	va_end(ap);
	return ret;
}

__attribute__((format(printf, 4, 5))) int __sprintf_chk(char *d, int flag, size_t dn, const char *fmt, ...);
int __sprintf_chk(char *d, int flag, size_t dn, const char *fmt, ...)
{
	(void)flag;
	va_list ap;
	va_start(ap, fmt);
	int ret = vsnprintf(d, dn, fmt, ap);
	va_end(ap);
	if (ret < 0 || (size_t)ret >= dn) {
		__chk_fail();
	}
	return ret;
}

/* Buffer-overflow checks for Berth's own code, standing in for
 * _FORTIFY_SOURCE, which musl does not implement (it has no __*_chk
 * functions). Force-included (-include) into every musl build of Berth's C:
 * calls whose destination size the compiler can see are checked at compile
 * time, or at run time by lib/fortify.c, which aborts on overflow.
 * The system headers are included first so that their declarations are
 * not rewritten by the macros below. */
#ifndef BERTH_FORTIFY_H
#define BERTH_FORTIFY_H

#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__) && !defined(BERTH_NO_FORTIFY)
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
/* musl's sched.h declares memcpy again (for its CPU_SET macros). */
#include <sched.h>

#define BERTH_OBJSZ0(p) __builtin_dynamic_object_size((p), 0)
#define BERTH_OBJSZ1(p) __builtin_dynamic_object_size((p), 1)

#define memcpy(d, s, n) __builtin___memcpy_chk((d), (s), (n), BERTH_OBJSZ0(d))
#define memmove(d, s, n) __builtin___memmove_chk((d), (s), (n), BERTH_OBJSZ0(d))
#define memset(d, c, n) __builtin___memset_chk((d), (c), (n), BERTH_OBJSZ0(d))
#define strcpy(d, s) __builtin___strcpy_chk((d), (s), BERTH_OBJSZ1(d))
#define stpcpy(d, s) __builtin___stpcpy_chk((d), (s), BERTH_OBJSZ1(d))
#define strcat(d, s) __builtin___strcat_chk((d), (s), BERTH_OBJSZ1(d))
#define strncpy(d, s, n) __builtin___strncpy_chk((d), (s), (n), BERTH_OBJSZ1(d))
#define strncat(d, s, n) __builtin___strncat_chk((d), (s), (n), BERTH_OBJSZ1(d))
#define snprintf(d, n, ...) __builtin___snprintf_chk((d), (n), 1, BERTH_OBJSZ1(d), __VA_ARGS__)
#define vsnprintf(d, n, f, ap) __builtin___vsnprintf_chk((d), (n), 1, BERTH_OBJSZ1(d), (f), (ap))
#define sprintf(d, ...) __builtin___sprintf_chk((d), 1, BERTH_OBJSZ1(d), __VA_ARGS__)

#endif
#endif

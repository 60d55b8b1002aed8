/* The console: which terminal device the kernel's console is (from the
 * kernel command line, as the kernel resolved it), so that init can run an
 * interactive shell on it with a real controlling terminal, and write
 * messages that must be seen. */
#ifndef BERTH_INIT_CONSOLE_H
#define BERTH_INIT_CONSOLE_H

#include <stddef.h>

/* The device of the primary console ("/dev/ttyS0"), or "/dev/console"
 * when the kernel does not say. */
void console_device(char *path, size_t size);

/* Writes a line straight to the console, bypassing log filtering; also to
 * the screen (tty0) when that is a console too but not the primary one, so
 * that an operator at a server's monitor sees what the serial line says. */
void console_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/* The ACPI power button, read from the input devices that report
 * KEY_POWER (the kernel's ACPI button driver is an input device). */
#ifndef BERTH_INIT_POWER_H
#define BERTH_INIT_POWER_H

/* Opens every input device that has a power key; returns how many were
 * found, their fds in fds. */
int power_buttons_watch(int *fds, int max);

/* Reads pending events from fd; returns 1 when the power key went down. */
int power_button_pressed(int fd);

#endif

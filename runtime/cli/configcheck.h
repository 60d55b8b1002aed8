/* `berth config check DIR`: compose.yaml (with .env), host.yaml and the
 * image archives of a config directory, checked by the same code that
 * reads them on the host. Prints every problem as FILE:LINE: message;
 * returns the exit status (0: good, 1: errors). */
#ifndef BERTH_CONFIGCHECK_H
#define BERTH_CONFIGCHECK_H

int config_check(const char *dir);

/* The same, naming the directory shown in its verdict (a staged copy is
 * reported under the name the user gave). */
int config_check_as(const char *dir, const char *name);

#endif

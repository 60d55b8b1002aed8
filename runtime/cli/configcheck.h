/* `berth config check DIR`: compose.yaml (with .env), host.yaml and the
 * image archives of a config directory, checked by the same code that
 * reads them on the host. Prints every problem as FILE:LINE: message;
 * returns the exit status (0: good, 1: errors). */
#ifndef BERTH_CONFIGCHECK_H
#define BERTH_CONFIGCHECK_H

int config_check(const char *dir);

#endif

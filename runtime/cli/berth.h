/* The berth CLI (see berth.c). */
#ifndef BERTH_CLI_BERTH_H
#define BERTH_CLI_BERTH_H

#include <json-c/json.h>

int berth_main(int argc, char **argv);

/* berthd applies /config now (berth up); what it did is printed, and
 * handed out in *report when report is not NULL (the caller frees it).
 * 0, or -1 when berthd refused or reported errors. */
int cli_up(json_object **report);

#endif

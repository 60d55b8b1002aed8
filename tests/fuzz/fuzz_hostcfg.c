/* libFuzzer entry point for host.yaml: arbitrary bytes through the parser
 * PID 1 runs at boot. Invariant beyond "no crash, no leak": whatever the
 * input, the result is a usable config (bounded counts, NUL-terminated
 * strings; nerrors may exceed the kept messages, by design), since init applies it section by section. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hostcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct host_config c;
	hostcfg_defaults(&c);
	hostcfg_parse(&c, "host.yaml", (const char *)data, size);
	if (c.nifaces > HOST_MAX_IFACES || c.ndns > HOST_MAX_DNS || c.nkeys > HOST_MAX_KEYS ||
	    c.nsysctls > HOST_MAX_SYSCTLS || c.nbind_allow > HOST_MAX_BINDS || c.nmirrors > HOST_MAX_MIRRORS ||
	    c.ninsecure > HOST_MAX_INSECURE || memchr(c.no_proxy, '\0', sizeof(c.no_proxy)) == NULL ||
	    memchr(c.hostname, '\0', sizeof(c.hostname)) == NULL) {
		abort();
	}
	hostcfg_free(&c);
	return 0;
}

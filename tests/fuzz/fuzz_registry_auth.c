/* libFuzzer entry point for the registry's authentication answers: the
 * first byte picks the parser (WWW-Authenticate challenge, token endpoint
 * JSON, Docker auths file), the rest is the input. Invariants beyond "no
 * crash, no leak": a challenge that parses has a scheme, and a Bearer one
 * an http(s) realm; a token that parses fits a header line (no spaces,
 * no control characters); an auths entry gives a Basic header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/creds.h"
#include "registry/regparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) {
		return 0;
	}
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	struct berr err = {0};
	switch (data[0] % 3) {
	case 0: {
		struct reg_challenge ch;
		if (reg_parse_challenge(text, len, &ch, &err) == 0) {
			if (ch.scheme == REG_SCHEME_NONE ||
			    (ch.scheme == REG_SCHEME_BEARER && strncmp(ch.realm, "https://", 8) != 0 &&
			     strncmp(ch.realm, "http://", 7) != 0) ||
			    memchr(ch.scope, '\0', sizeof(ch.scope)) == NULL) {
				abort();
			}
		}
		break;
	}
	case 1: {
		char token[REG_TOKEN_MAX];
		long expires = 0;
		if (reg_parse_token(text, len, token, sizeof(token), &expires, &err) == 0) {
			for (const char *p = token; *p != '\0'; p++) {
				if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
					abort();
				}
			}
			if (token[0] == '\0' || expires < 60) {
				abort();
			}
		}
		break;
	}
	default: {
		char header[CREDS_HEADER_MAX];
		if (creds_parse(text, len, "auth.json", "docker.io", header, sizeof(header), &err) == 1 &&
		    strncmp(header, "Authorization: Basic ", 21) != 0) {
			abort();
		}
		break;
	}
	}
	return 0;
}

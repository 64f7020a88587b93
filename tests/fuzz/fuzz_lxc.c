/* fuzz_lxc.c - libFuzzer target for the LXC importer alone (config_parse_lxc), fed
 * whatever the input is, not only documents that look like LXC. Whatever it accepts
 * must be writable as INI the INI reader accepts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c, again;
	struct cfs_err err = { 0 };

	if (size > CFS_MAX_CONFIG || memchr(data, '\0', size))
		return 0;	/* config_parse refuses these before the importer sees them */
	if (config_init(&c, "fuzz") < 0)
		return 0;
	if (config_parse_lxc(&c, (const char *)data, size, &err) == 0) {
		char *ini = config_to_ini(&c);

		if (!ini)
			abort();
		if (strlen(ini) <= CFS_MAX_CONFIG) {
			memset(&err, 0, sizeof(err));
			if (config_parse(&again, "fuzz", ini, strlen(ini), &err) < 0) {
				fprintf(stderr, "imported, but its INI is refused: %s\n%s", err.msg, ini);
				abort();
			}
			config_free(&again);
		}
		free(ini);
	} else if (!err.msg[0]) {
		abort();
	}
	config_free(&c);
	return 0;
}

/* fuzz_config.c - libFuzzer target for the whole-document readers: config_parse (the
 * INI reader, and the LXC importer when the document starts with lxc.). Properties
 * beyond "no crash": what is accepted is written back as INI that the reader accepts
 * again, unchanged (the loader accepts everything the writer writes), and a rejected
 * document leaves the defaults. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c, again, defaults;
	struct cfs_err err = { 0 };
	const char *doc = (const char *)data;

	if (config_init(&defaults, "fuzz") < 0)
		return 0;
	if (config_parse(&c, "fuzz", doc, size, &err) < 0) {
		if (!err.msg[0])
			abort();	/* a refusal always says why */
		if (!config_equal(&c, &defaults))
			abort();	/* all or nothing */
		config_free(&c);
		config_free(&defaults);
		return 0;
	}
	char *ini = config_to_ini(&c);

	if (!ini)
		abort();
	memset(&err, 0, sizeof(err));
	if (config_parse(&again, "fuzz", ini, strlen(ini), &err) < 0) {
		fprintf(stderr, "the reader refuses what the writer wrote: %s\n%s", err.msg, ini);
		abort();
	}
	if (!config_equal(&c, &again)) {
		fprintf(stderr, "a round trip through INI changed the configuration\n%s", ini);
		abort();
	}
	free(ini);
	config_free(&again);
	config_free(&c);
	config_free(&defaults);
	return 0;
}

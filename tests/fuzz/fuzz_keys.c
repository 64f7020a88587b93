/* fuzz_keys.c - libFuzzer target for every key's value normaliser (key_normalise,
 * key_check_line, config_set): the first byte picks the key, the rest is the value.
 * What a key accepts is normalised to a value the same key accepts again unchanged,
 * and a configuration holding it is read back from its INI. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "keys.h"
#include "config/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfs_err err = { 0 };
	struct config c, again;
	char *norm = NULL, *norm2 = NULL;
	enum key_id k;

	if (size < 1)
		return 0;
	k = (enum key_id)(data[0] % K_COUNT);
	data++;
	size--;
	/* per-line checks, as the tree makes them while a list arrives */
	if (size < CFS_MAX_VALUE && (key_table[k].flags & KF_LIST) && !memchr(data, '\0', size)) {
		char line[CFS_MAX_VALUE];

		memcpy(line, data, size);
		line[size] = '\0';
		key_check_line(k, line, &err);
		memset(&err, 0, sizeof(err));
	}
	if (key_normalise(k, (const char *)data, size, &norm, &err) < 0) {
		if (!err.msg[0])
			abort();
		free(norm);
		return 0;
	}
	if (!norm)
		abort();
	memset(&err, 0, sizeof(err));
	if (key_normalise(k, norm, strlen(norm), &norm2, &err) < 0) {
		fprintf(stderr, "%s: its own normal form '%s' is refused: %s\n", key_table[k].name,
			norm, err.msg);
		abort();
	}
	if (strcmp(norm, norm2)) {
		fprintf(stderr, "%s: normalising twice: '%s' then '%s'\n", key_table[k].name, norm,
			norm2);
		abort();
	}
	if (config_init(&c, "fuzz") < 0)
		goto out;
	memset(&err, 0, sizeof(err));
	if (config_set(&c, k, (const char *)data, size, &err) == 0) {
		char *ini = config_to_ini(&c);

		if (!ini)
			abort();
		memset(&err, 0, sizeof(err));
		if (strlen(ini) <= CFS_MAX_CONFIG &&
		    config_parse(&again, "fuzz", ini, strlen(ini), &err) == 0) {
			config_free(&again);
		} else if (strlen(ini) <= CFS_MAX_CONFIG) {
			fprintf(stderr, "%s accepted, its INI refused: %s\n%s", key_table[k].name,
				err.msg, ini);
			abort();
		}
		free(ini);
	}
	config_free(&c);
out:
	free(norm);
	free(norm2);
	return 0;
}

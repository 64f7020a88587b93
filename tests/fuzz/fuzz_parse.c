/* fuzz_parse.c - libFuzzer target for the value parsers of parse.h: every one gets the
 * input as a string (the first byte picks which). None may crash, read out of bounds or
 * fail without saying why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_PARSERS 20

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfs_err err = { 0 };
	char s[CFS_MAX_VALUE + 2];
	uint64_t u, u2;
	int i, r = 0;
	bool b;

	if (size < 1 || size > CFS_MAX_VALUE + 1)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % N_PARSERS) {
	case 0: r = parse_container_name(s, &err); break;
	case 1: r = parse_uint(s, 1, 1000000, &u, &err); break;
	case 2: r = parse_bool01(s, &b, &err); break;
	case 3: r = parse_size(s, true, true, &u, &err); break;
	case 4: r = parse_uint_or_max(s, 1, UINT64_MAX - 1, &u, &err); break;
	case 5: r = parse_cpu_max(s, &u, &u2, &err); break;
	case 6: r = parse_cpu_list(s, &err); break;
	case 7: r = parse_signal(s, &i, &err); break;
	case 8: {
		char **argv = NULL;

		r = parse_shell_words(s, &argv, &i, &err);
		if (r == 0)
			strv_free(argv);
		break;
	}
	case 9: {
		struct device_rule dr;
		char buf[64];

		r = parse_device_rule(s, &dr, &err);
		if (r == 0)
			format_device_rule(&dr, buf, sizeof(buf));
		break;
	}
	case 10: {
		struct idmap_entry m;

		r = parse_idmap_line(s, &m, &err);
		break;
	}
	case 11: {
		uint8_t mac[6], mask[6], rnd[6] = { 1, 2, 3, 4, 5, 6 };

		r = parse_mac(s, mac, mask, &err);
		if (r == 0)
			parse_mac_fill_random(mac, mask, rnd);
		break;
	}
	case 12: {
		struct in_addr a;

		r = parse_ipv4(s, &a, &err);
		break;
	}
	case 13: {
		struct in_addr a;

		r = parse_cidr4(s, &a, &i, &err);
		break;
	}
	case 14: r = parse_ifname(s, &err); break;
	case 15: {
		uid_t uid;
		gid_t gid;

		r = parse_uid_gid(s, &uid, &gid, &err);
		break;
	}
	case 16: r = parse_env_line(s, &err); break;
	case 17: {
		unsigned long fl;
		char buf[128];

		r = parse_namespaces(s, &fl, &err);
		if (r == 0)
			format_namespaces(fl, buf, sizeof(buf));
		break;
	}
	case 18: r = parse_cap_list(s, &u, &err); break;
	case 19: {
		static struct fstab_entry fe;

		r = parse_fstab_line(s, &fe, &err);
		break;
	}
	}
	if (r < 0 && !err.msg[0])
		abort();
	return 0;
}

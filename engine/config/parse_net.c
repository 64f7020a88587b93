/* parse_net.c - pure parsers of MAC addresses (with random digits), IPv4
 * addresses and prefixes, and interface names. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "parse_internal.h"

/* ---- MAC addresses */

int parse_mac(const char *s, uint8_t mac[6], uint8_t random_mask[6], struct cfs_err *err)
{
	uint8_t m[6] = { 0 }, k[6] = { 0 };
	bool all_zero = true;
	int i, j, r = check_len(s, err);

	if (r)
		return r;
	if (strlen(s) != 17)
		goto bad;
	for (i = 0; i < 6; i++) {
		const char *p = s + 3 * i;

		if (i < 5 && p[2] != ':')
			goto bad;
		for (j = 0; j < 2; j++) {
			int shift = j ? 0 : 4, v = hex_value(p[j]);

			if (p[j] == 'x' || p[j] == 'X')
				k[i] |= (uint8_t)(0xf << shift);
			else if (v >= 0)
				m[i] |= (uint8_t)(v << shift);
			else
				goto bad;
		}
		all_zero = all_zero && !m[i] && !k[i];
	}
	if (!(k[0] & 0x01) && (m[0] & 0x01))
		return cfs_err_set(err, EINVAL,
				   "'%s' is a multicast address (the first octet must be even)",
				   SHOW(s));
	if (all_zero)
		return cfs_err_set(err, EINVAL, "'%s' is the all-zero address", SHOW(s));
	memcpy(mac, m, 6);
	memcpy(random_mask, k, 6);
	return 0;
bad:
	return cfs_err_set(err, EINVAL,
			   "'%s' is not a MAC address (xx:xx:xx:xx:xx:xx of hex digits, x for random)",
			   SHOW(s));
}

void parse_mac_fill_random(uint8_t mac[6], const uint8_t random_mask[6], const uint8_t rnd[6])
{
	int i;

	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)((mac[i] & ~random_mask[i]) | (rnd[i] & random_mask[i]));
	mac[0] &= (uint8_t)~0x01;	/* a unicast address, whatever the dice said */
	/* A fully random first octet cannot be a vendor's: mark it locally administered. */
	if (random_mask[0] == 0xff)
		mac[0] |= 0x02;
}

/* ---- IPv4 and interface names */

int parse_ipv4(const char *s, struct in_addr *a, struct cfs_err *err)
{
	struct in_addr tmp;
	int r = check_len(s, err);

	if (r)
		return r;
	/* glibc's inet_pton takes exactly four decimal octets: no "10.1", hex or octal. */
	if (inet_pton(AF_INET, s, &tmp) != 1)
		return cfs_err_set(err, EINVAL, "'%s' is not an IPv4 address (a.b.c.d)", SHOW(s));
	*a = tmp;
	return 0;
}

int parse_cidr4(const char *s, struct in_addr *a, int *prefix, struct cfs_err *err)
{
	char addr[INET_ADDRSTRLEN];
	struct in_addr tmp;
	const char *slash;
	uint64_t len;
	int r = check_len(s, err);

	if (r)
		return r;
	slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		goto bad;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (inet_pton(AF_INET, addr, &tmp) != 1)
		goto bad;
	/* No leading zeros, like the octets: "/08" is more likely a typo than 8. */
	if ((slash[1] == '0' && slash[2]) || scan_u64(slash + 1, strlen(slash + 1), &len) ||
	    len > 32)
		goto bad;
	*a = tmp;
	*prefix = (int)len;
	return 0;
bad:
	return cfs_err_set(err, EINVAL, "'%s' is not an IPv4 address with prefix (a.b.c.d/N, N 0 to 32)",
			   SHOW(s));
}

/* An address a network interface may have: not 0.0.0.0/8 ("this network"), not
 * multicast (224/4), not reserved or the limited broadcast (240/4). */
static int host_addr4(const char *s, struct in_addr a, struct cfs_err *err)
{
	uint32_t h = ntohl(a.s_addr);

	if ((h >> 24) == 0)
		return cfs_err_set(err, EINVAL, "'%s': 0.0.0.0/8 is not a host address", SHOW(s));
	if ((h >> 28) == 0xe)
		return cfs_err_set(err, EINVAL, "'%s' is a multicast address", SHOW(s));
	if ((h >> 28) == 0xf)
		return cfs_err_set(err, EINVAL, "'%s' is a broadcast or reserved address", SHOW(s));
	return 0;
}

int parse_host_ipv4(const char *s, struct in_addr *a, struct cfs_err *err)
{
	int r = parse_ipv4(s, a, err);

	return r < 0 ? r : host_addr4(s, *a, err);
}

int parse_host_cidr4(const char *s, struct in_addr *a, int *prefix, struct cfs_err *err)
{
	int r = parse_cidr4(s, a, prefix, err);

	if (r < 0)
		return r;
	r = host_addr4(s, *a, err);
	if (r < 0)
		return r;
	if (*prefix == 0)
		return cfs_err_set(err, EINVAL, "'%s': a prefix of 0 leaves no network", SHOW(s));
	if (*prefix <= 30) {
		uint32_t host = ntohl(a->s_addr) & (0xffffffffu >> *prefix);

		if (host == 0)
			return cfs_err_set(err, EINVAL,
					   "'%s' is the network's own address, not a host's",
					   SHOW(s));
		if (host == 0xffffffffu >> *prefix)
			return cfs_err_set(err, EINVAL, "'%s' is the network's broadcast address",
					   SHOW(s));
	}
	return 0;
}

int parse_ifname(const char *s, struct cfs_err *err)
{
	size_t i, n;
	int r = check_len(s, err);

	if (r)
		return r;
	n = strlen(s);
	if (n == 0 || n > 15)
		return cfs_err_set(err, EINVAL,
				   "'%s' is not an interface name (1 to 15 bytes)", SHOW(s));
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return cfs_err_set(err, EINVAL, "'%s' is not an interface name", SHOW(s));
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] == ' ' || ascii_is_ctrl(s[i]))
			return cfs_err_set(err, EINVAL,
					   "'%s' is not an interface name (no '/', ':', blanks or control characters)",
					   SHOW(s));
	return 0;
}

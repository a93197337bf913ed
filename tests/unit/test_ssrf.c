/*
 * Unit tests for src/ssrf: destination URL syntax, the address rule for
 * IPv4 and IPv6 socket addresses, and name resolution.  Resolution tests
 * use only "localhost" and numeric hosts, which need no network.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ssrf.h"

/*
 * Every one of these must be refused by ssrf_parse_url() with the
 * address rule in force.  Each line names the trick it tries.
 */
static const char *bypass_urls[] = {
	/* Loopback, plainly and in every numeric spelling. */
	"http://127.0.0.1/",
	"http://127.0.0.1:8080/admin",
	"http://127.255.255.254/",
	"HTTP://127.0.0.1/",
	"http://127.1/",				/* short form */
	"http://127.0.1/",				/* short form */
	"http://2130706433/",				/* decimal */
	"http://017700000001/",				/* octal */
	"http://0177.0.0.1/",				/* octal part */
	"http://0177.1/",				/* octal short */
	"http://0x7f.0.0.1/",				/* hex part */
	"http://0x7f000001/",				/* hex */
	"http://0X7F000001/",				/* hex, upper */
	"http://0x7f.1/",				/* hex short */
	"http://0x7f.0x0.0x0.0x1/",			/* all hex */
	"http://127.000.000.001/",			/* zero padded */
	"http://127.0.0.01/",				/* zero padded */
	"http://0/",					/* bare zero */
	"http://0x/",					/* empty hex */
	"http://0.0.0.0/",
	"http://0.0.0.0:80/",
	"http://00.0.0.0/",
	"http://1.2.3.4.5/",				/* five parts */
	"http://256.0.0.1/",				/* out of range */
	"http://example.123/",				/* numeric TLD */
	"http://127.0.0.1./",				/* trailing dot */
	/* IPv6 loopback, unspecified and IPv4 embedded forms. */
	"http://[::1]/",
	"http://[0:0:0:0:0:0:0:1]/",
	"http://[0000::1]/",
	"http://[::]/",
	"http://[::ffff:127.0.0.1]/",			/* v4-mapped */
	"http://[::FFFF:7f00:1]/",			/* v4-mapped hex */
	"http://[0:0:0:0:0:ffff:127.0.0.1]/",
	"http://[::ffff:169.254.169.254]/",
	"http://[::ffff:a00:1]/",			/* 10.0.0.1 mapped */
	"http://[::ffff:0:0]/",
	"http://[::ffff:255.255.255.255]/",
	"http://[::127.0.0.1]/",			/* v4-compatible */
	"http://[::8.8.8.8]/",				/* v4-compatible */
	"http://[64:ff9b::127.0.0.1]/",			/* NAT64 */
	"http://[64:ff9b::a9fe:a9fe]/",			/* NAT64 metadata */
	"http://[64:ff9b:1::1]/",			/* local NAT64 */
	"http://[2002:7f00:1::]/",			/* 6to4 loopback */
	"http://[2002:a9fe:a9fe::1]/",			/* 6to4 metadata */
	"http://[2001:0:7f00:1::1]/",			/* Teredo server */
	"http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",	/* client */
	/* IPv6 special ranges. */
	"http://[fc00::1]/",
	"http://[fd00::1]/",
	"http://[fd00:ec2::254]/",			/* AWS metadata */
	"http://[fe80::1]/",
	"http://[fe80::1%25eth0]/",			/* zone id */
	"http://[fe80::1%eth0]/",			/* raw zone id */
	"http://[fec0::1]/",				/* site-local */
	"http://[ff02::1]/",
	"http://[2001:db8::1]/",
	"http://[2001:db8::a9fe:a9fe]/",
	"http://[3fff::1]/",
	"http://[2001:2::1]/",				/* benchmarking */
	"http://[100::1]/",				/* discard */
	/* IPv4 private and special-purpose ranges. */
	"http://10.0.0.1/",
	"http://10.255.255.255/",
	"http://172.16.0.1/",
	"http://172.31.255.255/",
	"http://192.168.0.1/",
	"http://192.168.1.1:8443/",
	"http://169.254.169.254/latest/meta-data",	/* AWS, GCP, Azure */
	"http://169.254.170.2/v2/credentials",		/* ECS */
	"http://100.100.100.200/latest/meta-data",	/* Alibaba */
	"http://100.64.0.1/",				/* CGNAT */
	"http://100.127.255.255/",
	"http://192.0.0.192/",
	"http://192.0.2.1/",
	"http://198.51.100.7/",
	"http://203.0.113.9/",
	"http://198.18.0.1/",
	"http://198.19.255.255/",
	"http://192.88.99.1/",
	"http://224.0.0.1/",
	"http://239.255.255.250/",
	"http://240.0.0.1/",
	"http://255.255.255.255/",
	/* Names that only ever mean this machine or its network. */
	"http://localhost/",
	"http://LOCALHOST/",
	"http://localhost:8080/",
	"http://localhost./",
	"http://foo.localhost/",
	"http://metadata.google.internal/computeMetadata/v1/",
	"http://metadata/",
	"http://instance-data/latest",
	"http://printer.local/",
	"http://db.internal/",
	"http://service.test/",
	"http://intranet/",				/* single label */
	/* Credentials and parser confusion. */
	"http://user@example.com/",
	"http://user:pass@example.com/",
	"http://example.com@127.0.0.1/",
	"http://example.com:80@127.0.0.1/",
	"http://127.0.0.1#@example.com/",
	"http://example.com#@127.0.0.1/",
	"http://example.com\\@127.0.0.1/",
	"http://example.com%2F@127.0.0.1/",
	"http://example.com%40127.0.0.1/",
	"http://%31%32%37.0.0.1/",
	"http://127.0.0.1%2eexample.com/",
	"http://exa mple.com/",
	"http://example.com\t/",
	"http://example.com\r\nHost: 127.0.0.1/",
	"http://ex<ample>.com/",
	"http://example.com\"/",
	"http://\xe2\x91\xa0\xe2\x91\xa1\xe2\x91\xa6.0.0.1/",	/* circled */
	"http://127\xe3\x80\x82" "0\xe3\x80\x82" "0\xe3\x80\x82" "1/",
	" http://example.com/",
	/* Schemes other than http and https. */
	"ftp://example.com/",
	"file:///etc/passwd",
	"gopher://127.0.0.1:6379/_INFO",
	"dict://127.0.0.1:11211/stat",
	"ldap://example.com/",
	"javascript:alert(1)",
	"//example.com/",
	"http:/example.com/",
	"http:\\\\example.com\\",
	"example.com",
	"",
	/* Ports. */
	"http://example.com:0/",
	"http://example.com:65536/",
	"http://example.com:99999999/",
	"http://example.com:-1/",
	"http://example.com:+80/",
	"http://example.com:080/",
	"http://example.com:/",
	"http://example.com:80:80/",
	"http://example.com:8o/",
	/* Host shapes. */
	"http://example.com./",
	"http://example..com/",
	"http://.example.com/",
	"http://-example.com/",
	"http://example-.com/",
	"http:///path",
	"http://[::1/",
	"http://[::1]x/",
	"http://[v1.fe]/",
	"http://[]/",
	"http://[127.0.0.1]/",
	"http://a]b.com/",
	/* Query, fragment and path tricks. */
	"https://example.com/?q=1",
	"https://example.com/#frag",
	"https://example.com/a/../b",
	"https://example.com/a/./b",
	"https://example.com/..",
	"https://example.com/%zz",
	"https://example.com/%4",
	"https://example.com/a{b}",
	"https://example.com/a|b",
	"https://example.com/a^b",
	"https://example.com/a`b",
	"https://example.com/[x]",
};

struct legit_url {
	const char	*url;
	const char	*scheme;
	const char	*host;
	int		 kind;
	unsigned short	 port;
	const char	*path;
};

/* Every one of these must be accepted, with these fields. */
static const struct legit_url legit_urls[] = {
	{ "http://example.com/", "http", "example.com", SSRF_HOST_NAME,
	    80, "" },
	{ "https://api.example.com", "https", "api.example.com",
	    SSRF_HOST_NAME, 443, "" },
	{ "https://api.example.com/v1", "https", "api.example.com",
	    SSRF_HOST_NAME, 443, "/v1" },
	{ "https://api.example.com/v1/", "https", "api.example.com",
	    SSRF_HOST_NAME, 443, "/v1" },
	{ "https://API.Example.COM/V1", "https", "api.example.com",
	    SSRF_HOST_NAME, 443, "/V1" },
	{ "HTTPS://api.example.com/", "https", "api.example.com",
	    SSRF_HOST_NAME, 443, "" },
	{ "https://api.example.com:8443/base", "https", "api.example.com",
	    SSRF_HOST_NAME, 8443, "/base" },
	{ "https://example.com:443/", "https", "example.com",
	    SSRF_HOST_NAME, 443, "" },
	{ "http://example.com:65535/", "http", "example.com",
	    SSRF_HOST_NAME, 65535, "" },
	{ "http://93.184.216.34/", "http", "93.184.216.34", SSRF_HOST_IPV4,
	    80, "" },
	{ "http://8.8.8.8:8080/x", "http", "8.8.8.8", SSRF_HOST_IPV4,
	    8080, "/x" },
	{ "https://1.1.1.1/dns-query", "https", "1.1.1.1", SSRF_HOST_IPV4,
	    443, "/dns-query" },
	{ "http://172.15.255.255/", "http", "172.15.255.255",
	    SSRF_HOST_IPV4, 80, "" },
	{ "http://172.32.0.1/", "http", "172.32.0.1", SSRF_HOST_IPV4, 80,
	    "" },
	{ "http://100.63.255.255/", "http", "100.63.255.255",
	    SSRF_HOST_IPV4, 80, "" },
	{ "http://100.128.0.1/", "http", "100.128.0.1", SSRF_HOST_IPV4, 80,
	    "" },
	{ "http://192.169.0.1/", "http", "192.169.0.1", SSRF_HOST_IPV4, 80,
	    "" },
	{ "http://198.20.0.1/", "http", "198.20.0.1", SSRF_HOST_IPV4, 80,
	    "" },
	{ "http://11.0.0.1/", "http", "11.0.0.1", SSRF_HOST_IPV4, 80, "" },
	{ "http://223.255.255.255/", "http", "223.255.255.255",
	    SSRF_HOST_IPV4, 80, "" },
	{ "http://[2606:4700:4700::1111]/", "http", "2606:4700:4700::1111",
	    SSRF_HOST_IPV6, 80, "" },
	{ "https://[2001:4860:4860:0:0:0:0:8888]:8080/api", "https",
	    "2001:4860:4860::8888", SSRF_HOST_IPV6, 8080, "/api" },
	{ "http://[2002:808:808::1]/", "http", "2002:808:808::1",
	    SSRF_HOST_IPV6, 80, "" },
	{ "http://[64:ff9b::8.8.8.8]/", "http", "64:ff9b::808:808",
	    SSRF_HOST_IPV6, 80, "" },
	{ "http://[::ffff:8.8.8.8]/", "http", "::ffff:8.8.8.8",
	    SSRF_HOST_IPV6, 80, "" },
	{ "https://my_service.example.com/", "https",
	    "my_service.example.com", SSRF_HOST_NAME, 443, "" },
	{ "https://xn--bcher-kva.example/", "https", "xn--bcher-kva.example",
	    SSRF_HOST_NAME, 443, "" },
	{ "https://a-b.c-d.example.co.uk/path/to/api", "https",
	    "a-b.c-d.example.co.uk", SSRF_HOST_NAME, 443, "/path/to/api" },
	{ "https://example.com/path%20with%20escapes", "https",
	    "example.com", SSRF_HOST_NAME, 443, "/path%20with%20escapes" },
	{ "https://example.com/users/@me", "https", "example.com",
	    SSRF_HOST_NAME, 443, "/users/@me" },
	{ "https://example.com/a;b=c/d!$&'()*+,=:@~", "https", "example.com",
	    SSRF_HOST_NAME, 443, "/a;b=c/d!$&'()*+,=:@~" },
	{ "https://example.com/v1/users.json", "https", "example.com",
	    SSRF_HOST_NAME, 443, "/v1/users.json" },
	{ "https://example.com//double", "https", "example.com",
	    SSRF_HOST_NAME, 443, "//double" },
	{ "https://0x7f.example.com/", "https", "0x7f.example.com",
	    SSRF_HOST_NAME, 443, "" },
	{ "https://123.example.com/", "https", "123.example.com",
	    SSRF_HOST_NAME, 443, "" },
	/* Parses; resolution (to 127.0.0.1) is what refuses it. */
	{ "https://127.0.0.1.nip.io/", "https", "127.0.0.1.nip.io",
	    SSRF_HOST_NAME, 443, "" },
};

struct addr_case {
	const char	*addr;
	int		 allowed;
};

static const struct addr_case v4_cases[] = {
	{ "0.0.0.0", 0 }, { "0.255.255.255", 0 }, { "1.0.0.0", 1 },
	{ "9.255.255.255", 1 }, { "10.0.0.0", 0 }, { "10.255.255.255", 0 },
	{ "11.0.0.0", 1 }, { "100.63.255.255", 1 }, { "100.64.0.0", 0 },
	{ "100.127.255.255", 0 }, { "100.128.0.0", 1 },
	{ "126.255.255.255", 1 }, { "127.0.0.0", 0 }, { "127.0.0.1", 0 },
	{ "127.255.255.255", 0 }, { "128.0.0.0", 1 },
	{ "169.253.255.255", 1 }, { "169.254.0.0", 0 },
	{ "169.254.169.254", 0 }, { "169.254.255.255", 0 },
	{ "169.255.0.0", 1 }, { "172.15.255.255", 1 }, { "172.16.0.0", 0 },
	{ "172.31.255.255", 0 }, { "172.32.0.0", 1 }, { "191.255.255.255", 1 },
	{ "192.0.0.0", 0 }, { "192.0.0.255", 0 }, { "192.0.1.0", 1 },
	{ "192.0.2.0", 0 }, { "192.0.2.255", 0 }, { "192.0.3.0", 1 },
	{ "192.88.98.255", 1 }, { "192.88.99.0", 0 }, { "192.88.100.0", 1 },
	{ "192.167.255.255", 1 }, { "192.168.0.0", 0 },
	{ "192.168.255.255", 0 }, { "192.169.0.0", 1 },
	{ "198.17.255.255", 1 }, { "198.18.0.0", 0 }, { "198.19.255.255", 0 },
	{ "198.20.0.0", 1 }, { "198.51.100.0", 0 }, { "198.51.101.0", 1 },
	{ "203.0.112.255", 1 }, { "203.0.113.0", 0 }, { "203.0.114.0", 1 },
	{ "223.255.255.255", 1 }, { "224.0.0.0", 0 },
	{ "239.255.255.255", 0 }, { "240.0.0.0", 0 },
	{ "255.255.255.254", 0 }, { "255.255.255.255", 0 },
	{ "8.8.8.8", 1 }, { "93.184.216.34", 1 },
};

static const struct addr_case v6_cases[] = {
	{ "::", 0 }, { "::1", 0 }, { "::2", 0 }, { "::127.0.0.1", 0 },
	{ "::8.8.8.8", 0 }, { "::ffff:127.0.0.1", 0 },
	{ "::ffff:10.1.2.3", 0 }, { "::ffff:169.254.169.254", 0 },
	{ "::ffff:8.8.8.8", 1 }, { "::ffff:0:8.8.8.8", 0 },
	{ "64:ff9b::7f00:1", 0 }, { "64:ff9b::c0a8:101", 0 },
	{ "64:ff9b::8.8.8.8", 1 }, { "64:ff9b:1::8.8.8.8", 0 },
	{ "100::1", 0 }, { "fc00::", 0 }, { "fdff:ffff::1", 0 },
	{ "fd00:ec2::254", 0 }, { "fe80::", 0 }, { "febf:ffff::1", 0 },
	{ "fec0::1", 0 }, { "ff00::", 0 }, { "ff02::1", 0 },
	{ "1fff:ffff::1", 0 }, { "4000::1", 0 }, { "e000::1", 0 },
	{ "2000::1", 1 }, { "2001:db8::", 0 }, { "2001:db8:ffff::1", 0 },
	{ "2001:db9::1", 1 }, { "3fff::1", 0 }, { "3fff:fff::1", 0 },
	{ "3fff:1000::1", 1 }, { "2001:2::1", 0 }, { "2001:2:1::1", 1 },
	{ "2001:10::1", 0 }, { "2001:20::1", 0 },
	{ "2002:7f00:1::1", 0 }, { "2002:a00:1::1", 0 },
	{ "2002:808:808::1", 1 },
	{ "2001:0:7f00:1::1", 0 },
	{ "2001:0:4136:e378:8000:63bf:f5ff:fffe", 0 },
	{ "2001:0:4136:e378:8000:63bf:f7f7:f7f7", 1 },
	{ "2606:4700:4700::1111", 1 }, { "2a00:1450:4001::200e", 1 },
	{ "3ffe::1", 1 },
};

static int
setup_rule(void **state)
{
	(void)state;
	ssrf_set_allow_private(0);
	return (0);
}

static int
check_v4(const char *text, char *why, size_t whylen)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, text, &sin.sin_addr), 1);
	return (ssrf_addr_allowed((struct sockaddr *)&sin, why, whylen));
}

static int
check_v6(const char *text, char *why, size_t whylen)
{
	struct sockaddr_in6	sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, text, &sin6.sin6_addr), 1);
	return (ssrf_addr_allowed((struct sockaddr *)&sin6, why, whylen));
}

static void
test_bypass_urls_refused(void **state)
{
	struct ssrf_url	u;
	char		why[SSRF_WHY_MAX];
	size_t		i, n;

	(void)state;
	n = sizeof(bypass_urls) / sizeof(bypass_urls[0]);
	assert_true(n >= 80);
	for (i = 0; i < n; i++) {
		why[0] = '\0';
		if (ssrf_parse_url(bypass_urls[i], &u, why, sizeof(why)))
			fail_msg("accepted: \"%s\"", bypass_urls[i]);
		if (why[0] == '\0')
			fail_msg("no reason for \"%s\"", bypass_urls[i]);
	}
}

static void
test_legit_urls_accepted(void **state)
{
	const struct legit_url	*c;
	struct ssrf_url		 u;
	char			 why[SSRF_WHY_MAX], port[8];
	size_t			 i, n;

	(void)state;
	n = sizeof(legit_urls) / sizeof(legit_urls[0]);
	assert_true(n >= 20);
	for (i = 0; i < n; i++) {
		c = &legit_urls[i];
		if (!ssrf_parse_url(c->url, &u, why, sizeof(why)))
			fail_msg("refused \"%s\": %s", c->url, why);
		assert_string_equal(u.scheme, c->scheme);
		assert_string_equal(u.host, c->host);
		assert_int_equal(u.host_kind, c->kind);
		assert_int_equal(u.port, c->port);
		(void)snprintf(port, sizeof(port), "%u", (unsigned)c->port);
		assert_string_equal(u.port_str, port);
		assert_string_equal(u.path, c->path);
	}
}

static void
test_port_explicit_flag(void **state)
{
	struct ssrf_url	u;
	char		why[SSRF_WHY_MAX];

	(void)state;
	assert_true(ssrf_parse_url("https://example.com/", &u, why,
	    sizeof(why)));
	assert_false(u.port_explicit);
	assert_true(ssrf_parse_url("https://example.com:443/", &u, why,
	    sizeof(why)));
	assert_true(u.port_explicit);
}

static void
test_url_length_limit(void **state)
{
	static char	url[SSRF_URL_MAX + 2];
	struct ssrf_url	u;
	char		why[SSRF_WHY_MAX];
	size_t		prefix;

	(void)state;
	prefix = strlen("https://example.com/");
	memcpy(url, "https://example.com/", prefix);
	memset(url + prefix, 'a', SSRF_URL_MAX - prefix);
	url[SSRF_URL_MAX] = '\0';
	assert_true(ssrf_parse_url(url, &u, why, sizeof(why)));
	assert_int_equal(strlen(u.path), SSRF_URL_MAX - prefix + 1);

	url[SSRF_URL_MAX] = 'a';
	url[SSRF_URL_MAX + 1] = '\0';
	assert_false(ssrf_parse_url(url, &u, why, sizeof(why)));
	assert_non_null(strstr(why, "longer than 2000"));
}

static void
test_long_host_label_refused(void **state)
{
	char		url[400];
	struct ssrf_url	u;
	char		why[SSRF_WHY_MAX];

	(void)state;
	(void)snprintf(url, sizeof(url), "https://%.*s.example.com/", 64,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_false(ssrf_parse_url(url, &u, why, sizeof(why)));
	assert_non_null(strstr(why, "63"));
	(void)snprintf(url, sizeof(url), "https://%.*s.example.com/", 63,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_true(ssrf_parse_url(url, &u, why, sizeof(why)));
}

static void
test_refusal_sentences(void **state)
{
	struct ssrf_url	u;
	char		why[SSRF_WHY_MAX];

	(void)state;
	assert_false(ssrf_parse_url("http://10.0.0.5/", &u, why,
	    sizeof(why)));
	assert_string_equal(why, "destination is a private address "
	    "(10.0.0.5)");
	assert_false(ssrf_parse_url("http://169.254.169.254/", &u, why,
	    sizeof(why)));
	assert_string_equal(why, "destination is a cloud metadata address "
	    "(169.254.169.254)");
	assert_false(ssrf_parse_url("http://[::ffff:127.0.0.1]/", &u, why,
	    sizeof(why)));
	assert_string_equal(why, "destination is a loopback address "
	    "(::ffff:127.0.0.1)");
	assert_false(ssrf_parse_url("http://[::]/", &u, why, sizeof(why)));
	assert_string_equal(why, "destination is an unspecified address "
	    "(::)");
	assert_false(ssrf_parse_url("ftp://example.com/", &u, why,
	    sizeof(why)));
	assert_string_equal(why, "only http and https destinations are "
	    "allowed");
	assert_false(ssrf_parse_url("http://a@example.com/", &u, why,
	    sizeof(why)));
	assert_non_null(strstr(why, "credentials"));
	assert_false(ssrf_parse_url("http://0x7f.1/", &u, why, sizeof(why)));
	assert_non_null(strstr(why, "unusual form"));
}

static void
test_why_truncated_safely(void **state)
{
	struct ssrf_url	u;
	char		why[8];

	(void)state;
	memset(why, 'x', sizeof(why));
	assert_false(ssrf_parse_url("http://10.0.0.5/", &u, why,
	    sizeof(why)));
	assert_int_equal(strlen(why), sizeof(why) - 1);
	assert_false(ssrf_parse_url("http://10.0.0.5/", &u, NULL, 0));
}

static void
test_v4_rule(void **state)
{
	char	why[SSRF_WHY_MAX];
	size_t	i;
	int	got;

	(void)state;
	for (i = 0; i < sizeof(v4_cases) / sizeof(v4_cases[0]); i++) {
		got = check_v4(v4_cases[i].addr, why, sizeof(why));
		if (got != v4_cases[i].allowed) {
			fail_msg("%s: expected %d got %d", v4_cases[i].addr,
			    v4_cases[i].allowed, got);
		}
	}
}

static void
test_v6_rule(void **state)
{
	char	why[SSRF_WHY_MAX];
	size_t	i;
	int	got;

	(void)state;
	for (i = 0; i < sizeof(v6_cases) / sizeof(v6_cases[0]); i++) {
		got = check_v6(v6_cases[i].addr, why, sizeof(why));
		if (got != v6_cases[i].allowed) {
			fail_msg("%s: expected %d got %d", v6_cases[i].addr,
			    v6_cases[i].allowed, got);
		}
	}
}

static void
test_v6_metadata_named(void **state)
{
	char	why[SSRF_WHY_MAX];

	(void)state;
	assert_false(check_v6("fd00:ec2::254", why, sizeof(why)));
	assert_string_equal(why, "destination is a cloud metadata address "
	    "(fd00:ec2::254)");
	assert_false(check_v6("64:ff9b::a9fe:a9fe", why, sizeof(why)));
	assert_non_null(strstr(why, "cloud metadata"));
}

static void
test_other_family_refused(void **state)
{
	struct sockaddr	sa;
	char		why[SSRF_WHY_MAX];

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	assert_false(ssrf_addr_allowed(&sa, why, sizeof(why)));
	assert_false(ssrf_addr_allowed(NULL, why, sizeof(why)));

	/* The flag lifts the address rule, not the family rule. */
	ssrf_set_allow_private(1);
	assert_false(ssrf_addr_allowed(&sa, why, sizeof(why)));
	ssrf_set_allow_private(0);
}

static void
test_localhost_resolution_refused(void **state)
{
	char	why[SSRF_WHY_MAX];

	(void)state;
	assert_false(ssrf_resolve_check("localhost", "80", why, sizeof(why)));
	assert_non_null(strstr(why, "resolves to a loopback address"));
	assert_false(ssrf_resolve_check("localhost", NULL, why, sizeof(why)));
}

static void
test_numeric_resolution(void **state)
{
	char	why[SSRF_WHY_MAX];

	(void)state;
	assert_false(ssrf_resolve_check("10.0.0.5", "443", why, sizeof(why)));
	assert_string_equal(why, "destination resolves to a private address "
	    "(10.0.0.5)");
	/* getaddrinfo reads odd spellings too; the result is still checked. */
	assert_false(ssrf_resolve_check("0x7f.1", "80", why, sizeof(why)));
	assert_false(ssrf_resolve_check("2130706433", "80", why,
	    sizeof(why)));
	assert_false(ssrf_resolve_check("::ffff:127.0.0.1", "80", why,
	    sizeof(why)));
	assert_true(ssrf_resolve_check("93.184.216.34", "80", why,
	    sizeof(why)));
	assert_true(ssrf_resolve_check("2606:4700:4700::1111", "443", why,
	    sizeof(why)));
	assert_false(ssrf_resolve_check("", "80", why, sizeof(why)));
	assert_false(ssrf_resolve_check("93.184.216.34", "http", why,
	    sizeof(why)));
}

static void
test_allow_private_lifts_address_rule(void **state)
{
	struct ssrf_url	u;
	char		why[SSRF_WHY_MAX];

	(void)state;
	ssrf_set_allow_private(1);
	assert_int_equal(ssrf_allow_private(), 1);

	assert_true(ssrf_resolve_check("localhost", "8080", why,
	    sizeof(why)));
	assert_true(ssrf_check_url("http://localhost:8080/base/", &u, why,
	    sizeof(why)));
	assert_string_equal(u.path, "/base");
	assert_true(ssrf_parse_url("http://127.0.0.1:9000/", &u, why,
	    sizeof(why)));
	assert_true(ssrf_parse_url("http://[::1]:9000/", &u, why,
	    sizeof(why)));
	assert_true(ssrf_parse_url("http://10.0.0.5/", &u, why, sizeof(why)));
	assert_true(ssrf_parse_url("http://upstream:8080/", &u, why,
	    sizeof(why)));
	assert_true(check_v4("169.254.169.254", why, sizeof(why)));

	/* Syntax rules stay. */
	assert_false(ssrf_parse_url("http://0177.0.0.1/", &u, why,
	    sizeof(why)));
	assert_false(ssrf_parse_url("http://127.1/", &u, why, sizeof(why)));
	assert_false(ssrf_parse_url("http://user@127.0.0.1/", &u, why,
	    sizeof(why)));
	assert_false(ssrf_parse_url("gopher://127.0.0.1/", &u, why,
	    sizeof(why)));
	assert_false(ssrf_parse_url("http://[fe80::1%25lo]/", &u, why,
	    sizeof(why)));

	ssrf_set_allow_private(0);
	assert_int_equal(ssrf_allow_private(), 0);
	assert_false(ssrf_check_url("http://localhost:8080/", &u, why,
	    sizeof(why)));
}

static void
test_check_url_literal_skips_dns(void **state)
{
	struct ssrf_url	u;
	char		why[SSRF_WHY_MAX];

	(void)state;
	assert_true(ssrf_check_url("https://93.184.216.34:8443/v2", &u, why,
	    sizeof(why)));
	assert_int_equal(u.host_kind, SSRF_HOST_IPV4);
	assert_false(ssrf_check_url("https://192.168.1.1/", &u, why,
	    sizeof(why)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_bypass_urls_refused, setup_rule),
		cmocka_unit_test_setup(test_legit_urls_accepted, setup_rule),
		cmocka_unit_test_setup(test_port_explicit_flag, setup_rule),
		cmocka_unit_test_setup(test_url_length_limit, setup_rule),
		cmocka_unit_test_setup(test_long_host_label_refused,
		    setup_rule),
		cmocka_unit_test_setup(test_refusal_sentences, setup_rule),
		cmocka_unit_test_setup(test_why_truncated_safely, setup_rule),
		cmocka_unit_test_setup(test_v4_rule, setup_rule),
		cmocka_unit_test_setup(test_v6_rule, setup_rule),
		cmocka_unit_test_setup(test_v6_metadata_named, setup_rule),
		cmocka_unit_test_setup(test_other_family_refused, setup_rule),
		cmocka_unit_test_setup(test_localhost_resolution_refused,
		    setup_rule),
		cmocka_unit_test_setup(test_numeric_resolution, setup_rule),
		cmocka_unit_test_setup(test_allow_private_lifts_address_rule,
		    setup_rule),
		cmocka_unit_test_setup(test_check_url_literal_skips_dns,
		    setup_rule),
	};

	return (cmocka_run_group_tests_name("ssrf", tests, NULL, NULL));
}

/*
 * Unit tests for src/mailmsg: addresses, header injection, encoded
 * subjects and CRLF bodies.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mailmsg.h"

#define FROM	"apiscribe <noreply@apiscribe.test>"
#define T0	((time_t)1700000000)

static void
test_addresses(void **state)
{
	assert_true(mailmsg_address_ok("a@b.c"));
	assert_true(mailmsg_address_ok("first.last+tag@example.com"));
	assert_false(mailmsg_address_ok("no-at-sign"));
	assert_false(mailmsg_address_ok("@example.com"));
	assert_false(mailmsg_address_ok("a@"));
	assert_false(mailmsg_address_ok("a@b@c"));
	assert_false(mailmsg_address_ok("a b@c.d"));
	assert_false(mailmsg_address_ok("a@c.d\r\nBcc: x@y.z"));
	assert_false(mailmsg_address_ok("<a@c.d>"));
	assert_false(mailmsg_address_ok(NULL));
}

static void
test_message_headers_and_crlf_body(void **state)
{
	char	*m;
	size_t	 len;

	m = mailmsg_build(FROM, "u@example.com", "Hello", "one\ntwo\r\nthree",
	    "id.1", T0, &len);
	assert_non_null(m);
	assert_int_equal(strlen(m), len);
	assert_non_null(strstr(m, "From: " FROM "\r\n"));
	assert_non_null(strstr(m, "To: u@example.com\r\n"));
	assert_non_null(strstr(m, "Subject: Hello\r\n"));
	assert_non_null(strstr(m, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	assert_non_null(strstr(m, "Message-ID: <id.1@apiscribe.test>\r\n"));
	assert_non_null(strstr(m, "Content-Type: text/plain; charset=utf-8"));
	assert_non_null(strstr(m, "\r\n\r\none\r\ntwo\r\nthree\r\n"));
	free(m);
}

static void
test_subject_cannot_add_headers(void **state)
{
	char	*m, *body;
	size_t	 len;

	m = mailmsg_build(FROM, "u@example.com", "Hi\r\nBcc: evil@x.y\n",
	    "b", "id", T0, &len);
	assert_non_null(m);
	body = strstr(m, "\r\n\r\n");
	assert_non_null(body);
	*body = '\0';
	assert_null(strstr(m, "\r\nBcc:"));
	assert_non_null(strstr(m, "Subject: Hi  Bcc: evil@x.y \r\n"));
	free(m);
}

static void
test_bad_addresses_build_nothing(void **state)
{
	size_t	len;

	assert_null(mailmsg_build(FROM, "u@x.y\r\nBcc: e@f.g", "s", "b", "i",
	    T0, &len));
	assert_null(mailmsg_build("x <bad>", "u@x.y", "s", "b", "i", T0,
	    &len));
	assert_null(mailmsg_build("x <a@b.c>\r\n", "u@x.y", "s", "b", "i",
	    T0, &len));
}

static void
test_utf8_subject_is_encoded_in_short_lines(void **state)
{
	const char	*subj =
	    "Caf\xc3\xa9 \xe2\x9c\x93 Caf\xc3\xa9 \xe2\x9c\x93 "
	    "Caf\xc3\xa9 \xe2\x9c\x93 Caf\xc3\xa9 \xe2\x9c\x93 Caf\xc3\xa9";
	char		*m, *p, *e;
	size_t		 len;

	m = mailmsg_build(FROM, "u@example.com", subj, "b", "id", T0, &len);
	assert_non_null(m);
	p = strstr(m, "Subject: =?UTF-8?B?");
	assert_non_null(p);
	/* Folded lines, each within 78 characters. */
	for (; *p != '\0' && strncmp(p, "Date:", 5) != 0; p = e + 2) {
		e = strstr(p, "\r\n");
		assert_non_null(e);
		assert_true(e - p <= 78);
	}
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_message_headers_and_crlf_body),
		cmocka_unit_test(test_subject_cannot_add_headers),
		cmocka_unit_test(test_bad_addresses_build_nothing),
		cmocka_unit_test(test_utf8_subject_is_encoded_in_short_lines),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

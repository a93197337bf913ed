/*
 * Input checks for accounts.
 *
 * Email: a practical subset of RFC 5321 that every mail system delivers
 * to: a dot-atom local part of at most 64 characters and a domain of
 * letters, digits and hyphens with at least one dot. Quoted local parts
 * and address literals are refused on purpose.
 *
 * Passwords follow NIST SP 800-63B: a minimum length, a maximum that
 * keeps hashing bounded, no composition rules, but a refusal of the
 * passwords attackers try first and of the account's own email.
 */

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "validate.h"

static const char *common_passwords[] = {
	"1234567890", "12345678910", "0123456789", "1111111111",
	"qwertyuiop", "password12", "password123", "password1234",
	"passw0rd123", "iloveyou12", "qwerty1234", "qwerty12345",
	"1q2w3e4r5t", "abcdefghij", "letmein123", "welcome123",
	"administrator", "changeme123", "football12", "baseball12",
	"sunshine12", "monkey1234", "dragon1234", "princess12",
	"trustno1234", "superman12", "asdfghjkl1", "zxcvbnm123",
	"aaaaaaaaaa", "passwordpassword", "0000000000", "9876543210",
	NULL
};

static int
atext(int ch)
{
	return (isalnum(ch) || strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL);
}

const char *
validate_email(const char *email)
{
	const char	*at, *p, *label;
	size_t		 len, local;

	len = strlen(email);
	if (len < 3 || len > VALIDATE_EMAIL_MAX)
		return ("email must be between 3 and 254 characters");
	if ((at = strchr(email, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return ("email must contain exactly one @");

	local = (size_t)(at - email);
	if (local == 0 || local > 64)
		return ("the part of the email before @ must be 1 to 64 "
		    "characters");
	for (p = email; p < at; p++) {
		if (*p == '.') {
			if (p == email || p + 1 == at || p[1] == '.')
				return ("email has a misplaced dot");
		} else if (!atext((unsigned char)*p)) {
			return ("email contains a character that is not "
			    "allowed");
		}
	}

	label = at + 1;
	if (*label == '\0' || strchr(label, '.') == NULL)
		return ("the email's domain must contain a dot");
	for (p = label; ; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label || p - label > 63)
				return ("the email's domain is malformed");
			if (label[0] == '-' || p[-1] == '-')
				return ("the email's domain is malformed");
			if (*p == '\0')
				break;
			label = p + 1;
		} else if (!isalnum((unsigned char)*p) && *p != '-') {
			return ("the email's domain contains a character "
			    "that is not allowed");
		}
	}
	/* The top-level label is never all digits. */
	for (p = label; *p != '\0' && isdigit((unsigned char)*p); p++)
		;
	if (*p == '\0')
		return ("the email's domain is malformed");
	return (NULL);
}

const char *
validate_password(const char *password, const char *email)
{
	size_t	 len, local, i;
	int	 same;

	len = strlen(password);
	if (len < VALIDATE_PASSWORD_MIN)
		return ("password must be at least 10 characters");
	if (len > VALIDATE_PASSWORD_MAX)
		return ("password must be at most 128 characters");

	for (i = 0; common_passwords[i] != NULL; i++) {
		if (strcasecmp(password, common_passwords[i]) == 0)
			return ("password is too common; choose another");
	}

	same = 1;
	for (i = 1; i < len; i++) {
		if (password[i] != password[0])
			same = 0;
	}
	if (same)
		return ("password must not be one repeated character");

	if (email != NULL) {
		if (strcasecmp(password, email) == 0)
			return ("password must not be your email");
		local = strcspn(email, "@");
		if (local >= VALIDATE_PASSWORD_MIN && len == local &&
		    strncasecmp(password, email, local) == 0)
			return ("password must not be your email");
	}
	return (NULL);
}

const char *
validate_name(const char *name)
{
	const char	*p;

	for (p = name; *p != '\0' && isspace((unsigned char)*p); p++)
		;
	if (*p == '\0')
		return ("name must not be empty");
	return (NULL);
}

/*
 * Password hashing and tokens.
 *
 * Passwords are stored as "pbkdf2-sha256$<iterations>$<salt>$<hash>",
 * salt and hash in unpadded base64url, so the iteration count can rise
 * later without breaking stored hashes. At 600,000 iterations one hash
 * costs about 0.15 s of CPU here, which is why the server computes it in
 * a task thread and never in the event loop.
 *
 * Session tokens are 32 random bytes; only their SHA-256 is stored, so a
 * copy of the database does not let anyone sign in.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "secret.h"

#define SALT_LEN	16
#define DK_LEN		32

static int	b64url_decode(const char *, size_t, unsigned char *, size_t);

int
secret_b64url(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	static const char	abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t			i, o;
	unsigned int		v;

	if (outlen < (len * 4 + 2) / 3 + 1)
		return (-1);

	o = 0;
	for (i = 0; i + 2 < len; i += 3) {
		v = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
		out[o++] = abc[(v >> 18) & 63];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = abc[(v >> 6) & 63];
		out[o++] = abc[v & 63];
	}
	if (len - i == 1) {
		v = in[i] << 16;
		out[o++] = abc[(v >> 18) & 63];
		out[o++] = abc[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (in[i] << 16) | (in[i + 1] << 8);
		out[o++] = abc[(v >> 18) & 63];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = abc[(v >> 6) & 63];
	}
	out[o] = '\0';
	return ((int)o);
}

/* The value of one hexadecimal digit, or -1. */
int
secret_hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '-')
		return (62);
	if (c == '_')
		return (63);
	return (-1);
}

/* Returns the decoded length, or -1 on a bad character or a short out. */
static int
b64url_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	size_t		i, o;
	unsigned int	acc;
	int		bits, v;

	acc = 0;
	bits = 0;
	o = 0;
	for (i = 0; i < len; i++) {
		if ((v = b64url_value(in[i])) == -1)
			return (-1);
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen)
				return (-1);
			out[o++] = (acc >> bits) & 0xff;
		}
	}
	return ((int)o);
}

int
secret_password_hash(const char *password, int iterations, char *out,
    size_t outlen)
{
	unsigned char	salt[SALT_LEN], dk[DK_LEN];
	char		s64[32], d64[48];
	int		n, rc;

	rc = -1;
	if (iterations < 1)
		iterations = SECRET_PBKDF2_ITERATIONS;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		goto done;
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt,
	    sizeof(salt), iterations, EVP_sha256(), sizeof(dk), dk) != 1)
		goto done;

	(void)secret_b64url(salt, sizeof(salt), s64, sizeof(s64));
	(void)secret_b64url(dk, sizeof(dk), d64, sizeof(d64));
	n = snprintf(out, outlen, "pbkdf2-sha256$%d$%s$%s", iterations, s64,
	    d64);
	if (n < 0 || (size_t)n >= outlen)
		goto done;
	rc = 0;

done:
	secret_wipe(dk, sizeof(dk));
	return (rc);
}

/*
 * Returns 1 when the password matches the stored hash, 0 when it does
 * not or the stored hash is malformed.
 */
int
secret_password_verify(const char *password, const char *stored)
{
	unsigned char	 salt[64], want[64], got[64];
	const char	*p, *s, *h;
	char		*end;
	long		 iter;
	int		 slen, hlen, ok;

	ok = 0;
	if (strncmp(stored, "pbkdf2-sha256$", 14) != 0)
		return (0);
	p = stored + 14;
	iter = strtol(p, &end, 10);
	if (end == p || *end != '$' || iter < 1 || iter > 10000000)
		return (0);
	s = end + 1;
	if ((h = strchr(s, '$')) == NULL)
		return (0);
	slen = b64url_decode(s, (size_t)(h - s), salt, sizeof(salt));
	hlen = b64url_decode(h + 1, strlen(h + 1), want, sizeof(want));
	if (slen < 8 || hlen < 16)
		return (0);

	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, slen,
	    (int)iter, EVP_sha256(), hlen, got) != 1)
		goto done;
	ok = CRYPTO_memcmp(got, want, (size_t)hlen) == 0;

done:
	secret_wipe(got, sizeof(got));
	return (ok);
}

/* A fresh random token of SECRET_TOKEN_LEN characters. */
int
secret_token(char *out, size_t outlen)
{
	unsigned char	raw[32];
	int		rc;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return (-1);
	rc = secret_b64url(raw, sizeof(raw), out, outlen);
	secret_wipe(raw, sizeof(raw));
	return (rc == SECRET_TOKEN_LEN ? 0 : -1);
}

/* out must hold SECRET_HEX256_LEN + 1 bytes. */
void
secret_sha256_hex(const void *data, size_t len, char *out)
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		md[SHA256_DIGEST_LENGTH];
	int			i;

	(void)SHA256(data, len, md);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
		out[i * 2] = hex[md[i] >> 4];
		out[i * 2 + 1] = hex[md[i] & 0x0f];
	}
	out[SECRET_HEX256_LEN] = '\0';
}

/* Constant-time comparison of two strings of possibly unequal length. */
int
secret_equal(const char *a, const char *b)
{
	size_t	la, lb;

	la = strlen(a);
	lb = strlen(b);
	if (la != lb || la == 0)
		return (0);
	return (CRYPTO_memcmp(a, b, la) == 0);
}

void
secret_wipe(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}

/*
 * Passwords, session tokens and the small cryptographic helpers around
 * them. Pure functions over OpenSSL: no Kore, so unit tests reach them.
 */

#ifndef SECRET_H
#define SECRET_H

#include <stddef.h>

/* OWASP's 2023 figure for PBKDF2-HMAC-SHA256. */
#define SECRET_PBKDF2_ITERATIONS	600000

#define SECRET_HASH_MAX		160	/* stored password hash, with NUL */
#define SECRET_TOKEN_LEN	43	/* 32 random bytes, base64url */
#define SECRET_HEX256_LEN	64	/* SHA-256 in hex */

int	secret_password_hash(const char *, int, char *, size_t);
int	secret_password_verify(const char *, const char *);
int	secret_token(char *, size_t);
void	secret_sha256_hex(const void *, size_t, char *);
int	secret_equal(const char *, const char *);
void	secret_wipe(void *, size_t);
int	secret_b64url(const unsigned char *, size_t, char *, size_t);
int	secret_hexdigit(int);

#endif

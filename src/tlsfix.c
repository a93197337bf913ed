/*
 * Makes Kore 4.1's TLS work with OpenSSL 3 (Debian 12).
 *
 * Kore keeps private keys in a separate key manager process. Workers get
 * the certificate's public key, give it an RSA or EC method that asks the
 * key manager to sign, and install it with SSL_CTX_use_PrivateKey(). The
 * key manager reads keys with PEM_read_PrivateKey() and reaches the RSA or
 * EC key inside with EVP_PKEY_get0().
 *
 * OpenSSL 3 broke both halves: keys it reads are provider keys, so
 * EVP_PKEY_get0() returns NULL and the key manager crashes on its first
 * signature; and the method a worker sets lands on a legacy copy of the
 * key that the TLS handshake never uses, so every handshake fails with an
 * "internal error" alert.
 *
 * Both calls are made by Kore code linked into this binary, so defining
 * them here takes precedence over libssl and libcrypto. Each wrapper calls
 * the library's own function and hands Kore a legacy key that carries the
 * RSA or EC key (and its method) directly, which is what Kore expects.
 * Nothing else in the program calls these two functions.
 *
 * XXX Remove when Kore is built against a version that supports OpenSSL
 * 3 providers.
 */

#define OPENSSL_SUPPRESS_DEPRECATED

#include <dlfcn.h>
#include <stdio.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>


/* A legacy key holding the same RSA or EC key; NULL for other types. */
static EVP_PKEY *
tlsfix_legacy(EVP_PKEY *pkey)
{
	EVP_PKEY	*legacy;
	RSA		*rsa;
	EC_KEY		*ec;

	if ((legacy = EVP_PKEY_new()) == NULL)
		return (NULL);

	switch (EVP_PKEY_id(pkey)) {
	case EVP_PKEY_RSA:
		if ((rsa = EVP_PKEY_get1_RSA(pkey)) == NULL ||
		    EVP_PKEY_assign_RSA(legacy, rsa) != 1) {
			RSA_free(rsa);
			goto fail;
		}
		return (legacy);
	case EVP_PKEY_EC:
		if ((ec = EVP_PKEY_get1_EC_KEY(pkey)) == NULL ||
		    EVP_PKEY_assign_EC_KEY(legacy, ec) != 1) {
			EC_KEY_free(ec);
			goto fail;
		}
		return (legacy);
	default:
		break;
	}

fail:
	EVP_PKEY_free(legacy);
	return (NULL);
}

int
SSL_CTX_use_PrivateKey(SSL_CTX *ctx, EVP_PKEY *pkey)
{
	static int	(*real)(SSL_CTX *, EVP_PKEY *);
	EVP_PKEY	*legacy;
	int		 rc;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "SSL_CTX_use_PrivateKey");
	if (real == NULL)
		return (0);

	if ((legacy = tlsfix_legacy(pkey)) == NULL)
		return (real(ctx, pkey));
	rc = real(ctx, legacy);
	EVP_PKEY_free(legacy);
	return (rc);
}

EVP_PKEY *
PEM_read_PrivateKey(FILE *fp, EVP_PKEY **out, pem_password_cb *cb, void *u)
{
	static EVP_PKEY	*(*real)(FILE *, EVP_PKEY **, pem_password_cb *,
			    void *);
	EVP_PKEY	*pkey, *legacy;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "PEM_read_PrivateKey");
	if (real == NULL)
		return (NULL);

	if ((pkey = real(fp, out, cb, u)) == NULL || out != NULL)
		return (pkey);
	if ((legacy = tlsfix_legacy(pkey)) == NULL)
		return (pkey);
	EVP_PKEY_free(pkey);
	return (legacy);
}

#ifndef CCRYPTO_H
#define CCRYPTO_H
/*
 * HMAC-SHA256 from libcrypto, loaded on first use with dlopen("libcrypto.so.3") instead of linked: a kiosk
 * without a signing sink never maps libcrypto (about 1.5 MiB of resident memory).
 */
#include <stddef.h>

/* Loads libcrypto and resolves what CCrypto_hmac_sha256 needs, once (thread-safe). NULL when ready, else why not. */
const char *CCrypto_load(void);

/* HMAC-SHA256 of message under key into out (32 bytes). Returns 1 on success, 0 on failure. Requires
 * CCrypto_load() == NULL. */
int CCrypto_hmac_sha256(const void *key, size_t key_length, const void *message, size_t message_length,
                        unsigned char out[32]);
#endif

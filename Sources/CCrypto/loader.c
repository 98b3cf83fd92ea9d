#include "CCrypto.h"

#include <dlfcn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>

static const EVP_MD *(*evp_sha256)(void);
static unsigned char *(*hmac)(const EVP_MD *, const void *, int, const unsigned char *, size_t, unsigned char *,
                              unsigned int *);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *problem = NULL;
static char problem_text[512];

static void load(void) {
    void *library = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *why = dlerror();
        snprintf(problem_text, sizeof problem_text, "%s", why != NULL ? why : "libcrypto.so.3 cannot be loaded");
        problem = problem_text;
        return;
    }
    *(void **)(&evp_sha256) = dlsym(library, "EVP_sha256");
    *(void **)(&hmac) = dlsym(library, "HMAC");
    if (evp_sha256 == NULL || hmac == NULL) {
        problem = "libcrypto.so.3 has no EVP_sha256 or HMAC";
    }
}

const char *CCrypto_load(void) {
    pthread_once(&once, load);
    return problem;
}

int CCrypto_hmac_sha256(const void *key, size_t key_length, const void *message, size_t message_length,
                        unsigned char out[32]) {
    unsigned int length = 0;
    if (key_length > 0x7fffffff) return 0;
    if (hmac(evp_sha256(), key, (int)key_length, message, message_length, out, &length) == NULL) return 0;
    return length == 32;
}

#include "CCurl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

/* The libcurl functions leadd uses, resolved once by CCurl_load. */
static struct {
    char *(*version)(void);
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd[], unsigned int, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLMcode (*multi_cleanup)(CURLM *);
} curl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *problem = NULL;
static char problem_text[512];

#define RESOLVE(field, name)                                                                             \
    do {                                                                                                 \
        *(void **)(&curl.field) = dlsym(library, name);                                                  \
        if (curl.field == NULL) {                                                                        \
            snprintf(problem_text, sizeof problem_text, "libcurl.so.4 has no %s", name);                 \
            problem = problem_text;                                                                      \
            return;                                                                                      \
        }                                                                                                \
    } while (0)

static void load(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *why = dlerror();
        snprintf(problem_text, sizeof problem_text, "%s", why != NULL ? why : "libcurl.so.4 cannot be loaded");
        problem = problem_text;
        return;
    }
    RESOLVE(version, "curl_version");
    RESOLVE(global_init, "curl_global_init");
    RESOLVE(easy_init, "curl_easy_init");
    RESOLVE(easy_cleanup, "curl_easy_cleanup");
    RESOLVE(easy_strerror, "curl_easy_strerror");
    RESOLVE(easy_setopt, "curl_easy_setopt");
    RESOLVE(easy_getinfo, "curl_easy_getinfo");
    RESOLVE(slist_append, "curl_slist_append");
    RESOLVE(slist_free_all, "curl_slist_free_all");
    RESOLVE(multi_init, "curl_multi_init");
    RESOLVE(multi_add_handle, "curl_multi_add_handle");
    RESOLVE(multi_remove_handle, "curl_multi_remove_handle");
    RESOLVE(multi_perform, "curl_multi_perform");
    RESOLVE(multi_poll, "curl_multi_poll");
    RESOLVE(multi_info_read, "curl_multi_info_read");
    RESOLVE(multi_cleanup, "curl_multi_cleanup");
}

const char *CCurl_load(void) {
    pthread_once(&once, load);
    return problem;
}

const char *CCurl_version(void) { return curl.version(); }
CURLcode CCurl_global_init(long flags) { return curl.global_init(flags); }
CURL *CCurl_easy_init(void) { return curl.easy_init(); }
void CCurl_easy_cleanup(CURL *handle) { curl.easy_cleanup(handle); }
const char *CCurl_easy_strerror(CURLcode code) { return curl.easy_strerror(code); }
struct curl_slist *CCurl_slist_append(struct curl_slist *list, const char *string) {
    return curl.slist_append(list, string);
}
void CCurl_slist_free_all(struct curl_slist *list) { curl.slist_free_all(list); }
CURLM *CCurl_multi_init(void) { return curl.multi_init(); }
CURLMcode CCurl_multi_add_handle(CURLM *multi, CURL *handle) { return curl.multi_add_handle(multi, handle); }
CURLMcode CCurl_multi_remove_handle(CURLM *multi, CURL *handle) { return curl.multi_remove_handle(multi, handle); }
CURLMcode CCurl_multi_perform(CURLM *multi, int *running) { return curl.multi_perform(multi, running); }
CURLMcode CCurl_multi_poll(CURLM *multi, struct curl_waitfd extra[], unsigned int count, int timeout_ms, int *ret) {
    return curl.multi_poll(multi, extra, count, timeout_ms, ret);
}
CURLMsg *CCurl_multi_info_read(CURLM *multi, int *left) { return curl.multi_info_read(multi, left); }
CURLMcode CCurl_multi_cleanup(CURLM *multi) { return curl.multi_cleanup(multi); }

CURLcode CCurl_setopt_long(CURL *h, CURLoption o, long v) { return curl.easy_setopt(h, o, v); }
CURLcode CCurl_setopt_ptr(CURL *h, CURLoption o, const void *v) { return curl.easy_setopt(h, o, v); }
CURLcode CCurl_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return curl.easy_setopt(h, o, v); }
CURLcode CCurl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl.easy_getinfo(h, i, v); }
CURLcode CCurl_setopt_data_callback(CURL *h, CURLoption o, CCurl_data_callback f) { return curl.easy_setopt(h, o, f); }
CURLcode CCurl_setopt_xferinfo_callback(CURL *h, CCurl_xferinfo_callback f) {
    return curl.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, f);
}

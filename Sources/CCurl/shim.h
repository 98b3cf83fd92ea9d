#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic: one wrapper per argument type. */
static inline CURLcode CCurl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode CCurl_setopt_ptr(CURL *h, CURLoption o, const void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode CCurl_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode CCurl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }

/* Callbacks as typed function pointers (CURLOPT_WRITEFUNCTION, CURLOPT_HEADERFUNCTION, CURLOPT_XFERINFOFUNCTION). */
typedef size_t (*CCurl_data_callback)(char *data, size_t size, size_t count, void *user);
typedef int (*CCurl_xferinfo_callback)(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                                       curl_off_t ulnow);
static inline CURLcode CCurl_setopt_data_callback(CURL *h, CURLoption o, CCurl_data_callback f) {
    return curl_easy_setopt(h, o, f);
}
static inline CURLcode CCurl_setopt_xferinfo_callback(CURL *h, CCurl_xferinfo_callback f) {
    return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, f);
}
#endif

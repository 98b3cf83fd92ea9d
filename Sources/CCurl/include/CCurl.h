#ifndef CCURL_H
#define CCURL_H
/*
 * libcurl, loaded on first use with dlopen("libcurl.so.4") instead of linked: a kiosk without a network sink
 * never maps libcurl and its dependencies (TLS, Kerberos, LDAP, SSH… about 5 MiB of resident memory).
 *
 * <curl/curl.h> gives the types and constants only. Call libcurl through the CCurl_ functions below, never
 * curl_* directly: leadd does not link libcurl, so a direct call fails to link.
 */
#include <curl/curl.h>

/* Loads libcurl and resolves every function below, once (thread-safe). NULL when ready, else why not (a static
 * string such as "libcurl.so.4: cannot open shared object file"). Every other CCurl_ function requires a NULL
 * answer first. */
const char *CCurl_load(void);

const char *CCurl_version(void);
CURLcode CCurl_global_init(long flags);
CURL *CCurl_easy_init(void);
void CCurl_easy_cleanup(CURL *handle);
const char *CCurl_easy_strerror(CURLcode code);
struct curl_slist *CCurl_slist_append(struct curl_slist *list, const char *string);
void CCurl_slist_free_all(struct curl_slist *list);
CURLM *CCurl_multi_init(void);
CURLMcode CCurl_multi_add_handle(CURLM *multi, CURL *handle);
CURLMcode CCurl_multi_remove_handle(CURLM *multi, CURL *handle);
CURLMcode CCurl_multi_perform(CURLM *multi, int *running);
CURLMcode CCurl_multi_poll(CURLM *multi, struct curl_waitfd extra[], unsigned int count, int timeout_ms, int *ret);
CURLMsg *CCurl_multi_info_read(CURLM *multi, int *left);
CURLMcode CCurl_multi_cleanup(CURLM *multi);

/* curl_easy_setopt and curl_easy_getinfo are variadic: one wrapper per argument type. */
CURLcode CCurl_setopt_long(CURL *h, CURLoption o, long v);
CURLcode CCurl_setopt_ptr(CURL *h, CURLoption o, const void *v);
CURLcode CCurl_setopt_off_t(CURL *h, CURLoption o, curl_off_t v);
CURLcode CCurl_getinfo_long(CURL *h, CURLINFO i, long *v);

/* Callbacks as typed function pointers (CURLOPT_WRITEFUNCTION, CURLOPT_HEADERFUNCTION, CURLOPT_XFERINFOFUNCTION). */
typedef size_t (*CCurl_data_callback)(char *data, size_t size, size_t count, void *user);
typedef int (*CCurl_xferinfo_callback)(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                                       curl_off_t ulnow);
CURLcode CCurl_setopt_data_callback(CURL *h, CURLoption o, CCurl_data_callback f);
CURLcode CCurl_setopt_xferinfo_callback(CURL *h, CCurl_xferinfo_callback f);
#endif

/* old_versions.c — an LD_PRELOAD library for test_versions: it makes the
 * process report an older libcurl and/or Jansson than the real ones.
 *
 *   YCBG_FAKE_CURL=7.61.0     curl_version_info() reports that version
 *   YCBG_FAKE_JANSSON=2.9     jansson_version_str() returns that text
 *
 * Everything else is the real library's (RTLD_NEXT). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

curl_version_info_data *curl_version_info(CURLversion age) {
    static curl_version_info_data fake;
    static char text[32];
    curl_version_info_data *(*real)(CURLversion) =
        (curl_version_info_data * (*)(CURLversion)) dlsym(RTLD_NEXT, "curl_version_info");
    curl_version_info_data *info = real ? real(age) : NULL;
    const char *want = getenv("YCBG_FAKE_CURL");
    unsigned major, minor, patch;
    if (!info || !want || sscanf(want, "%u.%u.%u", &major, &minor, &patch) != 3) return info;
    fake = *info;
    snprintf(text, sizeof text, "%u.%u.%u", major, minor, patch);
    fake.version = text;
    fake.version_num = (major << 16) | (minor << 8) | patch;
    return &fake;
}

const char *jansson_version_str(void) {
    const char *want = getenv("YCBG_FAKE_JANSSON");
    if (want) return want;
    const char *(*real)(void) = (const char *(*)(void))dlsym(RTLD_NEXT, "jansson_version_str");
    return real ? real() : "0";
}

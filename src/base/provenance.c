/* Provenance: what command made a file, with which mer, when. */
#include "mer/provenance.h"
#include "mer/utf8.h"
#include "mer/version.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Appends s to the end of dst, each byte of an invalid UTF-8 sequence as the text \xNN: a
 * Latin-1 file name in a command line must not make the header unreadable JSON. */
static void append_utf8(char *dst, const char *s)
{
    size_t n = strlen(s), o = strlen(dst);
    while (n) {
        size_t ok = mer_utf8_check(s, n);
        memcpy(dst + o, s, ok);
        o += ok;
        s += ok;
        n -= ok;
        if (n) {
            o += (size_t)sprintf(dst + o, "\\x%02x", (unsigned char)*s);
            s++;
            n--;
        }
    }
    dst[o] = '\0';
}

char *mer_provenance_text(const char *s)
{
    char *t = malloc(4 * strlen(s) + 1);
    if (t) {
        t[0] = '\0';
        append_utf8(t, s);
    }
    return t;
}

char *mer_provenance_json(int argc, const char **argv)
{
    cJSON *o = cJSON_CreateObject();
    char *cmd = NULL, *text = NULL, when[32];
    size_t len = 4;
    time_t now = time(NULL);
    struct tm tm;
    for (int i = 0; i < argc; i++)
        len += 4 * strlen(argv[i]) + 1;
    if (o && (cmd = malloc(len))) {
        strcpy(cmd, "mer");
        for (int i = 0; i < argc; i++)
            append_utf8(strcat(cmd, " "), argv[i]);
        gmtime_r(&now, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        cJSON_AddStringToObject(o, "command", cmd);
        cJSON_AddStringToObject(o, "mer_version", MER_VERSION);
        cJSON_AddStringToObject(o, "time", when);
        text = cJSON_PrintUnformatted(o);
    }
    free(cmd);
    cJSON_Delete(o);
    return text;
}

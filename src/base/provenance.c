/* Provenance: what command made a file, with which mer, when. */
#include "mer/provenance.h"
#include "mer/version.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char *mer_provenance_json(int argc, const char **argv)
{
    cJSON *o = cJSON_CreateObject();
    char *cmd = NULL, *text = NULL, when[32];
    size_t len = 4;
    time_t now = time(NULL);
    struct tm tm;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    if (o && (cmd = malloc(len))) {
        strcpy(cmd, "mer");
        for (int i = 0; i < argc; i++)
            strcat(strcat(cmd, " "), argv[i]);
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

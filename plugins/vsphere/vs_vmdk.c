/*
 * vs_vmdk.c - VMDK text descriptors: which files, in which order, hold a
 * flat disk's bytes.  A vSphere disk "[ds] vm/vm.vmdk" is a small text
 * file naming its extents ("RW 2097152 VMFS "vm-flat.vmdk"") whose bytes,
 * end to end, are the disk.  Sparse and delta extents hold grain tables,
 * not the disk, and are refused: reading them needs a VMDK decoder.
 * The text comes from the datastore, so nothing in it is trusted: lines
 * are bounded, numbers checked for overflow, file names kept inside the
 * descriptor's folder.
 */
#include "vs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_ 1024
#define SECTOR 512u
#define SECTORS_MAX (UINT64_MAX / SECTOR)

/* Parses a decimal number of sectors; -1 when it is not one. */
static int sectors_of(uint64_t *out, const char *s, size_t n)
{
    uint64_t v = 0;

    if (!n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (SECTORS_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Splits the next whitespace-separated word (or "quoted string") off *p. */
static int word(const char **w, size_t *wn, const char **p, int quoted)
{
    const char *s = *p;

    while (*s == ' ' || *s == '\t')
        s++;
    if (quoted) {
        const char *e;
        if (*s != '"' || !(e = strchr(s + 1, '"')))
            return -1;
        *w = s + 1;
        *wn = (size_t)(e - s - 1);
        *p = e + 1;
        return 0;
    }
    *w = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    *wn = (size_t)(s - *w);
    *p = s;
    return *wn ? 0 : -1;
}

static int is(const char *w, size_t n, const char *lit)
{
    return strlen(lit) == n && !strncmp(w, lit, n);
}

/* One extent line ("RW 2048 FLAT "f.vmdk" 0") into *e. */
static int extent_line(vs_extent *e, const char *line, const char *what,
                       vrt_error *err)
{
    const char *p = line, *w, *type;
    size_t wn, tn;
    uint64_t sectors, offset = 0;

    memset(e, 0, sizeof(*e));
    if (word(&w, &wn, &p, 0) < 0 || word(&w, &wn, &p, 0) < 0 ||
        sectors_of(&sectors, w, wn) < 0 || word(&type, &tn, &p, 0) < 0)
        return vs_err(err, VRT_E_INVALID,
                      "The descriptor of disk \"%s\" has a malformed extent "
                      "line \"%.80s\".",
                      what, line);
    e->size = sectors * SECTOR;
    if (is(type, tn, "ZERO"))
        return VRT_OK;
    if (!is(type, tn, "FLAT") && !is(type, tn, "VMFS"))
        return vs_err(err, VRT_E_NOTSUPP,
                      "Disk \"%s\" has a %.*s extent; the vSphere provider "
                      "exports flat disks only (consolidate snapshots or "
                      "inflate the disk first).",
                      what, (int)(tn > 16 ? 16 : tn), type);
    if (word(&w, &wn, &p, 1) < 0 || !wn || wn >= sizeof(e->file) ||
        memchr(w, '/', wn) || memchr(w, '\\', wn) || is(w, wn, "..") ||
        is(w, wn, "."))
        return vs_err(err, VRT_E_INVALID,
                      "The descriptor of disk \"%s\" names an extent file "
                      "that is not a plain file name in its folder: "
                      "\"%.80s\".",
                      what, line);
    memcpy(e->file, w, wn);
    e->file[wn] = '\0';
    if (is(type, tn, "FLAT") && word(&w, &wn, &p, 0) == 0 &&
        sectors_of(&offset, w, wn) < 0)
        return vs_err(err, VRT_E_INVALID,
                      "The descriptor of disk \"%s\" has a malformed extent "
                      "offset in \"%.80s\".",
                      what, line);
    e->start = offset * SECTOR;
    return VRT_OK;
}

int vs_vmdk_extents(vs_extent **out, size_t *n, const char *text, size_t len,
                    const char *what, vrt_error *err)
{
    vs_extent *v = NULL;
    size_t nv = 0, at = 0;
    uint64_t total = 0;
    int rc = VRT_OK;

    *out = NULL;
    *n = 0;
    if (len >= 4 && (!memcmp(text, "KDMV", 4) || !memcmp(text, "COWD", 4)))
        return vs_err(err, VRT_E_NOTSUPP,
                      "Disk \"%s\" is a sparse VMDK (grain tables, not the "
                      "disk's bytes); the vSphere provider exports flat "
                      "disks only.",
                      what);
    while (at < len && rc == VRT_OK) {
        char line[LINE_MAX_];
        size_t e = at, ln;
        const char *s;

        while (e < len && text[e] != '\n')
            e++;
        ln = e - at;
        if (memchr(text + at, '\0', ln)) {
            rc = vs_err(err, VRT_E_INVALID, "The descriptor of disk \"%s\" "
                        "is not text.", what);
            break;
        }
        if (ln >= sizeof(line)) {
            rc = vs_err(err, VRT_E_INVALID, "The descriptor of disk \"%s\" "
                        "has a line longer than %u bytes.",
                        what, (unsigned)sizeof(line) - 1);
            break;
        }
        memcpy(line, text + at, ln);
        line[ln] = '\0';
        if (ln && line[ln - 1] == '\r')
            line[ln - 1] = '\0';
        at = e + 1;
        for (s = line; *s == ' ' || *s == '\t'; s++)
            ;
        if (!strncmp(s, "parentCID", 9)) {
            const char *eq = strchr(s, '=');
            char cid[16] = "";
            if (eq)
                sscanf(eq + 1, " %15[0-9a-fA-F]", cid);
            if (strcasecmp(cid, "ffffffff"))
                rc = vs_err(err, VRT_E_NOTSUPP,
                            "Disk \"%s\" is a delta of a parent disk "
                            "(parentCID %s); the vSphere provider exports "
                            "whole flat disks only.",
                            what, cid[0] ? cid : "?");
            continue;
        }
        if (strncmp(s, "RW ", 3) && strncmp(s, "RDONLY ", 7) &&
            strncmp(s, "NOACCESS ", 9))
            continue; /* comments, keys, the disk database */
        if (!strncmp(s, "NOACCESS ", 9)) {
            rc = vs_err(err, VRT_E_NOTSUPP,
                        "Disk \"%s\" has a NOACCESS extent.", what);
            break;
        }
        if (nv == VS_EXTENTS_MAX) {
            rc = vs_err(err, VRT_E_INVALID,
                        "The descriptor of disk \"%s\" has more than %u "
                        "extents.",
                        what, (unsigned)VS_EXTENTS_MAX);
            break;
        }
        vs_extent *grown = realloc(v, (nv + 1) * sizeof(*v));
        if (!grown)
            vs_oom();
        v = grown;
        if ((rc = extent_line(&v[nv], s, what, err)) < 0)
            break;
        if (v[nv].size > UINT64_MAX - total ||
            v[nv].start > UINT64_MAX - v[nv].size) {
            rc = vs_err(err, VRT_E_INVALID,
                        "The extents of disk \"%s\" add up past 2^64 bytes.",
                        what);
            break;
        }
        total += v[nv].size;
        nv++;
    }
    if (rc == VRT_OK && (!nv || !total))
        rc = vs_err(err, VRT_E_INVALID,
                    "The descriptor of disk \"%s\" names no extent.", what);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    *n = nv;
    return VRT_OK;
}

/*
 * init.c - `vrtg-provider init NAME`: writes a plugin directory from the
 * embedded templates, with the name and the virtrigaud prefix filled in.
 * Refuses a bad name or a directory that already has files, so that it
 * never overwrites anyone's work.
 */
#include "templates.h"
#include "vrtg_provider.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_BUF 4096

static void init_usage(FILE *out)
{
    fprintf(out,
        "Usage: vrtg-provider init NAME [--dir DIR] [--prefix DIR]\n"
        "\n"
        "Scaffolds the provider plugin NAME in DIR (default ./NAME):\n"
        "  NAME.c      the mandatory ABI methods and list_vms over an\n"
        "              in-memory VM table: a working starting point\n"
        "  Makefile    builds NAME.so against <virtrigaud/provider.h>;\n"
        "              `make check` runs vcts\n"
        "  vcts.json   the vcts settings (endpoint, spec, secrets)\n"
        "  README.md   what to change next\n"
        "\n"
        "NAME: 1 to 31 of a-z, 0-9, '-' and '_', starting with a letter\n"
        "(it is the provider type users write in Provider.spec.type).\n"
        "\n"
        "Options:\n"
        "  --dir DIR      where to write; must not exist or be empty\n"
        "  --prefix DIR   where virtrigaud is installed (include/virtrigaud,\n"
        "                 bin/vcts); default: the prefix this vrtg-provider\n"
        "                 runs from when it has the headers, else /usr/local\n"
        "  -h, --help     this text\n"
        "\n"
        "Then: make -C DIR && vrtg-provider verify DIR/NAME.so\n");
}

int vrtg_name_check(char *why, size_t why_size, const char *name)
{
    size_t len = strlen(name);

    if (len == 0) {
        snprintf(why, why_size, "The plugin name is empty.");
        return -1;
    }
    if (strchr(name, '/') || strchr(name, '.') || strchr(name, '\\')) {
        snprintf(why, why_size,
                 "The plugin name \"%s\" contains a path character ('/', '.' "
                 "or '\\'); a name is not a path: give the directory with "
                 "--dir.",
                 name);
        return -1;
    }
    for (const char *p = name; *p; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            snprintf(why, why_size,
                     "The plugin name \"%s\" has an uppercase letter; "
                     "provider names are lowercase (a-z, 0-9, '-', '_').",
                     name);
            return -1;
        }
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_')) {
            snprintf(why, why_size,
                     "The plugin name \"%s\" contains the character '%c' "
                     "(0x%02x); provider names use only a-z, 0-9, '-' and "
                     "'_'.",
                     name, (*p >= 0x20 && *p < 0x7f) ? *p : '?',
                     (unsigned)(unsigned char)*p);
            return -1;
        }
    }
    if (len > VRTG_NAME_MAX) {
        snprintf(why, why_size,
                 "The plugin name \"%s\" is %zu characters long; the most "
                 "is %d.",
                 name, len, VRTG_NAME_MAX);
        return -1;
    }
    if (name[0] < 'a' || name[0] > 'z') {
        snprintf(why, why_size,
                 "The plugin name \"%s\" must start with a letter (a-z).",
                 name);
        return -1;
    }
    return 0;
}

/* The prefix to write into the Makefile: this executable's parent
 * directory when it holds the installed headers, else /usr/local. */
static void default_prefix(char *out, size_t size)
{
    char self[PATH_BUF], header[PATH_BUF + 64];

    vrtg_self_dir(self, sizeof(self));
    snprintf(out, size, "/usr/local");
    if (!self[0])
        return;
    snprintf(header, sizeof(header), "%s/../include/virtrigaud/provider.h",
             self);
    if (access(header, R_OK) == 0) {
        char parent[PATH_BUF];
        snprintf(parent, sizeof(parent), "%s", self);
        snprintf(out, size, "%s", dirname(parent));
    }
}

/* 0 when `dir` does not exist or is an empty directory. */
static int dir_usable(char *why, size_t why_size, const char *dir)
{
    struct stat st;
    DIR *d = NULL;
    struct dirent *e = NULL;
    int rc = 0;

    if (stat(dir, &st) != 0)
        return errno == ENOENT ? 0 : (snprintf(why, why_size,
                                               "Cannot inspect \"%s\": %s.",
                                               dir, strerror(errno)),
                                      -1);
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, why_size,
                 "\"%s\" already exists and is not a directory; choose "
                 "another with --dir.",
                 dir);
        return -1;
    }
    d = opendir(dir);
    if (!d) {
        snprintf(why, why_size, "Cannot read the directory \"%s\": %s.", dir,
                 strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(why, why_size,
                     "The directory \"%s\" already exists and is not empty; "
                     "init never overwrites files: choose another with --dir "
                     "or empty it.",
                     dir);
            rc = -1;
            break;
        }
    }
    closedir(d);
    return rc;
}

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char buf[PATH_BUF];

    snprintf(buf, sizeof(buf), "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Writes `text` with @NAME@ and @PREFIX@ replaced; never overwrites. */
static int write_template(const char *path, const char *text, const char *name,
                          const char *prefix)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    FILE *f = NULL;
    int rc = 0;

    if (fd < 0)
        return -1;
    f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -1;
    }
    for (const char *p = text; *p;) {
        if (strncmp(p, "@NAME@", 6) == 0) {
            fputs(name, f);
            p += 6;
        } else if (strncmp(p, "@PREFIX@", 8) == 0) {
            fputs(prefix, f);
            p += 8;
        } else {
            fputc(*p++, f);
        }
    }
    if (ferror(f))
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* The file a template becomes: "plugin.c" is NAME.c, the rest keep
 * their names. */
static void target_name(char *out, size_t size, const char *tpl,
                        const char *name)
{
    if (strcmp(tpl, "plugin.c") == 0)
        snprintf(out, size, "%s.c", name);
    else
        snprintf(out, size, "%s", tpl);
}

static int scaffold(const char *dir, const char *name, const char *prefix)
{
    char path[PATH_BUF + VRTG_NAME_MAX + 16], file[VRTG_NAME_MAX + 16];
    const vrtg_template *t = NULL;

    if (make_dirs(dir) != 0) {
        fprintf(stderr, "vrtg-provider init: cannot create \"%s\": %s.\n",
                dir, strerror(errno));
        return VRTG_EXIT_FAILED;
    }
    for (t = vrtg_templates; t->name; t++) {
        target_name(file, sizeof(file), t->name, name);
        snprintf(path, sizeof(path), "%s/%s", dir, file);
        if (write_template(path, t->text, name, prefix) != 0) {
            fprintf(stderr, "vrtg-provider init: cannot write \"%s\": %s.\n",
                    path, strerror(errno));
            goto undo;
        }
    }
    return VRTG_EXIT_OK;
undo:
    /* Leave nothing half-made: remove what this run wrote. */
    for (const vrtg_template *u = vrtg_templates; u != t; u++) {
        target_name(file, sizeof(file), u->name, name);
        snprintf(path, sizeof(path), "%s/%s", dir, file);
        unlink(path);
    }
    rmdir(dir);
    return VRTG_EXIT_FAILED;
}

int vrtg_init_main(int argc, char **argv)
{
    const char *name = NULL, *dir = NULL, *prefix = NULL;
    char why[512], prefix_buf[PATH_BUF], header[PATH_BUF + 64];
    int rc = VRTG_EXIT_OK;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            init_usage(stdout);
            return VRTG_EXIT_OK;
        } else if (!strcmp(a, "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strncmp(a, "--dir=", 6)) {
            dir = a + 6;
        } else if (!strcmp(a, "--prefix") && i + 1 < argc) {
            prefix = argv[++i];
        } else if (!strncmp(a, "--prefix=", 9)) {
            prefix = a + 9;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr,
                    "vrtg-provider init: unknown option \"%s\" or missing "
                    "value (see vrtg-provider init --help).\n",
                    a);
            return VRTG_EXIT_USAGE;
        } else if (!name) {
            name = a;
        } else {
            fprintf(stderr,
                    "vrtg-provider init: one NAME only; \"%s\" is extra (see "
                    "vrtg-provider init --help).\n",
                    a);
            return VRTG_EXIT_USAGE;
        }
    }
    if (!name) {
        fprintf(stderr, "vrtg-provider init: give the plugin's NAME (see "
                        "vrtg-provider init --help).\n");
        return VRTG_EXIT_USAGE;
    }
    if (vrtg_name_check(why, sizeof(why), name) != 0) {
        fprintf(stderr, "vrtg-provider init: %s\n", why);
        return VRTG_EXIT_FAILED;
    }
    if (!dir || !dir[0])
        dir = name;
    if (dir_usable(why, sizeof(why), dir) != 0) {
        fprintf(stderr, "vrtg-provider init: %s\n", why);
        return VRTG_EXIT_FAILED;
    }
    if (!prefix) {
        default_prefix(prefix_buf, sizeof(prefix_buf));
        prefix = prefix_buf;
    }
    if (strchr(prefix, ' ') || strchr(prefix, '$') || strchr(prefix, '#')) {
        fprintf(stderr,
                "vrtg-provider init: the prefix \"%s\" has a space, '$' or "
                "'#', which a Makefile cannot hold; install virtrigaud "
                "elsewhere.\n",
                prefix);
        return VRTG_EXIT_USAGE;
    }
    rc = scaffold(dir, name, prefix);
    if (rc != VRTG_EXIT_OK)
        return rc;
    printf("Created the provider plugin \"%s\" in %s/: %s.c, Makefile, "
           "vcts.json, README.md.\n",
           name, dir, name);
    snprintf(header, sizeof(header), "%s/include/virtrigaud/provider.h",
             prefix);
    if (access(header, R_OK) != 0)
        printf("Note: %s is missing; build with make VIRTRIGAUD_PREFIX=... "
               "naming where virtrigaud is installed.\n",
               header);
    printf("Next: make -C %s && vrtg-provider verify %s/%s.so\n", dir, dir,
           name);
    return VRTG_EXIT_OK;
}

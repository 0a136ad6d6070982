/*
 * test_loader.c - the plugin loader (core/plugin/loader.c) against the
 * deliberately broken plugins of tests/plugins/.
 *
 * Each broken plugin must be refused with a negative code and a message
 * that names the problem, recorded as a fault under its path, and must
 * leave the process and the registry usable: every rejection test then
 * loads good.so into the same registry.  That the suite gets to its end at
 * all proves that no broken plugin took the process down.
 *
 * The .so files are found in $VRT_TEST_PLUGIN_DIR (tests/run.sh sets it;
 * default build/tests/plugins).  Tests of the broken plugins load them with
 * VRT_LOAD_SKIP_PERMS, so that the build directory's umask does not matter;
 * the permission and directory tests copy plugins into a private directory
 * (under $BUILD when set, since /tmp may be noexec) with the modes they need.
 *
 * What is checked, and in which order, is docs/abi.md's "What the loader
 * checks, in order" table; a test per row, one broken plugin per test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vrt/plugin.h>

#define SKIP VRT_LOAD_SKIP_PERMS

/* ---- helpers ----------------------------------------------------------- */

/* Strings a test makes live until its teardown: a failed assertion leaves
 * the test by longjmp, and must not turn into a leak report. */
#define OWNED_MAX 64
static char *owned[OWNED_MAX];
static size_t n_owned;

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    assert_true(n_owned < OWNED_MAX);
    owned[n_owned++] = s;
    return s;
}

/* Path of a test plugin: $VRT_TEST_PLUGIN_DIR/NAME.so.  Caller frees. */
static char *plugin_path(const char *name)
{
    const char *dir = getenv("VRT_TEST_PLUGIN_DIR");
    if (!dir || !*dir)
        dir = "build/tests/plugins";
    return xasprintf("%s/%s.so", dir, name);
}

/* Fails, showing both strings, unless `needle` occurs in `hay`. */
#define assert_contains(hay, needle) assert_contains_((hay), (needle), __FILE__, __LINE__)

static void assert_contains_(const char *hay, const char *needle,
                             const char *file, int line)
{
    if (hay && strstr(hay, needle))
        return;
    print_error("%s:%d: expected \"%s\" in the message: \"%s\"\n", file, line,
                needle, hay ? hay : "(null)");
    fail();
}

/* A failure record as the wrappers promise it: the code matches the return
 * value, and the message is terminated and not empty. */
static void assert_failure_record(int rc, const vrt_error *err)
{
    assert_true(rc < 0);
    assert_int_equal(err->code, rc);
    assert_non_null(memchr(err->message, '\0', sizeof(err->message)));
    assert_true(err->message[0] != '\0');
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

typedef struct fixture {
    vrt_registry *reg;
    char *tmp; /* a private directory, removed after the test */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    /* Plugins are copied here and dlopen()ed: prefer the build directory,
     * which surely allows that, to a /tmp that may be mounted noexec. */
    const char *base = getenv("BUILD");
    if (!base || !*base)
        base = getenv("TMPDIR");
    if (!f)
        return -1;
    f->reg = vrt_registry_new();
    f->tmp = xasprintf("%s/vrt-test-loader.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(f->tmp)) {
        vrt_registry_free(f->reg);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    vrt_registry_free(f->reg);
    nftw(f->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    for (size_t i = 0; i < n_owned; i++)
        free(owned[i]);
    n_owned = 0;
    return 0;
}

/* Copies a file and gives the copy `mode` (chmod, so the umask does not
 * interfere). */
static void copy_file(const char *src, const char *dst, mode_t mode)
{
    char buf[65536];
    ssize_t n;
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        print_error("cannot open \"%s\": %s (was `make` run?)\n", src,
                    strerror(errno));
        fail();
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(out >= 0);
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    close(out);
    assert_int_equal(chmod(dst, mode), 0);
}

/* Copies test plugin NAME into DIR under the same file name. */
static char *copy_plugin(const char *dir, const char *name, mode_t mode)
{
    char *src = plugin_path(name);
    char *dst = xasprintf("%s/%s.so", dir, name);
    copy_file(src, dst, mode);
    return dst;
}

static int fault_index(const vrt_registry *reg, const char *path)
{
    for (size_t i = 0; i < vrt_registry_fault_count(reg); i++) {
        const char *p = NULL, *r = NULL;
        vrt_registry_fault_at(&p, &r, reg, i);
        if (p && strcmp(p, path) == 0)
            return (int)i;
    }
    return -1;
}

/* The last fault is `path`, and its reason is (part of) the message the
 * caller got. */
static void assert_last_fault(const vrt_registry *reg, const char *path,
                              const vrt_error *err)
{
    const char *p = NULL, *r = NULL;
    size_t n = vrt_registry_fault_count(reg);
    assert_true(n > 0);
    vrt_registry_fault_at(&p, &r, reg, n - 1);
    assert_non_null(p);
    assert_non_null(r);
    assert_string_equal(p, path);
    assert_true(r[0] != '\0');
    /* The recorded reason is what resources will show: it must say the
     * same as the error the caller got. */
    assert_contains(err->message, r);
}

/* good.so loads into `reg` and is found under its name. */
static void assert_good_loads(vrt_registry *reg, uint32_t flags)
{
    char *path = plugin_path("good");
    const vrt_plugin *p = NULL;
    vrt_error err = VRT_ERROR_INIT;
    size_t before = vrt_registry_count(reg);
    int rc = vrt_registry_load(&p, reg, path, flags, &err);
    if (rc != VRT_OK)
        print_error("good.so did not load: %s\n", err.message);
    assert_int_equal(rc, VRT_OK);
    assert_non_null(p);
    assert_ptr_equal(vrt_registry_find(reg, "good"), p);
    assert_int_equal(vrt_registry_count(reg), before + 1);
}

/*
 * Loads broken plugin NAME and checks the rejection: negative code, *out
 * NULL, a message holding every keyword, the fault recorded under its path,
 * nothing registered, and good.so loading afterwards.
 */
static void check_rejected(fixture *f, const char *name,
                           const char *const *keywords)
{
    char *path = plugin_path(name);
    const vrt_plugin *p = (const vrt_plugin *)&p; /* must be reset */
    vrt_error err = VRT_ERROR_INIT;

    int rc = vrt_registry_load(&p, f->reg, path, SKIP, &err);
    if (rc == VRT_OK)
        print_error("%s.so was accepted; the loader must refuse it\n", name);
    assert_failure_record(rc, &err);
    assert_null(p);
    for (; *keywords; keywords++)
        assert_contains(err.message, *keywords);
    assert_int_equal(vrt_registry_count(f->reg), 0);
    assert_int_equal(vrt_registry_fault_count(f->reg), 1);
    assert_last_fault(f->reg, path, &err);

    assert_good_loads(f->reg, SKIP);
    assert_int_equal(vrt_registry_fault_count(f->reg), 1);
}

/* ---- the positive control ---------------------------------------------- */

static void test_good_plugin_loads_with_its_identity(void **state)
{
    fixture *f = *state;
    char *path = plugin_path("good");
    const vrt_plugin *p = NULL;
    vrt_error err = VRT_ERROR_INIT;

    assert_int_equal(vrt_registry_load(&p, f->reg, path, SKIP, &err), VRT_OK);
    assert_non_null(p);
    assert_string_equal(vrt_plugin_name(p), "good");
    assert_string_equal(vrt_plugin_version(p), "1.0.0-test");
    assert_string_equal(vrt_plugin_path(p), path);
    assert_int_equal(vrt_plugin_abi(p), VRT_ABI_VERSION);
    assert_int_equal(vrt_plugin_caps(p), 0);
    assert_int_equal(vrt_plugin_flags(p), 0);
    assert_non_null(vrt_plugin_vtable(p));
    assert_int_equal(vrt_plugin_vtable(p)->abi, VRT_ABI_VERSION);

    assert_int_equal(vrt_registry_count(f->reg), 1);
    assert_int_equal(vrt_registry_fault_count(f->reg), 0);
    assert_ptr_equal(vrt_registry_at(f->reg, 0), p);
    assert_null(vrt_registry_at(f->reg, 1));
    assert_ptr_equal(vrt_registry_find(f->reg, "good"), p);
    assert_null(vrt_registry_find(f->reg, "goo"));
    assert_null(vrt_registry_find(f->reg, "mock"));

    assert_true(vrt_plugin_has_method(p, "create"));
    assert_true(vrt_plugin_has_method(p, "task_status"));
    assert_false(vrt_plugin_has_method(p, "snapshot_create"));
    assert_false(vrt_plugin_has_method(p, "console"));
    assert_false(vrt_plugin_has_method(p, "no_such_method"));
}

static void test_load_accepts_null_out(void **state)
{
    fixture *f = *state;
    char *path = plugin_path("good");
    vrt_error err = VRT_ERROR_INIT;
    assert_int_equal(vrt_registry_load(NULL, f->reg, path, SKIP, &err), VRT_OK);
    assert_non_null(vrt_registry_find(f->reg, "good"));
}

static void test_load_refuses_unknown_flags(void **state)
{
    fixture *f = *state;
    char *path = plugin_path("good");
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_registry_load(NULL, f->reg, path, 1u << 31, &err);
    assert_int_equal(rc, VRT_E_INVALID);
    assert_failure_record(rc, &err);
    assert_contains(err.message, "flags");
    assert_null(vrt_registry_find(f->reg, "good"));
}

/* ---- one broken plugin each ---------------------------------------------- */

static void test_rejects_plugin_without_entry_symbol(void **state)
{
    static const char *const kw[] = {"vrt_provider_entry", NULL};
    check_rejected(*state, "no_entry", kw);
}

static void test_rejects_wrong_abi_major(void **state)
{
    static const char *const kw[] = {"major", "2", NULL};
    check_rejected(*state, "wrong_major", kw);
}

static void test_rejects_struct_smaller_than_1_0(void **state)
{
    static const char *const kw[] = {"struct_size", NULL};
    check_rejected(*state, "short_struct", kw);
}

static void test_rejects_missing_mandatory_create(void **state)
{
    static const char *const kw[] = {"\"create\"", "mandatory", NULL};
    check_rejected(*state, "null_mandatory", kw);
}

static void test_passes_on_the_plugins_refusal(void **state)
{
    /* The plugin's own sentence reaches the user. */
    static const char *const kw[] = {"needs host ABI 1.9", NULL};
    check_rejected(*state, "refuses_host", kw);
}

static void test_explains_an_entry_failure_without_message(void **state)
{
    fixture *f = *state;
    char *path = plugin_path("entry_fails_silently");
    vrt_error err = VRT_ERROR_INIT;
    static const char *const kw[] = {NULL};

    check_rejected(f, "entry_fails_silently", kw);
    /* Not an empty reason, nor one that blames the user: it says the
     * plugin gave no message. */
    int rc = vrt_registry_load(NULL, f->reg, path, SKIP, &err);
    assert_failure_record(rc, &err);
    if (!strstr(err.message, "without a message") &&
        !strstr(err.message, "no message")) {
        print_error("message does not say the plugin gave none: \"%s\"\n",
                    err.message);
        fail();
    }
}

static void test_rejects_invalid_provider_name(void **state)
{
    static const char *const kw[] = {"\"Bad Name\"", "name", NULL};
    check_rejected(*state, "bad_name", kw);
}

static void test_rejects_empty_provider_name(void **state)
{
    static const char *const kw[] = {"name \"\"", NULL};
    check_rejected(*state, "empty_name", kw);
}

static void test_rejects_entry_success_without_vtable(void **state)
{
    static const char *const kw[] = {"vtable", NULL};
    check_rejected(*state, "null_vtable", kw);
}

static void test_rejects_claimed_minor_without_its_size(void **state)
{
    /* Claims 1.1 with the 1.0 size: console would be read out of bounds. */
    static const char *const kw[] = {"struct_size", "1.1", NULL};
    check_rejected(*state, "minor_too_small", kw);
}

static void test_rejects_unknown_vtable_flags(void **state)
{
    static const char *const kw[] = {"flags", "0x200", NULL};
    check_rejected(*state, "unknown_flags", kw);
}

static void test_rejects_caps_this_abi_does_not_define(void **state)
{
    /* docs/abi.md, loader check 9 */
    static const char *const kw[] = {"caps", NULL};
    check_rejected(*state, "unknown_caps", kw);
}

static void test_rejects_a_capability_without_its_methods(void **state)
{
    /* docs/abi.md, loader check 9: SNAPSHOTS needs snapshot_create and
     * snapshot_delete. */
    static const char *const kw[] = {"snapshot_create", NULL};
    check_rejected(*state, "caps_without_methods", kw);
}

static void test_shows_dlerror_for_undefined_symbol(void **state)
{
    fixture *f = *state;
    char *path = plugin_path("undefined_symbol");
    char *dlerr;

    /* What dlopen itself says about this file, to find it verbatim in the
     * loader's message. */
    (void)dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    assert_null(h);
    dlerr = xasprintf("%s", dlerror());
    assert_non_null(dlerr);

    const char *const kw[] = {"undefined symbol",
                              "vrt_test_symbol_that_does_not_exist", dlerr,
                              NULL};
    check_rejected(f, "undefined_symbol", kw);
}

static void test_rejects_duplicate_name(void **state)
{
    fixture *f = *state;
    char *a = plugin_path("dup_a"), *b = plugin_path("dup_b");
    const vrt_plugin *pa = NULL, *pb = NULL;
    vrt_error err = VRT_ERROR_INIT;

    assert_int_equal(vrt_registry_load(&pa, f->reg, a, SKIP, &err), VRT_OK);
    int rc = vrt_registry_load(&pb, f->reg, b, SKIP, &err);
    assert_failure_record(rc, &err);
    assert_null(pb);
    assert_contains(err.message, "\"dup\"");
    /* It says which file holds the name already. */
    assert_contains(err.message, a);
    assert_last_fault(f->reg, b, &err);

    /* The first one stays, untouched. */
    assert_int_equal(vrt_registry_count(f->reg), 1);
    assert_ptr_equal(vrt_registry_find(f->reg, "dup"), pa);
    assert_string_equal(vrt_plugin_path(pa), a);
    assert_string_equal(vrt_plugin_version(pa), "1.0.0-a");
    assert_good_loads(f->reg, SKIP);
}

static void test_same_file_twice_is_a_duplicate(void **state)
{
    fixture *f = *state;
    char *path = plugin_path("good");
    vrt_error err = VRT_ERROR_INIT;
    assert_int_equal(vrt_registry_load(NULL, f->reg, path, SKIP, &err), VRT_OK);
    int rc = vrt_registry_load(NULL, f->reg, path, SKIP, &err);
    assert_failure_record(rc, &err);
    assert_contains(err.message, "\"good\"");
    assert_int_equal(vrt_registry_count(f->reg), 1);
}

static void test_every_broken_plugin_into_one_registry(void **state)
{
    /* One registry survives all of them in a row, and records each. */
    static const char *const broken[] = {
        "no_entry",       "wrong_major",     "short_struct",
        "null_mandatory", "refuses_host",    "entry_fails_silently",
        "bad_name",       "undefined_symbol", "null_vtable",
        "minor_too_small", "unknown_flags",    "empty_name",
    };
    fixture *f = *state;
    size_t n = sizeof(broken) / sizeof(broken[0]);

    for (size_t i = 0; i < n; i++) {
        char *path = plugin_path(broken[i]);
        vrt_error err = VRT_ERROR_INIT;
        int rc = vrt_registry_load(NULL, f->reg, path, SKIP, &err);
        assert_failure_record(rc, &err);
        assert_int_equal(fault_index(f->reg, path), (int)i);
    }
    assert_int_equal(vrt_registry_fault_count(f->reg), n);
    assert_int_equal(vrt_registry_count(f->reg), 0);
    assert_good_loads(f->reg, SKIP);
}

static void test_old_minor_plugin_loads_as_1_0(void **state)
{
    fixture *f = *state;
    char *path = plugin_path("old_minor");
    const vrt_plugin *p = NULL;
    vrt_error err = VRT_ERROR_INIT;

    int rc = vrt_registry_load(&p, f->reg, path, SKIP, &err);
    if (rc != VRT_OK)
        print_error("old_minor.so: %s\n", err.message);
    assert_int_equal(rc, VRT_OK);
    assert_int_equal(vrt_plugin_abi(p), VRT_ABI_MAKE(1, 0));
    assert_int_equal(vrt_plugin_vtable(p)->struct_size, VRT_PROVIDER_SIZE_1_0);
    assert_true(vrt_plugin_has_method(p, "describe"));
    /* Beyond its struct_size: absent, whatever lies in memory there. */
    assert_false(vrt_plugin_has_method(p, "console"));
    assert_false(vrt_plugin_has_method(p, "list_hosts"));
}

/* ---- the path check --------------------------------------------------- */

static void expect_mode_refused(fixture *f, const char *path, mode_t mode)
{
    vrt_error err = VRT_ERROR_INIT;
    const vrt_plugin *p = NULL;
    assert_int_equal(chmod(path, mode), 0);
    int rc = vrt_registry_load(&p, f->reg, path, 0, &err);
    if (rc == VRT_OK)
        print_error("mode %04o was accepted\n", (unsigned)mode);
    assert_failure_record(rc, &err);
    assert_null(p);
    assert_contains(err.message, "writable");
    assert_contains(err.message, path);
    assert_last_fault(f->reg, path, &err);
}

static void test_refuses_group_or_world_writable_file(void **state)
{
    fixture *f = *state;
    char *path = copy_plugin(f->tmp, "good", 0755);

    expect_mode_refused(f, path, 0666);
    expect_mode_refused(f, path, 0757);
    expect_mode_refused(f, path, 0775);
    expect_mode_refused(f, path, 0620);
    assert_int_equal(vrt_registry_fault_count(f->reg), 4);
    assert_int_equal(vrt_registry_count(f->reg), 0);

    /* The same file, once fixed, loads: it was the mode that counted. */
    vrt_error err = VRT_ERROR_INIT;
    assert_int_equal(chmod(path, 0755), 0);
    int rc = vrt_registry_load(NULL, f->reg, path, 0, &err);
    if (rc != VRT_OK)
        print_error("mode 0755: %s\n", err.message);
    assert_int_equal(rc, VRT_OK);
}

static void test_skip_perms_skips_only_the_mode_check(void **state)
{
    fixture *f = *state;
    char *path = copy_plugin(f->tmp, "good", 0666);
    vrt_error err = VRT_ERROR_INIT;
    assert_int_equal(vrt_registry_load(NULL, f->reg, path, SKIP, &err), VRT_OK);
}

static void test_refuses_file_of_another_owner(void **state)
{
    fixture *f = *state;
    if (geteuid() != 0) {
        skip(); /* only root can give a file away */
        return;
    }
    char *path = copy_plugin(f->tmp, "good", 0755);
    vrt_error err = VRT_ERROR_INIT;
    if (chown(path, 65534, 65534) != 0) {
        /* root without CAP_CHOWN, as in some containers */
        print_message("chown: %s\n", strerror(errno));
        skip();
        return;
    }
    int rc = vrt_registry_load(NULL, f->reg, path, 0, &err);
    assert_failure_record(rc, &err);
    assert_contains(err.message, "owned");
    assert_contains(err.message, "65534");
    assert_last_fault(f->reg, path, &err);
}

static void test_missing_file_is_a_clear_failure(void **state)
{
    fixture *f = *state;
    char *path = xasprintf("%s/no-such-plugin.so", f->tmp);
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_registry_load(NULL, f->reg, path, 0, &err);
    assert_failure_record(rc, &err);
    assert_contains(err.message, path);
    assert_contains(err.message, strerror(ENOENT));
    assert_last_fault(f->reg, path, &err);

    /* Without the path check, dlopen says the same in its own words. */
    rc = vrt_registry_load(NULL, f->reg, path, SKIP, &err);
    assert_failure_record(rc, &err);
    assert_contains(err.message, "no-such-plugin.so");
    assert_int_equal(vrt_registry_fault_count(f->reg), 2);
    assert_good_loads(f->reg, SKIP);
}

static void test_directory_is_not_a_plugin(void **state)
{
    fixture *f = *state;
    char *path = xasprintf("%s/dir.so", f->tmp);
    vrt_error err = VRT_ERROR_INIT;
    assert_int_equal(mkdir(path, 0755), 0);
    int rc = vrt_registry_load(NULL, f->reg, path, 0, &err);
    assert_failure_record(rc, &err);
    assert_contains(err.message, path);
    assert_contains(err.message, "regular file");
    assert_last_fault(f->reg, path, &err);
}

static void test_not_an_elf_file_shows_dlerror(void **state)
{
    fixture *f = *state;
    char *path = xasprintf("%s/garbage.so", f->tmp);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("this is not a shared object\n", fp);
    fclose(fp);
    assert_int_equal(chmod(path, 0644), 0);

    (void)dlerror();
    assert_null(dlopen(path, RTLD_NOW | RTLD_LOCAL));
    char *dlerr = xasprintf("%s", dlerror());
    assert_non_null(dlerr);

    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_registry_load(NULL, f->reg, path, 0, &err);
    assert_failure_record(rc, &err);
    assert_contains(err.message, dlerr);
    assert_last_fault(f->reg, path, &err);
}

/* ---- whole directories -------------------------------------------------- */

static void test_load_dir_loads_the_good_and_records_the_rest(void **state)
{
    static const char *const good[] = {"dup_a", "good", "old_minor"};
    /* dup_b sorts after dup_a, so it is the duplicate. */
    static const char *const bad[] = {"bad_name", "dup_b", "no_entry",
                                      "null_mandatory", "wrong_major"};
    fixture *f = *state;
    char *paths[8];
    size_t np = 0;
    vrt_error err = VRT_ERROR_INIT;

    for (size_t i = 0; i < 3; i++)
        paths[np++] = copy_plugin(f->tmp, good[i], 0755);
    for (size_t i = 0; i < 5; i++)
        paths[np++] = copy_plugin(f->tmp, bad[i], 0755);
    /* Not "*.so": ignored, not a fault. */
    char *txt = xasprintf("%s/README.txt", f->tmp);
    copy_file(paths[0], txt, 0644);
    char *so_txt = xasprintf("%s/good.so.txt", f->tmp);
    copy_file(paths[0], so_txt, 0644);
    /* A directory named like a plugin: a fault, not a crash. */
    char *sub = xasprintf("%s/sub.so", f->tmp);
    assert_int_equal(mkdir(sub, 0755), 0);

    int n = vrt_registry_load_dir(f->reg, f->tmp, 0, &err);
    assert_int_equal(n, 3);
    assert_int_equal(vrt_registry_count(f->reg), 3);
    for (size_t i = 0; i < 3; i++) {
        const vrt_plugin *p = NULL;
        const char *want = strcmp(good[i], "dup_a") == 0 ? "dup" : good[i];
        p = vrt_registry_find(f->reg, want);
        assert_non_null(p);
        assert_string_equal(vrt_plugin_path(p), paths[i]);
    }

    assert_int_equal(vrt_registry_fault_count(f->reg), 6);
    for (size_t i = 3; i < np; i++) {
        if (fault_index(f->reg, paths[i]) < 0) {
            print_error("no fault recorded for \"%s\"\n", paths[i]);
            fail();
        }
    }
    assert_true(fault_index(f->reg, sub) >= 0);
    assert_int_equal(fault_index(f->reg, txt), -1);
    assert_int_equal(fault_index(f->reg, so_txt), -1);

    /* Loaded in name order, whatever order the directory lists: plugins
     * and faults are recorded as their files sort. */
    for (size_t i = 1; i < vrt_registry_count(f->reg); i++)
        assert_true(strcmp(vrt_plugin_path(vrt_registry_at(f->reg, i - 1)),
                           vrt_plugin_path(vrt_registry_at(f->reg, i))) < 0);
    for (size_t i = 1; i < vrt_registry_fault_count(f->reg); i++) {
        const char *p0 = NULL, *p1 = NULL, *r = NULL;
        vrt_registry_fault_at(&p0, &r, f->reg, i - 1);
        vrt_registry_fault_at(&p1, &r, f->reg, i);
        assert_true(strcmp(p0, p1) < 0);
    }

}

static void test_load_dir_of_an_empty_directory_is_zero(void **state)
{
    fixture *f = *state;
    vrt_error err = VRT_ERROR_INIT;
    assert_int_equal(vrt_registry_load_dir(f->reg, f->tmp, 0, &err), 0);
    assert_int_equal(vrt_registry_count(f->reg), 0);
    assert_int_equal(vrt_registry_fault_count(f->reg), 0);
}

static void test_load_dir_of_a_missing_directory_fails(void **state)
{
    fixture *f = *state;
    char *dir = xasprintf("%s/absent", f->tmp);
    vrt_error err = VRT_ERROR_INIT;
    int rc = vrt_registry_load_dir(f->reg, dir, 0, &err);
    assert_failure_record(rc, &err);
    assert_contains(err.message, dir);
    assert_contains(err.message, strerror(ENOENT));
}

static void test_load_dir_refuses_writable_plugins(void **state)
{
    fixture *f = *state;
    char *ok = copy_plugin(f->tmp, "good", 0755);
    char *open_to_all = copy_plugin(f->tmp, "old_minor", 0777);
    vrt_error err = VRT_ERROR_INIT;

    assert_int_equal(vrt_registry_load_dir(f->reg, f->tmp, 0, &err), 1);
    assert_non_null(vrt_registry_find(f->reg, "good"));
    assert_string_equal(vrt_plugin_path(vrt_registry_find(f->reg, "good")), ok);
    assert_null(vrt_registry_find(f->reg, "old_minor"));
    int i = fault_index(f->reg, open_to_all);
    assert_true(i >= 0);
    const char *p = NULL, *r = NULL;
    vrt_registry_fault_at(&p, &r, f->reg, (size_t)i);
    assert_contains(r, "writable");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_good_plugin_loads_with_its_identity),
        T(test_load_accepts_null_out),
        T(test_load_refuses_unknown_flags),
        T(test_rejects_plugin_without_entry_symbol),
        T(test_rejects_wrong_abi_major),
        T(test_rejects_struct_smaller_than_1_0),
        T(test_rejects_missing_mandatory_create),
        T(test_passes_on_the_plugins_refusal),
        T(test_explains_an_entry_failure_without_message),
        T(test_rejects_invalid_provider_name),
        T(test_rejects_empty_provider_name),
        T(test_rejects_entry_success_without_vtable),
        T(test_rejects_claimed_minor_without_its_size),
        T(test_rejects_unknown_vtable_flags),
        T(test_rejects_caps_this_abi_does_not_define),
        T(test_rejects_a_capability_without_its_methods),
        T(test_shows_dlerror_for_undefined_symbol),
        T(test_rejects_duplicate_name),
        T(test_same_file_twice_is_a_duplicate),
        T(test_every_broken_plugin_into_one_registry),
        T(test_old_minor_plugin_loads_as_1_0),
        T(test_refuses_group_or_world_writable_file),
        T(test_skip_perms_skips_only_the_mode_check),
        T(test_refuses_file_of_another_owner),
        T(test_missing_file_is_a_clear_failure),
        T(test_directory_is_not_a_plugin),
        T(test_not_an_elf_file_shows_dlerror),
        T(test_load_dir_loads_the_good_and_records_the_rest),
        T(test_load_dir_of_an_empty_directory_is_zero),
        T(test_load_dir_of_a_missing_directory_fails),
        T(test_load_dir_refuses_writable_plugins),
    };
#undef T
    return cmocka_run_group_tests_name("loader", tests, NULL, NULL);
}

/*
 * The SFTP staging backend (libssh).  The server's host key must be listed
 * in the known_hosts text of the Secret (plain or hashed host names,
 * "[host]:port" for other ports); anything else - an unknown key, a
 * changed key, a @revoked one - is refused before authenticating, so no
 * password goes to an impostor.  Authentication by private key or
 * password.  Objects are files in one directory; a resumed write appends
 * after what the file holds.  The connection goes to the address that
 * vrt_hostpolicy_check approved; ~/.ssh/config is not read.
 */
#include "stage_internal.h"

#include <vrt/log.h>

#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

VRT_LOG_SOURCE("staging.sftp");

#define IO_CHUNK (64u << 10)

typedef struct sftp_stage {
    vrt_stage base;
    ssh_session ssh;
    sftp_session sftp;
    char host[300];
    unsigned port;
    char dir[2048];
} sftp_stage;

typedef struct sftp_io {
    vrt_stage_writer base; /* same layout as vrt_stage_reader */
    sftp_file f;
    char path[2400];
} sftp_io;

static void obj_path(char *buf, size_t size, const sftp_stage *s, const char *name)
{
    snprintf(buf, size, "%s/%s", s->dir, name);
}

static int sftp_err(vrt_error *err, sftp_stage *s, const char *what, const char *path)
{
    int code = sftp_get_error(s->sftp);
    int vc = code == SSH_FX_NO_SUCH_FILE ? VRT_E_NOTFOUND
             : code == SSH_FX_PERMISSION_DENIED ? VRT_E_UNAUTHORIZED
                                                : VRT_E_UNAVAILABLE;
    const char *why = code == SSH_FX_NO_SUCH_FILE ? "no such file"
                      : code == SSH_FX_PERMISSION_DENIED ? "permission denied"
                                                          : ssh_get_error(s->ssh);
    return vrt_error_set(err, vc, "SFTP: %s \"%s\" on %s failed: %s.", what, path,
                         s->host, why);
}

/* --- host key ---------------------------------------------------------- */

/* |1|salt|hash: HMAC-SHA1 of the host name keyed with the salt. */
static int hashed_match(const char *pat, const char *name)
{
    char salt64[128], hash64[128];
    if (sscanf(pat, "|1|%127[^|]|%127s", salt64, hash64) != 2)
        return 0;
    unsigned char salt[128], want[128], got[EVP_MAX_MD_SIZE];
    int sl = EVP_DecodeBlock(salt, (const unsigned char *)salt64, (int)strlen(salt64));
    int wl = EVP_DecodeBlock(want, (const unsigned char *)hash64, (int)strlen(hash64));
    if (sl < 20 || wl < 20)
        return 0;
    unsigned int gl = 0;
    if (!HMAC(EVP_sha1(), salt, 20, (const unsigned char *)name, strlen(name), got, &gl))
        return 0;
    return gl == 20 && memcmp(got, want, 20) == 0;
}

static int host_matches(const char *patterns, const char *host, unsigned port)
{
    char name[400];
    if (port == 22)
        snprintf(name, sizeof(name), "%s", host);
    else
        snprintf(name, sizeof(name), "[%s]:%u", host, port);
    char buf[2048];
    snprintf(buf, sizeof(buf), "%s", patterns);
    char *save = NULL;
    for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (p[0] == '|' ? hashed_match(p, name) : strcasecmp(p, name) == 0)
            return 1;
    }
    return 0;
}

/* 0 = a listed key equals the server's; otherwise err says why. */
static int verify_host_key(sftp_stage *s, const char *known, vrt_error *err)
{
    ssh_key srv = NULL;
    if (ssh_get_server_publickey(s->ssh, &srv) != SSH_OK)
        return vrt_error_set(err, VRT_E_UNAVAILABLE, "SFTP: %s sent no host key.",
                             s->host);
    int found = 0, revoked = 0, listed = 0;
    char *text = strdup(known ? known : "");
    if (!text)
        abort();
    char *save = NULL;
    for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        char marker[32] = "", hosts[2048], type[64], b64[8192];
        while (*ln == ' ' || *ln == '\t')
            ln++;
        if (*ln == '#' || *ln == '\0')
            continue;
        int n;
        if (*ln == '@')
            n = sscanf(ln, "%31s %2047s %63s %8191s", marker, hosts, type, b64) - 1;
        else
            n = sscanf(ln, "%2047s %63s %8191s", hosts, type, b64);
        if (n < 3 || !host_matches(hosts, s->host, s->port))
            continue;
        if (strcmp(marker, "@cert-authority") == 0)
            continue;
        ssh_key k = NULL;
        enum ssh_keytypes_e kt = ssh_key_type_from_name(type);
        if (kt == SSH_KEYTYPE_UNKNOWN || ssh_pki_import_pubkey_base64(b64, kt, &k) != SSH_OK)
            continue;
        listed = 1;
        if (ssh_key_cmp(k, srv, SSH_KEY_CMP_PUBLIC) == 0) {
            if (strcmp(marker, "@revoked") == 0)
                revoked = 1;
            else
                found = 1;
        }
        ssh_key_free(k);
    }
    free(text);
    unsigned char *fp = NULL;
    size_t fplen = 0;
    char *fps = NULL;
    if (ssh_get_publickey_hash(srv, SSH_PUBLICKEY_HASH_SHA256, &fp, &fplen) == SSH_OK) {
        fps = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, fp, fplen);
        ssh_clean_pubkey_hash(&fp);
    }
    int rc = VRT_OK;
    if (revoked || !found)
        rc = vrt_error_set(err, VRT_E_UNAUTHORIZED, "SFTP: the host key of %s:%u (%s %s) "
                           "is %s in the knownHosts of spec.storage.sftp."
                           "credentialsSecretRef; refusing to connect.", s->host, s->port,
                           ssh_key_type_to_char(ssh_key_type(srv)), fps ? fps : "?",
                           revoked ? "revoked" : listed ? "not the one listed for it"
                                                        : "not listed");
    ssh_string_free_char(fps);
    ssh_key_free(srv);
    return rc;
}

/* --- objects ----------------------------------------------------------- */

static sftp_io *io_new(vrt_stage *st, const char *name)
{
    sftp_io *io = calloc(1, sizeof(*io));
    if (!io)
        abort();
    io->base.s = st;
    obj_path(io->path, sizeof(io->path), (sftp_stage *)st, name);
    return io;
}

static int sf_writer_open(vrt_stage_writer **out, uint64_t *offset, vrt_stage *st,
                          const char *name, uint32_t flags, vrt_error *err)
{
    sftp_stage *s = (sftp_stage *)st;
    sftp_io *io = io_new(st, name);
    int resume = (flags & VRT_STAGE_RESUME) != 0;
    io->f = sftp_open(s->sftp, io->path, O_WRONLY | O_CREAT | (resume ? 0 : O_TRUNC), 0600);
    if (!io->f) {
        int rc = sftp_err(err, s, "opening", io->path);
        free(io);
        return rc;
    }
    uint64_t have = 0;
    if (resume) {
        sftp_attributes a = sftp_fstat(io->f);
        if (!a || sftp_seek64(io->f, a->size) != 0) {
            int rc = sftp_err(err, s, "resuming", io->path);
            sftp_attributes_free(a);
            sftp_close(io->f);
            free(io);
            return rc;
        }
        have = a->size;
        sftp_attributes_free(a);
    }
    *offset = have;
    *out = &io->base;
    return VRT_OK;
}

static int sf_write(vrt_stage_writer *w, const void *buf, size_t len, vrt_error *err)
{
    sftp_io *io = (sftp_io *)w;
    const uint8_t *p = buf;
    while (len > 0) {
        size_t k = len < IO_CHUNK ? len : IO_CHUNK;
        ssize_t n = sftp_write(io->f, p, k);
        if (n <= 0)
            return sftp_err(err, (sftp_stage *)w->s, "writing", io->path);
        p += n;
        len -= (size_t)n;
    }
    return VRT_OK;
}

static int sf_finish(vrt_stage_writer *w, vrt_error *err)
{
    sftp_io *io = (sftp_io *)w;
    sftp_stage *s = (sftp_stage *)w->s;
    int rc = VRT_OK;
    if (sftp_extension_supported(s->sftp, "fsync@openssh.com", "1") &&
        sftp_fsync(io->f) != 0)
        rc = sftp_err(err, s, "syncing", io->path);
    if (sftp_close(io->f) != SSH_NO_ERROR && rc == VRT_OK)
        rc = sftp_err(err, s, "closing", io->path);
    free(io);
    return rc;
}

static void sf_abandon(vrt_stage_writer *w)
{
    sftp_io *io = (sftp_io *)w;
    (void)sftp_close(io->f);
    free(io);
}

static int sf_stat(uint64_t *size, vrt_stage *st, const char *name, vrt_error *err)
{
    sftp_stage *s = (sftp_stage *)st;
    char p[2400];
    obj_path(p, sizeof(p), s, name);
    sftp_attributes a = sftp_stat(s->sftp, p);
    if (!a)
        return sftp_err(err, s, "reading", p);
    *size = a->size;
    sftp_attributes_free(a);
    return VRT_OK;
}

static int sf_reader_open(vrt_stage_reader **out, uint64_t *size, vrt_stage *st,
                          const char *name, uint64_t offset, vrt_error *err)
{
    sftp_stage *s = (sftp_stage *)st;
    sftp_io *io = io_new(st, name);
    io->f = sftp_open(s->sftp, io->path, O_RDONLY, 0);
    sftp_attributes a = io->f ? sftp_fstat(io->f) : NULL;
    if (!a || sftp_seek64(io->f, offset) != 0) {
        int rc = sftp_err(err, s, "reading", io->path);
        sftp_attributes_free(a);
        if (io->f)
            sftp_close(io->f);
        free(io);
        return rc;
    }
    *size = a->size;
    sftp_attributes_free(a);
    *out = (vrt_stage_reader *)io;
    return VRT_OK;
}

static int sf_read(size_t *n, vrt_stage_reader *r, void *buf, size_t len,
                   vrt_error *err)
{
    sftp_io *io = (sftp_io *)r;
    ssize_t got = sftp_read(io->f, buf, len < IO_CHUNK ? len : IO_CHUNK);
    if (got < 0)
        return sftp_err(err, (sftp_stage *)r->s, "reading", io->path);
    *n = (size_t)got;
    return VRT_OK;
}

static void sf_reader_close(vrt_stage_reader *r)
{
    sftp_io *io = (sftp_io *)r;
    (void)sftp_close(io->f);
    free(io);
}

static int sf_remove(vrt_stage *st, const char *name, vrt_error *err)
{
    sftp_stage *s = (sftp_stage *)st;
    char p[2400];
    obj_path(p, sizeof(p), s, name);
    if (sftp_unlink(s->sftp, p) != 0 && sftp_get_error(s->sftp) != SSH_FX_NO_SUCH_FILE)
        return sftp_err(err, s, "removing", p);
    (void)sftp_rmdir(s->sftp, s->dir); /* gone once the last object is */
    return VRT_OK;
}

static void sf_url(char *buf, size_t size, const vrt_stage *st, const char *name)
{
    const sftp_stage *s = (const sftp_stage *)st;
    int v6 = strchr(s->host, ':') != NULL;
    snprintf(buf, size, "sftp://%s%s%s:%u%s%s/%s", v6 ? "[" : "", s->host, v6 ? "]" : "",
             s->port, s->dir[0] == '/' ? "" : "/", s->dir, name);
}

static void sf_close(vrt_stage *st)
{
    sftp_stage *s = (sftp_stage *)st;
    if (s->sftp)
        sftp_free(s->sftp);
    if (s->ssh) {
        if (ssh_is_connected(s->ssh))
            ssh_disconnect(s->ssh);
        ssh_free(s->ssh);
    }
    free(s);
}

static const vrt_stage_ops sftp_ops = {
    .kind = "sftp",
    .writer_open = sf_writer_open,
    .write = sf_write,
    .finish = sf_finish,
    .abandon = sf_abandon,
    .stat = sf_stat,
    .reader_open = sf_reader_open,
    .read = sf_read,
    .reader_close = sf_reader_close,
    .remove = sf_remove,
    .url = sf_url,
    .close = sf_close,
};

static int authenticate(sftp_stage *s, const vrt_sftp_config *cfg, vrt_error *err)
{
    int r = SSH_AUTH_DENIED;
    const char *how = "password";
    if (cfg->private_key && *cfg->private_key) {
        ssh_key k = NULL;
        how = "privateKey";
        if (ssh_pki_import_privkey_base64(cfg->private_key, NULL, NULL, NULL, &k) != SSH_OK)
            return vrt_error_set(err, VRT_E_INVALID, "SFTP: the privateKey in spec.storage."
                                 "sftp.credentialsSecretRef is not an unencrypted OpenSSH "
                                 "or PEM private key.");
        r = ssh_userauth_publickey(s->ssh, NULL, k);
        ssh_key_free(k);
    } else if (cfg->password) {
        r = ssh_userauth_password(s->ssh, NULL, cfg->password);
    } else {
        return vrt_error_set(err, VRT_E_INVALID, "The Secret in spec.storage.sftp."
                             "credentialsSecretRef needs a password or a privateKey.");
    }
    if (r != SSH_AUTH_SUCCESS)
        return vrt_error_set(err, VRT_E_UNAUTHORIZED, "SFTP: %s:%u refused the %s of user "
                             "\"%s\" from spec.storage.sftp.credentialsSecretRef.", s->host,
                             s->port, how, cfg->username);
    return VRT_OK;
}

static void make_dirs(sftp_stage *s)
{
    char p[2048];
    snprintf(p, sizeof(p), "%s", s->dir);
    for (char *c = p + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        (void)sftp_mkdir(s->sftp, p, 0700);
        *c = '/';
    }
    (void)sftp_mkdir(s->sftp, p, 0700);
}

int vrt_stage_open_sftp(vrt_stage **out, const vrt_sftp_config *cfg, vrt_error *err)
{
    *out = NULL;
    if (!cfg->host || !*cfg->host || !cfg->path || !*cfg->path)
        return vrt_error_set(err, VRT_E_INVALID, "spec.storage.sftp needs host and path.");
    if (!cfg->username || !*cfg->username)
        return vrt_error_set(err, VRT_E_INVALID, "The Secret in spec.storage.sftp."
                             "credentialsSecretRef needs the key username.");
    if (!cfg->known_hosts || !*cfg->known_hosts)
        return vrt_error_set(err, VRT_E_INVALID, "The Secret in spec.storage.sftp."
                             "credentialsSecretRef needs the key knownHosts (the server's "
                             "host key, as in ~/.ssh/known_hosts).");
    sftp_stage *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->base.ops = &sftp_ops;
    snprintf(s->host, sizeof(s->host), "%s", cfg->host);
    s->port = cfg->port ? cfg->port : 22;
    snprintf(s->dir, sizeof(s->dir), "%s", cfg->path);
    size_t dl = strlen(s->dir);
    while (dl > 1 && s->dir[dl - 1] == '/')
        s->dir[--dl] = '\0';
    char addr[64];
    vrt_hostpolicy pol = cfg->policy;
    if (!pol.field)
        pol.field = "spec.storage.sftp.host";
    int rc = vrt_hostpolicy_check(addr, &pol, s->host, (uint16_t)s->port, err);
    if (rc != VRT_OK)
        goto fail;
    s->ssh = ssh_new();
    if (!s->ssh)
        abort();
    int port = (int)s->port, no = 0;
    long timeout = 20;
    ssh_options_set(s->ssh, SSH_OPTIONS_HOST, addr);
    ssh_options_set(s->ssh, SSH_OPTIONS_PORT, &port);
    ssh_options_set(s->ssh, SSH_OPTIONS_USER, cfg->username);
    ssh_options_set(s->ssh, SSH_OPTIONS_TIMEOUT, &timeout);
    ssh_options_set(s->ssh, SSH_OPTIONS_PROCESS_CONFIG, &no);
    ssh_options_set(s->ssh, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
    ssh_options_set(s->ssh, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
    if (ssh_connect(s->ssh) != SSH_OK) {
        rc = vrt_error_set(err, VRT_E_UNAVAILABLE, "SFTP: %s:%u cannot be reached: %s.",
                           s->host, s->port, ssh_get_error(s->ssh));
        goto fail;
    }
    if ((rc = verify_host_key(s, cfg->known_hosts, err)) != VRT_OK ||
        (rc = authenticate(s, cfg, err)) != VRT_OK)
        goto fail;
    s->sftp = sftp_new(s->ssh);
    if (!s->sftp || sftp_init(s->sftp) != SSH_OK) {
        rc = vrt_error_set(err, VRT_E_UNAVAILABLE, "SFTP: %s:%u has no SFTP subsystem: %s.",
                           s->host, s->port, ssh_get_error(s->ssh));
        goto fail;
    }
    make_dirs(s);
    *out = &s->base;
    return VRT_OK;
fail:
    sf_close(&s->base);
    return rc;
}

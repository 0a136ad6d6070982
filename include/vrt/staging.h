/*
 * vrt/staging.h - where a VMMigration keeps a disk between export and
 * import: a staging backend holding named objects ("export.raw") that are
 * written once, front to back, and read back from any offset.
 *
 *   dir    a local directory (the manager's --staging-dir, a PVC or an NFS
 *          share mounted there); resume by the file's size
 *   s3     an S3 bucket: multipart upload (16 MiB parts, each signed with
 *          its payload hash, AWS SigV4), resume from the parts already
 *          uploaded, ranged GETs to read, the upload aborted on removal
 *   sftp   a directory on an SSH server (libssh): the host key must be in
 *          the known_hosts text given; resume by stat + append
 *
 * Network backends check their endpoint with vrt_hostpolicy_check (no
 * loopback, link-local, unspecified or multicast address unless the
 * manager's --migration-storage-allowed-hosts lists it; the cloud
 * metadata address never) and connect to the address that was checked.
 *
 * Thread contract: a vrt_stage and the readers and writers opened on it
 * are used by one thread at a time.  Errors: 0 or a negative VRT_E_*, with
 * `err` holding a sentence that names the object and never a credential.
 */
#ifndef VRT_STAGING_H
#define VRT_STAGING_H

#include <stddef.h>
#include <stdint.h>
#include <virtrigaud/provider.h>

typedef struct vrt_stage vrt_stage;
typedef struct vrt_stage_writer vrt_stage_writer;
typedef struct vrt_stage_reader vrt_stage_reader;

/* Flags of vrt_stage_writer_open. */
#define VRT_STAGE_RESUME 0x1u /* keep what is durably there, append to it */

/* S3 part size: every part but the last has exactly this many bytes. */
#define VRT_S3_PART_SIZE (16u << 20)

/* A comma-separated allow list (host names, addresses, CIDRs) and the
 * name of the spec field a refusal should name. */
typedef struct vrt_hostpolicy {
    const char *allowed; /* NULL or "" = no allow list */
    const char *field;   /* e.g. "spec.storage.s3.endpoint" */
} vrt_hostpolicy;

/* Resolves `host` and checks every address.  On success writes one
 * checked address (numeric, no brackets) into addr[64] for the caller to
 * connect to.  VRT_E_INVALID when refused. */
int vrt_hostpolicy_check(char addr[64], const vrt_hostpolicy *pol,
                         const char *host, uint16_t port, vrt_error *err)
    __attribute__((warn_unused_result));

typedef struct vrt_s3_config {
    const char *endpoint;      /* URL; NULL = https://s3.REGION.amazonaws.com */
    const char *region;        /* NULL = us-east-1 */
    const char *bucket;
    const char *prefix;        /* key prefix for every object, may be NULL */
    const char *access_key;
    const char *secret_key;
    const char *session_token; /* NULL when none */
    int path_style;            /* 1 = https://host/bucket/key */
    vrt_hostpolicy policy;
} vrt_s3_config;

typedef struct vrt_sftp_config {
    const char *host;
    uint16_t port;             /* 0 = 22 */
    const char *path;          /* directory on the server for the objects */
    const char *username;
    const char *password;      /* password or private_key */
    const char *private_key;   /* OpenSSH PEM text */
    const char *known_hosts;   /* known_hosts lines; required */
    vrt_hostpolicy policy;
} vrt_sftp_config;

/* Opening a backend.  *out is owned by the caller: vrt_stage_close.
 * Network backends connect (and authenticate) here, so bad credentials and
 * refused endpoints are reported before any data moves. */
int vrt_stage_open_dir(vrt_stage **out, const char *dir, vrt_error *err)
    __attribute__((warn_unused_result));
int vrt_stage_open_s3(vrt_stage **out, const vrt_s3_config *cfg, vrt_error *err)
    __attribute__((warn_unused_result));
int vrt_stage_open_sftp(vrt_stage **out, const vrt_sftp_config *cfg,
                        vrt_error *err)
    __attribute__((warn_unused_result));
void vrt_stage_close(vrt_stage *s); /* NULL-safe */

/* "dir", "s3" or "sftp". */
const char *vrt_stage_kind(const vrt_stage *s);
/* Where object `name` is, for status (s3://bucket/key, sftp://host/path,
 * a path); never with credentials. */
void vrt_stage_url(char *buf, size_t size, const vrt_stage *s, const char *name);
/* For the dir backend, the object's local path (returns 0); -1 otherwise. */
int vrt_stage_local_path(char *buf, size_t size, const vrt_stage *s,
                         const char *name);

/* Opens `name` for writing.  With VRT_STAGE_RESUME, *offset gets the bytes
 * kept (the caller sends the rest from there); without, the object starts
 * empty and *offset is 0.  *out: vrt_stage_writer_finish (commits) or
 * vrt_stage_writer_abandon (leaves what is durable for a later resume). */
int vrt_stage_writer_open(vrt_stage_writer **out, uint64_t *offset, vrt_stage *s,
                          const char *name, uint32_t flags, vrt_error *err)
    __attribute__((warn_unused_result));
int vrt_stage_writer_write(vrt_stage_writer *w, const void *buf, size_t len,
                           vrt_error *err) __attribute__((warn_unused_result));
/* Commits the object and frees w (also on failure). */
int vrt_stage_writer_finish(vrt_stage_writer *w, vrt_error *err)
    __attribute__((warn_unused_result));
void vrt_stage_writer_abandon(vrt_stage_writer *w); /* NULL-safe */

/* Size of a committed object; VRT_E_NOTFOUND when there is none. */
int vrt_stage_stat(uint64_t *size, vrt_stage *s, const char *name, vrt_error *err)
    __attribute__((warn_unused_result));
/* Opens committed object `name` at `offset`; *size gets its whole size. */
int vrt_stage_reader_open(vrt_stage_reader **out, uint64_t *size, vrt_stage *s,
                          const char *name, uint64_t offset, vrt_error *err)
    __attribute__((warn_unused_result));
/* *n = 0 at the end. */
int vrt_stage_reader_read(size_t *n, vrt_stage_reader *r, void *buf, size_t len,
                          vrt_error *err) __attribute__((warn_unused_result));
void vrt_stage_reader_close(vrt_stage_reader *r); /* NULL-safe */

/* Removes the object and any unfinished upload of it; absent is fine. */
int vrt_stage_remove(vrt_stage *s, const char *name, vrt_error *err)
    __attribute__((warn_unused_result));

/* --- AWS Signature Version 4 (exposed for its test vectors) ------------ */

typedef struct vrt_sigv4_req {
    const char *method;        /* "GET" */
    const char *uri;           /* canonical URI, already URI-encoded */
    const char *query;         /* canonical query string ("" if none) */
    const char *const *headers;/* name, value pairs; names lower case,
                                  sorted; NULL-ended */
    const char *payload_sha256;/* hex */
    const char *amz_date;      /* 20130524T000000Z */
    const char *region;
    const char *service;       /* "s3" */
    const char *access_key;
    const char *secret_key;
} vrt_sigv4_req;

/* Writes the Authorization header value ("AWS4-HMAC-SHA256 Credential=...,
 * SignedHeaders=...,Signature=...").  Returns 0, or -1 if it does not fit. */
int vrt_sigv4_authorization(char *buf, size_t size, const vrt_sigv4_req *req);
/* Lower-case hex SHA-256 of len bytes into hex[65]. */
void vrt_sha256_hex(char hex[65], const void *data, size_t len);
/* URI-encodes s (RFC 3986 unreserved kept; '/' kept when keep_slash). */
void vrt_uri_encode(char *buf, size_t size, const char *s, int keep_slash);

#endif /* VRT_STAGING_H */

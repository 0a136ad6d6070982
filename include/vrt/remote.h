/*
 * vrt/remote.h - provider plugins served by a virtrigaud-provider-host
 * process, reached over a socket (Unix or TCP, mutual TLS 1.3 or, only when
 * asked for explicitly, plaintext).
 *
 * Two halves:
 *   - the "remote" transport: vrt_remote_plugin_open connects to a provider
 *     host and returns a vrt_plugin whose vtable forwards every method over
 *     the wire.  The core opens connections on it with vrt_pconn_open and
 *     calls it through the vrt_p_* wrappers exactly like a loaded .so, so
 *     the controller does not care where a plugin runs;
 *   - the wire itself (channels, frames, TLS contexts), shared with the
 *     provider host.  docs/provider-host.md describes the protocol.
 *
 * Wire format: frames of [u32 big-endian length][u8 kind][payload], kind
 * 'J' (one JSON object) or 'B' (raw bytes: disk stream data, cloud-init
 * documents).  A message is one J frame followed by the B frames it
 * announces.  The first message on a connection is the client's hello,
 * which carries VRT_REMOTE_PROTO; a host that speaks another version
 * answers with an error naming both and closes.
 */
#ifndef VRT_REMOTE_H
#define VRT_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>
#include <openssl/ssl.h>
#include <vrt/plugin.h>

#define VRT_REMOTE_PROTO 1
#define VRT_WIRE_MAX_FRAME (64u * 1024u * 1024u)
#define VRT_WIRE_JSON 'J'
#define VRT_WIRE_BLOB 'B'

/* ---------------------------------------------------------------------- */
/* The remote transport                                                    */
/* ---------------------------------------------------------------------- */

/* How to reach a provider host.  Borrowed for the open call; copied. */
typedef struct vrt_remote_opts {
    /* Client certificate, key and the CA that signed the host's
     * certificate, as PEM text (from a Secret) or as files; the text wins
     * when both are set.  All unset only with `insecure`. */
    const char *cert_pem, *key_pem, *ca_pem;
    const char *cert_file, *key_file, *ca_file;
    /* The name the host's certificate must carry (DNS or IP SAN).  NULL:
     * the host of a tls:// URL; for unix:// no name is checked, only the
     * CA. */
    const char *server_name;
    int insecure;    /* plaintext; only for unix:// and tcp:// URLs */
    int skip_verify; /* TLS without checking the host's certificate */
    uint32_t connect_timeout_ms; /* 0: 10 s */
    uint32_t call_timeout_ms;    /* for calls without a deadline; 0: 300 s */
    uint32_t max_connections;    /* per vrt_pconn; 0: 4 */
} vrt_remote_opts;

/*
 * Connects to the provider host at `url` (tls://HOST:PORT,
 * unix:///path, or with opts->insecure tcp://HOST:PORT and plaintext
 * unix:///path), checks the protocol version, and returns a plugin record
 * describing the plugin the host serves.  The record is owned by the
 * caller: free it with vrt_remote_plugin_free once every connection opened
 * on it is closed.  Errors: UNAVAILABLE (cannot connect), UNAUTHORIZED
 * (TLS refused), NOTSUPP (protocol version), INVALID (bad URL or options).
 */
VRT_WUR int vrt_remote_plugin_open(vrt_plugin **out, const char *url,
                                   const vrt_remote_opts *opts,
                                   vrt_error *err);
void vrt_remote_plugin_free(vrt_plugin *p); /* NULL-safe */
/* Non-zero when `p` came from vrt_remote_plugin_open. */
int vrt_plugin_is_remote(const vrt_plugin *p);
/* The URL a remote plugin was opened with, borrowed; NULL for a .so. */
const char *vrt_remote_plugin_url(const vrt_plugin *p);

/* ---------------------------------------------------------------------- */
/* Providers served by a provider host (the manager's side)                */
/* ---------------------------------------------------------------------- */

/* The annotation that sends a Provider to a provider host. */
#define VRT_PROVIDER_HOST_ANNOTATION "virtrigaud.io/provider-host"
/* Optional: the name the host's certificate must carry, when it is not
 * the URL's host. */
#define VRT_PROVIDER_HOST_SERVER_NAME_ANNOTATION                               \
    "virtrigaud.io/provider-host-server-name"

/* The provider-host URL a Provider object is annotated with (borrowed), or
 * NULL when it runs in process. */
const char *vrt_remote_url_of(const cJSON *provider);
/*
 * How the Provider wants its host reached, from
 * spec.runtime.service.tls: *secret_ref (borrowed; NULL with TLS disabled)
 * names the Secret with tls.crt, tls.key and ca.crt.  INVALID with a
 * sentence when the block is missing or incomplete: plaintext needs the
 * explicit tls.enabled: false.
 */
VRT_WUR int vrt_remote_tls_ref(const cJSON **secret_ref,
                               const cJSON *provider, vrt_error *err);
/* Fills *o from the Provider and the TLS Secret's data (NULL-terminated
 * key, value pairs, borrowed: *o points into them). */
VRT_WUR int vrt_remote_opts_from(vrt_remote_opts *o, const cJSON *provider,
                                 char *const *tls_pairs, vrt_error *err);

/* ---------------------------------------------------------------------- */
/* The wire (shared with the provider host)                                */
/* ---------------------------------------------------------------------- */

/* One connected socket, plain or TLS.  Not thread-safe. */
typedef struct vrt_chan {
    int fd;
    SSL *ssl; /* NULL: plaintext */
} vrt_chan;

/* Reads / writes exactly `len` bytes before `deadline_ms` (monotonic, 0 =
 * none).  TIMEOUT, or UNAVAILABLE when the peer went away (err says
 * which). */
VRT_WUR int vrt_chan_read(vrt_chan *ch, void *buf, size_t len,
                          uint64_t deadline_ms, vrt_error *err);
VRT_WUR int vrt_chan_write(vrt_chan *ch, const void *buf, size_t len,
                           uint64_t deadline_ms, vrt_error *err);
/* SSL_connect without SIGPIPE (see remote_wire.c). */
int vrt_tls_connect(SSL *ssl);
/* Shuts TLS down politely, closes the socket, frees the SSL. */
void vrt_chan_close(vrt_chan *ch);

/* One frame.  `data` is malloc'ed (with a NUL after the payload) and owned
 * by the frame; vrt_frame_clear frees it. */
typedef struct vrt_frame {
    uint8_t kind;
    uint32_t len;
    char *data;
} vrt_frame;
void vrt_frame_clear(vrt_frame *f);

/* Reads a frame header only: its kind and length. */
VRT_WUR int vrt_wire_recv_head(uint8_t *kind, uint32_t *len, vrt_chan *ch,
                               uint64_t deadline_ms, vrt_error *err);
/* Reads a whole frame. */
VRT_WUR int vrt_wire_recv(vrt_frame *out, vrt_chan *ch, uint64_t deadline_ms,
                          vrt_error *err);
/* Reads a J frame and parses it (*out owned by the caller, cJSON_Delete).
 * A B frame or bad JSON is INTERNAL. */
VRT_WUR int vrt_wire_recv_json(cJSON **out, vrt_chan *ch,
                               uint64_t deadline_ms, vrt_error *err);
VRT_WUR int vrt_wire_send(vrt_chan *ch, uint8_t kind, const void *data,
                          size_t len, uint64_t deadline_ms, vrt_error *err);
VRT_WUR int vrt_wire_send_json(vrt_chan *ch, const cJSON *msg,
                               uint64_t deadline_ms, vrt_error *err);

/* The error record as JSON ({"code","klass","retry","flags","message"})
 * and back; decoding bounds every field. */
cJSON *vrt_wire_error_json(const vrt_error *err);
void vrt_wire_error_read(vrt_error *err, const cJSON *j);

/* ---------------------------------------------------------------------- */
/* TLS contexts                                                            */
/* ---------------------------------------------------------------------- */

/* A server context for the provider host: TLS 1.3 only, its certificate
 * chain and key, client certificates required and verified against
 * `ca_file`, with the CRL checked when `crl_file` is not NULL.  On failure
 * *out is NULL and `why` holds a sentence naming the file. */
VRT_WUR int vrt_tls_server_ctx(SSL_CTX **out, const char *cert_file,
                               const char *key_file, const char *ca_file,
                               const char *crl_file, char *why,
                               size_t why_size);
/* A client context: TLS 1.3 only, our certificate and key, the CA to
 * verify the host with (unless skip_verify). */
VRT_WUR int vrt_tls_client_ctx(SSL_CTX **out, const char *cert_pem,
                               const char *key_pem, const char *ca_pem,
                               int skip_verify, char *why, size_t why_size);
/* The last OpenSSL error as text ("" when none), and clears the queue. */
void vrt_tls_last_error(char *buf, size_t size);
/* The serial number of the peer's (or, when peer is 0, our own)
 * certificate, in hex; "" when none. */
void vrt_tls_serial(char *buf, size_t size, SSL *ssl, int peer);
/* Non-zero when the certificate has a DNS, IP or URI SAN (or, lacking
 * SANs, a common name) equal to `name`. */
int vrt_tls_cert_has_name(X509 *cert, const char *name);
/* The subject's common name when there is exactly one, else NULL (none
 * or several: a second CN could pass for someone else). */
const ASN1_STRING *vrt_tls_sole_cn(X509 *cert);

/* ---------------------------------------------------------------------- */
/* Codecs: ABI structures as JSON, both ways (shared with the host)        */
/* ---------------------------------------------------------------------- */

/* Encoders never read past the struct; decoders bound every string to its
 * array and leave fields absent from the JSON zero.  vm_info's raw_json is
 * encoded as a string; the decoder allocates it with the host's alloc only
 * when `with_raw` (the caller owns it then). */
cJSON *vrt_codec_vm_info(const vrt_vm_info *in);
void vrt_codec_vm_info_read(vrt_vm_info *out, const cJSON *j, int with_raw);
cJSON *vrt_codec_task_status(const vrt_task_status *in);
void vrt_codec_task_status_read(vrt_task_status *out, const cJSON *j);
cJSON *vrt_codec_disk_info(const vrt_disk_info *in);
void vrt_codec_disk_info_read(vrt_disk_info *out, const cJSON *j);
cJSON *vrt_codec_console(const vrt_console_info *in);
void vrt_codec_console_read(vrt_console_info *out, const cJSON *j);
cJSON *vrt_codec_host_info(const vrt_host_info *in);
void vrt_codec_host_info_read(vrt_host_info *out, const cJSON *j);
/* Numbers and strings of a message, bounded; absent = 0 / NULL. */
uint64_t vrt_codec_u64(const cJSON *j, const char *key);
int64_t vrt_codec_i64(const cJSON *j, const char *key);
const char *vrt_codec_str(const cJSON *j, const char *key);
void vrt_codec_copy(char *dst, size_t size, const char *src);
/* 64-bit masks travel as hex strings (JSON numbers are doubles). */
void vrt_codec_add_mask(cJSON *j, const char *key, uint64_t v);

#endif /* VRT_REMOTE_H */

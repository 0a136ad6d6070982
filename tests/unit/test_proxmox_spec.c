/*
 * test_proxmox_spec.c - the Proxmox VE plugin's translation of spec_json
 * and cloud-init user-data into PVE form bodies (sshkeys double encoding
 * included), and its VM identity check, with the HTTP layer replaced by
 * canned PVE answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../plugins/proxmox/pve_spec.c"
#include "../../plugins/proxmox/pve_util.c"
#include "../../plugins/proxmox/pve_vm.c"

const vrt_host_api *pve_host;

/* --- the HTTP layer, replaced ------------------------------------------- */

static const char *answer_resources;
static const char *answer_config;
static int requests;

int32_t pve_request(cJSON **root, cJSON **data, vrt_conn *conn,
                    const vrt_call *call, const char *method,
                    const char *path, const pve_form *form, vrt_error *err)
{
    const char *body = NULL;

    (void)conn;
    (void)call;
    (void)form;
    requests++;
    assert_string_equal(method, "GET");
    if (!strcmp(path, "/cluster/resources"))
        body = answer_resources;
    else if (strstr(path, "/config"))
        body = answer_config;
    if (!body)
        return pve_err(err, VRT_E_NOTFOUND, "no canned answer for %s", path);
    *root = cJSON_Parse(body);
    assert_non_null(*root);
    if (data)
        *data = cJSON_GetObjectItemCaseSensitive(*root, "data");
    return VRT_OK;
}

int32_t pve_request_upid(char upid[VRT_ID_MAX], vrt_conn *conn,
                         const vrt_call *call, const char *method,
                         const char *path, const pve_form *form,
                         vrt_error *err)
{
    (void)upid; (void)conn; (void)call; (void)method; (void)path; (void)form;
    fail_msg("no task may be started by these tests");
    return pve_err(err, VRT_E_INTERNAL, "unexpected");
}

int32_t pve_task_wait(vrt_conn *conn, const vrt_call *call, const char *upid,
                      vrt_error *err)
{
    (void)conn; (void)call; (void)upid;
    return pve_err(err, VRT_E_INTERNAL, "unexpected");
}

/* --- helpers ---------------------------------------------------------------- */

static char *cloudinit_body(const char *user_data, int32_t *rc)
{
    vrt_vm_spec vs;
    pve_form f = {0};
    vrt_error err = VRT_ERROR_INIT;
    char *out;

    memset(&vs, 0, sizeof(vs));
    vs.struct_size = sizeof(vs);
    vs.spec_json = "{}";
    vs.user_data = (const uint8_t *)user_data;
    vs.user_data_len = strlen(user_data);
    *rc = pve_cloudinit_form(&f, &vs, &err);
    out = strdup(f.s ? f.s : "");
    pve_form_free(&f);
    return out;
}

static char *spec_body(const char *json)
{
    cJSON *js = NULL;
    pve_form f = {0};
    vrt_error err = VRT_ERROR_INIT;
    char *out;

    assert_int_equal(pve_spec_parse(&js, json, &err), VRT_OK);
    pve_spec_form(&f, js, NULL, "local-lvm", 1);
    out = strdup(f.s);
    pve_form_free(&f);
    cJSON_Delete(js);
    return out;
}

/* --- tests ---------------------------------------------------------------------- */

static void urlencode_keeps_only_unreserved(void **state)
{
    char *e = pve_urlencode("a b+c/d=e~f_g.h-i\n");

    (void)state;
    assert_string_equal(e, "a%20b%2Bc%2Fd%3De~f_g.h-i%0A");
    free(e);
}

static void sshkeys_are_encoded_twice(void **state)
{
    int32_t rc;
    char *body = cloudinit_body("#cloud-config\n"
                                "ssh_authorized_keys:\n"
                                "  - ssh-ed25519 AAAA+b/c= alice@example with space\n"
                                "  - ssh-rsa BBBB bob+ops\n", &rc);

    (void)state;
    assert_int_equal(rc, VRT_OK);
    /* inner layer: %20 %2B %2F %3D %0A; outer (form) layer: % -> %25 */
    assert_string_equal(body,
        "sshkeys=ssh-ed25519%2520AAAA%252Bb%252Fc%253D%2520alice%2540example"
        "%2520with%2520space%250Assh-rsa%2520BBBB%2520bob%252Bops");
    free(body);
}

static void cloudinit_user_password_and_user_keys(void **state)
{
    int32_t rc;
    char *body = cloudinit_body("#cloud-config\n"
                                "users:\n"
                                "  - name: alice\n"
                                "    plain_text_passwd: s3 cret\n"
                                "    ssh_authorized_keys: [ssh-ed25519 AAAA k]\n", &rc);

    (void)state;
    assert_int_equal(rc, VRT_OK);
    assert_string_equal(body, "ciuser=alice&cipassword=s3%20cret&sshkeys=ssh-ed25519%2520AAAA%2520k");
    free(body);
}

static void cloudinit_not_yaml_is_invalid(void **state)
{
    int32_t rc;
    char *body = cloudinit_body("users: [unclosed\n", &rc);

    (void)state;
    assert_int_equal(rc, VRT_E_INVALID);
    free(body);
}

static void nics_from_attachment(void **state)
{
    char *body = spec_body(
        "{\"cpu\":2,\"memoryMiB\":2048,\"firmware\":\"UEFI\","
        "\"networks\":[{\"name\":\"lan\",\"ipAddress\":\"10.0.0.5\",\"prefix\":16,"
        "\"gateway\":\"10.0.0.1\",\"dns\":[\"1.1.1.1\",\"9.9.9.9\"],"
        "\"attachment\":{\"bridge\":\"vmbr1\",\"model\":\"e1000\",\"vlanTag\":42,"
        "\"firewall\":true,\"rateLimit\":10,\"mtu\":9000}},"
        "{\"name\":\"b\",\"macAddress\":\"BC:24:11:00:00:02\"}]}");

    (void)state;
    assert_string_equal(body,
        "cores=2&sockets=1&memory=2048&bios=ovmf"
        "&efidisk0=local-lvm%3A1%2Cefitype%3D4m%2Cpre-enrolled-keys%3D0"
        "&net0=e1000%2Cbridge%3Dvmbr1%2Ctag%3D42%2Cfirewall%3D1%2Crate%3D10%2Cmtu%3D9000"
        "&ipconfig0=ip%3D10.0.0.5%2F16%2Cgw%3D10.0.0.1"
        "&net1=virtio%3DBC%3A24%3A11%3A00%3A00%3A02%2Cbridge%3Dvmbr0"
        "&ipconfig1=ip%3Ddhcp&nameserver=1.1.1.1%209.9.9.9");
    free(body);
}

static void spec_must_be_an_object(void **state)
{
    cJSON *js = NULL;
    vrt_error err = VRT_ERROR_INIT;

    (void)state;
    assert_int_equal(pve_spec_parse(&js, "[1]", &err), VRT_E_INVALID);
    assert_null(js);
    assert_int_equal(pve_spec_parse(&js, "not json", &err), VRT_E_INVALID);
}

static void ids_parse(void **state)
{
    pve_vm vm;
    vrt_error err = VRT_ERROR_INIT;

    (void)state;
    assert_int_equal(pve_parse_id(&vm, "104-0123456789abcdef", &err), VRT_OK);
    assert_int_equal(vm.vmid, 104);
    assert_string_equal(vm.marker, "0123456789abcdef");
    assert_int_equal(pve_parse_id(&vm, "104", &err), VRT_E_NOTFOUND);
    assert_int_equal(pve_parse_id(&vm, "99-0123456789abcdef", &err), VRT_E_NOTFOUND);
    assert_int_equal(pve_parse_id(&vm, "104-0123456789abcdeg", &err), VRT_E_NOTFOUND);
}

#define RESOURCES "{\"data\":[{\"type\":\"qemu\",\"vmid\":104,\"node\":\"pve2\"}]}"

static void locate_finds_our_vm(void **state)
{
    pve_vm vm;
    cJSON *conf = NULL;
    vrt_error err = VRT_ERROR_INIT;
    vrt_conn conn;

    (void)state;
    memset(&conn, 0, sizeof(conn));
    answer_resources = RESOURCES;
    answer_config = "{\"data\":{\"name\":\"web\",\"description\":\"x\\nvirtrigaud-id: 0123456789abcdef\"}}";
    assert_int_equal(pve_locate(&vm, &conf, &conn, NULL, "104-0123456789abcdef", &err), VRT_OK);
    assert_string_equal(vm.node, "pve2");
    assert_string_equal(cJSON_GetObjectItem(conf, "name")->valuestring, "web");
    cJSON_Delete(conf);
}

static void locate_refuses_a_reused_vmid(void **state)
{
    pve_vm vm;
    cJSON *conf = NULL;
    vrt_error err = VRT_ERROR_INIT;
    vrt_conn conn;

    (void)state;
    memset(&conn, 0, sizeof(conn));
    answer_resources = RESOURCES;
    /* same VMID, another owner: another marker, then none at all */
    answer_config = "{\"data\":{\"name\":\"web\",\"description\":\"virtrigaud-id: fedcba9876543210\"}}";
    assert_int_equal(pve_locate(&vm, &conf, &conn, NULL, "104-0123456789abcdef", &err), VRT_E_NOTFOUND);
    assert_null(conf);
    assert_non_null(strstr(err.message, "now names another VM"));
    answer_config = "{\"data\":{\"name\":\"web\"}}";
    assert_int_equal(pve_locate(&vm, &conf, &conn, NULL, "104-0123456789abcdef", &err), VRT_E_NOTFOUND);
    answer_resources = "{\"data\":[]}";
    assert_int_equal(pve_locate(&vm, &conf, &conn, NULL, "104-0123456789abcdef", &err), VRT_E_NOTFOUND);
}

static void log_sink(vrt_host_ctx *ctx, int32_t level, const char *m)
{
    (void)ctx; (void)level; (void)m;
}

int main(void)
{
    static vrt_host_api host;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(urlencode_keeps_only_unreserved),
        cmocka_unit_test(sshkeys_are_encoded_twice),
        cmocka_unit_test(cloudinit_user_password_and_user_keys),
        cmocka_unit_test(cloudinit_not_yaml_is_invalid),
        cmocka_unit_test(nics_from_attachment),
        cmocka_unit_test(spec_must_be_an_object),
        cmocka_unit_test(ids_parse),
        cmocka_unit_test(locate_finds_our_vm),
        cmocka_unit_test(locate_refuses_a_reused_vmid),
    };

    host.struct_size = sizeof(host);
    host.log = log_sink;
    pve_host = &host;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

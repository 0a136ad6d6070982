# The Proxmox VE provider: the PVE REST API over libcurl, cJSON for the
# answers, spec_json and the Provider settings, libyaml to read the
# cloud-init user-data keys PVE takes (ciuser, sshkeys, cipassword).
proxmox_PKGS := libcurl libcjson yaml-0.1
proxmox_LIBS := -lpthread

# tests/unit/test_proxmox_spec.c includes the spec, util and VM-identity
# files of this plugin.
TEST_proxmox_spec_PKGS := yaml-0.1

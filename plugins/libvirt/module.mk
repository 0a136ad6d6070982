# The libvirt provider: the libvirt C API only (no virsh), libxml2 for the
# domain XML, cJSON for spec_json, libcrypto for the spec fingerprint and
# libarchive for the cloud-init NoCloud seed ISO.
libvirt_PKGS := libvirt libxml-2.0 libcjson libcrypto libarchive libcurl

# tests/unit/test_libvirt_xml.c includes the XML files of this plugin, so
# it needs libxml2 (read by the Makefile's unit test rules).
TEST_libvirt_xml_PKGS := libxml-2.0

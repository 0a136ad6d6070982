# The vSphere provider: the vim25 SOAP API over libcurl, libxml2 for the
# responses (parsed by namespace URI), cJSON for spec_json and the Provider
# settings, libcrypto for the spec fingerprint and VM ids.
vsphere_PKGS := libcurl libxml-2.0 libcjson libcrypto

# tests/unit/test_vsphere_xml.c includes the XML and utility files.
TEST_vsphere_xml_PKGS := libxml-2.0 libcjson libcrypto

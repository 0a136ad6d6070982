# vcts, the provider conformance test suite: cJSON reads its --config file
# and checks the JSON documents plugins hand back (raw_json).
vcts_PKGS := libcjson openssl

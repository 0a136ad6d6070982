# shellcheck shell=bash
# tests/provider-host/certs.sh - test certificates made with the openssl
# CLI: sourced by run.sh.  Every CA is an `openssl ca` directory, so that
# certificates can be given past validity dates and revoked into a CRL.

# ca_new DIR CN: a self-signed CA (P-256) with its `openssl ca` database.
ca_new() {
    local d=$1 cn=$2
    mkdir -p "$d/new"
    : >"$d/index.txt"
    echo 1000 >"$d/serial"
    echo 01 >"$d/crlnumber"
    cat >"$d/ca.cnf" <<CNF
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $d
database = \$dir/index.txt
new_certs_dir = \$dir/new
certificate = \$dir/ca.crt
private_key = \$dir/ca.key
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = 30
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = copy
[ policy_any ]
commonName = supplied
CNF
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$d/ca.key" -out "$d/ca.crt" -subj "/CN=$cn" -days 30 \
        -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

# cert_new CADIR OUT CN SAN [openssl-ca-date-args...]: OUT.key, OUT.crt
# signed by the CA, with subjectAltName SAN (e.g. DNS:x,IP:127.0.0.1).
cert_new() {
    local ca=$1 out=$2 cn=$3 san=$4
    shift 4
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$out.key" -out "$out.csr" -subj "/CN=$cn" \
        -addext "subjectAltName=$san" 2>/dev/null &&
    openssl ca -batch -notext -config "$ca/ca.cnf" -in "$out.csr" \
        -out "$out.crt" "$@" 2>/dev/null
}

# cert_revoke CADIR CERT CRL: revokes CERT and writes the CA's CRL.
cert_revoke() {
    openssl ca -config "$1/ca.cnf" -revoke "$2" 2>/dev/null &&
    openssl ca -config "$1/ca.cnf" -gencrl -out "$3" 2>/dev/null
}

# cert_serial CERT: its serial number in hex, as openssl prints it.
cert_serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }

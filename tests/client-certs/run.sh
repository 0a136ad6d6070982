#!/usr/bin/env bash
# Client certificates on the standalone API server (--client-ca,
# --client-crl), driven with the real kubectl: the subject's CN is the
# user and its O entries the groups; virtrigaud:admins may write,
# virtrigaud:viewers only read, a certificate in no group nothing.  A
# certificate from another CA, an expired one and a revoked one are
# refused; a new CRL is picked up without a restart.  Certificates are
# made here with the openssl CLI (`openssl ca` for the dates and the CRL).
#
#   BUILD=/tmp/build bash tests/client-certs/run.sh   (or via tests/run.sh)
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl
t_need openssl
t_mktemp D
cd "$D" || exit 2

# --- a CA with `openssl ca`, and the client certificates ----------------------
mkdir -p ca/new && : >ca/index.txt && echo 1000 >ca/serial && echo 1000 >ca/crlnumber
cat >ca.cnf <<EOF
[ca]
default_ca = test
[test]
dir = $D/ca
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $D/ca.crt
private_key = $D/ca.key
default_md = sha256
default_days = 30
default_crl_days = 30
policy = any
unique_subject = no
copy_extensions = none
x509_extensions = client
[any]
commonName = supplied
organizationName = optional
[client]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
EOF
quiet() { "$@" >/dev/null 2>&1; }
quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.crt -days 30 -subj "/CN=virtrigaud test client CA"
quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout other-ca.key -out other-ca.crt -days 30 -subj "/CN=another CA"

# client NAME SUBJECT [openssl ca options...]: NAME.key + NAME.crt from our CA.
client() {
    local name=$1 subj=$2
    shift 2
    quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$name.key" -out "$name.csr" -subj "$subj"
    openssl ca -batch -config ca.cnf -in "$name.csr" -out "$name.crt" "$@" >/dev/null 2>&1
}
client alice "/O=virtrigaud:admins/CN=alice"
client bob "/O=virtrigaud:viewers/CN=bob"
client carol "/O=accounting/CN=carol"
client old "/O=virtrigaud:admins/CN=old" -startdate 20200101000000Z -enddate 20200201000000Z
client mallory "/O=virtrigaud:admins/CN=mallory"
quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout eve.key -out eve.csr -subj "/O=virtrigaud:admins/CN=eve"
quiet openssl x509 -req -in eve.csr -CA other-ca.crt -CAkey other-ca.key \
    -CAcreateserial -out eve.crt -days 30
# signed NAME SUBJECT: NAME.crt from our CA with the subject exactly as
# given (openssl ca would rebuild it from its policy).
signed() {
    quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$1.key" -out "$1.csr" -subj "$2" -multivalue-rdn
    printf 'extendedKeyUsage = clientAuth\n' >"$1.ext"
    quiet openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key \
        -CAcreateserial -out "$1.crt" -days 30 -extfile "$1.ext"
}
signed nocn "/O=virtrigaud:admins"
signed twocn "/O=virtrigaud:admins/CN=alice/CN=root"
quiet openssl ca -config ca.cnf -gencrl -out crl.pem
for f in alice bob carol old mallory eve; do
    [ -s "$f.crt" ] || { t_fail "openssl made the $f certificate" "$f.crt is missing"; t_done; }
done
t_pass "openssl made the CA, six client certificates and a CRL"

t_start_manager MGR "$D/data" --no-controller --client-ca "$D/ca.crt" \
    --client-crl "$D/crl.pem" || t_done
t_pass "the manager starts with --client-ca and --client-crl"

# as NAME ARGS...: kubectl with NAME's certificate and no token.
SERVER=$(kubectl config view --raw -o jsonpath='{.clusters[0].cluster.server}')
kubectl config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' |
    base64 -d >server-ca.crt
as() {
    local who=$1
    shift
    kubectl --kubeconfig=/dev/null --server="$SERVER" \
        --certificate-authority="$D/server-ca.crt" \
        --client-certificate="$D/$who.crt" --client-key="$D/$who.key" \
        --request-timeout=20s "$@"
}

t_run "alice (virtrigaud:admins) creates a ConfigMap" as alice create configmap from-alice --from-literal=a=1
t_run "alice deletes it" as alice delete configmap from-alice
t_run "bob (virtrigaud:viewers) lists ConfigMaps" as bob get configmaps
t_grep "bob cannot create (403 naming his rights)" 'user "bob" may only get, list and watch; POST needs' \
    as bob create configmap from-bob --from-literal=a=1
t_grep "carol (no virtrigaud group) cannot even read (403)" 'Forbidden.*"carol" is in no virtrigaud group' \
    as carol get configmaps
for who in nocn twocn; do
    if [ -s "$D/$who.crt" ]; then
        t_grep "an admin certificate with $who is given no rights (403)" 'Forbidden|forbidden' \
            as "$who" get configmaps
    else
        t_fail "openssl made the $who certificate" "$who.crt is missing"
    fi
done
t_grep "eve (signed by another CA) is refused (401)" 'Unauthorized|must be logged in' \
    as eve get configmaps
t_grep "an expired certificate is refused (401)" 'Unauthorized|must be logged in' \
    as old get configmaps
t_run "mallory is accepted before her certificate is revoked" as mallory get configmaps

# Revoke mallory and write a new CRL: picked up without a restart.
quiet openssl ca -config ca.cnf -revoke mallory.crt
quiet openssl ca -config ca.cnf -gencrl -out crl.new && mv crl.new crl.pem
sleep 1.1
t_grep "after the CRL is replaced, mallory is refused (401), no restart" \
    'Unauthorized|must be logged in' as mallory get configmaps
t_run "... and alice still works" as alice get configmaps
t_grep "the log says why each certificate was refused" \
    'certificate has expired' cat "$MGR_LOG"
t_grep "... including the revoked one" 'certificate revoked' cat "$MGR_LOG"
t_grep "... and the other CA's" 'unable to get local issuer certificate' cat "$MGR_LOG"
t_grep "the audit log names the certificate's user" \
    'audit: user="alice" method=POST path="/api/v1/namespaces/default/configmaps" status=201' \
    cat "$MGR_LOG"
t_grep "... and the refused viewer" 'audit: refused user="bob" method=POST' cat "$MGR_LOG"
t_run "the admin token still works alongside certificates" k get configmaps

t_stop "$MGR"
t_mktemp E
t_grep "a --client-ca without a certificate in it stops the start with a clear error" \
    'client-ca .* holds no readable PEM certificate' \
    timeout 20 "$BUILD/bin/virtrigaud-manager" --standalone --data-dir "$E" --port 0 \
    --no-controller --client-ca "$D/crl.pem"
t_done

#!/usr/bin/env bash
# VMMigration staging backends against real servers on loopback: S3 (npm
# s3rver, in tests/staging/node_modules) and SFTP (openssh-server's sshd,
# started here with its own config, host key and authorized key; the
# system's sshd is not touched).  Between two mock providers:
#   - through S3 and through SFTP: Ready, content SHA-256 equal on both
#     sides, the staged object where storageInfo.url says, kept with
#     cleanupPolicy Never and removed with OnSuccess;
#   - kill -9 of the manager while the S3 multipart upload runs: after the
#     restart the upload goes on after the parts already there (counted in
#     s3rver's request log: no part below the resume point sent twice);
#   - ListParts, which s3rver lacks, against the stand-in
#     tests/staging/s3-listparts.mjs (pages of 2 parts): a resume after
#     kill -9 follows all pages and sends no held part again, the object is
#     the source disk; a stand-in that lost a part it acknowledged makes
#     the resume start after the last part both agree on; one whose pages
#     do not end (a marker that does not advance, a truncated page without
#     one, 10000 parts of another size) is listed a bounded number of times,
#     warned about, and what it did not list is sent again;
#   - refusals: a wrong S3 access key, an unknown SSH host key, a wrong SSH
#     key, a loopback endpoint without --migration-storage-allowed-hosts,
#     169.254.169.254 always; no credential in logs, events or status.
# s3rver does not verify SigV4 signatures (only the access key id), so the
# signature itself is checked by tests/unit/test_staging.c against AWS's
# published example.
#
#   BUILD=/tmp/build bash tests/staging/run.sh      (or via tests/run.sh)
set -u
. "$(dirname "$0")/../lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
t_need kubectl
t_need sha256sum
t_need node
t_need ssh-keygen
if [ ! -x /usr/sbin/sshd ]; then
    t_skip "staging suite" "openssh-server is not installed (/usr/sbin/sshd; tools/install-deps.sh)"
    t_done
fi
if [ ! -x "$HERE/node_modules/.bin/s3rver" ]; then
    t_skip "staging suite" "s3rver is not installed (npm ci in tests/staging; tools/install-deps.sh)"
    t_done
fi
WAIT=${WAIT:-60}
t_mktemp D

# --- S3: s3rver on loopback --------------------------------------------------
S3PORT=$(t_free_port)
mkdir -p "$D/s3"
t_bg S3 node "$HERE/node_modules/.bin/s3rver" -d "$D/s3" -a 127.0.0.1 -p "$S3PORT" \
    --configure-bucket vrt-stage
t_wait_port "$S3PORT" 20 || { t_fail "s3rver starts" "$(cat "$S3_LOG")"; t_done; }
t_pass "s3rver listens on 127.0.0.1:$S3PORT"

# --- SFTP: sshd on loopback ------------------------------------------------------
SSHP=$(t_free_port)
mkdir -p "$D/ssh" "$D/sftp"
ssh-keygen -q -t ed25519 -N '' -C host -f "$D/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -C other -f "$D/ssh/other_host_key"
ssh-keygen -q -t ed25519 -N '' -C client -f "$D/ssh/client"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$D/ssh/stranger"
cp "$D/ssh/client.pub" "$D/ssh/authorized_keys"
ME=$(id -un)
[ "$(id -u)" = 0 ] && [ ! -d /run/sshd ] && mkdir -p /run/sshd # privilege separation dir
cat >"$D/ssh/sshd_config" <<EOF
Port $SSHP
ListenAddress 127.0.0.1
HostKey $D/ssh/host_key
PidFile $D/ssh/sshd.pid
AuthorizedKeysFile $D/ssh/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $ME
Subsystem sftp internal-sftp
EOF
t_bg SSHD /usr/sbin/sshd -D -e -f "$D/ssh/sshd_config"
t_wait_port "$SSHP" 20 || { t_fail "sshd starts" "$(cat "$SSHD_LOG")"; t_done; }
t_pass "sshd listens on 127.0.0.1:$SSHP (own config and host key)"
known() { echo "[127.0.0.1]:$SSHP $(cut -d' ' -f1,2 "$1")"; }

S3SECRET=vrt-s3-secret-Zq81xPw
t_secret "$S3SECRET" vrt-pw-Kd83 "$(sed -n 2p "$D/ssh/client")"
t_start_manager MGR "$D/data" --staging-dir "$D/staging" \
    --migration-storage-allowed-hosts 127.0.0.1 || t_done
t_pass "the manager starts with --migration-storage-allowed-hosts 127.0.0.1"

cat >"$D/base.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: old}
spec:
  type: mock
  endpoint: mock://stage-old
  mock: {diskSizeBytes: 41943040}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: new}
spec:
  type: mock
  endpoint: mock://stage-new
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: small}
spec: {cpu: 1, memory: 1Gi}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: img}
spec:
  source:
    http: {url: "http://images.invalid/x.qcow2"}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: app}
spec:
  providerRef: {name: old}
  classRef: {name: small}
  imageRef: {name: img}
---
apiVersion: v1
kind: Secret
metadata: {name: s3-creds}
stringData: {accessKeyID: S3RVER, secretAccessKey: $S3SECRET}
---
apiVersion: v1
kind: Secret
metadata: {name: s3-wrong}
stringData: {accessKeyID: NOT-A-KEY, secretAccessKey: $S3SECRET}
YAML
t_run "apply providers, a VM and the S3 Secrets" k apply -f "$D/base.yaml"
t_run "create the SFTP Secret (private key, known_hosts)" \
    k create secret generic sftp-creds --from-literal=username="$ME" \
    --from-file=privateKey="$D/ssh/client" --from-file=knownHosts=<(known "$D/ssh/host_key.pub")
known "$D/ssh/host_key.pub" >"$D/ssh/known_hashed"
ssh-keygen -q -H -f "$D/ssh/known_hashed" 2>/dev/null
t_grep "ssh-keygen -H hashed the host name" '^\|1\|' cat "$D/ssh/known_hashed"
t_run "create an SFTP Secret whose known_hosts line is hashed" \
    k create secret generic sftp-hashed --from-literal=username="$ME" \
    --from-file=privateKey="$D/ssh/client" --from-file=knownHosts="$D/ssh/known_hashed"
t_run "create an SFTP Secret with a password (the server takes keys only)" \
    k create secret generic sftp-password --from-literal=username="$ME" \
    --from-literal=password=vrt-pw-Kd83 --from-file=knownHosts=<(known "$D/ssh/host_key.pub")
t_run "create an SFTP Secret that knows another host key" \
    k create secret generic sftp-unknown --from-literal=username="$ME" \
    --from-file=privateKey="$D/ssh/client" --from-file=knownHosts=<(known "$D/ssh/other_host_key.pub")
t_run "create an SFTP Secret with a key the server does not accept" \
    k create secret generic sftp-stranger --from-literal=username="$ME" \
    --from-file=privateKey="$D/ssh/stranger" --from-file=knownHosts=<(known "$D/ssh/host_key.pub")
t_run "the VM is Ready" timeout 40 kubectl wait --for=condition=Ready vm/app --timeout=30s

s3mig() { # s3mig NAME TARGET SECRET ENDPOINT [CLEANUP]
    cat >"$D/mig-$1.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata: {name: $1}
spec:
  source: {vmRef: {name: app}}
  target: {name: $2, providerRef: {name: new}, powerOn: true}
  options:
    diskFormat: qcow2
    cleanupPolicy: ${5:-OnSuccess}
    retryPolicy: {maxRetries: 0}
  storage:
    type: s3
    s3: {bucket: vrt-stage, endpoint: "$4", usePathStyle: true, prefix: team-a,
         credentialsSecretRef: {name: $3}}
YAML
    t_run "apply VMMigration $1 (S3)" k apply -f "$D/mig-$1.yaml"
}
sftpmig() { # sftpmig NAME TARGET SECRET HOST [CLEANUP]
    cat >"$D/mig-$1.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata: {name: $1}
spec:
  source: {vmRef: {name: app}}
  target: {name: $2, providerRef: {name: new}, powerOn: true}
  options:
    diskFormat: qcow2
    cleanupPolicy: ${5:-OnSuccess}
    retryPolicy: {maxRetries: 0}
  storage:
    type: sftp
    sftp: {host: "$4", port: $SSHP, path: "$D/sftp", credentialsSecretRef: {name: $3}}
YAML
    t_run "apply VMMigration $1 (SFTP)" k apply -f "$D/mig-$1.yaml"
}
s3obj() { echo "$D/s3/vrt-stage/team-a/vmmigrations/default/$1/export.raw._S3rver_object"; }

# --- through S3 -------------------------------------------------------------
s3mig s3keep app-s3 s3-creds "http://127.0.0.1:$S3PORT" Never
t_wait_jp "through S3: the migration reaches Ready" vmmigration/s3keep '{.status.phase}' '^Ready$'
t_grep "it went Exporting, Transferring, Converting (events)" \
    'Exporting Transferring Converting Importing' evreasons s3keep
src=$(jp vmmigration/s3keep '{.status.diskInfo.sourceChecksum}')
t_eq "the disk read back from the target has the source's content SHA-256" \
    "$src" "$(jp vmmigration/s3keep '{.status.diskInfo.targetChecksum}')"
t_grep "storageInfo.url names the bucket and key, no credentials" \
    '^s3://vrt-stage/team-a/vmmigrations/default/s3keep/export\.raw$' \
    jp vmmigration/s3keep '{.status.storageInfo.url}'
t_eq "the object in s3rver's store is the exported disk (sha256sum = content SHA-256)" \
    "$src" "$(sha256sum "$(s3obj s3keep)" 2>/dev/null | cut -d' ' -f1)"
t_grep "storageInfo.size is the object's size (40 MiB)" '^41943040$' \
    jp vmmigration/s3keep '{.status.storageInfo.size}'
t_eq "the upload record (KEY.upload) is gone after the upload completed" no \
    "$([ -e "$D/s3/vrt-stage/team-a/vmmigrations/default/s3keep/export.raw.upload._S3rver_object" ] && echo yes || echo no)"
# s3rver logs each answered request as its URL's tail, the status and the time.
t_grep "the upload went in 16 MiB parts (3 for 40 MiB)" '^3$' \
    sh -c "grep -Eo 's3keep/export\.raw\?partNumber=[0-9]+&uploadId=[0-9a-f]+ 200' '$S3_LOG' | sort -u | wc -l"
t_wait_jp "the target VM runs" vm/app-s3 '{.status.phase}' '^Running$'

s3mig s3clean app-s3c s3-creds "http://127.0.0.1:$S3PORT"
t_wait_jp "through S3 with cleanupPolicy OnSuccess: Ready" vmmigration/s3clean '{.status.phase}' '^Ready$'
t_grep "storageInfo.cleanedUp is true" '^true$' jp vmmigration/s3clean '{.status.storageInfo.cleanedUp}'
t_eq "the staged object was removed from the bucket" no \
    "$([ -e "$(s3obj s3clean)" ] && echo yes || echo no)"
t_eq "the local scratch copy was removed" no \
    "$([ -e "$D/staging/default_s3clean" ] && echo yes || echo no)"

# --- through SFTP -------------------------------------------------------------
sftpmig sftpkeep app-sftp sftp-creds 127.0.0.1 Never
t_wait_jp "through SFTP: the migration reaches Ready" vmmigration/sftpkeep '{.status.phase}' '^Ready$'
src=$(jp vmmigration/sftpkeep '{.status.diskInfo.sourceChecksum}')
t_eq "the disk read back from the target has the source's content SHA-256" \
    "$src" "$(jp vmmigration/sftpkeep '{.status.diskInfo.targetChecksum}')"
t_grep "storageInfo.url is sftp://host:port/path, no user name" \
    "^sftp://127\\.0\\.0\\.1:$SSHP$D/sftp/default_sftpkeep/export\\.raw\$" \
    jp vmmigration/sftpkeep '{.status.storageInfo.url}'
t_eq "the file on the SFTP server is the exported disk" \
    "$src" "$(sha256sum "$D/sftp/default_sftpkeep/export.raw" 2>/dev/null | cut -d' ' -f1)"
sftpmig sftpclean app-sftpc sftp-hashed 127.0.0.1
t_wait_jp "through SFTP, host key from a hashed known_hosts line, cleanupPolicy OnSuccess: Ready" vmmigration/sftpclean '{.status.phase}' '^Ready$'
t_eq "the staged file and its directory were removed from the server" no \
    "$([ -e "$D/sftp/default_sftpclean" ] && echo yes || echo no)"

# --- refusals -------------------------------------------------------------------
s3mig s3wrong nowhere1 s3-wrong "http://127.0.0.1:$S3PORT"
t_wait_jp "a wrong S3 access key: Failed, naming the credentials" vmmigration/s3wrong \
    '{.status.phase}/{.status.message}' \
    '^Failed/Staging: The S3 endpoint refused the credentials in spec\.storage\.s3\.credentialsSecretRef while opening the bucket "vrt-stage" \(HTTP 403\)\.$'
t_grep "... and the Ready condition says the same" 'credentialsSecretRef' \
    jp vmmigration/s3wrong '{.status.conditions[?(@.type=="Ready")].message}'
sftpmig sftpunknown nowhere2 sftp-unknown 127.0.0.1
t_wait_jp "an unknown SSH host key: refused, saying so" vmmigration/sftpunknown \
    '{.status.phase}/{.status.message}' \
    "^Failed/Staging: SFTP: the host key of 127\\.0\\.0\\.1:$SSHP \\(ssh-ed25519 SHA256:.*\\) is not the one listed for it in the knownHosts"
sftpmig sftpstranger nowhere3 sftp-stranger 127.0.0.1
t_wait_jp "a private key the server does not accept: Failed, naming the Secret" \
    vmmigration/sftpstranger '{.status.phase}/{.status.message}' \
    "^Failed/Staging: SFTP: 127\\.0\\.0\\.1:$SSHP refused the privateKey of user \"$ME\" from spec\\.storage\\.sftp\\.credentialsSecretRef"
sftpmig sftppw nowhere9 sftp-password 127.0.0.1
t_wait_jp "a password the server does not take: Failed, naming the Secret" \
    vmmigration/sftppw '{.status.phase}/{.status.message}' \
    "^Failed/Staging: SFTP: 127\\.0\\.0\\.1:$SSHP refused the password of user \"$ME\" from spec\\.storage\\.sftp\\.credentialsSecretRef"
s3mig s3meta nowhere4 s3-creds "http://169.254.169.254:80"
t_wait_jp "169.254.169.254 is refused even with an allow list" vmmigration/s3meta \
    '{.status.phase}/{.status.message}' \
    '^Failed/Staging: spec\.storage\.s3\.endpoint: the host "169\.254\.169\.254" is the cloud metadata address'
s3mig s3other nowhere5 s3-creds "http://127.0.0.2:$S3PORT"
t_wait_jp "a loopback address not in the allow list is refused" vmmigration/s3other \
    '{.status.phase}/{.status.message}' \
    '^Failed/Staging: spec\.storage\.s3\.endpoint: the host "127\.0\.0\.2" resolves to the loopback address 127\.0\.0\.2'

t_grep "no S3 secret in any status" '^0$' \
    sh -c "kubectl get vmmigrations -o yaml | grep -c '$S3SECRET'"
t_grep "no S3 secret in any event" '^0$' \
    sh -c "kubectl get events -o yaml | grep -c '$S3SECRET'"
t_grep "no credential in the manager's log" '^0$' \
    sh -c "grep -c -e '$S3SECRET' -e 'PRIVATE KEY' -e vrt-pw-Kd83 '$MGR_LOG'"
t_stop "$MGR"
t_grep "the manager stopped without a sanitizer report (leaks, UB)" '^0$' \
    sh -c "grep -c -e 'Sanitizer' -e 'runtime error' '$MGR_LOG'"

# --- without the allow list: loopback is refused ------------------------------
t_start_manager M2 "$D/data" --staging-dir "$D/staging" || t_done
# The mock keeps no state across the restart: the source VM is made again
# first (a migration that starts before it has its id fails Validating).
t_wait_jp "after the restart the source VM is Ready again" vm/app \
    '{.status.conditions[?(@.type=="Ready")].status}|{.status.id}' '^True\|mock-'
s3mig s3loop nowhere6 s3-creds "http://127.0.0.1:$S3PORT"
t_wait_jp "without --migration-storage-allowed-hosts, endpoint 127.0.0.1 is refused (SSRF), naming the field" \
    vmmigration/s3loop '{.status.phase}/{.status.message}' \
    '^Failed/Staging: spec\.storage\.s3\.endpoint: the host "127\.0\.0\.1" resolves to the loopback address 127\.0\.0\.1, which is refused unless the manager.s --migration-storage-allowed-hosts lists it\.$'
sftpmig sftploop nowhere7 sftp-creds localhost
t_wait_jp "... and so is an SFTP host that resolves to loopback" vmmigration/sftploop \
    '{.status.phase}/{.status.message}' \
    '^Failed/Staging: spec\.storage\.sftp\.host: the host "localhost" resolves to the loopback address'
s3mig s3meta2 nowhere8 s3-creds "http://169.254.169.254"
t_wait_jp "... and 169.254.169.254" vmmigration/s3meta2 '{.status.phase}/{.status.message}' \
    '^Failed/Staging: spec\.storage\.s3\.endpoint: the host "169\.254\.169\.254" is the cloud metadata address'
t_stop "$M2"

# --- kill -9 during the S3 upload, then restart: the multipart upload resumes ---
t_start_manager M3 "$D/data3" --staging-dir "$D/staging3" \
    --migration-storage-allowed-hosts 127.0.0.1 || t_done
sed -e 's/stage-old/crash-old/; s/stage-new/crash-new/' \
    -e "s|diskSizeBytes: 41943040|diskSizeBytes: 134217728, stateFile: $D/crash-old.json|" \
    "$D/base.yaml" >"$D/crash.yaml"
cat >>"$D/crash.yaml" <<'YAML'
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: new}
spec:
  type: mock
  endpoint: mock://crash-new
  mock: {importMaxBytes: 1073741824}
YAML
t_run "a fresh manager with a 128 MiB source disk" k apply -f "$D/crash.yaml"
t_run "its VM is Ready" timeout 40 kubectl wait --for=condition=Ready vm/app --timeout=30s
cat >"$D/mig-big.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata: {name: big}
spec:
  source: {vmRef: {name: app}}
  target: {name: app-big, providerRef: {name: new}}
  options: {diskFormat: raw, cleanupPolicy: Never}
  storage:
    type: s3
    s3: {bucket: vrt-stage, endpoint: "http://127.0.0.1:$S3PORT", usePathStyle: true,
         credentialsSecretRef: {name: s3-creds}}
YAML
t_run "apply a migration of it through S3" k apply -f "$D/mig-big.yaml"
# the parts s3rver accepted, one number a line, as often as each was sent
sent() { grep -Eo 'big/export\.raw\?partNumber=[0-9]+&uploadId=[0-9a-f]+ 200' "$S3_LOG" |
         sed 's/.*partNumber=\([0-9]*\).*/\1/'; }
parts() { sent | wc -l; }
killed=0 end=$((SECONDS + 90))
while [ "$SECONDS" -lt "$end" ]; do
    if [ "$(parts)" -ge 2 ]; then
        kill -9 "$M3" && killed=1
        break
    fi
    sleep 0.05
done
wait "$M3" 2>/dev/null
before=$(parts)
t_eq "the manager was killed with the upload part-way ($before of 8 parts sent)" \
    1 "$(( killed == 1 && before >= 2 && before < 8 ))"
t_eq "while the upload is cut off, the object does not exist yet but its record does" \
    "no yes" "$([ -e "$D/s3/vrt-stage/vmmigrations/default/big/export.raw._S3rver_object" ] && echo yes || echo no) $(
    [ -e "$D/s3/vrt-stage/vmmigrations/default/big/export.raw.upload._S3rver_object" ] && echo yes || echo no)"
t_start_manager M4 "$D/data3" --staging-dir "$D/staging3" \
    --migration-storage-allowed-hosts 127.0.0.1 || t_done
t_wait_jp "after the restart the migration completes" vmmigration/big '{.status.phase}' '^Ready$' 120
t_grep "the S3 upload resumed after the parts already uploaded" \
    'Resuming the S3 upload key="vmmigrations/default/big/export.raw" after part [1-9]' cat "$M4_LOG"
resumed=$(sed -n 's/.*Resuming the S3 upload key="vmmigrations\/default\/big\/export.raw" after part \([0-9]*\).*/\1/p' "$M4_LOG" | head -n 1)
t_eq "every part up to the resume point ($resumed) was sent once, not again" \
    "" "$(sent | sort -n | uniq -c |
          awk -v r="${resumed:-0}" '$2 <= r && $1 != 1 {print "part " $2 " sent " $1 " times"}')"
t_eq "all 8 parts are there, none skipped" "1 2 3 4 5 6 7 8" "$(sent | sort -nu | xargs)"
t_grep "the export itself resumed at the byte after those parts" \
    "Resuming the export vmmigration=\"default/big\" at byte $(( ${resumed:-0} * 16777216 ))\$" cat "$M4_LOG"
big=$(jp vmmigration/big '{.status.diskInfo.sourceChecksum}')
t_eq "the completed object's sha256sum is the content SHA-256" \
    "$big" "$(sha256sum "$D/s3/vrt-stage/vmmigrations/default/big/export.raw._S3rver_object" | cut -d' ' -f1)"
t_eq "and the disk read back from the target matches it" \
    "$big" "$(jp vmmigration/big '{.status.diskInfo.targetChecksum}')"

# --- ListParts across pages: the S3 stand-in ---------------------------------
# s3rver has no ListParts (it answers 405 and the writer falls back on
# KEY.upload), so this part runs against tests/staging/s3-listparts.mjs, a
# stand-in for just the S3 calls stage_s3.c makes, whose ListParts pages hold
# at most 2 parts.  The stand-in never answers the first upload of part 6; the
# manager is killed while it waits, with parts 1-5 held (3 pages to list).
SIPORT=$(t_free_port)
t_bg SI node "$HERE/s3-listparts.mjs" --port "$SIPORT" --dir "$D/si" --log "$D/si.log" \
    --bucket vrt-stage --stall-part 6
t_wait_port "$SIPORT" 20 || { t_fail "the S3 stand-in starts" "$(cat "$SI_LOG")"; t_done; }
t_pass "the S3 stand-in (ListParts, 2 parts a page) listens on 127.0.0.1:$SIPORT"
simig() { # simig NAME TARGET PORT MAXRETRIES: the 128 MiB disk through a stand-in
    cat >"$D/mig-$1.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata: {name: $1}
spec:
  source: {vmRef: {name: app}}
  target: {name: $2, providerRef: {name: new}}
  options:
    diskFormat: raw
    cleanupPolicy: Never
    retryPolicy: {maxRetries: $4, retryDelay: 1s}
  storage:
    type: s3
    s3: {bucket: vrt-stage, endpoint: "http://127.0.0.1:$3", usePathStyle: true,
         credentialsSecretRef: {name: s3-creds}}
YAML
    t_run "apply VMMigration $1 (S3 stand-in)" k apply -f "$D/mig-$1.yaml"
}
SIKEY=vrt-stage/vmmigrations/default/sipaged/export.raw
# the parts the stand-in accepted, one number a line, as often as each was sent
sisent() { grep -Eo "^PUT /$SIKEY\\?partNumber=[0-9]+&uploadId=[0-9a-f]+ 200" "$D/si.log" |
           sed 's/.*partNumber=\([0-9]*\).*/\1/'; }
# the ListParts queries it answered for that key, one a line
silist() { sed -nE "s|^GET /$SIKEY\\?([^ ]*uploadId=[0-9a-f]+) 200 listparts=.*|\1|p" "$D/si.log"; }
simig sipaged app-si "$SIPORT" 0
stalled=0 end=$((SECONDS + 90))
while [ "$SECONDS" -lt "$end" ]; do
    grep -q "^PUT /$SIKEY?partNumber=6&.* STALLED\$" "$D/si.log" 2>/dev/null && { stalled=1; break; }
    sleep 0.1
done
kill -9 "$M4"
wait "$M4" 2>/dev/null
t_eq "stand-in: the manager was killed (kill -9) waiting on part 6, with parts 1-5 uploaded" \
    "1 1 2 3 4 5" "$stalled $(sisent | sort -n | xargs)"
t_start_manager M5 "$D/data3" --staging-dir "$D/staging3" \
    --migration-storage-allowed-hosts 127.0.0.1 || t_done
t_wait_jp "stand-in: after the restart the migration completes" vmmigration/sipaged \
    '{.status.phase}' '^Ready$' 120
t_eq "stand-in: the resume read ListParts in 3 pages (part-number-marker none, 2, 4)" \
    "- 2 4" "$(silist | sed -E 's/.*part-number-marker=([0-9]+).*/\1/; t; s/.*/-/' | xargs)"
t_eq "stand-in: each ListParts query is in sorted order, as signed (SigV4 canonical query)" "" \
    "$(silist | while read -r qs; do
         n=$(tr '&' '\n' <<<"$qs" | cut -d= -f1)
         [ "$n" = "$(LC_ALL=C sort <<<"$n")" ] || echo "unsorted: $qs"
       done)"
t_grep "stand-in: the S3 upload resumed after part 5, the last of the 3 pages" \
    'Resuming the S3 upload key="vmmigrations/default/sipaged/export.raw" after part 5 ' \
    cat "$M5_LOG"
t_eq "stand-in: no part it held was uploaded again" "" \
    "$(sisent | sort -n | uniq -c | awk '$1 != 1 {print "part " $2 " sent " $1 " times"}')"
t_eq "stand-in: all 8 parts are there, none skipped" "1 2 3 4 5 6 7 8" "$(sisent | sort -nu | xargs)"
t_eq "stand-in: the upload record (KEY.upload) is gone after the upload completed" no \
    "$([ -e "$D/si/$SIKEY.upload" ] && echo yes || echo no)"
si=$(jp vmmigration/sipaged '{.status.diskInfo.sourceChecksum}')
t_eq "stand-in: the assembled object's sha256sum is the content SHA-256" \
    "$si" "$(sha256sum "$D/si/$SIKEY" 2>/dev/null | cut -d' ' -f1)"
t_eq "stand-in: and the disk read back from the target (ranged GETs) matches it" \
    "$si" "$(jp vmmigration/sipaged '{.status.diskInfo.targetChecksum}')"
# The checksums above were taken from what was staged; the source itself is
# read again, uninterrupted, into the local staging directory (no S3).
cat >"$D/mig-siref.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata: {name: siref}
spec:
  source: {vmRef: {name: app}}
  target: {name: app-siref, providerRef: {name: new}}
  options: {diskFormat: raw, cleanupPolicy: Never}
YAML
t_run "apply a migration of the same disk through the local staging directory" \
    k apply -f "$D/mig-siref.yaml"
t_wait_jp "... it completes" vmmigration/siref '{.status.phase}' '^Ready$' 120
t_eq "stand-in: the resumed object is byte for byte the source disk (its uninterrupted export)" \
    "$(sha256sum "$D/staging3/default_siref/export.raw" 2>/dev/null | cut -d' ' -f1)" \
    "$(sha256sum "$D/si/$SIKEY" 2>/dev/null | cut -d' ' -f1)"

# A stand-in that lost a part it acknowledged (part 3): the upload record
# says parts 1-5, ListParts says 1, 2, 4, 5.  The first upload of part 6
# is answered 500 and the retry resumes: after part 2, the last part both
# agree on, so part 3 is sent again and the upload completes.
FGPORT=$(t_free_port)
t_bg FG node "$HERE/s3-listparts.mjs" --port "$FGPORT" --dir "$D/fg" --log "$D/fg.log" \
    --bucket vrt-stage --forget-part 3 --fail-part 6
t_wait_port "$FGPORT" 20 || { t_fail "the forgetting S3 stand-in starts" "$(cat "$FG_LOG")"; t_done; }
simig sifg app-sifg "$FGPORT" 1
t_wait_jp "forgetting stand-in: the migration completes" vmmigration/sifg '{.status.phase}' \
    '^Ready$' 120
t_grep "forgetting stand-in: the upload resumed after part 2 (what ListParts and the record agree on)" \
    'Resuming the S3 upload key="vmmigrations/default/sifg/export.raw" after part 2 ' \
    cat "$M5_LOG"
t_eq "forgetting stand-in: part 3 was sent twice (once forgotten), parts 4 and 5 again" \
    "1 1 2 2 2 1" "$(for n in 1 2 3 4 5 8; do
        grep -c "^PUT /vrt-stage/vmmigrations/default/sifg/export.raw?partNumber=$n&.* 200" "$D/fg.log"
      done | xargs)"
t_eq "forgetting stand-in: the staged object is the source disk" \
    "$(sha256sum "$D/si/$SIKEY" | cut -d' ' -f1)" \
    "$(sha256sum "$D/fg/vrt-stage/vmmigrations/default/sifg/export.raw" 2>/dev/null | cut -d' ' -f1)"

# A stand-in whose ListParts pages do not end (a marker that does not
# advance, none at all, an endless list): the writer stops listing after a
# bounded number of requests with a warning naming the problem, sends again
# what was not listed, and the migration completes.
lie() { # lie MODE NAME EXPECTED-PAGES WARNING-REGEX
    local port log=$D/lie-$1.log
    port=$(t_free_port)
    t_bg LIE node "$HERE/s3-listparts.mjs" --port "$port" --dir "$D/lie-$1" --log "$log" \
        --bucket vrt-stage --fail-part 4 --lie "$1"
    t_wait_port "$port" 20 || { t_fail "the lying S3 stand-in ($1) starts" "$(cat "$LIE_LOG")"; return; }
    simig "$2" "app-$2" "$port" 1
    t_wait_jp "lying stand-in ($1): the migration completes" "vmmigration/$2" \
        '{.status.phase}' '^Ready$' 120
    t_grep "lying stand-in ($1): a warning names the problem" "$4" cat "$M5_LOG"
    t_eq "lying stand-in ($1): the part upload refused once, then $3 ListParts request(s), no more" \
        "1 $3" "$(grep -c "^PUT [^ ]*partNumber=4&[^ ]* 500" "$log") $(grep -c ' listparts=' "$log")"
    t_eq "lying stand-in ($1): the staged object is the source disk" \
        "$(sha256sum "$D/si/$SIKEY" | cut -d' ' -f1)" \
        "$(sha256sum "$D/lie-$1/vrt-stage/vmmigrations/default/$2/export.raw" 2>/dev/null | cut -d' ' -f1)"
}
lie stuck-marker silie1 2 'ListParts of "vmmigrations/default/silie1/export\.raw" does not end \(a truncated page of 2 part\(s\) after part 2 gives NextPartNumberMarker 2\)'
lie no-marker silie2 1 'ListParts of "vmmigrations/default/silie2/export\.raw" does not end \(a truncated page has no NextPartNumberMarker ""\)'
# too-many lists parts 1-10000 of 1 byte, ending at the last possible part
# number: nothing agrees with the upload record
lie too-many silie3 10 'S3 lists part 1 of "vmmigrations/default/silie3/export\.raw" with another size or ETag than the upload record'
t_stop "$M5"
t_grep "the manager stopped without a sanitizer report (leaks, UB)" '^0$' \
    sh -c "grep -c -e 'Sanitizer' -e 'runtime error' '$M5_LOG'"
t_done

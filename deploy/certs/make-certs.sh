#!/usr/bin/env bash
# make-certs.sh — the certificates of a kubetrail installation, offline, with OpenSSL.
#
#   deploy/certs/make-certs.sh [--aggregator-name NAME]... [--days N] OUTDIR [CLUSTER...]
#
# Creates, in OUTDIR (created when missing):
#
#   ca.pem, ca-key.pem               the kubetrail CA: aggregator <-> collectors, query clients
#   aggregator/                      -> the aggregator's /etc/kubetrail/tls
#     server.pem, server-key.pem     server certificate (serverAuth); SANs: the in-cluster
#                                    Service names, localhost, 127.0.0.1, each --aggregator-name
#     clients-ca.pem                 the CA that signs collectors and query clients
#   clusters/CLUSTER/                one per CLUSTER
#     webhook-ca.pem, -key.pem       this cluster's webhook CA (kube-apiserver <-> collector)
#     collector/                     -> the collector's /etc/kubetrail/tls on that cluster
#       ca.pem                       verifies the aggregator (the kubetrail CA)
#       collector.pem, -key.pem      client certificate, identity collector.CLUSTER (CN and DNS SAN)
#       webhook.pem, -key.pem        webhook server certificate for https://127.0.0.1 (IP SAN)
#       webhook-client-ca.pem        the webhook CA: only this cluster's apiservers may post
#     apiserver/                     -> /etc/kubernetes/kubetrail on that cluster's control plane
#       ca.pem                       verifies the collector's webhook (the webhook CA)
#       apiserver.pem, -key.pem      kube-apiserver's client certificate for the webhook
#   clients/reader/, clients/admin/  query clients (CN kubetrail-reader, kubetrail-admin):
#       ca.pem, client.pem, client-key.pem, config.yaml (a `kubetrail` CLI context)
#   aggregator-config-snippet.yaml   tls, collectors (identity -> cluster, one per collector
#                                    certificate in OUTDIR), query identities, admins: paste
#                                    into the aggregator's config
#   kubernetes/                      Secret manifests with the real files, named as the
#                                    placeholders in deploy/kubernetes/base (never commit them):
#     kubetrail-aggregator-tls.yaml, kubetrail-collector-tls-CLUSTER.yaml
#
# Idempotent: a certificate is kept when it and its key exist, match and verify against its
# CA (.verified/ remembers what was checked); anything missing or broken is (re)issued, and
# the CAs are created only once. Running it again with more CLUSTERs adds those clusters.
# Private keys are written with mode 0600.
#
# CLUSTER names: lower-case letters, digits, '-' and '.', starting and ending with a letter
# or digit (they become DNS names in the certificates), as named in the collectors' config.
set -euo pipefail
umask 077
export LC_ALL=C  # the order of globs, and so of the generated snippet

DAYS=825
CA_DAYS=3650
EXTRA_NAMES=()

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}
die() {
  echo "make-certs.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --aggregator-name) [ $# -ge 2 ] || usage; EXTRA_NAMES+=("$2"); shift 2 ;;
    --days) [ $# -ge 2 ] || usage; DAYS="$2"; shift 2 ;;
    -h | --help) usage ;;
    --) shift; break ;;
    -*) echo "make-certs.sh: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
OUT="$1"
shift
CLUSTERS=("$@")

[[ "$DAYS" =~ ^[1-9][0-9]*$ ]] || die "--days wants a positive number of days, got \"$DAYS\""
for c in "${CLUSTERS[@]}"; do
  [[ "$c" =~ ^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$ ]] ||
    die "cluster \"$c\": want lower-case letters, digits, '-' and '.' (a DNS name, at most 63)"
done
for n in "${EXTRA_NAMES[@]}"; do
  [[ "$n" =~ ^[A-Za-z0-9.:*-]+$ ]] || die "--aggregator-name \"$n\": want a DNS name or an IP address"
done
command -v openssl >/dev/null || die "openssl not found (Debian: apt-get install openssl)"

mkdir -p "$OUT/.verified"
OUT="$(cd "$OUT" && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# failed CERT: openssl could not make CERT; shows why and exits.
failed() {
  grep -v '^-*$' "$TMP/err" >&2 || true
  rm -f "$1"
  die "openssl could not make $1"
}

# KEYGEN: openssl req options for a new EC P-256 key (PKCS#8 PEM; mode 0600 by the umask).
KEYGEN=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)

# cert_ok CERT KEY CA: the pair exists, the key matches and the certificate verifies.
# OUTDIR/.verified/ holds the checksums of each set known to be good (remember), so that a
# rerun starts no openssl process for what did not change.
cert_ok() {
  local cert="$1" key="$2" ca="$3" stamp had=""
  [ -s "$cert" ] && [ -s "$key" ] && [ -s "$ca" ] || return 1
  stamp="${cert#"$OUT/"}"
  stamp="$OUT/.verified/${stamp//\//_}"
  [ ! -s "$stamp" ] || had="$(<"$stamp")"
  [ "$had" != "$(checksum "$cert" "$key" "$ca")" ] || return 0
  openssl verify -CAfile "$ca" "$cert" >/dev/null 2>&1 || return 1
  [ "$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null)" = \
    "$(openssl pkey -in "$key" -pubout 2>/dev/null)" ] || return 1
  remember "$cert" "$key" "$ca"
}

# remember CERT KEY CA: records the set as good (see cert_ok).
remember() {
  local stamp="${1#"$OUT/"}"
  checksum "$1" "$2" "$3" >"$OUT/.verified/${stamp//\//_}"
}

# checksum FILE...: their SHA-256 sums, with names relative to OUTDIR (so a copied OUTDIR
# keeps its stamps).
checksum() {
  local sums
  sums="$(sha256sum "$@")"
  echo "${sums//"$OUT/"/}"
}

# make_ca CERT KEY SUBJECT: a self-signed CA, unless a valid one is already there.
make_ca() {
  local cert="$1" key="$2" subject="$3"
  if cert_ok "$cert" "$key" "$cert"; then return; fi
  [ ! -e "$cert" ] || die "$cert exists but does not match $key: remove both to start over" \
    "(every certificate it signed must then be issued again)"
  openssl req -x509 -new "${KEYGEN[@]}" -keyout "$key" -subj "$subject" -days "$CA_DAYS" \
    -sha256 -out "$cert" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" 2>"$TMP/err" || failed "$cert"
  remember "$cert" "$key" "$cert"
  echo "make-certs.sh: created CA $cert"
}

# issue CERT KEY CA CA_KEY CN USAGE SANS: a leaf certificate for CN with extendedKeyUsage
# USAGE (serverAuth or clientAuth) and subjectAltName SANS ("" for none), unless valid.
issue() {
  local cert="$1" key="$2" ca="$3" ca_key="$4" cn="$5" usage="$6" sans="$7"
  if cert_ok "$cert" "$key" "$ca"; then return; fi
  local ext=(-addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature"
    -addext "extendedKeyUsage=$usage" -addext "subjectKeyIdentifier=hash"
    -addext "authorityKeyIdentifier=keyid")
  [ -z "$sans" ] || ext+=(-addext "subjectAltName=$sans")
  # One process: a new key and its certificate signed by CA (random serial).
  openssl req -x509 -new "${KEYGEN[@]}" -keyout "$key" -subj "/O=kubetrail/CN=$cn" \
    -CA "$ca" -CAkey "$ca_key" -days "$DAYS" -sha256 "${ext[@]}" -out "$cert" 2>"$TMP/err" ||
    failed "$cert"
  remember "$cert" "$key" "$ca"
  echo "make-certs.sh: issued $cert (CN=$cn${sans:+, $sans})"
}

# copy_if_changed SRC DST: DST becomes a copy of SRC, touched only when different.
copy_if_changed() {
  if [ ! -f "$2" ] || [ "$(<"$1")" != "$(<"$2")" ]; then cp "$1" "$2"; fi
}

# write_if_changed DST: stdin into DST, touched only when different (so reruns change nothing).
write_if_changed() {
  local text
  text="$(cat)"
  if [ ! -f "$1" ] || [ "$text" != "$(<"$1")" ]; then echo "$text" >"$1"; fi
}

# secret NAME NAMESPACE DIR FILE...: a Secret manifest holding DIR/FILE under the key FILE.
secret() {
  local name="$1" namespace="$2" dir="$3" f
  shift 3
  echo "# Generated by deploy/certs/make-certs.sh: real keys, never commit this file."
  echo "apiVersion: v1"
  echo "kind: Secret"
  echo "metadata:"
  echo "  name: $name"
  echo "  namespace: $namespace"
  echo "  labels:"
  echo "    app.kubernetes.io/part-of: kubetrail"
  echo "type: Opaque"
  echo "data:"
  for f in "$@"; do
    echo "  $f: $(base64 -w0 <"$dir/$f")"
  done
}

# --- the kubetrail CA and the aggregator -------------------------------------------------------
make_ca "$OUT/ca.pem" "$OUT/ca-key.pem" "/O=kubetrail/CN=kubetrail CA"

mkdir -p "$OUT/aggregator"
agg_sans="DNS:kubetrail-aggregator,DNS:kubetrail-aggregator.kubetrail"
agg_sans+=",DNS:kubetrail-aggregator.kubetrail.svc,DNS:kubetrail-aggregator.kubetrail.svc.cluster.local"
agg_sans+=",DNS:localhost,IP:127.0.0.1"
for n in "${EXTRA_NAMES[@]}"; do
  if [[ "$n" =~ ^[0-9.]+$ || "$n" == *:* ]]; then agg_sans+=",IP:$n"; else agg_sans+=",DNS:$n"; fi
done
# A certificate issued for other names is issued again (server.sans: the names it was issued for).
if [ "$(cat "$OUT/aggregator/server.sans" 2>/dev/null)" != "$agg_sans" ]; then
  rm -f "$OUT/aggregator/server.pem"
fi
issue "$OUT/aggregator/server.pem" "$OUT/aggregator/server-key.pem" "$OUT/ca.pem" \
  "$OUT/ca-key.pem" "kubetrail-aggregator" serverAuth "$agg_sans"
echo "$agg_sans" | write_if_changed "$OUT/aggregator/server.sans"
copy_if_changed "$OUT/ca.pem" "$OUT/aggregator/clients-ca.pem"

# --- query clients -----------------------------------------------------------------------------
for client in reader admin; do
  dir="$OUT/clients/$client"
  mkdir -p "$dir"
  issue "$dir/client.pem" "$dir/client-key.pem" "$OUT/ca.pem" "$OUT/ca-key.pem" \
    "kubetrail-$client" clientAuth "DNS:kubetrail-$client"
  copy_if_changed "$OUT/ca.pem" "$dir/ca.pem"
  # A `kubetrail` CLI config (clients/cli/README.md): relative paths are relative to this
  # file. 127.0.0.1:7443 is `kubectl -n kubetrail port-forward svc/kubetrail-aggregator 7443`.
  write_if_changed "$dir/config.yaml" <<EOF
current-context: kubetrail
contexts:
  - name: kubetrail
    server: 127.0.0.1:7443
    tls-server-name: kubetrail-aggregator.kubetrail.svc
    tls-ca: ca.pem
    tls-cert: client.pem
    tls-key: client-key.pem
EOF
done

# --- per cluster: the webhook CA, the collector's and the apiserver's certificates -----------
for c in "${CLUSTERS[@]}"; do
  dir="$OUT/clusters/$c"
  mkdir -p "$dir/collector" "$dir/apiserver"
  make_ca "$dir/webhook-ca.pem" "$dir/webhook-ca-key.pem" "/O=kubetrail/CN=kubetrail webhook CA $c"
  issue "$dir/collector/collector.pem" "$dir/collector/collector-key.pem" "$OUT/ca.pem" \
    "$OUT/ca-key.pem" "collector.$c" clientAuth "DNS:collector.$c"
  issue "$dir/collector/webhook.pem" "$dir/collector/webhook-key.pem" "$dir/webhook-ca.pem" \
    "$dir/webhook-ca-key.pem" "kubetrail-collector-webhook.$c" serverAuth "IP:127.0.0.1,DNS:localhost"
  issue "$dir/apiserver/apiserver.pem" "$dir/apiserver/apiserver-key.pem" "$dir/webhook-ca.pem" \
    "$dir/webhook-ca-key.pem" "kube-apiserver.$c" clientAuth ""
  copy_if_changed "$OUT/ca.pem" "$dir/collector/ca.pem"
  copy_if_changed "$dir/webhook-ca.pem" "$dir/collector/webhook-client-ca.pem"
  copy_if_changed "$dir/webhook-ca.pem" "$dir/apiserver/ca.pem"
done

# --- the aggregator config snippet: every cluster that has a collector certificate here -------
all_clusters=()
for cert in "$OUT"/clusters/*/collector/collector.pem; do
  [ -s "$cert" ] || continue
  c="${cert#"$OUT/clusters/"}"
  all_clusters+=("${c%%/*}")
done
{
  echo "# Generated by deploy/certs/make-certs.sh: paste into the aggregator's config."
  echo "# Each collector certificate's identity (CN and DNS SAN) -> the cluster it may write."
  echo "tls:"
  echo "  cert_file: /etc/kubetrail/tls/server.pem"
  echo "  key_file: /etc/kubetrail/tls/server-key.pem"
  echo "  client_ca_file: /etc/kubetrail/tls/clients-ca.pem"
  if [ ${#all_clusters[@]} -eq 0 ]; then echo "collectors: []"; else echo "collectors:"; fi
  for c in "${all_clusters[@]}"; do
    echo "  - identity: collector.$c"
    echo "    clusters: [$c]"
  done
  echo "query:"
  echo "  identities: [kubetrail-reader]"
  echo "admins: [kubetrail-admin]"
} | write_if_changed "$OUT/aggregator-config-snippet.yaml"

# --- Secret manifests (names and keys as the placeholders in deploy/kubernetes/base) ----------
mkdir -p "$OUT/kubernetes"
secret kubetrail-aggregator-tls kubetrail "$OUT/aggregator" server.pem server-key.pem \
  clients-ca.pem | write_if_changed "$OUT/kubernetes/kubetrail-aggregator-tls.yaml"
for c in "${all_clusters[@]}"; do
  secret kubetrail-collector-tls kubetrail "$OUT/clusters/$c/collector" ca.pem collector.pem \
    collector-key.pem webhook.pem webhook-key.pem webhook-client-ca.pem |
    write_if_changed "$OUT/kubernetes/kubetrail-collector-tls-$c.yaml"
done

# Everything is written under umask 077; all but the private keys and the Secret manifests
# may be read by anyone.
find "$OUT" -type f ! -name '*-key.pem' ! -path "$OUT/kubernetes/*" ! -path "$OUT/.verified/*" \
  ! -perm 0644 -exec chmod 0644 {} +
echo "make-certs.sh: $OUT ready (clusters: ${all_clusters[*]:-none})"

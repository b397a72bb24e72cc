#!/usr/bin/env bash
# `make run`: shows what kubetrail can do today. The services (aggregator, collector) are not
# built yet; until they are, this generates realistic audit events, converts them between the
# layouts kube-apiserver writes, and says what to try next.
set -euo pipefail
BUILD_DIR=${1:-build}
BIN="$BUILD_DIR/bin"
STATE_DIR=${KUBETRAIL_STATE_DIR:-./var}
DEMO="$STATE_DIR/demo"
mkdir -p "$DEMO"

"$BIN/kubetrail-loadgen" --count 1000 --seed 1 --output "$DEMO/events.jsonl"
"$BIN/kubetrail" convert -o eventlist "$DEMO/events.jsonl" > "$DEMO/webhook-body.json"
"$BIN/kubetrail" convert "$DEMO/webhook-body.json" > "$DEMO/roundtrip.jsonl"

# Bad input is reported precisely and loses nothing else.
{
  head -n 2 "$DEMO/events.jsonl"
  head -n 3 "$DEMO/events.jsonl" | tail -n 1 | cut -c1-120
  echo '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":42,"stage":"ResponseComplete"}'
  head -n 5 "$DEMO/events.jsonl" | tail -n 2
} > "$DEMO/with-errors.jsonl"
errors=$("$BIN/kubetrail" convert --skip-invalid "$DEMO/with-errors.jsonl" 2>&1 >/dev/null || true)

# A policy (shortened from the Kubernetes auditing documentation's example) and its impact.
cat > "$DEMO/policy.yaml" <<'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: RequestResponse
    resources:
    - group: ""
      resources: ["pods"]
  - level: Metadata
    resources:
    - group: ""
      resources: ["pods/log", "pods/status"]
  - level: None
    users: ["system:kube-proxy"]
    verbs: ["watch"]
    resources:
    - group: ""
      resources: ["endpoints", "services"]
  - level: None
    userGroups: ["system:authenticated"]
    nonResourceURLs: ["/api*", "/version"]
  - level: Metadata
    resources:
    - group: ""
      resources: ["secrets", "configmaps"]
  - level: Metadata
    omitStages: ["RequestReceived"]
POLICY
"$BIN/kubetrail" policy validate "$DEMO/policy.yaml" > /dev/null
simulation=$("$BIN/kubetrail" policy simulate --policy "$DEMO/policy.yaml" "$DEMO/events.jsonl")

if cmp -s "$DEMO/events.jsonl" "$DEMO/roundtrip.jsonl"; then
  same="identical"
else
  same="DIFFERENT (please report this)"
fi

cat <<MSG

kubetrail — what exists so far: the audit event codec, the audit Policy engine, \`kubetrail convert\`,
\`kubetrail policy\` and the load generator.
(The aggregator and collector are not built yet; \`make run\` will start them once they are.)

  generated   $DEMO/events.jsonl        $(wc -l < "$DEMO/events.jsonl") events as kube-apiserver's log backend writes them
  webhook     $DEMO/webhook-body.json   the same events as one EventList (a webhook POST body)
  round trip  $DEMO/roundtrip.jsonl     EventList -> JSON lines again: $same to the input

Bad input (a truncated line and a wrong type among good events, $DEMO/with-errors.jsonl):
$(printf '%s\n' "$errors" | sed 's/^/  /')

What $DEMO/policy.yaml would keep of the generated events (kubetrail policy simulate):
$(printf '%s\n' "$simulation" | sed 's/^/  /')

Try next:
  $BIN/kubetrail-loadgen --count 5 --seed 42
  $BIN/kubetrail convert $DEMO/webhook-body.json | head -3
  $BIN/kubetrail convert --skip-invalid /var/log/kubernetes/audit/audit.log > canonical.jsonl
  $BIN/kubetrail policy eval --policy $DEMO/policy.yaml $DEMO/events.jsonl | head -3
  $BIN/kubetrail convert --help
MSG

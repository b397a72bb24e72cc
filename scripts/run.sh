#!/usr/bin/env bash
# `make run`: shows what kubetrail can do today: generates realistic audit events, converts
# them between the layouts kube-apiserver writes, simulates an audit policy, then starts a
# local aggregator and collector (plaintext on loopback, state in ./var), posts the events to
# the collector's webhook as kube-apiserver does and lets it tail an audit log too, queries
# them back and keeps both running until Ctrl-C.
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

# wait_ready NAME PID PREFIX LINE HINT: waits until PREFIX.out has LINE (the daemon's ready
# line); if the daemon exits first, shows PREFIX.log and HINT and stops make run.
wait_ready() {
  for _ in $(seq 1 100); do
    grep -q "$4" "$3.out" 2>/dev/null && return 0
    if ! kill -0 "$2" 2>/dev/null; then
      echo "make run: $1 did not start:" >&2
      cat "$3.log" >&2
      echo "(is something else listening on $5)" >&2
      exit 1
    fi
    sleep 0.1
  done
}

# The aggregator: plaintext on loopback, its store under $STATE_DIR/aggregator.
GRPC=${KUBETRAIL_GRPC_LISTEN:-127.0.0.1:7443}
HTTP=${KUBETRAIL_HTTP_LISTEN:-127.0.0.1:9090}
"$BIN/kubetrail-aggregator" --dev --listen "$GRPC" --http-listen "$HTTP" \
  --data-dir "$STATE_DIR/aggregator" > "$STATE_DIR/aggregator.out" 2> "$STATE_DIR/aggregator.log" &
AGG_PID=$!
COL_PID=
trap 'kill -TERM $COL_PID 2>/dev/null; wait $COL_PID 2>/dev/null; kill -TERM $AGG_PID 2>/dev/null; wait $AGG_PID 2>/dev/null' EXIT
# Ctrl-C (SIGINT) or SIGTERM ends the script, and so, through the EXIT trap, both daemons.
trap 'exit 130' INT
trap 'exit 143' TERM
wait_ready kubetrail-aggregator $AGG_PID "$STATE_DIR/aggregator" "serving grpc=" \
  "$GRPC or $HTTP? set KUBETRAIL_GRPC_LISTEN / KUBETRAIL_HTTP_LISTEN"
# The collector: webhook receiver and log tailer, plaintext on loopback, spool in
# $STATE_DIR/collector-spool, shipping to the aggregator.
WEBHOOK=${KUBETRAIL_WEBHOOK_LISTEN:-127.0.0.1:8443}
COL_HTTP=${KUBETRAIL_COLLECTOR_HTTP_LISTEN:-127.0.0.1:9091}
cp "$DEMO/events.jsonl" "$DEMO/audit.log"
"$BIN/kubetrail-collector" --dev --cluster demo --source make-run --aggregator "$GRPC" \
  --webhook-listen "$WEBHOOK" --http-listen "$COL_HTTP" --tail "$DEMO/audit.log" \
  --policy "$DEMO/policy.yaml" --spool-dir "$STATE_DIR/collector-spool" \
  > "$STATE_DIR/collector.out" 2> "$STATE_DIR/collector.log" &
COL_PID=$!
wait_ready kubetrail-collector $COL_PID "$STATE_DIR/collector" "running cluster=" \
  "$WEBHOOK or $COL_HTTP? set KUBETRAIL_WEBHOOK_LISTEN / KUBETRAIL_COLLECTOR_HTTP_LISTEN"
sent=$("$BIN/kubetrail-loadgen" --send "http://$WEBHOOK/audit/webhook" --streams 2 --timeout 60 "$DEMO/events.jsonl")
# What the policy keeps of the events, as the collector applies it.
"$BIN/kubetrail" policy apply --policy "$DEMO/policy.yaml" "$DEMO/events.jsonl" > "$DEMO/kept.jsonl"
kept=$(wc -l < "$DEMO/kept.jsonl")
# The webhook and the tailer got the same events from the same source: stored once. Wait
# until the collector has shipped them.
for _ in $(seq 1 300); do
  n=$("$BIN/kubetrail" --dev --server "$GRPC" count --cluster demo 2>/dev/null || echo 0)
  [ "$n" -ge "$kept" ] && break
  sleep 0.1
done
# Sending the same events again stores nothing twice, so this holds on every run.
"$BIN/kubetrail" --dev --server "$GRPC" query --cluster demo --all -o jsonl > "$DEMO/stored.jsonl"
stored=$(wc -l < "$DEMO/stored.jsonl")
if cmp -s <(sort "$DEMO/kept.jsonl") <(sort "$DEMO/stored.jsonl"); then
  stored_same="identical to"
else
  stored_same="DIFFERENT from (please report this)"
fi
first_user=$(head -n 1 "$DEMO/events.jsonl" | sed -n 's/.*"user":{"username":"\([^"]*\)".*/\1/p')
first_id=$(head -n 1 "$DEMO/stored.jsonl" | sed -n 's/.*"auditID":"\([^"]*\)".*/\1/p')

# The kubeconfig a kube-apiserver on this machine would use for the local (plaintext, --dev)
# webhook; deploy/kube-apiserver/ has the TLS version and every flag.
cat > "$DEMO/webhook-kubeconfig.yaml" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: kubetrail
    cluster:
      server: http://$WEBHOOK/audit/webhook
users:
  - name: kube-apiserver
    user: {}
contexts:
  - name: default
    context:
      cluster: kubetrail
      user: kube-apiserver
current-context: default
KUBECONFIG

cat <<MSG

webhook: http://$WEBHOOK/audit/webhook

Point a kube-apiserver on this machine at it with these flags (deploy/kube-apiserver/ has
the TLS setup for real clusters, kubeadm and kind):
  --audit-policy-file=$DEMO/policy.yaml
  --audit-webhook-config-file=$DEMO/webhook-kubeconfig.yaml
  --audit-webhook-mode=batch
  --audit-webhook-batch-max-size=400
  --audit-webhook-batch-max-wait=1s
and this webhook kubeconfig ($DEMO/webhook-kubeconfig.yaml):
$(sed 's/^/  /' "$DEMO/webhook-kubeconfig.yaml")

Try (in another terminal; Ctrl-C here stops both daemons):
  $BIN/kubetrail --dev --server $GRPC query --cluster demo --user '$first_user' --limit 3
  $BIN/kubetrail --dev --server $GRPC top users --cluster demo
  $BIN/kubetrail --dev --server $GRPC tail -o wide        # live; Ctrl-C ends it

kubetrail — what exists so far: the audit event codec, the audit Policy engine, the event
store, the aggregator, the collector, \`kubetrail convert\`, \`kubetrail policy\`,
\`kubetrail query|get|tail|count|top|histogram|export|status\`, the C++ and Python
clients (clients/cpp, clients/python) and the load generator.

  generated   $DEMO/events.jsonl        $(wc -l < "$DEMO/events.jsonl") events as kube-apiserver's log backend writes them
  webhook     $DEMO/webhook-body.json   the same events as one EventList (a webhook POST body)
  round trip  $DEMO/roundtrip.jsonl     EventList -> JSON lines again: $same to the input

Bad input (a truncated line and a wrong type among good events, $DEMO/with-errors.jsonl):
$(printf '%s\n' "$errors" | sed 's/^/  /')

What $DEMO/policy.yaml would keep of the generated events (kubetrail policy simulate):
$(printf '%s\n' "$simulation" | sed 's/^/  /')

A local aggregator is running (pid $AGG_PID; log $STATE_DIR/aggregator.log; store $STATE_DIR/aggregator):
  gRPC $GRPC (plaintext, --dev)    metrics http://$HTTP/metrics
A local collector is running (pid $COL_PID; log $STATE_DIR/collector.log; spool $STATE_DIR/collector-spool):
  webhook http://$WEBHOOK/audit/webhook, tailing $DEMO/audit.log, policy $DEMO/policy.yaml
  metrics http://$COL_HTTP/metrics
  posted the generated events:    $sent
  the policy keeps:               $kept of them ($DEMO/kept.jsonl)
  queried back:                   $stored events, $stored_same what the policy keeps ($DEMO/stored.jsonl)
  (the webhook and the tailer received the same events from one source: stored once)

More to try:
  $BIN/kubetrail --dev --server $GRPC get $first_id
  $BIN/kubetrail --dev --server $GRPC query --verb delete --order desc -o jsonl --limit 2
  $BIN/kubetrail-loadgen --count 5000 --seed 9 >> $DEMO/audit.log     # the tailer ships them
  $BIN/kubetrail-loadgen --send http://$WEBHOOK/audit/webhook --count 100000 --streams 4
  $BIN/kubetrail-loadgen --send grpc://$GRPC --cluster load --count 100000 --streams 4
  curl -s http://$COL_HTTP/metrics | grep kubetrail_collector_events
  curl -s http://$HTTP/metrics | grep kubetrail_ingest_stored_events_total
  $BIN/kubetrail-loadgen --count 5 --seed 42
  $BIN/kubetrail convert $DEMO/webhook-body.json | head -3
  $BIN/kubetrail convert --skip-invalid /var/log/kubernetes/audit/audit.log > canonical.jsonl
  $BIN/kubetrail policy eval --policy $DEMO/policy.yaml $DEMO/events.jsonl | head -3
  $BIN/kubetrail convert --help
MSG

wait $COL_PID $AGG_PID

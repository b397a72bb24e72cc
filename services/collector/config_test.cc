#include "services/collector/config.h"

#include <string>

#include "gtest/gtest.h"

namespace kubetrail::collector {
namespace {

CollectorConfig Valid() {
  CollectorConfig c;
  c.cluster = "prod-eu";
  c.source = "apiserver-1";
  c.dev = true;
  c.webhook_listen = "127.0.0.1:8443";
  c.spool_dir = "/tmp/spool";
  return c;
}

TEST(CollectorConfigTest, ParsesEveryKey) {
  CollectorConfig c;
  ASSERT_TRUE(ParseCollectorConfig(R"(
cluster: prod-eu
source: apiserver-1
aggregators: [a:1, b:2]
tls: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem, server_name: agg}
webhook:
  listen: 0.0.0.0:8443
  path: /hook
  max_body_bytes: 1000
  max_event_bytes: 500
  threads: 3
  tls: {cert_file: w.pem, key_file: wk.pem, client_ca_file: wca.pem}
tail: [/var/log/a.log, /var/log/b.log]
policy_file: p.yaml
spool: {dir: /s, max_bytes: 2048, max_age: 2h, when_full: drop-oldest}
ship: {batch_events: 10, batch_bytes: 999, batch_wait: 250ms, qps: 1.5, burst: 3,
       backoff_initial: 50ms, backoff_max: 10s, failover_after: 3s, compression: none,
       window: 4}
http_listen: 127.0.0.1:9091
drain_timeout: 5s
)",
                                   c)
                  .ok());
  EXPECT_EQ(c.aggregators, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(c.tls_server_name, "agg");
  EXPECT_EQ(c.webhook_path, "/hook");
  EXPECT_EQ(c.webhook_threads, 3u);
  EXPECT_EQ(c.webhook_tls_client_ca_file, "wca.pem");
  EXPECT_EQ(c.tail.size(), 2u);
  EXPECT_EQ(c.spool_max_age, absl::Hours(2));
  EXPECT_EQ(c.when_full, WhenFull::kDropOldest);
  EXPECT_EQ(c.batch_wait, absl::Milliseconds(250));
  EXPECT_EQ(c.qps, 1.5);
  EXPECT_EQ(c.failover_after, absl::Seconds(3));
  EXPECT_EQ(c.compression, "none");
  EXPECT_EQ(c.window, 4u);
  EXPECT_EQ(c.drain_timeout, absl::Seconds(5));
  ASSERT_TRUE(ValidateCollectorConfig(c).ok()) << ValidateCollectorConfig(c);
}

TEST(CollectorConfigTest, BadValuesNameTheLineAndKey) {
  CollectorConfig c;
  EXPECT_EQ(ParseCollectorConfig("spool:\n  when_full: sometimes\n", c).message(),
            "line 2: spool.when_full: want block or drop-oldest, got \"sometimes\"");
  EXPECT_NE(ParseCollectorConfig("ship: {batch_evnts: 3}\n", c).message().find("unknown key"),
            std::string::npos);
}

TEST(CollectorConfigTest, ValidationNamesTheField) {
  auto error = [](CollectorConfig c) { return std::string(ValidateCollectorConfig(c).message()); };
  CollectorConfig c = Valid();
  EXPECT_TRUE(ValidateCollectorConfig(c).ok());
  c.cluster = "";
  EXPECT_EQ(error(c), "cluster is required (--cluster)");
  c = Valid();
  c.cluster = "prod eu";
  EXPECT_NE(error(c).find("has a character outside"), std::string::npos);
  c = Valid();
  c.spool_dir = "";
  EXPECT_EQ(error(c), "spool.dir is required (--spool-dir)");
  c = Valid();
  c.failover_after = absl::ZeroDuration();
  EXPECT_EQ(error(c), "ship.failover_after must be positive");
  c = Valid();
  c.webhook_listen = "";
  EXPECT_NE(error(c).find("no source"), std::string::npos);
  c = Valid();
  c.webhook_listen = "0.0.0.0:8443";
  EXPECT_NE(error(c).find("loopback only"), std::string::npos);
  c = Valid();
  c.dev = false;
  EXPECT_NE(error(c).find("TLS to the aggregator is required"), std::string::npos);
  c.tls_ca_file = "ca";
  c.tls_cert_file = "c";
  c.tls_key_file = "k";
  EXPECT_NE(error(c).find("webhook serves HTTPS"), std::string::npos);
  c = Valid();
  c.compression = "zstd";
  EXPECT_EQ(error(c), "");
  c.compression = "zip";
  EXPECT_NE(error(c).find("ship.compression"), std::string::npos);
  c = Valid();
  c.source = "";
  EXPECT_TRUE(ValidateCollectorConfig(c).ok());
  EXPECT_FALSE(c.source.empty());  // the host name
}

}  // namespace
}  // namespace kubetrail::collector

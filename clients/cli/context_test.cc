#include "clients/cli/context.h"

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// The example of context.h, line for line.
constexpr char kExample[] = R"(current-context: prod
contexts:
  - name: prod
    server: aggregator.example:7443
    tls-ca: ca.pem            # relative: beside the config file
    tls-cert: client.pem
    tls-key: /etc/kubetrail/client-key.pem
    tls-server-name: aggregator.example
    token-file: token
    timeout: 45s
  - name: local
    server: 127.0.0.1:7443
    dev: true
)";

TEST(ParseCliConfigTest, ReadsEveryKey) {
  absl::StatusOr<CliConfig> config = ParseCliConfig(kExample, "conf/config.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->path, "conf/config.yaml");
  EXPECT_EQ(config->current_context, "prod");
  ASSERT_EQ(config->contexts.size(), 2u);

  const CliContext& prod = config->contexts[0];
  EXPECT_EQ(prod.name, "prod");
  EXPECT_EQ(prod.line, 3);
  EXPECT_EQ(prod.options.server, "aggregator.example:7443");
  EXPECT_FALSE(prod.options.plaintext);
  EXPECT_EQ(prod.options.ca_file, "conf/ca.pem");
  EXPECT_EQ(prod.options.cert_file, "conf/client.pem");
  EXPECT_EQ(prod.options.key_file, "/etc/kubetrail/client-key.pem");  // absolute: as written
  EXPECT_EQ(prod.options.server_name, "aggregator.example");
  EXPECT_EQ(prod.options.token, "");  // read by ApplyContext
  EXPECT_EQ(prod.token_file, "conf/token");
  EXPECT_EQ(prod.token_file_line, 9);
  EXPECT_EQ(prod.options.timeout, absl::Seconds(45));
  EXPECT_TRUE(prod.set.server && prod.set.ca_file && prod.set.cert_file && prod.set.key_file &&
              prod.set.server_name && prod.set.token && prod.set.timeout);
  EXPECT_FALSE(prod.set.plaintext);

  const CliContext& local = config->contexts[1];
  EXPECT_EQ(local.name, "local");
  EXPECT_EQ(local.line, 11);
  EXPECT_EQ(local.options.server, "127.0.0.1:7443");
  EXPECT_TRUE(local.options.plaintext);
  EXPECT_TRUE(local.set.server && local.set.plaintext);
  EXPECT_FALSE(local.set.ca_file || local.set.cert_file || local.set.key_file ||
               local.set.server_name || local.set.token || local.set.timeout);
  EXPECT_EQ(local.options.timeout, absl::Seconds(30));  // ClientOptions' default
  EXPECT_EQ(local.token_file, "");

  EXPECT_EQ(FindContext(*config, "local"), &config->contexts[1]);
  EXPECT_EQ(FindContext(*config, "nope"), nullptr);
}

TEST(ParseCliConfigTest, RelativePathsWithoutDirectoryStayAsWritten) {
  absl::StatusOr<CliConfig> config = ParseCliConfig(kExample, "config.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->contexts[0].options.ca_file, "ca.pem");
  EXPECT_EQ(config->contexts[0].token_file, "token");
}

TEST(ParseCliConfigTest, RelativePathsBesideAnAbsoluteFile) {
  absl::StatusOr<CliConfig> config = ParseCliConfig(kExample, "/opt/kt/c.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->contexts[0].options.ca_file, "/opt/kt/ca.pem");
  EXPECT_EQ(config->contexts[0].options.cert_file, "/opt/kt/client.pem");
  EXPECT_EQ(config->contexts[0].token_file, "/opt/kt/token");
}

TEST(ParseCliConfigTest, InlineToken) {
  absl::StatusOr<CliConfig> config =
      ParseCliConfig("contexts:\n  - name: a\n    server: h:1\n    token: s3cret\n", "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->contexts[0].options.token, "s3cret");
  EXPECT_TRUE(config->contexts[0].set.token);
  EXPECT_EQ(config->contexts[0].token_file, "");
  EXPECT_EQ(config->current_context, "");
}

TEST(ParseCliConfigTest, EmptyDocumentsHaveNoContexts) {
  for (const char* text : {"", "# only a comment\n", "contexts: []\n", "current-context: \"\"\n",
                           "current-context: ''\ncontexts: []\n"}) {
    absl::StatusOr<CliConfig> config = ParseCliConfig(text, "c.yaml");
    ASSERT_TRUE(config.ok()) << text << ": " << config.status();
    EXPECT_EQ(config->path, "c.yaml");
    EXPECT_EQ(config->current_context, "");
    EXPECT_TRUE(config->contexts.empty());
  }
}

TEST(ParseCliConfigTest, DevFalseAllowsTls) {
  absl::StatusOr<CliConfig> config = ParseCliConfig(
      "contexts:\n  - name: a\n    server: h:1\n    dev: false\n    tls-ca: ca.pem\n", "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->contexts[0].set.plaintext);
  EXPECT_FALSE(config->contexts[0].options.plaintext);
}

struct BadCase {
  const char* yaml;
  const char* message;  // the whole message, "c.yaml:LINE: ..."
};

class ParseErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseErrorTest, InvalidArgumentWithFileAndLine) {
  absl::StatusOr<CliConfig> config = ParseCliConfig(GetParam().yaml, "c.yaml");
  ASSERT_FALSE(config.ok()) << GetParam().yaml;
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(config.status()), GetParam().message) << GetParam().yaml;
}

// One context's start, on lines 1-3, so the key under test is on line 4.
#define CTX "contexts:\n  - name: a\n    server: h:1\n"

INSTANTIATE_TEST_SUITE_P(
    Rules, ParseErrorTest,
    ::testing::Values(
        // Syntax, shape and keys.
        BadCase{"contexts:\n  - name: [a\n",
                "c.yaml:3: not valid YAML: end of sequence flow not found"},
        BadCase{"just a string\n", "c.yaml:1: config: want a mapping"},
        BadCase{"- a\n- b\n", "c.yaml:1: config: want a mapping"},
        BadCase{"current-context: a\ncontext: []\n",
                "c.yaml:2: context: unknown key (known: contexts, current-context)"},
        BadCase{CTX "    tokn: x\n",
                "c.yaml:4: contexts[0].tokn: unknown key (known: dev, name, server, timeout, "
                "tls-ca, tls-cert, tls-key, tls-server-name, token, token-file)"},
        BadCase{"contexts: []\ncontexts: []\n",
                "c.yaml:2: contexts: repeated key (first at line 1)"},
        BadCase{CTX "    server: h:2\n",
                "c.yaml:4: contexts[0].server: repeated key (first at line 3)"},
        BadCase{"current-context:\ncontexts: []\n", "c.yaml:1: current-context: want a value"},
        BadCase{CTX "    timeout:\n", "c.yaml:4: contexts[0].timeout: want a value"},
        BadCase{"contexts:\n", "c.yaml:1: contexts: want a value"},
        // Types.
        BadCase{"contexts: prod\n", "c.yaml:1: contexts: want a list of contexts"},
        BadCase{"contexts:\n  a: b\n", "c.yaml:2: contexts: want a list of contexts"},
        BadCase{"contexts:\n  - prod\n", "c.yaml:2: contexts[0]: want a mapping"},
        BadCase{"current-context: [a]\n", "c.yaml:1: current-context: want a string"},
        BadCase{CTX "    dev: yes\n", "c.yaml:4: contexts[0].dev: want true or false, got \"yes\""},
        BadCase{CTX "    tls-ca: {file: x}\n", "c.yaml:4: contexts[0].tls-ca: want a string"},
        BadCase{CTX "    timeout: ten\n",
                "c.yaml:4: contexts[0].timeout: want a duration such as 30s, 5m or 1h, got "
                "\"ten\""},
        BadCase{CTX "    timeout: 0s\n",
                "c.yaml:4: contexts[0].timeout: want a positive duration, got \"0s\""},
        BadCase{CTX "    timeout: -5s\n",
                "c.yaml:4: contexts[0].timeout: want a duration such as 30s, 5m or 1h, got "
                "\"-5s\""},
        BadCase{CTX "    tls-server-name: \"\"\n",
                "c.yaml:4: contexts[0].tls-server-name: must not be empty"},
        // Required keys and unique names.
        BadCase{"contexts:\n  - server: h:1\n", "c.yaml:2: contexts[0]: name is required"},
        BadCase{"contexts:\n  - name: ''\n    server: h:1\n",
                "c.yaml:2: contexts[0].name: must not be empty"},
        BadCase{"contexts:\n  - name: a\n    dev: true\n",
                "c.yaml:2: contexts[0] (\"a\"): server is required"},
        BadCase{CTX "  - name: b\n    server: h:2\n  - name: a\n    server: h:3\n",
                "c.yaml:6: contexts[2].name: duplicate context \"a\" (first at line 2)"},
        // Token.
        BadCase{CTX "    token: t\n    token-file: f\n",
                "c.yaml:5: contexts[0] (\"a\"): token and token-file exclude each other"},
        BadCase{CTX "    token-file: f\n    token: t\n",
                "c.yaml:5: contexts[0] (\"a\"): token and token-file exclude each other"},
        BadCase{CTX "    token: two words\n",
                "c.yaml:4: contexts[0].token: must be printable ASCII without spaces"},
        // TLS.
        BadCase{CTX "    tls-cert: c.pem\n",
                "c.yaml:4: contexts[0] (\"a\"): tls-cert and tls-key go together"},
        BadCase{CTX "    tls-key: k.pem\n",
                "c.yaml:4: contexts[0] (\"a\"): tls-cert and tls-key go together"},
        BadCase{CTX "    dev: true\n    tls-ca: ca.pem\n",
                "c.yaml:5: contexts[0].tls-ca: not allowed with dev: true (plaintext has no TLS)"},
        BadCase{CTX "    tls-cert: c.pem\n    tls-key: k.pem\n    dev: true\n",
                "c.yaml:4: contexts[0].tls-cert: not allowed with dev: true (plaintext has no "
                "TLS)"},
        BadCase{CTX "    tls-server-name: x\n    dev: true\n",
                "c.yaml:4: contexts[0].tls-server-name: not allowed with dev: true (plaintext "
                "has no TLS)"},
        // current-context.
        BadCase{"current-context: prod\n" CTX "  - name: b\n    server: h:2\n",
                "c.yaml:1: current-context: no context named \"prod\" (contexts: a, b)"},
        BadCase{"contexts: []\ncurrent-context: prod\n",
                "c.yaml:2: current-context: no context named \"prod\" (no contexts)"}));

#undef CTX

TEST(ParseCliConfigTest, ErrorsNameTheGivenPath) {
  absl::StatusOr<CliConfig> config = ParseCliConfig("\n\nfoo: 1\n", "dir/my config.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(Message(config.status()), StartsWith("dir/my config.yaml:3: foo: unknown key"));
}

// ---- ApplyContext ----

// A config with two contexts built in code: "full" sets every field, "bare" only the server.
CliConfig TwoContexts() {
  CliConfig config;
  config.path = "c.yaml";
  CliContext full;
  full.name = "full";
  full.options.server = "full:1";
  full.options.ca_file = "ca.pem";
  full.options.cert_file = "cert.pem";
  full.options.key_file = "key.pem";
  full.options.server_name = "full.example";
  full.options.token = "full-token";
  full.options.timeout = absl::Minutes(2);
  full.set = {.server = true,
              .plaintext = false,
              .ca_file = true,
              .cert_file = true,
              .key_file = true,
              .server_name = true,
              .token = true,
              .timeout = true};
  CliContext bare;
  bare.name = "bare";
  bare.options.server = "bare:2";
  bare.set.server = true;
  config.contexts = {full, bare};
  return config;
}

TEST(ApplyContextTest, NoContextChosenLeavesOptionsUnchanged) {
  CliConfig config = TwoContexts();
  kubetrail::ClientOptions options;
  options.server = "flag:9";
  ASSERT_TRUE(ApplyContext(config, "", &options, {}).ok());
  EXPECT_EQ(options.server, "flag:9");
  EXPECT_EQ(options.token, "");
  EXPECT_EQ(options.timeout, absl::Seconds(30));
}

TEST(ApplyContextTest, ContextWinsOverDefaults) {
  CliConfig config = TwoContexts();
  kubetrail::ClientOptions options;
  ASSERT_TRUE(ApplyContext(config, "full", &options, {}).ok());
  EXPECT_EQ(options.server, "full:1");
  EXPECT_FALSE(options.plaintext);
  EXPECT_EQ(options.ca_file, "ca.pem");
  EXPECT_EQ(options.cert_file, "cert.pem");
  EXPECT_EQ(options.key_file, "key.pem");
  EXPECT_EQ(options.server_name, "full.example");
  EXPECT_EQ(options.token, "full-token");
  EXPECT_EQ(options.timeout, absl::Minutes(2));
}

TEST(ApplyContextTest, FieldsTheContextLeavesOutKeepTheirValues) {
  CliConfig config = TwoContexts();
  kubetrail::ClientOptions options;
  options.token = "from-env";  // not marked explicit, but the context has no token
  options.timeout = absl::Seconds(5);
  ASSERT_TRUE(ApplyContext(config, "bare", &options, {}).ok());
  EXPECT_EQ(options.server, "bare:2");
  EXPECT_EQ(options.token, "from-env");
  EXPECT_EQ(options.timeout, absl::Seconds(5));
  EXPECT_EQ(options.ca_file, "");
}

TEST(ApplyContextTest, EachExplicitFlagWinsOverTheContext) {
  CliConfig config = TwoContexts();
  // One flag at a time, so each field is checked on its own.
  struct Case {
    const char* name;
    bool ExplicitFlags::*flag;
    void (*set)(kubetrail::ClientOptions&);
    bool (*check)(const kubetrail::ClientOptions&);
  };
  const Case cases[] = {
      {"server", &ExplicitFlags::server, [](auto& o) { o.server = "flag:9"; },
       [](const auto& o) { return o.server == "flag:9"; }},
      {"ca_file", &ExplicitFlags::ca_file, [](auto& o) { o.ca_file = "f-ca"; },
       [](const auto& o) { return o.ca_file == "f-ca" && o.cert_file == "cert.pem"; }},
      {"cert_file", &ExplicitFlags::cert_file, [](auto& o) { o.cert_file = "f-cert"; },
       [](const auto& o) { return o.cert_file == "f-cert" && o.key_file == "key.pem"; }},
      {"key_file", &ExplicitFlags::key_file, [](auto& o) { o.key_file = "f-key"; },
       [](const auto& o) { return o.key_file == "f-key" && o.ca_file == "ca.pem"; }},
      {"server_name", &ExplicitFlags::server_name, [](auto& o) { o.server_name = "f-name"; },
       [](const auto& o) { return o.server_name == "f-name" && o.ca_file == "ca.pem"; }},
      {"token", &ExplicitFlags::token, [](auto& o) { o.token = "f-token"; },
       [](const auto& o) { return o.token == "f-token"; }},
      {"token given empty", &ExplicitFlags::token, [](auto& o) { o.token = ""; },
       [](const auto& o) { return o.token.empty(); }},
      {"timeout", &ExplicitFlags::timeout, [](auto& o) { o.timeout = absl::Seconds(7); },
       [](const auto& o) { return o.timeout == absl::Seconds(7); }},
      {"server given as the default", &ExplicitFlags::server,
       [](auto& o) { o.server = "127.0.0.1:7443"; },
       [](const auto& o) { return o.server == "127.0.0.1:7443"; }},
  };
  for (const Case& c : cases) {
    kubetrail::ClientOptions options;
    c.set(options);
    ExplicitFlags given;
    given.*c.flag = true;
    ASSERT_TRUE(ApplyContext(config, "full", &options, given).ok()) << c.name;
    EXPECT_TRUE(c.check(options)) << c.name;
    // Every other field came from the context.
    if (c.flag != &ExplicitFlags::server) {
      EXPECT_EQ(options.server, "full:1") << c.name;
    }
    if (c.flag != &ExplicitFlags::timeout) {
      EXPECT_EQ(options.timeout, absl::Minutes(2)) << c.name;
    }
    if (c.flag != &ExplicitFlags::token) {
      EXPECT_EQ(options.token, "full-token") << c.name;
    }
  }
}

TEST(ApplyContextTest, CurrentContextUnlessContextGiven) {
  CliConfig config = TwoContexts();
  config.current_context = "bare";
  kubetrail::ClientOptions options;
  ASSERT_TRUE(ApplyContext(config, "", &options, {}).ok());
  EXPECT_EQ(options.server, "bare:2");

  kubetrail::ClientOptions chosen;
  ASSERT_TRUE(ApplyContext(config, "full", &chosen, {}).ok());
  EXPECT_EQ(chosen.server, "full:1");
}

TEST(ApplyContextTest, UnknownContextIsNotFound) {
  CliConfig config = TwoContexts();
  config.current_context = "bare";
  kubetrail::ClientOptions options;
  options.server = "flag:9";
  absl::Status s = ApplyContext(config, "prd", &options, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(s), "context \"prd\" not found in c.yaml (contexts: full, bare)");
  EXPECT_EQ(options.server, "flag:9");

  CliConfig none;
  none.path = "c.yaml";
  s = ApplyContext(none, "prod", &options, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(s), "context \"prod\" not found in c.yaml (no contexts)");

  s = ApplyContext(CliConfig{}, "prod", &options, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(s), "context \"prod\" not found in <no config file> (no contexts)");
}

TEST(ApplyContextTest, ExplicitDevKeepsTheContextsTlsOut) {
  CliConfig config = TwoContexts();
  kubetrail::ClientOptions options;
  options.plaintext = true;
  options.server = "127.0.0.1:7443";
  ExplicitFlags given;
  given.plaintext = true;
  given.server = true;
  ASSERT_TRUE(ApplyContext(config, "full", &options, given).ok());
  EXPECT_TRUE(options.plaintext);
  EXPECT_EQ(options.ca_file, "");
  EXPECT_EQ(options.cert_file, "");
  EXPECT_EQ(options.key_file, "");
  EXPECT_EQ(options.server_name, "");
  EXPECT_EQ(options.timeout, absl::Minutes(2));  // not a TLS setting
}

TEST(ApplyContextTest, ExplicitDevFalseTakesTheContextsTls) {
  CliConfig config = TwoContexts();
  kubetrail::ClientOptions options;
  ExplicitFlags given;
  given.plaintext = true;  // --dev=false
  ASSERT_TRUE(ApplyContext(config, "full", &options, given).ok());
  EXPECT_FALSE(options.plaintext);
  EXPECT_EQ(options.ca_file, "ca.pem");
}

TEST(ApplyContextTest, ExplicitTlsFlagKeepsTheContextsDevOut) {
  absl::StatusOr<CliConfig> config = ParseCliConfig(kExample, "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  kubetrail::ClientOptions options;
  options.ca_file = "my-ca.pem";
  ExplicitFlags given;
  given.ca_file = true;
  ASSERT_TRUE(ApplyContext(*config, "local", &options, given).ok());
  EXPECT_FALSE(options.plaintext);
  EXPECT_EQ(options.ca_file, "my-ca.pem");
  EXPECT_EQ(options.server, "127.0.0.1:7443");

  kubetrail::ClientOptions plain;
  ASSERT_TRUE(ApplyContext(*config, "local", &plain, {}).ok());
  EXPECT_TRUE(plain.plaintext);
}

// ---- token-file and loading from disk ----

class ContextFilesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()) << dir_.error(); }

  // Writes `content` to `name` below the temp dir, creating its directories.
  std::string Write(const std::string& name, const std::string& content) {
    std::filesystem::create_directories(std::filesystem::path(dir_.File(name)).parent_path());
    return dir_.Write(name, content);
  }

  kubetrail::testing::TempDir dir_;
};

TEST_F(ContextFilesTest, TokenFileIsReadWithoutTrailingNewlines) {
  const std::string path = Write("conf/config.yaml", kExample);
  absl::StatusOr<CliConfig> config = LoadCliConfig({.kubetrail_config = path});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->contexts[0].token_file, dir_.File("conf/token"));
  for (const char* content : {"s3cret", "s3cret\n", "s3cret\r\n", "s3cret\n\n"}) {
    Write("conf/token", content);
    kubetrail::ClientOptions options;
    ASSERT_TRUE(ApplyContext(*config, "", &options, {}).ok());
    EXPECT_EQ(options.token, "s3cret") << content;
    EXPECT_EQ(options.ca_file, dir_.File("conf/ca.pem"));
  }
}

TEST_F(ContextFilesTest, TokenFileNotReadWhenTheTokenIsGiven) {
  const std::string path = Write("config.yaml", kExample);  // no token file beside it
  absl::StatusOr<CliConfig> config = LoadCliConfig({.kubetrail_config = path});
  ASSERT_TRUE(config.ok()) << config.status();
  kubetrail::ClientOptions options;
  options.token = "flag";
  ExplicitFlags given;
  given.token = true;
  ASSERT_TRUE(ApplyContext(*config, "prod", &options, given).ok());
  EXPECT_EQ(options.token, "flag");
  // The other context works although prod's token file is missing.
  kubetrail::ClientOptions local;
  ASSERT_TRUE(ApplyContext(*config, "local", &local, {}).ok());
  EXPECT_TRUE(local.plaintext);
}

TEST_F(ContextFilesTest, TokenFileErrors) {
  const std::string path = Write("config.yaml", kExample);
  absl::StatusOr<CliConfig> config = LoadCliConfig({.kubetrail_config = path});
  ASSERT_TRUE(config.ok()) << config.status();
  const std::string where = path + ":9: context \"prod\": token-file " + dir_.File("token") + ": ";
  kubetrail::ClientOptions options;
  options.server = "flag:9";

  absl::Status s = ApplyContext(*config, "prod", &options, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(s), where + "No such file or directory");

  Write("token", "\n");
  s = ApplyContext(*config, "prod", &options, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(s), where + "empty");

  Write("token", "two words\n");
  s = ApplyContext(*config, "prod", &options, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(s), where + "the token must be printable ASCII without spaces");

  EXPECT_EQ(options.server, "flag:9");  // unchanged after each error
  EXPECT_EQ(options.token, "");
}

TEST_F(ContextFilesTest, ConfigPathOrder) {
  EXPECT_EQ(CliConfigPath({.kubetrail_config = "/k.yaml", .xdg_config_home = "/x", .home = "/h"}),
            "/k.yaml");
  EXPECT_EQ(CliConfigPath({.kubetrail_config = "rel.yaml"}), "rel.yaml");
  EXPECT_EQ(CliConfigPath({.xdg_config_home = "/x", .home = "/h"}), "/x/kubetrail/config.yaml");
  EXPECT_EQ(CliConfigPath({.xdg_config_home = "x", .home = "/h"}),  // relative: ignored
            "/h/.config/kubetrail/config.yaml");
  EXPECT_EQ(CliConfigPath({.home = "/h"}), "/h/.config/kubetrail/config.yaml");
  EXPECT_EQ(CliConfigPath({}), "");
}

TEST_F(ContextFilesTest, LoadFollowsTheEnvironmentOrder) {
  const std::string named = Write("named.yaml", "contexts:\n  - name: named\n    server: n:1\n");
  Write("xdg/kubetrail/config.yaml", "contexts:\n  - name: xdg\n    server: x:1\n");
  Write("home/.config/kubetrail/config.yaml", "contexts:\n  - name: home\n    server: h:1\n");
  const std::string xdg = dir_.File("xdg");
  const std::string home = dir_.File("home");

  auto first = [](const absl::StatusOr<CliConfig>& c) {
    return c.ok() && !c->contexts.empty() ? c->contexts[0].name : Message(c.status());
  };
  EXPECT_EQ(first(LoadCliConfig({named, xdg, home})), "named");
  EXPECT_EQ(first(LoadCliConfig({"", xdg, home})), "xdg");
  EXPECT_EQ(first(LoadCliConfig({"", "", home})), "home");
  EXPECT_EQ(first(LoadCliConfig({"", "relative/xdg", home})), "home");

  absl::StatusOr<CliConfig> config = LoadCliConfig({"", xdg, home});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->path, xdg + "/kubetrail/config.yaml");
}

TEST_F(ContextFilesTest, MissingDefaultFileMeansNoContexts) {
  // $XDG_CONFIG_HOME names a place without the file: no contexts, no fallback to $HOME.
  Write("home/.config/kubetrail/config.yaml", "contexts:\n  - name: home\n    server: h:1\n");
  absl::StatusOr<CliConfig> config =
      LoadCliConfig({.xdg_config_home = dir_.File("empty-xdg"), .home = dir_.File("home")});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->path, dir_.File("empty-xdg") + "/kubetrail/config.yaml");
  EXPECT_TRUE(config->contexts.empty());
  EXPECT_EQ(config->current_context, "");

  config = LoadCliConfig({.home = dir_.File("nohome")});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->contexts.empty());

  config = LoadCliConfig({});  // no variable at all
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->path, "");
  EXPECT_TRUE(config->contexts.empty());

  // --context then names no context.
  kubetrail::ClientOptions options;
  absl::Status s = ApplyContext(*config, "prod", &options, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
}

TEST_F(ContextFilesTest, MissingNamedFileIsAnError) {
  const std::string path = dir_.File("missing.yaml");
  absl::StatusOr<CliConfig> config = LoadCliConfig({.kubetrail_config = path, .home = dir_.path()});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(config.status()),
            path + " ($KUBETRAIL_CONFIG): cannot read: No such file or directory");
}

TEST_F(ContextFilesTest, UnreadableDefaultFileIsAnError) {
  // A directory where the file should be: it exists, so it is not "missing".
  std::filesystem::create_directories(dir_.File("home/.config/kubetrail/config.yaml"));
  absl::StatusOr<CliConfig> config = LoadCliConfig({.home = dir_.File("home")});
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(config.status()),
            dir_.File("home/.config/kubetrail/config.yaml") + ": cannot read: Is a directory");
}

TEST_F(ContextFilesTest, LoadReportsParseErrorsWithThePath) {
  const std::string path =
      Write("config.yaml", "contexts:\n  - name: a\n    server: h:1\n    x: 1\n");
  absl::StatusOr<CliConfig> config = LoadCliConfig({.kubetrail_config = path});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(config.status()), StartsWith(path + ":4: contexts[0].x: unknown key"));
}

TEST_F(ContextFilesTest, LoadedConfigFillsOptionsEndToEnd) {
  const std::string path = Write("kt/config.yaml", kExample);
  Write("kt/token", "abc\n");
  absl::StatusOr<CliConfig> config =
      LoadCliConfig({.xdg_config_home = dir_.path(), .home = "/nonexistent"});
  // kExample sits in kt/, not kubetrail/: the XDG place holds nothing.
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->contexts.empty());

  config = LoadCliConfig({.kubetrail_config = path});
  ASSERT_TRUE(config.ok()) << config.status();
  kubetrail::ClientOptions options;
  options.timeout = absl::Seconds(3);
  ExplicitFlags given;
  given.timeout = true;
  ASSERT_TRUE(ApplyContext(*config, "", &options, given).ok());
  EXPECT_EQ(options.server, "aggregator.example:7443");
  EXPECT_EQ(options.ca_file, dir_.File("kt/ca.pem"));
  EXPECT_EQ(options.cert_file, dir_.File("kt/client.pem"));
  EXPECT_EQ(options.key_file, "/etc/kubetrail/client-key.pem");
  EXPECT_EQ(options.server_name, "aggregator.example");
  EXPECT_EQ(options.token, "abc");
  EXPECT_EQ(options.timeout, absl::Seconds(3));
  EXPECT_THAT((std::vector<std::string>{config->contexts[0].name, config->contexts[1].name}),
              ElementsAre("prod", "local"));
}

}  // namespace
}  // namespace kubetrail::cli

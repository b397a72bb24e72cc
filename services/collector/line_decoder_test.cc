#include "services/collector/line_decoder.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace kubetrail::collector {
namespace {

std::string EventLine(int i, size_t padding) {
  return absl::StrCat(
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-)", i,
      R"(","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list",)",
      R"("user":{"username":"u)", i % 7, R"("},"userAgent":")", std::string(padding, 'a'),
      R"(","requestReceivedTimestamp":"2026-11-01T00:00:00.000001Z",)",
      R"("stageTimestamp":"2026-11-01T00:00:00.000002Z"})", "\n");
}

// What one reader over the whole input gives: the reference.
DecodedLines DecodeWithOneReader(const std::string& data) {
  DecodedLines out;
  audit::EventReader reader(data);
  for (absl::StatusOr<bool> more = true; more.ok() ? *more : true;) {
    kubetrail::v1::Event event;
    more = reader.Next(&event);
    if (!more.ok()) out.errors.emplace_back(more.status().message());
    if (more.ok() && *more) out.events.push_back(std::move(event));
  }
  return out;
}

void ExpectSame(const DecodedLines& got, const DecodedLines& want) {
  ASSERT_EQ(got.events.size(), want.events.size());
  for (size_t i = 0; i < got.events.size(); ++i) {
    ASSERT_EQ(got.events[i].SerializeAsString(), want.events[i].SerializeAsString()) << i;
  }
  EXPECT_EQ(got.errors, want.errors);
}

// Split in two or not, the events come out as one reader gives them, in order, and bad lines
// on either side of the cut are reported with their line numbers in the whole chunk.
TEST(LineDecoderTest, DecodesLikeOneReaderOnBothSidesOfTheCut) {
  LineDecoder decoder({});
  for (int lines : {1, 3, 40, 400, 1500}) {
    std::string data;
    for (int i = 0; i < lines; ++i) {
      if (lines > 10 && (i == 2 || i == lines - 3)) {
        data += "{\"kind\":\"Event\",\"auditID\":\n";  // broken
      } else {
        data += EventLine(i, 300);
      }
    }
    const DecodedLines want = DecodeWithOneReader(data);
    std::string padded = data;
    audit::ReserveReadPadding(padded);
    const DecodedLines got = decoder.Decode(padded, padded.capacity() - padded.size());
    ExpectSame(got, want);
    if (lines > 10) {
      ASSERT_EQ(got.errors.size(), 2u) << lines;
      EXPECT_EQ(got.errors[0].rfind("line 3:", 0), 0u) << got.errors[0];
      EXPECT_EQ(got.errors[1].rfind(absl::StrCat("line ", lines - 2, ":"), 0), 0u)
          << got.errors[1];
      EXPECT_EQ(got.events.size(), static_cast<size_t>(lines - 2));
      EXPECT_EQ(got.events.back().audit_id(), absl::StrCat("id-", lines - 1));
    }
    // Without spare room after the input the reader copies the end; the result is the same.
    ExpectSame(decoder.Decode(data, 0), want);
  }
}

// A pretty-printed document spanning many lines is never cut in two.
TEST(LineDecoderTest, DoesNotCutAMultiLineDocument) {
  std::string data = "{\n  \"kind\": \"EventList\",\n  \"apiVersion\": \"audit.k8s.io/v1\",\n";
  data += "  \"items\": [\n";
  for (int i = 0; i < 300; ++i) {
    std::string line = EventLine(i, 300);
    line.pop_back();
    absl::StrAppend(&data, "    ", line, i + 1 < 300 ? ",\n" : "\n");
  }
  data += "  ]\n}\n";
  ASSERT_GT(data.size(), LineDecoder::kMinSplitBytes);
  LineDecoder decoder({});
  const DecodedLines got = decoder.Decode(data, 0);
  ExpectSame(got, DecodeWithOneReader(data));
  EXPECT_EQ(got.events.size(), 300u);
  EXPECT_TRUE(got.errors.empty());
}

}  // namespace
}  // namespace kubetrail::collector

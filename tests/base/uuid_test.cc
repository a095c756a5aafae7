#include "base/uuid.h"

#include <gtest/gtest.h>

namespace vmtrace {
namespace {

TEST(Md5Test, KnownDigests) {
  // RFC 1321 test suite.
  auto hex = [](std::string_view s) {
    std::string out;
    for (uint8_t b : Md5(s)) {
      char buf[3];
      snprintf(buf, sizeof buf, "%02x", b);
      out += buf;
    }
    return out;
  };
  EXPECT_EQ(hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex("12345678901234567890123456789012345678901234567890123456789"
                "012345678901234567890"),
            "57edf4a22be3c955ac49da2e2107b67a");
  // Lengths around the 56-byte padding boundary.
  EXPECT_EQ(hex(std::string(55, 'a')), "ef1772b6dff9a122358552954ad0df65");
  EXPECT_EQ(hex(std::string(56, 'a')), "3b0c8ac703f828b04c6c197006d17218");
  EXPECT_EQ(hex(std::string(64, 'a')), "014842d480b571495a4a0363793f7367");
}

TEST(NameUuidTest, MatchesJavaNameUuidFromBytes) {
  // java.util.UUID.nameUUIDFromBytes("test".getBytes()).toString()
  EXPECT_EQ(NameUuidFromBytes("test"), "098f6bcd-4621-3373-8ade-4e832627b4f6");
  EXPECT_EQ(NameUuidFromBytes("test"), NameUuidFromBytes("test"));
  EXPECT_NE(NameUuidFromBytes("test"), NameUuidFromBytes("test2"));
}

TEST(NameUuidTest, IsUuid) {
  EXPECT_TRUE(IsUuid(NameUuidFromBytes("x")));
  EXPECT_TRUE(IsUuid("098F6BCD-4621-3373-8ADE-4E832627B4F6"));
  EXPECT_FALSE(IsUuid("not-a-uuid"));
  EXPECT_FALSE(IsUuid("098f6bcd46213373-8ade-4e832627b4f6x"));
}

}  // namespace
}  // namespace vmtrace

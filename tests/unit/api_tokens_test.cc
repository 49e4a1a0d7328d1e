// API bearer tokens: a presented token authenticates as the stored token whose
// SHA-256 it has, with that token's scope; anything else (wrong token, missing
// or malformed header) does not. Hash parsing errors never repeat the value.
// Scopes are ordered admin > trigger > read. Sha256 and HmacSha256Hex match
// the published test vectors.
#include "sync/service/api_tokens.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <string>

#include "copy/error.h"
#include "sync/service/hmac.h"

namespace freshet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Hex(const Sha256Digest& digest) {
  return HexLower(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

TokenSet TwoTokens() {
  TokenSet tokens;
  tokens.Add({"dashboard", Sha256("read-secret"), Scope::kRead});
  tokens.Add({"ci", Sha256("ci-secret"), Scope::kTrigger});
  return tokens;
}

TEST(ApiTokenSha256, AbcMatchesTheKnownVector) {
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiTokenSha256, EmptyInputMatchesTheKnownVector) {
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ApiTokenSet, CorrectTokenAuthenticatesWithItsNameAndScope) {
  std::optional<ApiToken> token = TwoTokens().Authenticate("Bearer ci-secret");
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(token->name, "ci");
  EXPECT_EQ(token->scope, Scope::kTrigger);
}

TEST(ApiTokenSet, WrongTokenFails) {
  EXPECT_FALSE(TwoTokens().Authenticate("Bearer ci-secreT").has_value());
  EXPECT_FALSE(TwoTokens().Authenticate("Bearer ci-secret2").has_value());
}

TEST(ApiTokenSet, SchemeIsCaseInsensitive) {
  EXPECT_EQ(TwoTokens().Authenticate("bearer read-secret")->name, "dashboard");
  EXPECT_EQ(TwoTokens().Authenticate("BEARER read-secret")->name, "dashboard");
}

TEST(ApiTokenSet, SeveralSpacesAfterTheSchemeAreAccepted) {
  EXPECT_EQ(TwoTokens().Authenticate("Bearer   read-secret")->name, "dashboard");
}

TEST(ApiTokenSet, MissingOrMalformedHeaderFails) {
  TokenSet tokens = TwoTokens();
  EXPECT_FALSE(tokens.Authenticate("").has_value());
  EXPECT_FALSE(tokens.Authenticate("Bearer").has_value());
  EXPECT_FALSE(tokens.Authenticate("Bearer ").has_value());
  EXPECT_FALSE(tokens.Authenticate("read-secret").has_value());
  EXPECT_FALSE(tokens.Authenticate("Basic read-secret").has_value());
  EXPECT_FALSE(tokens.Authenticate("Bearerread-secret").has_value());
  EXPECT_FALSE(tokens.Authenticate("Bearer read-secret extra").has_value());
}

TEST(ApiTokenSet, EmptySetAuthenticatesNothing) {
  TokenSet tokens;
  EXPECT_TRUE(tokens.empty());
  EXPECT_FALSE(tokens.Authenticate("Bearer anything").has_value());
}

TEST(ApiTokenSet, DuplicateNameOrHashIsAUsageError) {
  TokenSet tokens = TwoTokens();
  try {
    tokens.Add({"ci", Sha256("other"), Scope::kAdmin});
    FAIL() << "duplicate name accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
  }
  EXPECT_THROW(tokens.Add({"admin", Sha256("ci-secret"), Scope::kAdmin}), Error);
  EXPECT_EQ(tokens.size(), 2u);
}

TEST(ApiTokenHash, ParsesHexWithOrWithoutPrefixInEitherCase) {
  const std::string hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(ParseTokenHash(hex, "t"), Sha256("abc"));
  EXPECT_EQ(ParseTokenHash("sha256:" + hex, "t"), Sha256("abc"));
  EXPECT_EQ(ParseTokenHash(upper, "t"), Sha256("abc"));
}

TEST(ApiTokenHash, ErrorNamesTheSettingButNeverEchoesTheValue) {
  const std::string bad[] = {
      "my-plain-secret-token",
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015",      // 62 digits
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015adzz",  // 66
      "xa7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",    // not hex
      "",
  };
  for (const std::string& value : bad) {
    try {
      ParseTokenHash(value, "token \"ci\" in [serve]");
      FAIL() << "accepted a bad hash";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kUsage);
      EXPECT_THAT(error.what(), HasSubstr("token \"ci\" in [serve]"));
      if (!value.empty()) {
        EXPECT_THAT(error.what(), Not(HasSubstr(value)));
        EXPECT_THAT(error.what(), Not(HasSubstr(value.substr(0, 8))));
      }
    }
  }
}

TEST(ApiTokenScope, ParsesTheThreeNamesAndRoundTrips) {
  for (Scope scope : {Scope::kRead, Scope::kTrigger, Scope::kAdmin}) {
    EXPECT_EQ(ParseScope(ScopeName(scope)), scope);
  }
  EXPECT_EQ(ScopeName(Scope::kTrigger), "trigger");
}

TEST(ApiTokenScope, UnknownScopeIsAUsageError) {
  try {
    ParseScope("Admin");
    FAIL() << "accepted a bad scope";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
  }
}

TEST(ApiTokenScope, AdminImpliesTriggerImpliesRead) {
  EXPECT_TRUE(Allows(Scope::kAdmin, Scope::kAdmin));
  EXPECT_TRUE(Allows(Scope::kAdmin, Scope::kTrigger));
  EXPECT_TRUE(Allows(Scope::kAdmin, Scope::kRead));
  EXPECT_FALSE(Allows(Scope::kTrigger, Scope::kAdmin));
  EXPECT_TRUE(Allows(Scope::kTrigger, Scope::kTrigger));
  EXPECT_TRUE(Allows(Scope::kTrigger, Scope::kRead));
  EXPECT_FALSE(Allows(Scope::kRead, Scope::kAdmin));
  EXPECT_FALSE(Allows(Scope::kRead, Scope::kTrigger));
  EXPECT_TRUE(Allows(Scope::kRead, Scope::kRead));
}

TEST(HmacSha256, Rfc4231TestCase2) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256, Rfc4231TestCase1) {
  EXPECT_EQ(HmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(HmacSha256, EmptyKeyAndBodyMatchTheKnownValue) {
  EXPECT_EQ(HmacSha256Hex("", ""),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

}  // namespace
}  // namespace freshet

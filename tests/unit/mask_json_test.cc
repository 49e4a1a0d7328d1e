// JsonPathMasker: values at JSON paths masked in the document's text, the
// rest copied through byte for byte.
#include "copy/mask_json.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "copy/error.h"

namespace freshet {
namespace {

// Text becomes "X" + the text upper-cased (ASCII only); numbers are negated.
class UpperMasker : public ValueMasker {
 public:
  bool Mask(MaskValue& value) const override {
    if (value.kind == ValueKind::kNumeric) {
      value.text = value.text[0] == '-' ? value.text.substr(1) : "-" + value.text;
      return true;
    }
    std::string masked = "X";
    for (char c : value.text) masked += (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c;
    value.text = masked;
    return true;
  }
};

// Makes every value NULL.
class NullMasker : public ValueMasker {
 public:
  bool Mask(MaskValue&) const override { return false; }
};

// Replaces every value by a fixed text.
class FixedMasker : public ValueMasker {
 public:
  explicit FixedMasker(std::string text) : text_(std::move(text)) {}
  bool Mask(MaskValue& value) const override {
    value.text = text_;
    return true;
  }

 private:
  std::string text_;
};

// Keeps every value and remembers what it was given.
class RecordingMasker : public ValueMasker {
 public:
  bool Mask(MaskValue& value) const override {
    seen.push_back(value.text);
    kinds.push_back(value.kind);
    return true;
  }
  mutable std::vector<std::string> seen;
  mutable std::vector<ValueKind> kinds;
};

auto Upper() { return std::make_shared<UpperMasker>(); }

JsonPathMaskers TextAndNumber(std::string path) { return {std::move(path), Upper(), Upper()}; }
JsonPathMaskers TextOnly(std::string path) { return {std::move(path), Upper(), nullptr}; }

std::string MaskWith(std::vector<std::string> paths, std::string_view json) {
  std::vector<JsonPathMaskers> maskers;
  for (auto& path : paths) maskers.push_back(TextAndNumber(std::move(path)));
  std::string out = JsonPathMasker(std::move(maskers)).Mask(json);
  EXPECT_TRUE(nlohmann::json::accept(out)) << out;
  return out;
}

std::string MaskWith(std::string path, std::string_view json) {
  return MaskWith(std::vector<std::string>{std::move(path)}, json);
}

// The message of the Error `f` throws, or "" when it throws none.
template <typename F>
std::string ErrorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(MaskJson, MasksTheMemberAtASimplePath) {
  EXPECT_EQ(MaskWith("$.a", R"({"a":"x","b":"y"})"), R"({"a":"XX","b":"y"})");
}

TEST(MaskJson, MasksANestedMember) {
  const char* doc =
      R"({"summary":"call with client","contact":{"email":"a@b.com","phone":"+1 555 0100"},)"
      R"("tags":["x","y"],"n":3})";
  EXPECT_EQ(MaskWith("$.contact.email", doc),
            R"({"summary":"call with client","contact":{"email":"XA@B.COM","phone":"+1 555 0100"},)"
            R"("tags":["x","y"],"n":3})");
}

TEST(MaskJson, StarMasksEveryElementOfAnArray) {
  EXPECT_EQ(MaskWith("$.tags[*]", R"({"tags":["x","y"],"z":"q"})"),
            R"({"tags":["XX","XY"],"z":"q"})");
  EXPECT_EQ(MaskWith("$.items[*].phone", R"({"items":[{"phone":"a","n":"b"},{"phone":"c"}]})"),
            R"({"items":[{"phone":"XA","n":"b"},{"phone":"XC"}]})");
}

TEST(MaskJson, StarMasksEveryMemberOfAnObject) {
  EXPECT_EQ(MaskWith("$.c[*]", R"({"c":{"a":"p","b":"q"},"d":"r"})"),
            R"({"c":{"a":"XP","b":"XQ"},"d":"r"})");
  EXPECT_EQ(MaskWith("$.c.*", R"({"c":{"a":"p","b":"q"},"d":"r"})"),
            R"({"c":{"a":"XP","b":"XQ"},"d":"r"})");
}

TEST(MaskJson, DotStarTakesMembersButNotArrayElements) {
  EXPECT_EQ(MaskWith("$.c.*", R"({"c":["p","q"]})"), R"({"c":["p","q"]})");
}

TEST(MaskJson, IndexMasksOneElement) {
  EXPECT_EQ(MaskWith("$.list[1]", R"({"list":["a","b","c"]})"), R"({"list":["a","XB","c"]})");
  EXPECT_EQ(MaskWith("$.list[0]", R"({"list":{"0":"a"}})"), R"({"list":{"0":"a"}})");
  EXPECT_EQ(MaskWith("$[2]", R"(["a","b"])"), R"(["a","b"])");
}

TEST(MaskJson, RecursiveDescentMatchesAtAnyDepth) {
  EXPECT_EQ(MaskWith("$..email", R"({"email":"a","x":{"email":"b","y":[{"email":"c"}]},)"
                                 R"("email2":"d"})"),
            R"({"email":"XA","x":{"email":"XB","y":[{"email":"XC"}]},"email2":"d"})");
  EXPECT_EQ(MaskWith("$.x..['e m']", R"({"e m":"a","x":[[{"e m":"b"}]]})"),
            R"({"e m":"a","x":[[{"e m":"XB"}]]})");
  EXPECT_EQ(MaskWith("$..*", R"({"a":["b",{"c":1}]})"), R"({"a":["XB",{"c":-1}]})");
}

TEST(MaskJson, BracketNamesMayHoldSpacesAndQuotes) {
  EXPECT_EQ(MaskWith("$['full name']", R"({"full name":"ann","full":"b"})"),
            R"({"full name":"XANN","full":"b"})");
  EXPECT_EQ(MaskWith(R"($["it's"])", R"({"it's":"a"})"), R"({"it's":"XA"})");
  EXPECT_EQ(MaskWith(R"($['it\'s'])", R"({"it's":"a"})"), R"({"it's":"XA"})");
  EXPECT_EQ(MaskWith(R"($['say "hi"'].x)", R"({"say \"hi\"":{"x":"a"}})"),
            R"({"say \"hi\"":{"x":"XA"}})");
  EXPECT_EQ(MaskWith(R"($['back\\slash'])", R"({"back\\slash":"a"})"), R"({"back\\slash":"XA"})");
}

TEST(MaskJson, MemberNamesAreComparedUnescaped) {
  EXPECT_EQ(MaskWith("$.email", R"({"e\u006dail":"a"})"), R"({"e\u006dail":"XA"})");
}

TEST(MaskJson, NumbersGoThroughTheNumberMasker) {
  EXPECT_EQ(MaskWith("$[*]", R"({"n":3,"f":-1.5e3,"z":0})"), R"({"n":-3,"f":1.5e3,"z":-0})");
  auto recorder = std::make_shared<RecordingMasker>();
  JsonPathMasker masker({{"$.n", Upper(), recorder}});
  EXPECT_EQ(masker.Mask(R"({"n":12.50})"), R"({"n":12.50})");
  EXPECT_EQ(recorder->seen, std::vector<std::string>{"12.50"});
  EXPECT_EQ(recorder->kinds, std::vector<ValueKind>{ValueKind::kNumeric});
}

TEST(MaskJson, NumbersGoThroughTheTextMaskerAsStringsWithoutANumberMasker) {
  JsonPathMasker masker({TextOnly("$.n")});
  EXPECT_EQ(masker.Mask(R"({"n":3,"m":4})"), R"({"n":"X3","m":4})");
}

TEST(MaskJson, ANumberMaskerResultThatIsNoJsonNumberIsWrittenAsAString) {
  JsonPathMasker masker({{"$.n", Upper(), std::make_shared<FixedMasker>("NaN")}});
  EXPECT_EQ(masker.Mask(R"({"n":3})"), R"({"n":"NaN"})");
}

TEST(MaskJson, AMaskerReturningFalseWritesNull) {
  auto null = std::make_shared<NullMasker>();
  JsonPathMasker masker({{"$.a", null, null}, {"$.b", null, nullptr}});
  EXPECT_EQ(masker.Mask(R"({"a":["s",1],"b":2,"c":"s"})"), R"({"a":[null,null],"b":null,"c":"s"})");
}

TEST(MaskJson, NullTrueAndFalseStayAsTheyAre) {
  EXPECT_EQ(MaskWith("$.*", R"({"a":null,"b":true,"c":false,"d":"x"})"),
            R"({"a":null,"b":true,"c":false,"d":"XX"})");
}

TEST(MaskJson, AMatchedObjectHasEveryValueBeneathItMaskedButNotItsKeys) {
  EXPECT_EQ(MaskWith("$.contact",
                     R"({"contact":{"email":"a","phones":["b",{"n":7}],"ok":true},"x":"y"})"),
            R"({"contact":{"email":"XA","phones":["XB",{"n":-7}],"ok":true},"x":"y"})");
}

TEST(MaskJson, TheRootPathMasksTheWholeDocument) {
  EXPECT_EQ(MaskWith("$", R"("a")"), R"("XA")");
  EXPECT_EQ(MaskWith("$", R"([1,"b"])"), R"([-1,"XB"])");
}

TEST(MaskJson, TheFirstListedPathWinsOnTheSameValue) {
  auto fixed = std::make_shared<FixedMasker>("first");
  JsonPathMasker masker({{"$.a", fixed, nullptr}, TextAndNumber("$..a")});
  EXPECT_EQ(masker.Mask(R"({"a":"x","b":{"a":"y"}})"), R"({"a":"first","b":{"a":"XY"}})");
}

TEST(MaskJson, AnEarlierPathWinsBeneathALaterPathsMatch) {
  auto fixed = std::make_shared<FixedMasker>("first");
  JsonPathMasker masker({{"$..email", fixed, nullptr}, TextAndNumber("$.contact")});
  EXPECT_EQ(masker.Mask(R"({"contact":{"email":"a","name":"b"}})"),
            R"({"contact":{"email":"first","name":"XB"}})");
}

TEST(MaskJson, EscapesAndSurrogatePairsAreDecodedForTheMaskerAndReEscaped) {
  auto recorder = std::make_shared<RecordingMasker>();
  JsonPathMasker masker({{"$.s", recorder, nullptr}});
  std::string out = masker.Mask(R"({"s":"a\"b\\c\/d\n\t\u0001\u00e9\ud83d\ude00"})");
  EXPECT_EQ(recorder->seen, std::vector<std::string>{"a\"b\\c/d\n\t\x01\xC3\xA9\xF0\x9F\x98\x80"});
  EXPECT_EQ(out, "{\"s\":\"a\\\"b\\\\c/d\\n\\t\\u0001\xC3\xA9\xF0\x9F\x98\x80\"}");
  EXPECT_EQ(nlohmann::json::parse(out)["s"], recorder->seen[0]);
}

TEST(MaskJson, NonAsciiStaysUtf8) {
  EXPECT_EQ(MaskWith("$.n", "{\"n\":\"Zo\xC3\xAB \xE6\x9D\xB1\"}"),
            "{\"n\":\"XZO\xC3\xAB \xE6\x9D\xB1\"}");
}

TEST(MaskJson, MaskerOutputIsEscapedAndKeptValidUtf8) {
  auto fixed = std::make_shared<FixedMasker>(std::string("q\"\\\n\x1f\x7f\xff", 7));
  std::string out = JsonPathMasker({{"$.a", fixed, nullptr}}).Mask(R"({"a":"x"})");
  EXPECT_EQ(out, "{\"a\":\"q\\\"\\\\\\n\\u001f\x7f\xEF\xBF\xBD\"}");
  EXPECT_TRUE(nlohmann::json::accept(out));
}

TEST(MaskJson, UntouchedTextIsCopiedByteForByte) {
  const char* doc = " {\n  \"a\" : \"x\" ,\t\"b\":[ 1 ,2.0e+1 , \"\\u00e9\" ] ,\"c\":{ }}\r\n";
  EXPECT_EQ(MaskWith("$.a", doc),
            " {\n  \"a\" : \"XX\" ,\t\"b\":[ 1 ,2.0e+1 , \"\\u00e9\" ] ,\"c\":{ }}\r\n");
  EXPECT_EQ(MaskWith("$.nothing", doc), doc);
  EXPECT_EQ(JsonPathMasker({}).Mask(doc), doc);
}

TEST(MaskJson, MalformedDocumentsAreErrorsThatDoNotQuoteThem) {
  const std::vector<std::string> docs = {
      "",
      R"({"a":"s3cret")",
      R"({"a":"s3cret"} s3cret)",
      R"({"a":"s3cret\q"})",
      R"({"a":"s3cret\u12"})",
      R"({"a":"s3cret\ud800"})",
      R"({"a":"s3cret\udc00"})",
      "{\"a\":\"s3cret\xff\"}",
      "{\"a\":\"s3cret\xc0\xaf\"}",
      "{\"a\":\"s3cret\n\"}",
      R"({"a":s3cret})",
      R"({"a":01})",
      R"({"a":1.})",
      R"({"a":-})",
      R"({"a" "s3cret"})",
      R"({"a":"s3cret",})",
      R"(["s3cret",])",
      R"(["s3cret" "x"])",
      R"({s3cret:1})",
      R"(nul)",
  };
  for (const std::string& doc : docs) {
    for (const char* path : {"$.a", "$.zzz"}) {
      std::string message = ErrorOf([&] { MaskWith(path, doc); });
      EXPECT_NE(message.find("malformed JSON at byte "), std::string::npos) << doc;
      EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
    }
  }
}

TEST(MaskJson, TheErrorNamesTheByteOffset) {
  EXPECT_EQ(ErrorOf([] { MaskWith("$.a", R"({"a":1,})"); }),
            "malformed JSON at byte 7: expected a member name");
  EXPECT_EQ(ErrorOf([] { MaskWith("$.a", R"({"a":"x)"); }),
            "malformed JSON at byte 7: the document ends early");
}

TEST(MaskJson, BadPathsAreErrorsNamingThePathAndPosition) {
  const std::vector<std::string> paths = {
      "",      "a.b",           "$.",    "$..",   "$.a[",    "$[x]",  "$['a",
      "$['a'", "$[-1]",         "$[01]", "$[ 1]", "$a",      "$.a b", "$['\\n']",
      "$.a.",  "$[1234567890]", "$.*.",  "$[*",   "$.a[*]]", "$.a()", "$.a[?(@.b)]",
  };
  for (const std::string& path : paths) {
    std::string message = ErrorOf([&] { JsonPathMasker({TextAndNumber(path)}); });
    EXPECT_NE(message.find("JSON path \"" + path + "\" at position "), std::string::npos)
        << path << " -> " << message;
  }
  EXPECT_EQ(
      ErrorOf([] { JsonPathMasker({TextAndNumber("$.a[x]")}); }),
      "JSON path \"$.a[x]\" at position 4: expected '*', an index or a quoted name after '['");
}

TEST(MaskJson, DeepNestingIsAnErrorNotACrash) {
  std::string ok = std::string(512, '[') + std::string(512, ']');
  EXPECT_EQ(MaskWith("$..a", ok), ok);
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_NE(ErrorOf([&] { MaskWith("$..a", deep); }).find("deeper than 512 levels"),
            std::string::npos);
}

TEST(MaskJson, ScalarDocumentsAreJson) {
  EXPECT_EQ(MaskWith("$.a", " 12 "), " 12 ");
  EXPECT_EQ(MaskWith("$.a", "null"), "null");
  EXPECT_EQ(MaskWith("$", "-0.5e-3"), "0.5e-3");
}

}  // namespace
}  // namespace freshet

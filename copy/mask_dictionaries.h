// Built-in word lists the dictionary maskers (first_name, last_name,
// full_name, city, street_address, company) pick from, one set per locale,
// and how each locale writes a street address. The lists were written for
// freshet. Static data: thread-safe, lives for the whole program.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace freshet {

struct MaskDictionary {
  std::string_view locale;
  std::span<const std::string_view> first_names;
  std::span<const std::string_view> last_names;
  std::span<const std::string_view> cities;
  std::span<const std::string_view> street_names;
  std::span<const std::string_view> street_types;      // "Street", "straße", "rue"
  std::span<const std::string_view> company_words;     // "Northwind", "Bluebell"
  std::span<const std::string_view> company_trades;    // "Logistics", "Bau", "Conseil"
  std::span<const std::string_view> company_suffixes;  // "Ltd", "GmbH", "SARL"
};

// The dictionary of `locale` ("en", "de", "fr"; empty means "en"). Throws
// Error listing the known locales for any other.
const MaskDictionary& MaskDictionaryFor(std::string_view locale);

// A street address as the locale writes it: "12 Maple Street" (en),
// "Lindenstraße 12" (de), "12 rue des Lilas" (fr).
std::string FormatStreetAddress(const MaskDictionary& dictionary, int number, std::string_view name,
                                std::string_view type);

}  // namespace freshet

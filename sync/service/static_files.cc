#include "sync/service/static_files.h"

#include <array>
#include <string_view>

#include "dashboard_files.h"

namespace freshet {
namespace {

struct File {
  std::string_view path;
  std::string_view content_type;
  std::string_view body;
};

constexpr std::array kFiles = {
    File{"/", "text/html; charset=utf-8", dashboard::kIndexHtml},
    File{"/dashboard.css", "text/css; charset=utf-8", dashboard::kDashboardCss},
    File{"/dashboard.js", "text/javascript; charset=utf-8", dashboard::kDashboardJs},
};

// The page loads nothing from elsewhere, is never framed, and sends no
// Referer: its URL holds nothing, but the API it calls is not for others.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'";

}  // namespace

std::optional<HttpResponse> StaticFile(const HttpRequest& request) {
  // HEAD is not answered here: Beast's prepare_payload would announce the
  // empty body's length, not the file's.
  if (request.method() != http::verb::get) return std::nullopt;
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));
  for (const File& file : kFiles) {
    if (file.path != path) continue;
    HttpResponse response(http::status::ok, request.version());
    response.set(http::field::content_type, file.content_type);
    response.set(http::field::cache_control, "no-cache");
    response.set("X-Content-Type-Options", "nosniff");
    response.set("Content-Security-Policy", kContentSecurityPolicy);
    response.set("Referrer-Policy", "no-referrer");
    response.body() = std::string(file.body);
    return response;
  }
  return std::nullopt;
}

}  // namespace freshet

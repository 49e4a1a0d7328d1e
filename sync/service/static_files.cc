#include "sync/service/static_files.h"

namespace freshet {

// Placeholder until the dashboard lands: no files.
std::optional<HttpResponse> StaticFile(const HttpRequest&) { return std::nullopt; }

}  // namespace freshet

// The dashboard's files (HTML, CSS, JavaScript), built into the binary from
// sync/service/dashboard/ and served at / without a token: they hold no data;
// the page asks for a token and calls the API with it.
#pragma once

#include <optional>

#include "sync/service/http_server.h"

namespace freshet {

// The file for a GET/HEAD of `request`'s path ("/" is index.html), with its
// content type and security headers; nullopt when no such file exists.
std::optional<HttpResponse> StaticFile(const HttpRequest& request);

}  // namespace freshet

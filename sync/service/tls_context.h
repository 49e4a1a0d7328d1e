// The server side of TLS for `freshet serve`: an OpenSSL context (TLS 1.2 or
// later) loaded from a PEM certificate chain and its private key, checked at
// start-up so that a wrong path or a key of another certificate stops the
// service with an error naming the file, before it listens.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

namespace freshet {

// Loads `cert_path` (the server's certificate, then its chain) and
// `key_path` (its unencrypted private key). Throws Error (usage) naming the
// file that is missing, unreadable, not PEM, or whose key does not match the
// certificate. Messages never contain the files' contents.
std::unique_ptr<boost::asio::ssl::context> LoadTlsContext(const std::string& cert_path,
                                                          const std::string& key_path);

}  // namespace freshet

#include "sync/service/tls_context.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "copy/error.h"

namespace freshet {
namespace {

namespace ssl = boost::asio::ssl;

// Fails unless `path` can be opened for reading (OpenSSL's own message for a
// missing file is a bare "system lib").
void CheckReadable(const std::string& path, std::string_view key) {
  std::ifstream file(path);
  if (!file)
    throw Error(ErrorKind::kUsage, fmt::format("[service] {} '{}' cannot be read: {}", key, path,
                                               std::strerror(errno)));
}

// The reason OpenSSL gives for the last failure (a reason, never file bytes).
std::string OpenSslReason(const boost::system::error_code& error) {
  const char* reason = ERR_reason_error_string(ERR_peek_last_error());
  std::string out = reason ? reason : error.message();
  ERR_clear_error();
  return out;
}

}  // namespace

std::unique_ptr<ssl::context> LoadTlsContext(const std::string& cert_path,
                                             const std::string& key_path) {
  CheckReadable(cert_path, "tls_cert");
  CheckReadable(key_path, "tls_key");
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  // An encrypted key fails instead of asking for a passphrase on the terminal.
  context->set_password_callback(
      [](std::size_t, ssl::context::password_purpose) { return std::string(); });
  boost::system::error_code error;
  ERR_clear_error();
  // The key first: loaded after the certificate, OpenSSL would report a key
  // of another certificate as a bad key file.
  if (context->use_private_key_file(key_path, ssl::context::pem, error))
    throw Error(ErrorKind::kUsage,
                fmt::format("[service] tls_key '{}' is not an unencrypted PEM private key: {}",
                            key_path, OpenSslReason(error)));
  if (context->use_certificate_chain_file(cert_path, error))
    throw Error(ErrorKind::kUsage,
                fmt::format("[service] tls_cert '{}' is not a PEM certificate chain: {}", cert_path,
                            OpenSslReason(error)));
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    ERR_clear_error();
    throw Error(
        ErrorKind::kUsage,
        fmt::format("[service] tls_key '{}' does not match the certificate in tls_cert '{}'",
                    key_path, cert_path));
  }
  return context;
}

}  // namespace freshet

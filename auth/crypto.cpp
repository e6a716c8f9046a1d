#include "auth/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>

namespace auth {
namespace {

// ---------------------------------------------------------------------------------------------
// RAII wrappers for OpenSSL handles
// ---------------------------------------------------------------------------------------------

struct EvpMdDeleter {
  void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
};
struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
struct EvpMacDeleter {
  void operator()(EVP_MAC* mac) const noexcept { EVP_MAC_free(mac); }
};
struct EvpMacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};

using EvpMdPtr = std::unique_ptr<EVP_MD, EvpMdDeleter>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;
using EvpMacPtr = std::unique_ptr<EVP_MAC, EvpMacDeleter>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, EvpMacCtxDeleter>;

// ---------------------------------------------------------------------------------------------
// Algorithm handles, fetched once per process
// ---------------------------------------------------------------------------------------------
//
// Fetched algorithm objects are immutable and reference counted, so sharing them between threads
// is safe; function-local statics make the first fetch thread-safe. They are released at exit,
// before OpenSSL's own atexit cleanup (which was registered earlier, during the first fetch).
// A failed fetch stays null and every later use reports failure.

enum class Digest { md5, sha1, sha256 };

EVP_MD* digest_algorithm(Digest digest) noexcept {
  switch (digest) {
    case Digest::md5: {
      static const EvpMdPtr md{EVP_MD_fetch(nullptr, "MD5", nullptr)};
      return md.get();
    }
    case Digest::sha1: {
      static const EvpMdPtr md{EVP_MD_fetch(nullptr, "SHA1", nullptr)};
      return md.get();
    }
    case Digest::sha256: {
      static const EvpMdPtr md{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
      return md.get();
    }
  }
  return nullptr;
}

EVP_MAC* hmac_algorithm() noexcept {
  static const EvpMacPtr mac{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
  return mac.get();
}

// ---------------------------------------------------------------------------------------------
// Low-level helpers
// ---------------------------------------------------------------------------------------------

// Raw digest output; `size` bytes of `bytes` are valid.
struct DigestBytes {
  std::array<unsigned char, EVP_MAX_MD_SIZE> bytes{};
  std::size_t size = 0;

  [[nodiscard]] std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), size};
  }
};

const unsigned char* as_uchar(std::string_view text) noexcept {
  return reinterpret_cast<const unsigned char*>(text.data());
}

// Hashes the concatenation of `parts` without copying them. Returns false if OpenSSL fails.
[[nodiscard]] bool compute_digest(Digest digest, std::initializer_list<std::string_view> parts,
                                  DigestBytes& out) noexcept {
  const EVP_MD* md = digest_algorithm(digest);
  if (md == nullptr) return false;
  const EvpMdCtxPtr ctx{EVP_MD_CTX_new()};
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1) return false;
  for (const std::string_view part : parts) {
    if (EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) return false;
  }
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out.bytes.data(), &size) != 1) return false;
  out.size = size;
  return true;
}

// HMAC-SHA256 of `message` keyed with `key`. Returns false if OpenSSL fails.
[[nodiscard]] bool compute_hmac_sha256(std::string_view key, std::string_view message,
                                       DigestBytes& out) noexcept {
  EVP_MAC* mac = hmac_algorithm();
  if (mac == nullptr) return false;
  const EvpMacCtxPtr ctx{EVP_MAC_CTX_new(mac)};
  if (!ctx) return false;

  // OSSL_PARAM wants a mutable pointer but only reads the name.
  std::array<char, 7> digest_name{'S', 'H', 'A', '2', '5', '6', '\0'};
  const std::array<OSSL_PARAM, 2> params{
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name.data(), 0),
      OSSL_PARAM_construct_end()};
  // A null key means "keep the previous key" to OpenSSL, so an empty secret needs a non-null
  // pointer with length 0.
  static const unsigned char empty_key = 0;
  const unsigned char* key_bytes = key.empty() ? &empty_key : as_uchar(key);
  if (EVP_MAC_init(ctx.get(), key_bytes, key.size(), params.data()) != 1) return false;
  if (EVP_MAC_update(ctx.get(), as_uchar(message), message.size()) != 1) return false;
  std::size_t size = 0;
  if (EVP_MAC_final(ctx.get(), out.bytes.data(), &size, out.bytes.size()) != 1) return false;
  out.size = size;
  return true;
}

std::string to_lower_hex(std::string_view bytes) {
  static constexpr std::string_view digits = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    hex += digits[byte >> 4U];
    hex += digits[byte & 0x0FU];
  }
  return hex;
}

[[noreturn]] void throw_openssl_failure(const char* what) {
  throw std::runtime_error(std::string("auth: OpenSSL ") + what + " failed");
}

DigestBytes digest_or_throw(Digest digest, std::initializer_list<std::string_view> parts,
                            const char* what) {
  DigestBytes out;
  if (!compute_digest(digest, parts, out)) throw_openssl_failure(what);
  return out;
}

// ---------------------------------------------------------------------------------------------
// base64 tables
// ---------------------------------------------------------------------------------------------

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::uint8_t base64_invalid = 0xFF;

constexpr std::array<std::uint8_t, 256> make_base64_reverse() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) entry = base64_invalid;
  for (std::size_t i = 0; i < base64_alphabet.size(); ++i) {
    table[static_cast<unsigned char>(base64_alphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr std::array<std::uint8_t, 256> base64_reverse = make_base64_reverse();

constexpr std::string_view websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  std::optional<std::string> hex = try_hmac_sha256_hex(key, message);
  if (!hex) throw_openssl_failure("HMAC-SHA256");
  return std::move(*hex);
}

std::optional<std::string> try_hmac_sha256_hex(std::string_view key, std::string_view message) {
  DigestBytes mac;
  if (!compute_hmac_sha256(key, message, mac)) return std::nullopt;
  return to_lower_hex(mac.view());
}

std::string md5_hex(std::string_view data) {
  std::optional<std::string> hex = try_md5_hex(data);
  if (!hex) throw_openssl_failure("MD5");
  return std::move(*hex);
}

std::optional<std::string> try_md5_hex(std::string_view data) {
  DigestBytes digest;
  if (!compute_digest(Digest::md5, {data}, digest)) return std::nullopt;
  return to_lower_hex(digest.view());
}

std::string sha256_base64(std::string_view data) {
  return base64_encode(digest_or_throw(Digest::sha256, {data}, "SHA256").view());
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  // Whole 3-byte groups -> 4 characters.
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16U) |
                                (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8U) |
                                std::uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out += base64_alphabet[(group >> 18U) & 0x3FU];
    out += base64_alphabet[(group >> 12U) & 0x3FU];
    out += base64_alphabet[(group >> 6U) & 0x3FU];
    out += base64_alphabet[group & 0x3FU];
  }
  // Tail of 1 or 2 bytes -> 2 or 3 characters plus padding.
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t group = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16U;
    if (rest == 2) group |= std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8U;
    out += base64_alphabet[(group >> 18U) & 0x3FU];
    out += base64_alphabet[(group >> 12U) & 0x3FU];
    out += rest == 2 ? base64_alphabet[(group >> 6U) & 0x3FU] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // Strip at most two '=' of padding; padded input must then be a whole number of quads.
  std::size_t length = text.size();
  std::size_t padding = 0;
  while (length > 0 && padding < 2 && text[length - 1] == '=') {
    --length;
    ++padding;
  }
  if (padding > 0 && text.size() % 4 != 0) return std::nullopt;
  if (length % 4 == 1) return std::nullopt;

  std::string out;
  out.reserve(length / 4 * 3 + 2);
  std::uint32_t bits = 0;
  unsigned int bit_count = 0;
  for (std::size_t i = 0; i < length; ++i) {
    const std::uint8_t value = base64_reverse[static_cast<unsigned char>(text[i])];
    if (value == base64_invalid) return std::nullopt;  // also rejects a '=' in the middle
    bits = ((bits << 6U) | value) & 0xFFFFFFU;
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out += static_cast<char>((bits >> bit_count) & 0xFFU);
    }
  }
  return out;
}

std::string websocket_accept_key(std::string_view sec_websocket_key) {
  return base64_encode(
      digest_or_throw(Digest::sha1, {sec_websocket_key, websocket_guid}, "SHA1").view());
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string encrypted_channel_shared_secret(std::string_view channel,
                                            std::string_view master_key_bytes) {
  return base64_encode(
      digest_or_throw(Digest::sha256, {channel, master_key_bytes}, "SHA256").view());
}

}  // namespace auth

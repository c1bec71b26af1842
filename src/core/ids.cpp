#include "core/ids.h"

#include <array>
#include <chrono>
#include <random>

#include <zlib.h>

namespace strata::detail {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string format_uuid(const std::array<unsigned char, 16>& bytes) {
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xF];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::mt19937_64& thread_random() {
  thread_local std::mt19937_64 generator = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  return generator;
}

std::string new_uuid_v7() {
  const auto millis =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  std::array<unsigned char, 16> bytes{};
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<unsigned char>(millis >> (40 - 8 * i));
  const std::uint64_t random_high = thread_random()();
  const std::uint64_t random_low = thread_random()();
  for (int i = 6; i < 8; ++i) bytes[i] = static_cast<unsigned char>(random_high >> (8 * i));
  for (int i = 8; i < 16; ++i) bytes[i] = static_cast<unsigned char>(random_low >> (8 * (i - 8)));
  bytes[6] = static_cast<unsigned char>(0x70 | (bytes[6] & 0x0F));  // Version 7.
  bytes[8] = static_cast<unsigned char>(0x80 | (bytes[8] & 0x3F));  // Variant 10.
  return format_uuid(bytes);
}

std::optional<std::string> canonical_uuid(std::string_view text) {
  std::array<unsigned char, 16> bytes{};
  std::size_t nibble = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '-' && text.size() == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) continue;
    const int value = hex_value(c);
    if (value < 0 || nibble >= 32) return std::nullopt;
    bytes[nibble / 2] =
        static_cast<unsigned char>(bytes[nibble / 2] | (value << (nibble % 2 ? 0 : 4)));
    ++nibble;
  }
  if (nibble != 32 || (text.size() != 32 && text.size() != 36)) return std::nullopt;
  return format_uuid(bytes);
}

std::uint64_t stable_hash64(std::string_view bytes) noexcept {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::uint32_t event_checksum(std::string_view id, std::string_view type, std::string_view data,
                             const std::optional<std::string_view>& metadata) noexcept {
  uLong crc = crc32(0L, Z_NULL, 0);
  auto add = [&crc](std::string_view bytes) {
    // zlib takes at most 4 GiB at a time; an event is at most 8 MiB.
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()));
    const Bytef end = 0;
    crc = crc32(crc, &end, 1);
  };
  add(id);
  add(type);
  add(data);
  add(metadata ? "1" : "0");
  if (metadata) add(*metadata);
  return static_cast<std::uint32_t>(crc);
}

Timestamp now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace strata::detail

// Identifiers, hashes and times: specified, stable encodings (anything persisted depends on them).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "strata/event.h"

namespace strata::detail {

// This thread's random generator, seeded from the operating system.
std::mt19937_64& thread_random();

// A new time-ordered UUID (version 7, RFC 9562) in canonical lower-case form. Thread-safe.
std::string new_uuid_v7();
// The canonical lower-case form of a UUID written in hex with or without dashes, any case;
// nullopt if `text` is not a UUID.
std::optional<std::string> canonical_uuid(std::string_view text);

// 64-bit FNV-1a. Specified, so stable across versions, compilers and machines.
std::uint64_t stable_hash64(std::string_view bytes) noexcept;

// An event's checksum, taken when it is appended and checked by Events::verify: the CRC-32 (as
// zlib computes it) of its id, type, data and metadata, each followed by a 0 byte (which none of
// them can hold), metadata marked present or absent.
std::uint32_t event_checksum(std::string_view id, std::string_view type, std::string_view data,
                             const std::optional<std::string_view>& metadata) noexcept;

// The current time, truncated to whole microseconds.
Timestamp now_micros();

}  // namespace strata::detail

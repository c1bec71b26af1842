// JSON lines on standard output: one object per line.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "strata/event.h"
#include "strata/kv.h"

namespace strata::cli {

// `json` with its line breaks turned into spaces, so it fits on one line. Outside strings JSON
// allows them only as whitespace, and inside strings not at all, so nothing else changes.
std::string one_line(std::string json);

// {"id","stream","version","type","data","metadata","position","created_at"}; data and metadata
// are embedded as the JSON they are.
std::string event_line(const RecordedEvent& event);

// {"key","value","version","metadata","expires_at"}: a key or value that is not UTF-8 comes as
// "key_base64" or "value_base64" instead.
std::string entry_line(const KvEntry& entry);

// Adds `bytes` to `line` as `name`, or as `name`_base64 when they are not UTF-8.
void add_bytes(nlohmann::ordered_json& line, const std::string& name, const std::string& bytes);

// Prints `line` as one line of standard output.
void print(const nlohmann::ordered_json& line);

// {"stream","version","position"}.
std::string append_line(std::string_view stream, const AppendResult& result);

}  // namespace strata::cli

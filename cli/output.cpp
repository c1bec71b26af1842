#include "output.h"

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

namespace strata::cli {
namespace {

std::string json_string(std::string_view text) {
  return nlohmann::json(text).dump();
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

std::string one_line(std::string json) {
  std::replace_if(
      json.begin(), json.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return json;
}

std::string event_line(const RecordedEvent& event) {
  std::string line = "{\"id\":" + json_string(event.id);
  line += ",\"stream\":" + json_string(event.stream);
  line += ",\"version\":" + std::to_string(event.version);
  line += ",\"type\":" + json_string(event.type);
  line += ",\"data\":" + one_line(event.data);
  line += ",\"metadata\":" + (event.metadata ? one_line(*event.metadata) : std::string("null"));
  line += ",\"position\":" + json_string(event.position.to_string());
  line += ",\"created_at\":" + json_string(format_timestamp(event.created_at));
  return line + "}";
}

void add_bytes(nlohmann::ordered_json& line, const std::string& name, const std::string& bytes) {
  try {
    // Dumping checks UTF-8 strictly.
    static_cast<void>(nlohmann::json(bytes).dump());
    line[name] = bytes;
  } catch (const nlohmann::json::type_error&) {
    line[name + "_base64"] = base64(bytes);
  }
}

std::string entry_line(const KvEntry& entry) {
  nlohmann::ordered_json line;
  add_bytes(line, "key", entry.key);
  add_bytes(line, "value", entry.value);
  line["version"] = entry.version;
  line["metadata"] = nullptr;
  line["expires_at"] = nullptr;
  if (entry.expires_at) line["expires_at"] = format_timestamp(*entry.expires_at);
  std::string text = line.dump();
  if (entry.metadata) {
    // Embedded as the JSON it is, not re-serialised.
    const std::string null_field = "\"metadata\":null";
    text.replace(text.find(null_field), null_field.size(),
                 "\"metadata\":" + one_line(*entry.metadata));
  }
  return text;
}

std::string append_line(std::string_view stream, const AppendResult& result) {
  nlohmann::ordered_json line;
  line["stream"] = stream;
  line["version"] = result.version;
  line["position"] = result.position.to_string();
  return line.dump();
}

void print(const nlohmann::ordered_json& line) {
  std::cout << line.dump() << "\n";
}

}  // namespace strata::cli

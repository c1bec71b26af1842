#include "output.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace strata::cli {
namespace {

std::string json_string(std::string_view text) {
  return nlohmann::json(text).dump();
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

std::string append_line(std::string_view stream, const AppendResult& result) {
  nlohmann::ordered_json line;
  line["stream"] = stream;
  line["version"] = result.version;
  line["position"] = result.position.to_string();
  return line.dump();
}

}  // namespace strata::cli

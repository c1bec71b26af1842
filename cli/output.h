// JSON lines on standard output: one object per line.
#pragma once

#include <string>

#include "strata/event.h"

namespace strata::cli {

// `json` with its line breaks turned into spaces, so it fits on one line. Outside strings JSON
// allows them only as whitespace, and inside strings not at all, so nothing else changes.
std::string one_line(std::string json);

// {"id","stream","version","type","data","metadata","position","created_at"}; data and metadata
// are embedded as the JSON they are.
std::string event_line(const RecordedEvent& event);

// {"stream","version","position"}.
std::string append_line(std::string_view stream, const AppendResult& result);

}  // namespace strata::cli

#include "core/url.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "strata/error.h"
#include "strata/limits.h"

namespace strata::detail {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::invalid_argument, message);
}

struct Parameter {
  std::string key;
  std::string value;
  std::string raw;  // As written, to pass on to libpq unchanged.
};

std::string percent_decode(std::string_view text, std::string_view url_for_message) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    int value = 0;
    if (i + 2 >= text.size()) {
      invalid("malformed store URL '" + redact_url(url_for_message) + "': truncated %-escape");
    }
    const auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (ec != std::errc() || end != text.data() + i + 3) {
      invalid("malformed store URL '" + redact_url(url_for_message) + "': bad %-escape");
    }
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

std::vector<Parameter> split_query(std::string_view query, std::string_view url) {
  std::vector<Parameter> parameters;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      invalid("malformed store URL '" + redact_url(url) + "': parameter '" + std::string(item) +
              "' is not KEY=VALUE");
    }
    parameters.push_back(Parameter{percent_decode(item.substr(0, eq), url),
                                   percent_decode(item.substr(eq + 1), url), std::string(item)});
  }
  return parameters;
}

int parse_count(const Parameter& parameter, int min, int max) {
  int value = 0;
  const auto& text = parameter.value;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    invalid("store URL parameter " + parameter.key + "='" + text +
            "' must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return value;
}

std::chrono::milliseconds parse_timeout(const Parameter& parameter) {
  auto duration = parse_duration(parameter.value);
  if (!duration || duration->count() <= 0) {
    invalid("store URL parameter " + parameter.key + "='" + parameter.value +
            "' must be a positive duration up to 100 years, such as 250ms, 5s or 2m");
  }
  return *duration;
}

bool parse_switch(const Parameter& parameter) {
  if (parameter.value != "true" && parameter.value != "false") {
    invalid("store URL parameter " + parameter.key + "='" + parameter.value +
            "' must be true or false");
  }
  return parameter.value == "true";
}

bool is_identifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  for (const char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

SqliteSettings parse_sqlite(std::string_view url) {
  std::string_view rest = url.substr(std::string_view("sqlite:").size());
  SqliteSettings settings;
  if (rest == ":memory:" || rest.starts_with(":memory:?")) {
    settings.in_memory = true;
    settings.max_connections = 1;  // Every connection to :memory: would be another database.
    rest.remove_prefix(std::string_view(":memory:").size());
  }
  const auto question = rest.find('?');
  const std::string_view path = rest.substr(0, question);
  if (!settings.in_memory) {
    if (path.empty()) invalid("malformed store URL '" + std::string(url) + "': no file path");
    settings.path = std::string(path);
  } else {
    settings.path = ":memory:";
  }
  if (question == std::string_view::npos) return settings;
  for (const Parameter& parameter : split_query(rest.substr(question + 1), url)) {
    if (parameter.key == "max_connections") {
      const int count = parse_count(parameter, 1, 1000);
      if (!settings.in_memory) settings.max_connections = count;
    } else if (parameter.key == "busy_timeout") {
      settings.busy_timeout = parse_timeout(parameter);
    } else if (parameter.key == "synchronous") {
      if (parameter.value != "full" && parameter.value != "normal") {
        invalid("store URL parameter synchronous='" + parameter.value + "' must be full or normal");
      }
      settings.synchronous_full = parameter.value == "full";
    } else {
      invalid("unknown store URL parameter '" + parameter.key +
              "' for sqlite (known: max_connections, busy_timeout, synchronous)");
    }
  }
  return settings;
}

PostgresSettings parse_postgres(std::string_view url) {
  PostgresSettings settings;
  settings.redacted = redact_url(url);
  const auto question = url.find('?');
  std::string libpq_url(url.substr(0, question));
  std::string passed_on;
  if (question != std::string_view::npos) {
    for (const Parameter& parameter : split_query(url.substr(question + 1), url)) {
      if (parameter.key == "max_connections") {
        settings.max_connections = parse_count(parameter, 1, 10000);
      } else if (parameter.key == "min_connections") {
        settings.min_connections = parse_count(parameter, 0, 10000);
      } else if (parameter.key == "acquire_timeout") {
        settings.acquire_timeout = parse_timeout(parameter);
      } else if (parameter.key == "statement_timeout") {
        settings.statement_timeout = parse_timeout(parameter);
      } else if (parameter.key == "prepared_statements") {
        settings.prepared_statements = parse_switch(parameter);
      } else if (parameter.key == "queue_vacuum") {
        settings.queue_vacuum = parse_switch(parameter);
      } else if (parameter.key == "schema") {
        if (!is_identifier(parameter.value)) {
          invalid("store URL parameter schema='" + parameter.value +
                  "' must be a letter or '_' then up to 62 letters, digits or '_'");
        }
        settings.schema = parameter.value;
      } else {
        passed_on += (passed_on.empty() ? "" : "&") + parameter.raw;  // libpq's own, checked there.
      }
    }
  }
  if (settings.min_connections > settings.max_connections) {
    invalid("store URL parameter min_connections=" + std::to_string(settings.min_connections) +
            " exceeds max_connections=" + std::to_string(settings.max_connections));
  }
  settings.libpq_url = passed_on.empty() ? libpq_url : libpq_url + "?" + passed_on;
  return settings;
}

}  // namespace

StoreSettings parse_store_url(std::string_view url) {
  if (url.starts_with("sqlite:")) return parse_sqlite(url);
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    return parse_postgres(url);
  }
  const auto colon = url.find(':');
  if (url.find('=') < colon) {
    invalid("store URL '" + redact_url(url) +
            "' is a keyword/value connection string: write it as postgres://USER@HOST:PORT/DB?…");
  }
  if (colon == std::string_view::npos || colon == 0) {
    invalid("malformed store URL '" + redact_url(url) +
            "': expected sqlite:PATH, sqlite::memory: or postgres://…");
  }
  invalid("unknown store URL scheme '" + std::string(url.substr(0, colon)) +
          "' (known: sqlite, postgres, postgresql)");
}

namespace {

struct Span {
  std::size_t begin, end;
};

// Where each password in `url` lies: the URL's userinfo password, and the value of each
// password= parameter, in a URL's query or in a keyword/value string (quoted or not).
std::vector<Span> password_spans(std::string_view url) {
  std::vector<Span> spans;
  const auto scheme_end = url.find("://");
  if (scheme_end != std::string_view::npos) {
    const auto authority = scheme_end + 3;
    const auto authority_end = url.find_first_of("/?", authority);
    const auto at =
        url.rfind('@', authority_end == std::string_view::npos ? url.size() : authority_end);
    const auto colon = url.find(':', authority);
    if (at != std::string_view::npos && at > authority && colon < at) {
      spans.push_back({colon + 1, at});
    }
  }
  constexpr std::string_view kKey = "password";
  for (auto key = url.find(kKey); key != std::string_view::npos; key = url.find(kKey, key + 1)) {
    if (key != 0 && std::string_view("?& \t\n").find(url[key - 1]) == std::string_view::npos) {
      continue;
    }
    auto value = url.find_first_not_of(" \t", key + kKey.size());
    if (value == std::string_view::npos || url[value] != '=') continue;
    value = url.find_first_not_of(" \t", value + 1);
    if (value == std::string_view::npos) continue;
    std::size_t end = url.find_first_of("& \t\n", value);
    if (url[value] == '\'') {  // A quoted keyword/value: up to the closing quote.
      end = value + 1;
      while (end < url.size() && url[end] != '\'') end += url[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, url.size());
    }
    spans.push_back({value, end == std::string_view::npos ? url.size() : end});
  }
  std::sort(spans.begin(), spans.end(), [](Span a, Span b) { return a.begin < b.begin; });
  return spans;
}

std::vector<std::string> passwords_in(std::string_view url) {
  std::vector<std::string> found;
  for (const Span span : password_spans(url)) {
    found.emplace_back(url.substr(span.begin, span.end - span.begin));
  }
  const std::size_t written = found.size();
  for (std::size_t i = 0; i < written; ++i) {
    try {
      found.push_back(percent_decode(found[i], ""));
    } catch (const Error&) {
      // A malformed escape: the password as written is already covered.
    }
  }
  return found;
}

}  // namespace

std::string redact_url(std::string_view url) {
  std::string out(url);
  const auto spans = password_spans(url);
  for (auto span = spans.rbegin(); span != spans.rend(); ++span) {
    out.replace(span->begin, span->end - span->begin, "***");
  }
  return out;
}

std::string scrub_password(std::string message, std::string_view url) {
  // Marks every occurrence in the message as given, then writes each marked run as "***" once:
  // replacing password by password rescanned what earlier replacements wrote, and a URL with
  // many short passwords made the message grow exponentially (found by fuzz/url_fuzzer.cpp).
  std::vector<bool> secret(message.size(), false);
  bool any = false;
  for (const std::string& password : passwords_in(url)) {
    if (password.empty()) continue;
    for (auto at = message.find(password); at != std::string::npos;
         at = message.find(password, at + 1)) {
      std::fill_n(secret.begin() + static_cast<std::ptrdiff_t>(at), password.size(), true);
      any = true;
    }
  }
  if (!any) return message;
  std::string scrubbed;
  scrubbed.reserve(message.size());
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (!secret[i]) {
      scrubbed += message[i];
    } else if (i == 0 || !secret[i - 1]) {
      scrubbed += "***";
    }
  }
  return scrubbed;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data() || value < 0) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  long long per_unit = 0;
  if (unit.empty() || unit == "ms") {
    per_unit = 1;
  } else if (unit == "s") {
    per_unit = 1000;
  } else if (unit == "m" || unit == "min") {
    per_unit = 60000;
  } else {
    return std::nullopt;
  }
  // Beyond kMaxDuration is refused before it is multiplied: fuzzing found
  // "7777777777777777777s" overflowing the conversion to milliseconds.
  if (value > kMaxDuration.count() / per_unit) return std::nullopt;
  return std::chrono::milliseconds(value * per_unit);
}

}  // namespace strata::detail

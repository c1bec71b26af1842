#include "context.h"

#include <cstdlib>
#include <iostream>
#include <iterator>

namespace strata::cli {

Store& Context::store() {
  if (!store_) store_.emplace(Store::open(url));
  return *store_;
}

std::string default_store_url() {
  const char* from_environment = std::getenv("STRATA_DB");
  return from_environment != nullptr && *from_environment != '\0' ? from_environment
                                                                  : "sqlite:strata.db";
}

std::string read_stdin() {
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

}  // namespace strata::cli

// The main job on the embedded default: an order's life as events in a SQLite file.
// Appends the order's events with optimistic concurrency, reads the stream back, then follows
// the all-events feed from a stored position, as a projection or an integration would.
#include <iostream>
#include <string>

#include "strata/strata.h"

int main(int argc, char** argv) {
  const std::string url = argc > 1 ? argv[1] : "sqlite:orders.db";
  strata::Store store = strata::Store::open(url);
  strata::Events events = store.events();

  int order_number = 1;
  while (events.stream_info("order-" + std::to_string(order_number)).exists) ++order_number;
  const std::string stream = "order-" + std::to_string(order_number);
  std::cout << "store " << url << " (" << store.backend_name() << ", schema version "
            << store.schema_version() << ")\n";

  // A new stream: no_stream guarantees we do not write into someone else's order.
  auto placed = events.append(
      stream,
      {{"OrderPlaced", R"({"customer":"c-17","currency":"EUR"})", R"({"source":"web"})", {}},
       {"ItemAdded", R"({"sku":"tea-earl-grey","quantity":2,"unit_price":4.5})", {}, {}},
       {"ItemAdded", R"({"sku":"mug-white","quantity":1,"unit_price":9.0})", {}, {}}},
      strata::ExpectedVersion::no_stream());
  std::cout << "appended 3 events to " << stream << ": version " << placed.version << ", position "
            << placed.position.to_string() << "\n";

  // Payment arrives; we expect exactly the version we last saw.
  auto paid = events.append(stream, {"OrderPaid", R"({"amount":18.0})", {}, {}},
                            strata::ExpectedVersion::exact(placed.version));
  std::cout << "appended OrderPaid at version " << paid.version << "\n";

  // A stale writer that still believes the order is at version 3 is refused.
  try {
    events.append(stream, {"OrderCancelled", R"({"reason":"late"})", {}, {}},
                  strata::ExpectedVersion::exact(placed.version));
  } catch (const strata::WrongExpectedVersion& stale) {
    std::cout << "refused a stale cancel: " << stale.what() << "\n";
  }

  std::cout << "read back " << stream << ":\n";
  for (const auto& event : events.read_stream(stream)) {
    std::cout << "  v" << event.version << " " << event.type << " " << event.data << " at "
              << strata::format_timestamp(event.created_at) << "\n";
  }

  // The all-events feed, paged as a projection would: each page starts after the last position
  // seen, which is what a reader stores as its checkpoint.
  std::cout << "all-events feed, this order's events:\n";
  strata::AllReadOptions page;
  page.limit = 500;
  std::size_t total = 0;
  for (auto batch = events.read_all(page); !batch.empty(); batch = events.read_all(page)) {
    for (const auto& event : batch) {
      ++total;
      if (event.stream == stream) {
        std::cout << "  " << event.position.to_string() << " " << event.stream << " v"
                  << event.version << " " << event.type << "\n";
      }
    }
    page.after = batch.back().position;
  }
  std::cout << "the feed holds " << total << " events in all; checkpoint " << page.after.to_string()
            << "\n";
  return 0;
}

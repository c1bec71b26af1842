// Micro-benchmarks of the per-event CPU work every append does before it reaches the database:
// validation (UTF-8, JSON, sizes), id generation, the checksum and time stamping. Run:
//   build/release/bench/strata_micro_bench
#include <benchmark/benchmark.h>

#include "core/ids.h"
#include "core/json.h"
#include "core/validate.h"

namespace {

std::string event_data() {
  std::string data = R"({"order_id":"o-000123","customer":"c-4711","quantity":3,"note":")";
  data += std::string(200 - data.size() - 2, 'x');
  return data + "\"}";
}

void PrepareEvents(benchmark::State& state) {
  const std::vector<strata::EventData> batch(
      static_cast<std::size_t>(state.range(0)),
      strata::EventData{"OrderPlaced", event_data(), {}, {}});
  for (auto _ : state) benchmark::DoNotOptimize(strata::detail::prepare_events(batch));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(PrepareEvents)->Arg(1)->Arg(1000);

void ValidateJson(benchmark::State& state) {
  const std::string data = event_data();
  for (auto _ : state) benchmark::DoNotOptimize(strata::detail::is_valid_json(data));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(data.size()));
}
BENCHMARK(ValidateJson);

void EventChecksum(benchmark::State& state) {
  const std::string data = event_data();
  const std::string id = strata::detail::new_uuid_v7();
  for (auto _ : state) {
    benchmark::DoNotOptimize(strata::detail::event_checksum(id, "OrderPlaced", data, std::nullopt));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(data.size()));
}
BENCHMARK(EventChecksum);

void NewUuidV7(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(strata::detail::new_uuid_v7());
}
BENCHMARK(NewUuidV7);

}  // namespace

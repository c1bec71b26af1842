// The command-line tool: JSON lines out, one clear line on stderr, documented exit codes.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/backends.h"

namespace strata::testing {
namespace {

class CliTest : public BackendTest {
 protected:
  // Runs `strata --db URL ARGS`; returns stdout, with the exit status in `status`.
  std::string strata(const std::string& args, int* status, const std::string& input = "") {
    std::string command = cli_path() + " --db '" + url() + "' " + args + " 2>" + stderr_path_;
    if (!input.empty())
      command = "printf '%s' '" + input + "' | " + command;
    else
      command += " </dev/null";
    return run_command(command, status);
  }
  std::string last_stderr() { return run_command("cat " + stderr_path_); }

  std::string stderr_path_ = "/tmp/strata-cli-test-" + std::to_string(getpid()) + ".err";
};

std::vector<nlohmann::json> json_lines(const std::string& output) {
  std::vector<nlohmann::json> lines;
  std::istringstream stream(output);
  for (std::string line; std::getline(stream, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST_P(CliTest, AppendReadAndAll) {
  int status = -1;
  auto out =
      json_lines(strata("events append order-1 Placed '{\"total\": 5}' --metadata "
                        "'{\"by\":\"cli\"}' --expect no-stream",
                        &status));
  ASSERT_EQ(status, 0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["stream"], "order-1");
  EXPECT_EQ(out[0]["version"], 1);
  const std::string position = out[0]["position"];

  out = json_lines(strata("events append order-1 Paid --expect 1", &status, "{\"amount\":5}"));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(out[0]["version"], 2);

  out = json_lines(strata("events read order-1", &status));
  ASSERT_EQ(status, 0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["type"], "Placed");
  EXPECT_EQ(out[0]["data"]["total"], 5);
  EXPECT_EQ(out[0]["metadata"]["by"], "cli");
  EXPECT_EQ(out[0]["position"], position);
  EXPECT_EQ(out[1]["data"]["amount"], 5);
  EXPECT_TRUE(out[1]["metadata"].is_null());
  for (const char* field : {"id", "stream", "version", "type", "created_at"}) {
    EXPECT_TRUE(out[0].contains(field)) << field;
  }
  EXPECT_EQ(std::string(out[0]["created_at"]).size(),
            std::string("2026-11-22T00:44:56.123456Z").size());

  strata("events append order-1 Noted '{}' --id 0190F2A8-0000-7000-8000-0000000000EE", &status);
  ASSERT_EQ(status, 0);
  // The same id again is the same append: the first result, nothing written.
  out = json_lines(strata(
      "events append order-1 Noted '{}' --id 0190f2a8-0000-7000-8000-0000000000ee", &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(out[0]["version"], 3);

  out = json_lines(strata("events read order-1 --backward --limit 1", &status));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["version"], 3);
  EXPECT_EQ(out[0]["id"], "0190f2a8-0000-7000-8000-0000000000ee");

  strata("events append invoice-1 Issued '{}'", &status);
  out = json_lines(strata("events all --after " + position, &status));
  ASSERT_EQ(status, 0);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0]["type"], "Paid");
  out = json_lines(strata("events all --category invoice", &status));
  ASSERT_EQ(out.size(), 1u);
  out = json_lines(strata("events all --type Placed --limit 5", &status));
  ASSERT_EQ(out.size(), 1u);
}

TEST_P(CliTest, EventQueriesFilterByTypeTimeAndJsonAndReadBackward) {
  int status = -1;
  strata(R"(events append order-1 Placed '{"total":30}' --metadata '{"tenant":"acme"}')", &status);
  ASSERT_EQ(status, 0);
  strata(R"(events append order-2 Placed '{"total":5}' --metadata '{"tenant":"globex"}')", &status);
  strata(R"(events append invoice-1 Issued '{"total":30}' --metadata '{"tenant":"acme"}')",
         &status);
  strata(R"(events append order-1 Paid '{}' --metadata '{"tenant":"acme"}')", &status);
  ASSERT_EQ(status, 0);

  auto out =
      json_lines(strata("events all --type Placed --type Paid --metadata "
                        R"('{"tenant":"acme"}' --backward)",
                        &status));
  ASSERT_EQ(status, 0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["type"], "Paid");
  EXPECT_EQ(out[1]["type"], "Placed");
  out = json_lines(strata(R"(events category order --data '{"total":30}')", &status));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["stream"], "order-1");
  out = json_lines(strata("events category order --backward --limit 1", &status));
  ASSERT_EQ(out.size(), 1u);
  const std::string newest = out[0]["position"];
  out = json_lines(strata("events category order --backward --before " + newest, &status));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["stream"], "order-2");

  const std::string created = out[0]["created_at"];
  out = json_lines(strata("events all --since " + created, &status));
  ASSERT_EQ(status, 0);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0]["stream"], "order-2");
  out = json_lines(strata("events all --until " + created, &status));
  ASSERT_EQ(out.size(), 1u);
  out = json_lines(strata("events all --until 2000-01-01", &status));
  EXPECT_TRUE(out.empty());
  out = json_lines(strata(R"(events subscribe --type Issued --metadata '{"tenant":"acme"}')"
                          " --max-events 1",
                          &status));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["stream"], "invoice-1");

  out = json_lines(strata("events count --category order --type Placed", &status));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], nlohmann::json::parse(R"({"count":2})"));
  out = json_lines(strata("events count", &status));
  EXPECT_EQ(out[0]["count"], 4);
  out = json_lines(strata("events read order-1 --as-of " + created, &status));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["type"], "Placed");

  strata("events all --since yesterday", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(last_stderr().find("time 'yesterday' is not an RFC 3339 time"), std::string::npos)
      << last_stderr();
  strata("events category order --data '{\"total\":'", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(last_stderr().find("data filter is not valid JSON"), std::string::npos);
}

TEST_P(CliTest, SearchNeedsTheTextIndexWhichIndexAddBuilds) {
  int status = -1;
  strata(R"(events append ticket-1 Opened '{"title":"Printer on fire"}')", &status);
  strata(R"(events append ticket-2 Opened '{"title":"Out of paper"}')", &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(strata("events search printer", &status), "");
  EXPECT_EQ(status, 4);
  EXPECT_NE(last_stderr().find("events index add text"), std::string::npos) << last_stderr();

  auto out = json_lines(strata("events index add text", &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(out.at(0), nlohmann::json::parse(R"({"index":"text","kept":true})"));
  out = json_lines(strata("events index add data", &status));
  EXPECT_EQ(out.at(0)["kept"], kind() == BackendKind::postgres);
  out = json_lines(strata("events search FIRE printer", &status));
  ASSERT_EQ(status, 0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["stream"], "ticket-1");
  out = json_lines(strata("events count --words paper", &status));
  EXPECT_EQ(out.at(0), nlohmann::json::parse(R"({"count":1})"));
  out = json_lines(strata("events index ls", &status));
  EXPECT_EQ(out.size(), kind() == BackendKind::postgres ? 2u : 1u);
  strata("events index drop text", &status);
  EXPECT_EQ(status, 0);
  strata("events index add everything", &status);
  EXPECT_EQ(status, 2);
}

TEST_P(CliTest, StreamsLsPrintsALinePerStreamAndPagesWithAfter) {
  int status = -1;
  for (const char* stream : {"order-2", "order-1", "invoice-1"}) {
    strata(std::string("events append ") + stream + " Placed '{}'", &status);
    ASSERT_EQ(status, 0);
  }
  strata("stream delete order-2 --hard", &status);
  ASSERT_EQ(status, 0);

  auto out = json_lines(strata("streams ls --category order --limit 1", &status));
  ASSERT_EQ(status, 0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["stream"], "order-1");
  EXPECT_EQ(out[0]["version"], 1);
  EXPECT_EQ(out[0]["deleted"], false);
  EXPECT_EQ(out[0]["first_created_at"], out[0]["last_created_at"]);
  EXPECT_TRUE(out[0]["first_created_at"].is_string());
  out = json_lines(strata("streams ls --category order --after order-1", &status));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], nlohmann::json::parse(R"({"stream":"order-2","version":1,"deleted":true,)"
                                          R"("first_created_at":null,"last_created_at":null})"));
  out = json_lines(strata("streams ls --prefix inv", &status));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["stream"], "invoice-1");
  strata("streams ls --prefix a --category b", &status);
  EXPECT_EQ(status, 2);
  strata("streams ls --limit 0", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(last_stderr().find("limit 0"), std::string::npos) << last_stderr();
}

TEST_P(CliTest, VerifyPrintsEachProblemAndExitsOneWhenItFindsAnyAndStatsCount) {
  int status = -1;
  strata("events append acct-1 Opened '{}'", &status);
  strata("events append acct-1 Deposited '{\"amount\":5}'", &status);
  EXPECT_EQ(strata("events verify", &status), "");
  EXPECT_EQ(status, 0);
  EXPECT_NE(last_stderr().find("verified 2 events of 1 streams"), std::string::npos);
  const auto stats = json_lines(strata("stats", &status));
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0]["events"], 2);
  EXPECT_EQ(stats[0]["streams"], 1);
  EXPECT_GT(stats[0]["bytes"], 0);

  run_store_sql(kind(), url(),
                std::string("UPDATE ") +
                    (kind() == BackendKind::postgres ? "events" : "strata_events") +
                    " SET data = '{\"amount\":500}' WHERE version = 2");
  const auto out = json_lines(strata("events verify", &status));
  EXPECT_EQ(status, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["problem"], "checksum_mismatch");
  EXPECT_EQ(out[0]["stream"], "acct-1");
  EXPECT_EQ(out[0]["version"], 2);
  EXPECT_NE(last_stderr().find("1 problems in 2 events"), std::string::npos) << last_stderr();
}

TEST_P(CliTest, ExitCodesAndErrors) {
  int status = -1;
  strata("events append order-1 Placed '{}'", &status);
  ASSERT_EQ(status, 0);

  EXPECT_EQ(strata("events append order-1 Placed '{}' --expect 0", &status), "");
  EXPECT_EQ(status, 3);
  EXPECT_NE(last_stderr().find("actual version 1"), std::string::npos) << last_stderr();

  strata("events append order-1 Placed '{oops'", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(last_stderr().find("not valid JSON"), std::string::npos) << last_stderr();

  strata("events append order-1 Placed '{}' --expect sometimes", &status);
  EXPECT_EQ(status, 2);
  strata("events all --after nowhere", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(last_stderr().find("invalid position 'nowhere'"), std::string::npos);
  strata("events frobnicate", &status);
  EXPECT_EQ(status, 2);
  const std::string error = last_stderr();
  EXPECT_EQ(std::count(error.begin(), error.end(), '\n'), 1) << error;

  run_command(cli_path() + " --db 'nosuch://x' migrate 2>" + stderr_path_, &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(last_stderr().find("unknown store URL scheme 'nosuch'"), std::string::npos);
  EXPECT_EQ(read_everything(events()).size(), 1u);
}

TEST_P(CliTest, KeyValueCommands) {
  int status = -1;
  auto out = json_lines(strata(
      "kv put sessions s-1 '{\"user\":\"ada\"}' --metadata '{\"tag\": 1}' --ttl 60", &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(out[0]["key"], "s-1");
  EXPECT_EQ(out[0]["version"], 1);
  out = json_lines(strata("kv put sessions s-2", &status, "from stdin"));
  ASSERT_EQ(status, 0);

  out = json_lines(strata("kv get sessions s-1", &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(out[0]["value"], "{\"user\":\"ada\"}");
  EXPECT_EQ(out[0]["metadata"]["tag"], 1);
  EXPECT_EQ(out[0]["version"], 1);
  EXPECT_TRUE(out[0]["expires_at"].is_string());
  EXPECT_EQ(json_lines(strata("kv get sessions s-2", &status))[0]["value"], "from stdin");

  strata("kv get sessions missing", &status);
  EXPECT_EQ(status, 4);
  strata("kv put sessions s-1 x --if-absent", &status);
  EXPECT_EQ(status, 3);
  strata("kv put sessions s-1 x --if-version 7", &status);
  EXPECT_EQ(status, 3);
  EXPECT_NE(last_stderr().find("current version 1"), std::string::npos) << last_stderr();
  strata("kv put sessions s-1 x --if-version 1 --if-absent", &status);
  EXPECT_EQ(status, 2);

  out = json_lines(strata("kv ls sessions --limit 1", &status));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["key"], "s-1");
  out = json_lines(strata("kv ls sessions --after " + std::string(out[1]["next_cursor"]), &status));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["key"], "s-2");
  EXPECT_EQ(json_lines(strata("kv count sessions --prefix s-", &status))[0]["count"], 2);

  strata("kv del sessions s-2 --if-version 5", &status);
  EXPECT_EQ(status, 3);
  EXPECT_EQ(json_lines(strata("kv del sessions s-2", &status))[0]["deleted"], true);
  EXPECT_EQ(json_lines(strata("kv del sessions s-2", &status))[0]["deleted"], false);
  EXPECT_EQ(json_lines(strata("kv purge-expired sessions", &status))[0]["purged"], 0);

  // A value that is not UTF-8 comes back as base64.
  run_command("printf '\\377\\000ab' | " + cli_path() + " --db '" + url() + "' kv put sessions raw",
              &status);
  ASSERT_EQ(status, 0);
  out = json_lines(strata("kv get sessions raw", &status));
  EXPECT_EQ(out[0]["value_base64"], "/wBhYg==");
  EXPECT_FALSE(out[0].contains("value"));
}

TEST_P(CliTest, CheckpointAndWorkflowCommands) {
  int status = -1;
  strata("kv put ns a 1", &status);
  auto out = json_lines(strata("kv checkpoint create ns", &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(out[0]["entries"], 1);
  EXPECT_EQ(out[0]["bytes"], 2);
  const std::string id = std::to_string(static_cast<int>(out[0]["id"]));
  strata("kv put ns a 2", &status);
  EXPECT_EQ(json_lines(strata("kv checkpoint list ns", &status)).size(), 1u);
  strata("kv checkpoint restore ns " + id, &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(json_lines(strata("kv get ns a", &status))[0]["value"], "1");
  strata("kv checkpoint restore ns 999", &status);
  EXPECT_EQ(status, 4);
  EXPECT_EQ(json_lines(strata("kv checkpoint delete ns " + id, &status))[0]["deleted"], true);

  out = json_lines(strata("workflow save onboard '{\"step\":1}'", &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(out[0]["version"], 1);
  EXPECT_EQ(json_lines(strata("workflow save onboard", &status, "{\"step\":2}"))[0]["version"], 2);
  out = json_lines(strata("workflow latest onboard", &status));
  EXPECT_EQ(out[0]["state"]["step"], 2);
  EXPECT_EQ(json_lines(strata("workflow get onboard 1", &status))[0]["state"]["step"], 1);
  strata("workflow get onboard 7", &status);
  EXPECT_EQ(status, 4);
  EXPECT_EQ(json_lines(strata("workflow list onboard", &status)).size(), 2u);
  EXPECT_EQ(json_lines(strata("workflow prune onboard --keep 1", &status))[0]["deleted"], 1);
  EXPECT_EQ(json_lines(strata("workflow delete onboard", &status))[0]["deleted"], 1);
  strata("workflow latest onboard", &status);
  EXPECT_EQ(status, 4);
  strata("workflow save onboard '{nope'", &status);
  EXPECT_EQ(status, 2);
}

TEST_P(CliTest, QueueAndDeadLetterCommands) {
  int status = -1;
  strata("queue produce jobs x", &status);
  EXPECT_EQ(status, 4);  // Not created yet.
  strata("queue create jobs --lease-seconds 30 --max-attempts 3 --expire-seconds 3600", &status);
  ASSERT_EQ(status, 0);
  auto out = json_lines(strata("queue produce jobs hello --dedup k-1", &status));
  ASSERT_EQ(status, 0);
  const int id = out[0]["id"];
  EXPECT_EQ(out[0]["deduplicated"], false);
  out = json_lines(strata("queue produce jobs --dedup k-1", &status, "again"));
  EXPECT_EQ(out[0]["id"], id);
  EXPECT_EQ(out[0]["deduplicated"], true);
  strata("queue produce jobs urgent --priority 9", &status);
  strata("queue produce jobs later --delay 3600", &status);

  out = json_lines(strata("queue lease jobs --max 5 --lease-seconds 60", &status));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["payload"], "urgent");
  EXPECT_EQ(out[1]["payload"], "hello");
  EXPECT_EQ(out[1]["attempt"], 1);
  const std::string urgent = out[0]["token"], hello = out[1]["token"];
  EXPECT_TRUE(strata("queue lease jobs", &status).empty());
  auto stats = json_lines(strata("queue stats jobs", &status))[0];
  EXPECT_EQ(stats["leased"], 2);
  EXPECT_EQ(stats["scheduled"], 1);

  strata("queue extend jobs " + urgent + " --lease-seconds 120", &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(json_lines(strata("queue complete jobs " + urgent, &status))[0]["completed"], 1);
  strata("queue complete jobs " + urgent, &status);
  EXPECT_EQ(status, 3);
  strata("queue fail jobs " + hello + " --reason 'bad input'", &status);
  ASSERT_EQ(status, 0);
  strata("queue retry jobs " + hello, &status);
  EXPECT_EQ(status, 3);

  out = json_lines(strata("dlq ls jobs", &status));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["id"], id);
  EXPECT_EQ(out[0]["reason"], "bad input");
  EXPECT_EQ(out[0]["dedup_key"], "k-1");
  EXPECT_TRUE(out[0]["history"].is_array());
  strata("dlq requeue jobs", &status);
  EXPECT_EQ(status, 2);
  EXPECT_EQ(json_lines(strata("dlq requeue jobs " + std::to_string(id), &status))[0]["requeued"],
            1);
  strata("queue pause jobs", &status);
  EXPECT_TRUE(strata("queue lease jobs", &status).empty());
  strata("queue resume jobs", &status);
  out = json_lines(strata("queue lease jobs", &status));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["id"], id);
  EXPECT_EQ(json_lines(strata("queue purge jobs", &status))[0]["purged"], 2);
  EXPECT_EQ(json_lines(strata("dlq purge jobs", &status))[0]["purged"], 0);
}

TEST_P(CliTest, LockCommands) {
  int status = -1;
  auto out = json_lines(strata("lock acquire nightly --holder host-1 --ttl 60", &status));
  ASSERT_EQ(status, 0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["key"], "nightly");
  EXPECT_EQ(out[0]["holder"], "host-1");
  const std::int64_t token = out[0]["token"];
  EXPECT_TRUE(out[0]["expires_at"].is_string());

  EXPECT_EQ(strata("lock acquire nightly --holder host-2 --wait 0.2", &status), "");
  EXPECT_EQ(status, 3);
  EXPECT_NE(last_stderr().find("held by 'host-1'"), std::string::npos) << last_stderr();

  out = json_lines(strata("lock status nightly", &status));
  EXPECT_EQ(out[0]["holder"], "host-1");
  EXPECT_EQ(out[0]["token"], token);
  out = json_lines(strata("lock extend nightly --token " + std::to_string(token), &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(out[0]["token"], token);

  strata("lock release nightly --token " + std::to_string(token + 1), &status);
  EXPECT_EQ(status, 3) << "a wrong token releases nothing";
  out = json_lines(strata("lock release nightly --token " + std::to_string(token), &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(out[0]["released"], true);
  strata("lock extend nightly --token " + std::to_string(token), &status);
  EXPECT_EQ(status, 3) << "released: the token holds nothing";
  out = json_lines(strata("lock status nightly", &status));
  EXPECT_TRUE(out[0]["holder"].is_null());

  out = json_lines(strata("lock acquire nightly --holder host-2", &status));
  ASSERT_EQ(status, 0);
  EXPECT_GT(out[0]["token"], token);
  strata("lock acquire '' --holder host-2", &status);
  EXPECT_EQ(status, 2);
}

TEST_P(CliTest, SnapshotCommands) {
  int status = -1;
  auto out = json_lines(strata("snapshot save cart-1 3 '{\"items\":2}'", &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(out[0]["stream"], "cart-1");
  EXPECT_EQ(out[0]["version"], 3);
  EXPECT_EQ(out[0]["state"]["items"], 2);
  strata("snapshot save cart-1 7", &status, "{\"items\":5}");
  ASSERT_EQ(status, 0);

  EXPECT_EQ(json_lines(strata("snapshot load cart-1", &status))[0]["version"], 7);
  EXPECT_EQ(json_lines(strata("snapshot load cart-1 --version 6", &status))[0]["version"], 3);
  strata("snapshot load cart-1 --version 2", &status);
  EXPECT_EQ(status, 4);
  EXPECT_EQ(json_lines(strata("snapshot ls cart-1", &status)).size(), 2u);
  EXPECT_EQ(json_lines(strata("snapshot prune cart-1 --keep 1", &status))[0]["pruned"], 1);
  EXPECT_EQ(json_lines(strata("snapshot prune --max-age 0", &status))[0]["pruned"], 1);
  strata("snapshot save cart-1 0 '{}'", &status);
  EXPECT_EQ(status, 2);
}

TEST_P(CliTest, StreamLifecycleCommands) {
  int status = -1;
  for (int i = 0; i < 4; ++i) strata("events append order-1 Placed '{}'", &status);
  auto out = json_lines(strata("stream truncate order-1 --before 3", &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(out[0]["removed"], 2);
  EXPECT_EQ(json_lines(strata("events read order-1", &status)).size(), 2u);

  out = json_lines(strata("stream settings order-1 --max-count 1", &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(out[0]["max_count"], 1);
  EXPECT_TRUE(out[0]["max_age_seconds"].is_null());
  EXPECT_EQ(json_lines(strata("events read order-1", &status)).size(), 1u);
  EXPECT_EQ(json_lines(strata("stream enforce", &status))[0]["removed"], 1);
  out = json_lines(strata("stream settings order-1 --clear", &status));
  EXPECT_TRUE(out[0]["max_count"].is_null());

  out = json_lines(strata("stream delete order-1", &status));
  EXPECT_EQ(out[0]["removed"], 1);
  out = json_lines(strata("stream info order-1", &status));
  EXPECT_EQ(out[0]["exists"], false);
  EXPECT_EQ(out[0]["version"], 4);
  strata("events append order-1 Placed '{}' --expect 4", &status);
  EXPECT_EQ(status, 0) << "a deleted stream reopens, its versions going on";

  strata("stream delete order-1 --hard", &status);
  ASSERT_EQ(status, 0);
  strata("events append order-1 Placed '{}'", &status);
  EXPECT_EQ(status, 5);
  EXPECT_NE(last_stderr().find("tombstoned"), std::string::npos) << last_stderr();
  EXPECT_EQ(json_lines(strata("stream info order-1", &status))[0]["deleted"], true);
}

TEST_P(CliTest, SubscribeFollowsLiveAndConsumersResume) {
  int status = -1;
  for (int i = 0; i < 3; ++i)
    strata("events append order-" + std::to_string(i) + " Placed '{}'", &status);
  strata("events append cart-1 Added '{}'", &status);
  auto out = json_lines(strata("events subscribe --category order --max-events 3", &status));
  ASSERT_EQ(status, 0);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2]["stream"], "order-2");

  // Live: an event appended after the subscriber started reaches it.
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    int append_status = -1;
    strata("events append order-9 Placed '{}'", &append_status);
  });
  out = json_lines(strata("events subscribe --stream order-9 --max-events 1 --idle 30", &status));
  late.join();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["stream"], "order-9");

  out = json_lines(strata("events subscribe --consumer printer --max-events 2", &status));
  ASSERT_EQ(out.size(), 2u);
  out = json_lines(strata("events subscribe --consumer printer --idle 1", &status));
  ASSERT_EQ(status, 0);
  ASSERT_EQ(out.size(), 3u) << "resumed after the two it printed";
  EXPECT_EQ(out[0]["stream"], "order-2");
  EXPECT_EQ(json_lines(strata("events subscribe --consumer printer --idle 0.5", &status)).size(),
            0u);
  strata("events subscribe --category order --stream order-1", &status);
  EXPECT_EQ(status, 2);
}

TEST_P(CliTest, MetricsAndHealth) {
  int status = -1;
  const std::string text = strata("metrics", &status);
  ASSERT_EQ(status, 0);
  EXPECT_NE(text.find("# TYPE strata_pool_connections gauge"), std::string::npos) << text;
  const auto out = json_lines(strata("health", &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(out[0]["ok"], true);
  EXPECT_EQ(out[0]["schema_version"], kLatestSchema);
  EXPECT_TRUE(out[0]["error"].is_null());
}

// The subscribe benchmark runs end to end and its subscriber receives every event appended; the
// scratch store a killed bench left behind (named for a process that is gone) is removed.
TEST_P(CliTest, BenchSubscribeDeliversEveryEvent) {
  const std::string gone = "999999";  // Above any pid this machine has given out.
  ASSERT_NE(kill(999999, 0), 0);
  const std::string sqlite_scratch = url().substr(std::string("sqlite:").size()) + ".bench-" + gone;
  if (kind() == BackendKind::postgres) {
    run_admin_sql("CREATE SCHEMA IF NOT EXISTS strata_bench_" + gone);
  } else {
    run_command("touch '" + sqlite_scratch + "'");
  }
  int status = -1;
  const auto out = json_lines(strata("bench subscribe --seconds 0.5 --rate 200 --json", &status));
  ASSERT_EQ(status, 0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["delivered"], 100);
  EXPECT_GT(out[0]["p99_ms"], 0);
  EXPECT_GT(out[0]["baseline_commit_p50_ms"], 0);
  if (kind() == BackendKind::postgres) {
    EXPECT_TRUE(run_admin_sql("SELECT nspname FROM pg_namespace WHERE nspname LIKE "
                              "'strata\\_bench\\_%'")
                    .empty());
  } else {
    EXPECT_NE(access(sqlite_scratch.c_str(), F_OK), 0) << sqlite_scratch;
  }
}

TEST_P(CliTest, MigrateReportsTheSchemaVersion) {
  int status = -1;
  const auto out = json_lines(strata("migrate", &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(out[0]["schema_version"], kLatestSchema);
  EXPECT_EQ(out[0]["applied"], 0);
}

// --db goes before the subcommand or anywhere after it, at any depth.
TEST_P(CliTest, GlobalOptionsGoBeforeOrAfterTheSubcommand) {
  int status = -1;
  const std::string db = " --db '" + url() + "'";
  const std::string cli = cli_path() + " ";
  run_command(cli + "events append order-9 Placed '{}'" + db, &status);
  ASSERT_EQ(status, 0);
  for (const std::string& command :
       {cli + "events read order-9" + db, cli + "events read" + db + " order-9",
        cli + db.substr(1) + " events read order-9"}) {
    const auto out = json_lines(run_command(command + " </dev/null", &status));
    ASSERT_EQ(status, 0) << command;
    ASSERT_EQ(out.size(), 1u) << command;
    EXPECT_EQ(out[0]["type"], "Placed") << command;
  }
  run_command(cli + "kv put prefs theme dark" + db, &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(json_lines(run_command(cli + "kv get prefs theme" + db, &status))[0]["value"], "dark");
}

// Numbers out of range are refused by name before anything runs: CLI11 alone would clamp a
// token, wrap -1 into "no limit" and overflow a duration.
TEST_P(CliTest, NumbersOutOfRangeAreRefusedByName) {
  int status = -1;
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"events all --limit -1", "--limit: '-1' is not a whole number from 0 to"},
      {"queue lease q --max -1", "--max: '-1' is not a whole number from 0 to"},
      {"lock release k --token 99999999999999999999", "--token: '99999999999999999999'"},
      {"kv put ns k v --ttl 1e16", "--ttl: '1e16' is out of range"},
      {"kv put ns k v --ttl nan", "--ttl: 'nan' is not a number of seconds"},
      {"queue produce q x --delay 1e13", "--delay: '1e13' is out of range"},
      {"stream settings s --max-age 1e13", "--max-age: '1e13' is out of range"},
      {"events all --limit 5000000000", "read limit of 5000000000 is out of range"},
  };
  for (const auto& [args, message] : refused) {
    strata(args, &status);
    EXPECT_EQ(status, 2) << args;
    const std::string error = last_stderr();
    EXPECT_NE(error.find(message), std::string::npos) << args << ": " << error;
    EXPECT_EQ(std::count(error.begin(), error.end(), '\n'), 1) << error;
  }
  EXPECT_FALSE(store().kv("ns").get("k"));
  EXPECT_TRUE(events().stream_settings("s").max_age == std::nullopt);
}

STRATA_SHARED_BACKENDS(CliTest);

// Checking a store that does not exist says so, and creates nothing.
TEST(CliHealth, AMissingSqliteFileIsReportedAndNotCreated) {
  const std::string path = "/tmp/strata-missing-" + std::to_string(getpid()) + ".db";
  int status = -1;
  run_command(cli_path() + " --db 'sqlite:" + path + "' health 2>/dev/null", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(access(path.c_str(), F_OK), 0) << path << " was created";
}

// A keyword/value connection string is refused without echoing its password.
TEST(CliUrl, AKeywordValueStringIsRefusedWithoutItsPassword) {
  int status = -1;
  const std::string error =
      run_command(cli_path() + " --db 'host=db password=hunter2' migrate 2>&1", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(error.find("keyword/value"), std::string::npos) << error;
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
}

// --version names the library's version and the schema version it migrates to.
TEST(CliVersion, PrintsTheLibraryAndSchemaVersions) {
  int status = -1;
  const std::string out = run_command(cli_path() + " --version", &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, std::string("strata ") + STRATA_VERSION + " (schema version " +
                     std::to_string(latest_schema_version()) + ")\n");
  EXPECT_STREQ(version(), STRATA_VERSION);
  EXPECT_EQ(latest_schema_version(), kLatestSchema);
}

}  // namespace
}  // namespace strata::testing

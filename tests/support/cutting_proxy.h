// A proxy between a Store and the test server that can lose a connection at the worst moment:
// right after the server has answered a statement, so that the server applied it and the client
// never hears so. It listens on a unix socket of its own and relays each connection on a thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace strata::testing {

class CuttingProxy {
 public:
  // Relays to the server whose socket lies in `server_dir` (PostgreSQL's .s.PGSQL.5432).
  explicit CuttingProxy(const std::string& server_dir);
  CuttingProxy(const CuttingProxy&) = delete;
  CuttingProxy& operator=(const CuttingProxy&) = delete;
  ~CuttingProxy();

  // `base_url` (a postgresql:// URL with a host= parameter) through this proxy.
  std::string url_through(const std::string& base_url) const;

  // Arms a cut: the next answer the server sends, on whichever connection, is dropped, and when
  // it ends (ReadyForQuery) the proxy closes both sides of that connection. Thread-safe.
  void cut_after_next_answer() { armed_ = true; }
  // How many cuts have happened.
  int cuts() const { return cuts_; }

 private:
  void accept_loop();
  void relay(int client, int server);

  std::string dir_;
  std::string server_socket_;
  int listener_ = -1;
  int wake_[2] = {-1, -1};  // A pipe that ends the threads' polls.
  std::atomic<bool> armed_{false};
  std::atomic<int> cuts_{0};
  std::mutex mutex_;
  std::vector<std::thread> relays_;
  std::thread acceptor_;
};

}  // namespace strata::testing

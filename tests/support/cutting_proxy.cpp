#include "support/cutting_proxy.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace strata::testing {
namespace {

sockaddr_un address_of(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) throw std::runtime_error("socket path too long");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
    if (sent <= 0) return false;
    data += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return true;
}

// Splits the server's byte stream into its messages (a type byte, then a length that counts
// itself) to see where each answer ends: at ReadyForQuery ('Z').
class AnswerScanner {
 public:
  // Takes `size` more bytes; returns whether they complete a ReadyForQuery message.
  bool ends_answer(const char* data, std::size_t size) {
    bool ended = false;
    for (std::size_t i = 0; i < size; ++i) {
      const auto byte = static_cast<unsigned char>(data[i]);
      if (header_seen_ < 5) {
        if (header_seen_ == 0) type_ = static_cast<char>(byte);
        if (header_seen_ > 0) length_ = (length_ << 8) | byte;
        if (++header_seen_ == 5) remaining_ = length_ - 4;
      } else {
        --remaining_;
      }
      if (header_seen_ == 5 && remaining_ == 0) {
        ended = ended || type_ == 'Z';
        header_seen_ = 0;
        length_ = 0;
      }
    }
    return ended;
  }

 private:
  int header_seen_ = 0;
  char type_ = 0;
  std::uint32_t length_ = 0;
  std::uint32_t remaining_ = 0;
};

}  // namespace

CuttingProxy::CuttingProxy(const std::string& server_dir)
    : server_socket_(server_dir + "/.s.PGSQL.5432") {
  char pattern[] = "/tmp/strata-proxy-XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  listener_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
  const sockaddr_un address = address_of(dir_ + "/.s.PGSQL.5432");
  if (listener_ < 0 ||
      ::bind(listener_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 64) != 0 || ::pipe(wake_) != 0) {
    throw std::runtime_error("cannot listen in " + dir_ + ": " + std::strerror(errno));
  }
  acceptor_ = std::thread([this] { accept_loop(); });
}

CuttingProxy::~CuttingProxy() {
  ::close(wake_[1]);  // Every poll sees the pipe's end.
  acceptor_.join();
  for (std::thread& relay : relays_) relay.join();
  ::close(wake_[0]);
  ::close(listener_);
  std::filesystem::remove_all(dir_);
}

std::string CuttingProxy::url_through(const std::string& base_url) const {
  const auto host = base_url.find("host=") + 5;
  const auto end = base_url.find('&', host);
  std::string url = base_url;
  url.replace(host, end == std::string::npos ? std::string::npos : end - host, dir_);
  return url;
}

void CuttingProxy::accept_loop() {
  while (true) {
    pollfd fds[2] = {{listener_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 || fds[1].revents != 0) return;
    const int client = ::accept(listener_, nullptr, nullptr);
    if (client < 0) continue;
    const int server = ::socket(AF_UNIX, SOCK_STREAM, 0);
    const sockaddr_un address = address_of(server_socket_);
    if (::connect(server, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ::close(server);
      ::close(client);
      continue;
    }
    std::lock_guard lock(mutex_);
    relays_.emplace_back([this, client, server] { relay(client, server); });
  }
}

void CuttingProxy::relay(int client, int server) {
  AnswerScanner scanner;
  bool cutting = false;  // This connection took the armed cut: the client hears no more.
  char buffer[65536];
  while (true) {
    pollfd fds[3] = {{client, POLLIN, 0}, {server, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0 || fds[2].revents != 0) break;
    if (fds[0].revents != 0) {
      const ssize_t got = ::recv(client, buffer, sizeof buffer, 0);
      if (got <= 0 || !send_all(server, buffer, static_cast<std::size_t>(got))) break;
    }
    if (fds[1].revents != 0) {
      const ssize_t got = ::recv(server, buffer, sizeof buffer, 0);
      if (got <= 0) break;
      const bool answered = scanner.ends_answer(buffer, static_cast<std::size_t>(got));
      // The first connection the server answers once armed takes the cut: nothing more of that
      // answer reaches its client, and the connection goes when the answer ends.
      cutting = cutting || armed_.exchange(false);
      if (cutting) {
        if (!answered) continue;
        ++cuts_;
        break;
      }
      if (!send_all(client, buffer, static_cast<std::size_t>(got))) break;
    }
  }
  ::close(client);
  ::close(server);
}

}  // namespace strata::testing

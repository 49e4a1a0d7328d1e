// The polling load of bench/serve_bench.py's measurements, as a lean
// native client: on this 2-core machine the load client shares the cores
// with the service and both database servers, so its own CPU time would
// otherwise be charged to the sync it watches.
//
//   FRESHET_API_TOKEN=... freshet_serve_load --port P --pollers N --sse S
//                                            --interval SECONDS [--seconds LIMIT]
//
// Opens N keep-alive connections, prints "ready" and reads a run id from
// standard input. Then each poller sends GET /v1/runs/{id} every SECONDS
// (random phase) and S clients follow /v1/runs/{id}/events. When every
// follower has read its `end` event (or failed), or after LIMIT seconds
// when given (followers still read to their end), the pollers stop and one
// JSON object goes to standard output: every answered request's latency
// (seconds, from writing the request to reading the whole answer), errors
// by kind, each stream's event count and CLOCK_MONOTONIC time of its `end`
// event, and this process's CPU seconds. Single-threaded (one io_context).
#include <sys/resource.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC, as Python's time.monotonic
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct Options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  int pollers = 100;
  int sse = 10;
  double interval = 1.0;
  double seconds = 0;  // > 0: stop after this long, followers or not
  std::string token;
};

struct Samples {
  std::vector<double> latencies;
  std::map<std::string, int> errors;
};

struct Stream {
  int events = 0;
  std::optional<double> ended_at;
  std::optional<std::string> error;
};

double Seconds(Clock::time_point at) {
  return std::chrono::duration<double>(at.time_since_epoch()).count();
}

class Load {
 public:
  explicit Load(Options options) : options_(std::move(options)), random_(std::random_device{}()) {}

  // Opens the pollers' connections (blocking: nothing else runs yet).
  void Connect() {
    tcp::endpoint endpoint(asio::ip::make_address(options_.host), options_.port);
    for (int i = 0; i < options_.pollers; ++i) {
      sockets_.push_back(std::make_unique<tcp::socket>(io_));
      sockets_.back()->connect(endpoint);
    }
  }

  void Run(int64_t run_id) {
    std::string path = "/v1/runs/" + std::to_string(run_id);
    streams_.resize(options_.sse);
    for (auto& socket : sockets_) asio::co_spawn(io_, Poll(*socket, path), asio::detached);
    followers_left_ = options_.sse;
    for (Stream& stream : streams_)
      asio::co_spawn(io_, Follow(path + "/events", stream), asio::detached);
    asio::steady_timer limit(io_);
    limit_ = &limit;
    if (options_.seconds > 0) {
      limit.expires_after(std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(options_.seconds)));
      limit.async_wait([this](boost::system::error_code) { Stop(); });
    } else if (options_.sse == 0) {
      stopping_ = true;
    }
    io_.run();
    limit_ = nullptr;
  }

  nlohmann::json Result() const {
    nlohmann::json streams = nlohmann::json::array();
    for (const Stream& stream : streams_)
      streams.push_back({{"events", stream.events},
                         {"ended_at", stream.ended_at ? nlohmann::json(*stream.ended_at) : nullptr},
                         {"error", stream.error ? nlohmann::json(*stream.error) : nullptr}});
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    double cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
                 usage.ru_stime.tv_usec / 1e6;
    return {{"latencies", samples_.latencies},
            {"errors", samples_.errors},
            {"streams", streams},
            {"cpu_seconds", cpu}};
  }

 private:
  http::request<http::empty_body> Request(const std::string& path, bool events) const {
    http::request<http::empty_body> request(http::verb::get, path, 11);
    request.set(http::field::host, options_.host + ":" + std::to_string(options_.port));
    request.set(http::field::authorization, "Bearer " + options_.token);
    if (events) request.set(http::field::accept, "text/event-stream");
    return request;
  }

  void Error(const std::string& kind) { ++samples_.errors[kind]; }

  // GET `path` on `socket` every interval until the followers are done.
  asio::awaitable<void> Poll(tcp::socket& socket, std::string path) {
    asio::steady_timer timer(io_);
    std::uniform_real_distribution<double> phase(0, options_.interval);
    auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(options_.interval));
    Clock::time_point next = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(phase(random_)));
    http::request<http::empty_body> request = Request(path, false);
    beast::flat_buffer buffer;
    while (!stopping_) {
      timer.expires_at(next);
      timers_.push_back(&timer);
      co_await timer.async_wait(kTuple);
      std::erase(timers_, &timer);
      if (stopping_) break;
      if (!socket.is_open()) {
        auto [error] = co_await socket.async_connect(
            tcp::endpoint(asio::ip::make_address(options_.host), options_.port), kTuple);
        if (error) Error("connect: " + error.message());
      }
      Clock::time_point start = Clock::now();
      auto [write_error, written] = co_await http::async_write(socket, request, kTuple);
      http::response<http::string_body> response;
      boost::system::error_code read_error = write_error;
      if (!write_error)
        std::tie(read_error, std::ignore) =
            co_await http::async_read(socket, buffer, response, kTuple);
      if (read_error) {
        Error(read_error.message());
        beast::error_code ignored;
        socket.close(ignored);
        buffer.clear();
      } else {
        samples_.latencies.push_back(std::chrono::duration<double>(Clock::now() - start).count());
        if (response.result_int() != 200) Error("HTTP " + std::to_string(response.result_int()));
        if (response.need_eof()) socket.close();
      }
      next = std::max(next + interval, Clock::now());
    }
  }

  // Reads the run's event stream until its `end` event.
  asio::awaitable<void> Follow(std::string path, Stream& stream) {
    tcp::socket socket(io_);
    auto [connect_error] = co_await socket.async_connect(
        tcp::endpoint(asio::ip::make_address(options_.host), options_.port), kTuple);
    if (connect_error) {
      stream.error = connect_error.message();
    } else {
      co_await ReadEvents(socket, Request(path, true), stream);
    }
    if (--followers_left_ == 0) Stop();
  }

  asio::awaitable<void> ReadEvents(tcp::socket& socket, http::request<http::empty_body> request,
                                   Stream& stream) {
    auto [write_error, written] = co_await http::async_write(socket, request, kTuple);
    if (write_error) {
      stream.error = write_error.message();
      co_return;
    }
    std::string data;
    auto [head_error, head_size] =
        co_await asio::async_read_until(socket, asio::dynamic_buffer(data), "\r\n\r\n", kTuple);
    if (head_error) {
      stream.error = head_error.message();
      co_return;
    }
    if (data.compare(0, 13, "HTTP/1.1 200 ") != 0) {
      stream.error = data.substr(0, data.find("\r\n"));
      co_return;
    }
    data.erase(0, head_size);
    while (true) {  // chunk-size lines, if any, are lines too: only "event: " ones count
      auto [error, size] =
          co_await asio::async_read_until(socket, asio::dynamic_buffer(data), "\n", kTuple);
      if (error) {
        stream.error = "closed before the end event: " + error.message();
        co_return;
      }
      std::string line = data.substr(0, size);
      data.erase(0, size);
      if (line.starts_with("event: ")) {
        ++stream.events;
        if (line.starts_with("event: end")) {
          stream.ended_at = Seconds(Clock::now());
          co_return;
        }
      }
    }
  }

  void Stop() {
    stopping_ = true;
    for (asio::steady_timer* timer : timers_) timer->cancel();
    if (limit_) limit_->cancel();
  }

  Options options_;
  asio::io_context io_;
  std::mt19937_64 random_;
  std::vector<std::unique_ptr<tcp::socket>> sockets_;
  std::vector<asio::steady_timer*> timers_;  // the pollers' waits, cancelled by Stop
  asio::steady_timer* limit_ = nullptr;      // --seconds, while Run runs
  std::vector<Stream> streams_;
  Samples samples_;
  int followers_left_ = 0;
  bool stopping_ = false;
};

Options Parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string name = argv[i], value = argv[i + 1];
    if (name == "--host")
      options.host = value;
    else if (name == "--port")
      options.port = static_cast<unsigned short>(std::stoi(value));
    else if (name == "--pollers")
      options.pollers = std::stoi(value);
    else if (name == "--sse")
      options.sse = std::stoi(value);
    else if (name == "--interval")
      options.interval = std::stod(value);
    else if (name == "--seconds")
      options.seconds = std::stod(value);
    else
      throw std::invalid_argument("unknown option " + name);
  }
  if (argc % 2 == 0) throw std::invalid_argument("every option takes a value");
  if (options.port == 0) throw std::invalid_argument("--port is required");
  const char* token = std::getenv("FRESHET_API_TOKEN");
  options.token = token ? token : "";
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Load load(Parse(argc, argv));
    load.Connect();
    std::cout << "ready" << std::endl;
    int64_t run_id = 0;
    if (!(std::cin >> run_id)) {
      std::cerr << "freshet_serve_load: no run id on standard input\n";
      return 2;
    }
    load.Run(run_id);
    std::cout << load.Result().dump() << std::endl;
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "freshet_serve_load: " << error.what() << "\n";
    return 2;
  }
}

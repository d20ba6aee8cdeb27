// `peel serve`: the HTTP service on this machine (docs/server.md), and `peel serve admin`,
// the operator's commands on its database.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "blob/blob_store.h"
#include "cli/commands.h"
#include "server/crypto.h"
#include "server/http.h"
#include "server/service.h"
#include "store/store.h"
#include "worker/worker.h"

namespace peel::cli {

namespace fs = std::filesystem;

namespace {

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "4G", "500M", "1024": bytes.
struct ByteSize {
  int64_t bytes = 0;
};

bool lexical_cast(const std::string& text, ByteSize& out) {
  if (text.empty()) return false;
  std::string digits = text;
  int64_t scale = 1;
  switch (std::toupper(static_cast<unsigned char>(digits.back()))) {
    case 'K':
      scale = 1LL << 10;
      break;
    case 'M':
      scale = 1LL << 20;
      break;
    case 'G':
      scale = 1LL << 30;
      break;
    case 'T':
      scale = 1LL << 40;
      break;
    default:
      break;
  }
  if (scale != 1) digits.pop_back();
  if (digits.empty() || digits.size() > 12 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  out.bytes = std::stoll(digits) * scale;
  return true;
}

// The key of signed download URLs: made once per data folder and kept there (0600), so links
// stay valid across restarts.
Result<std::string> load_secret(const fs::path& data) {
  fs::path path = data / "secret";
  std::ifstream in(path);
  std::string secret;
  if (in && std::getline(in, secret) && secret.size() >= 32) return secret;
  secret = server::random_token(32);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ::write(fd, secret.data(), secret.size()) != static_cast<ssize_t>(secret.size())) {
    if (fd >= 0) ::close(fd);
    return Error(ErrorCode::kOutputUnwritable, "cannot write " + path.string());
  }
  ::close(fd);
  return secret;
}

struct Opened {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<blob::BlobStore> blobs;
};

Result<Opened> open_data(const std::string& data) {
  std::error_code ec;
  fs::create_directories(data, ec);
  if (ec) {
    return Error(ErrorCode::kOutputUnwritable,
                 "cannot create the data folder " + data + ": " + ec.message());
  }
  auto store = store::open_sqlite_store((fs::path(data) / "peel.db").string());
  if (!store) return store.error();
  auto blobs = blob::open_folder_store((fs::path(data) / "files").string());
  if (!blobs) return blobs.error();
  return Opened{std::move(*store), std::move(*blobs)};
}

// What the scratch folder holds that outlived its process (the server was killed): a job's
// folder, once older than any job could run; a file that was arriving, once untouched for long.
void remove_stale_scratch(const std::string& scratch) {
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (fs::directory_iterator it(scratch, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // A job's folder, left by a process that died: 6 h after it was made. A file still
    // arriving (incoming_…) is written to all the time: one untouched for an hour was
    // interrupted.
    auto age = name.starts_with("job_")        ? std::chrono::hours(6)
               : name.starts_with("incoming_") ? std::chrono::hours(1)
                                               : std::chrono::hours(0);
    if (age.count() == 0) continue;
    std::error_code time_ec;
    auto written = fs::last_write_time(it->path(), time_ec);
    if (!time_ec && written < now - age) fs::remove_all(it->path(), time_ec);
  }
}

int admin_command(std::vector<std::string> args) {
  CLI::App app{"peel serve admin: the operator's commands on a server's data folder",
               "peel serve admin"};
  std::string data = "./peel-data";
  app.add_option("--data", data, "the server's data folder (default ./peel-data)")
      ->envname("PEEL_DATA")
      ->type_name("DIR");
  auto* credits = app.add_subcommand("credits", "grant (or, negative, take back) credits");
  std::string client;
  int64_t add = 0;
  std::string note = "granted by the operator";
  credits->add_option("--client", client, "the client id (its X-Client-Id)")->required();
  credits->add_option("--add", add, "credits to add (negative: to take back)")->required();
  credits->add_option("--note", note, "why, kept in the ledger");
  // A client id the server has not seen yet gets the grant a first token would have given.
  int64_t initial = 100;
  credits
      ->add_option("--initial-credits", initial,
                   "what a client id not seen before starts with, as `peel serve` gives "
                   "(default 100)")
      ->envname("PEEL_INITIAL_CREDITS");
  app.require_subcommand(1);
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  auto opened = open_data(data);
  if (!opened) {
    std::cerr << "peel: " << opened.error().message << "\n";
    return kExitFailed;
  }
  auto& store = *opened->store;
  if (auto r = store.ensure_client(client, initial, now_seconds()); !r) {
    std::cerr << "peel: " << r.error().message << "\n";
    return kExitFailed;
  }
  if (auto r = store.grant(client, add, note, now_seconds()); !r) {
    std::cerr << "peel: " << r.error().message << "\n";
    return kExitFailed;
  }
  auto balance = store.balance(client);
  if (!balance) {
    std::cerr << "peel: " << balance.error().message << "\n";
    return kExitFailed;
  }
  std::cout << client << ": " << balance->available << " credits available, " << balance->frozen
            << " held\n";
  return kExitOk;
}

}  // namespace

int serve_command(std::vector<std::string> args, const CancelToken& cancel) {
  if (!args.empty() && args.front() == "admin") {
    args.erase(args.begin());
    return admin_command(std::move(args));
  }
  CLI::App app{
      "peel serve: the extraction service over HTTP (docs/server.md, docs/http-api.md).\n"
      "Every option has a PEEL_ environment twin, named in brackets.",
      "peel serve"};
  std::string listen = "127.0.0.1:8080";
  std::string data = "./peel-data";
  std::string public_url;
  std::string credits = "on";
  std::string port_file;
  server::ServiceOptions service;
  int jobs = 0;
  int io_threads = 0;
  ByteSize upload_limit{service.upload_limit};
  ByteSize quota{service.client_quota};
  double retention_days = 7;
  double grace = 30;
  app.add_option("--listen", listen,
                 "address and port to listen on (default 127.0.0.1:8080; "
                 "port 0 takes a free one)")
      ->envname("PEEL_LISTEN")
      ->type_name("HOST:PORT");
  app.add_option("--data", data, "folder of the database and files (default ./peel-data)")
      ->envname("PEEL_DATA")
      ->type_name("DIR");
  app.add_option("--public-url", public_url,
                 "the URL clients reach this server at, for links (default http://LISTEN)")
      ->envname("PEEL_PUBLIC_URL")
      ->type_name("URL");
  app.add_option("--credits", credits, "on: exports cost credits; off: free (a private server)")
      ->envname("PEEL_CREDITS")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--initial-credits", service.initial_credits,
                 "credits a new client id gets (default 100)")
      ->envname("PEEL_INITIAL_CREDITS")
      ->check(CLI::Range(0, 1'000'000'000));
  app.add_option("--credits-per-minute", service.credits_per_minute,
                 "credits per started minute of output audio (default 1)")
      ->envname("PEEL_CREDITS_PER_MINUTE")
      ->check(CLI::Range(0, 1'000'000));
  app.add_option("--bind-url", service.bind_url, "where clients get more credits (for 2001)")
      ->envname("PEEL_BIND_URL")
      ->type_name("URL");
  app.add_option("--admin-token", service.admin_token,
                 "bearer token of POST /api/admin/credits (default: no admin route)")
      ->envname("PEEL_ADMIN_TOKEN")
      ->type_name("TOKEN");
  app.add_option("--jobs", jobs, "exports run at once (default: one per core)")
      ->envname("PEEL_JOBS")
      ->check(CLI::Range(1, 256));
  int job_nice = 10;
  app.add_option("--job-nice", job_nice,
                 "how much lower than the connections' threads exports run (nice, 0 to 19; "
                 "default 10): polls are answered at once while every core extracts")
      ->envname("PEEL_JOB_NICE")
      ->check(CLI::Range(0, 19));
  app.add_option("--io-threads", io_threads, "threads serving connections (default 2)")
      ->envname("PEEL_IO_THREADS")
      ->check(CLI::Range(1, 64));
  app.add_option("--upload-limit", upload_limit, "largest file a client may upload (default 4G)")
      ->envname("PEEL_UPLOAD_LIMIT")
      ->type_name("BYTES");
  app.add_option("--quota", quota, "bytes of files one client may hold (default 20G)")
      ->envname("PEEL_QUOTA")
      ->type_name("BYTES");
  app.add_option("--retention-days", retention_days,
                 "days sessions, their files and outputs are kept (default 7)")
      ->envname("PEEL_RETENTION_DAYS")
      ->check(CLI::Range(0.00001, 3650.0));
  int sweep_seconds = 600;
  app.add_option("--sweep-every", sweep_seconds,
                 "seconds between the janitor's rounds, which remove expired sessions and "
                 "files (default 600)")
      ->envname("PEEL_SWEEP_EVERY")
      ->check(CLI::Range(1, 86400));
  app.add_option("--rate-limit", service.rate,
                 "requests per second per client and per address (default 50; 0: no limit)")
      ->envname("PEEL_RATE_LIMIT")
      ->check(CLI::Range(0.0, 1e9));
  app.add_option("--rate-burst", service.burst, "requests allowed at once (default 100)")
      ->envname("PEEL_RATE_BURST")
      ->check(CLI::Range(1.0, 1e9));
  app.add_option("--sse-per-client", service.sse_per_client,
                 "message streams one client may hold open (default 8)")
      ->envname("PEEL_SSE_PER_CLIENT")
      ->check(CLI::Range(1, 100000));
  app.add_flag("--allow-private-urls", service.fetch.allow_private,
               "uploads by URL and export callbacks may reach loopback and private addresses "
               "(a trusted network only)")
      ->envname("PEEL_ALLOW_PRIVATE_URLS");
  std::vector<std::string> url_ranges;
  app.add_option("--allow-url-range", url_ranges,
                 "an address or block (10.1.0.0/16, fd00::/8) uploads by URL and callbacks may "
                 "reach, the rest of the private ranges staying refused (repeatable)")
      ->envname("PEEL_ALLOW_URL_RANGE")
      ->type_name("CIDR");
  int url_timeout = static_cast<int>(service.fetch.timeout.count());
  app.add_option("--url-timeout", url_timeout,
                 "seconds an upload by URL may take to arrive (default 300)")
      ->envname("PEEL_URL_TIMEOUT")
      ->check(CLI::Range(1, 86400));
  app.add_option("--grace", grace,
                 "seconds running exports may take to finish on SIGTERM (default 30)")
      ->envname("PEEL_GRACE")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--port-file", port_file, "write the port listened on to FILE once listening")
      ->envname("PEEL_PORT_FILE")
      ->type_name("FILE");
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  service.fetch.timeout = std::chrono::seconds(url_timeout);
  for (const auto& text : url_ranges) {
    auto range = server::parse_address_range(text);
    if (!range) {
      std::cerr << "peel: --allow-url-range: " << range.error().message << "\n";
      return kExitUsage;
    }
    service.fetch.allowed_ranges.push_back(*range);
  }
  server::HttpOptions http;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos ||
      listen.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
      colon + 1 == listen.size() || listen.size() - colon > 6) {
    std::cerr << "peel: --listen takes HOST:PORT, like 127.0.0.1:8080 (not " << listen << ")\n";
    return kExitUsage;
  }
  http.host = listen.substr(0, colon);
  if (http.host.size() > 2 && http.host.front() == '[' && http.host.back() == ']') {
    http.host = http.host.substr(1, http.host.size() - 2);
  }
  http.port = std::stoi(listen.substr(colon + 1));
  if (http.port > 65535) {
    std::cerr << "peel: --listen's port must be 0 to 65535\n";
    return kExitUsage;
  }
  http.threads = io_threads > 0 ? io_threads : std::min(2, core_count());

  // Each connection is a descriptor: thousands of idle message streams need more than the
  // usual soft limit of 1024, so the soft limit is raised to the hard one.
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &files);
  }
  auto opened = open_data(data);
  if (!opened) {
    std::cerr << "peel: " << opened.error().message << "\n";
    return kExitFailed;
  }
  auto secret = load_secret(data);
  if (!secret) {
    std::cerr << "peel: " << secret.error().message << "\n";
    return kExitFailed;
  }
  service.secret = *secret;
  service.credits = credits == "on";
  service.upload_limit = upload_limit.bytes;
  service.client_quota = quota.bytes;
  service.session_seconds = static_cast<int64_t>(retention_days * 86400);

  // The service's own Engine: files from strangers, read within the untrusted limits.
  EngineOptions engine_options;
  engine_options.threads = std::max(core_count(), jobs);
  engine_options.limits = Limits::untrusted();
  engine_options.on_log = [](int, const std::string& line) {
    std::cerr << "peel serve: ffmpeg: " << line << "\n";
  };
  // Exports run on the engine's pool, FFmpeg's codec threads under them. A thread starts at
  // the nice value of the thread that starts it, so the engine is made on a thread that has
  // lowered its own: every thread of an export yields to the connections' threads, and a
  // machine with nothing else to do runs the export at full speed all the same.
  std::optional<Engine> engine_holder;
  std::thread([&] {
    if (job_nice > 0) {
      errno = 0;
      if (nice(job_nice) == -1 && errno != 0) {
        std::cerr << "peel serve: cannot lower the exports' priority: " << std::strerror(errno)
                  << "\n";
      }
    }
    engine_holder.emplace(engine_options);
  }).join();
  Engine& engine = *engine_holder;

  std::unique_ptr<server::Service> service_ptr;  // made once the worker that it feeds exists
  worker::WorkerOptions worker_options;
  worker_options.jobs = jobs;
  worker_options.credits = service.credits;
  worker_options.credits_per_minute = service.credits_per_minute;
  worker_options.on_update = [&service_ptr](const store::Job& job, const std::string& what,
                                            const nlohmann::json& d) {
    if (service_ptr) service_ptr->job_update(job, what, d);
  };
  worker::Worker worker(engine, *opened->store, *opened->blobs, worker_options);
  service_ptr =
      std::make_unique<server::Service>(engine, *opened->store, *opened->blobs, worker, service);
  http.on_request = [&service_ptr](const std::string& route, int status, double seconds) {
    service_ptr->count_request(route, status, seconds);
  };
  http.error_response = server::Service::error_response;
  server::HttpServer server(http, service_ptr->routes());
  if (auto started = server.start(); !started) {
    std::cerr << "peel: " << started.error().message << "\n";
    return kExitUsage;
  }
  if (public_url.empty()) {
    std::string host = http.host.find(':') != std::string::npos ? "[" + http.host + "]" : http.host;
    if (host == "0.0.0.0") host = "127.0.0.1";
    public_url = "http://" + host + ":" + std::to_string(server.port());
  }
  while (!public_url.empty() && public_url.back() == '/') public_url.pop_back();
  // Set before run(): no connection is served until then.
  service_ptr->set_public_url(public_url);
  service_ptr->start();
  if (!port_file.empty()) {
    std::ofstream(port_file) << server.port() << "\n";
  }
  if (auto r = worker.start(); !r) {
    std::cerr << "peel: " << r.error().message << "\n";
    return kExitFailed;
  }
  std::cerr << "peel serve: listening on " << public_url << " (data in " << data << ", "
            << (service.credits ? "credits on" : "credits off") << "; Ctrl-C to stop)\n";

  // Ctrl-C or SIGTERM (main's handler fires `cancel`): stop taking connections, then let the
  // running exports finish within the grace; the rest run again at the next start. The
  // janitor removes expired sessions with their files meanwhile.
  std::mutex mutex;
  std::condition_variable stopped;
  bool done = false;
  std::thread watcher([&] {
    auto next_sweep = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex);
    while (!done) {
      if (cancel.cancelled()) {
        server.stop();
        return;
      }
      if (std::chrono::steady_clock::now() >= next_sweep) {
        lock.unlock();
        if (auto keys = opened->store->expire(now_seconds())) {
          for (const auto& key : *keys) (void)opened->blobs->remove(key);
        }
        remove_stale_scratch(opened->blobs->scratch_folder());
        lock.lock();
        next_sweep = std::chrono::steady_clock::now() + std::chrono::seconds(sweep_seconds);
      }
      stopped.wait_for(lock, std::chrono::milliseconds(100));
    }
  });
  server.run();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  stopped.notify_all();
  watcher.join();
  if (int running = worker.running(); running > 0) {
    std::cerr << "peel serve: stopping; waiting up to " << grace << " s for " << running
              << " running export(s)\n";
  }
  int requeued = worker.stop(std::chrono::milliseconds(static_cast<int64_t>(grace * 1000)));
  std::cerr << "peel serve: stopped";
  if (requeued > 0) std::cerr << "; " << requeued << " export(s) will run again at the next start";
  std::cerr << "\n";
  return kExitOk;
}

}  // namespace peel::cli

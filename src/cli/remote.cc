// `peel remote`: the extraction run on a `peel serve` server instead of this machine (upload,
// export, progress, atomic download), `peel remote credits` and `peel remote ask`.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "cli/advice.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/extract.h"
#include "engine/atomic_file.h"
#include "peel/formats.h"
#include "peel/json.h"
#include "remote/client.h"

namespace peel::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using remote::RemoteClient;

constexpr const char* kDefaultServer = "http://127.0.0.1:8080";

std::string default_server() {
  const char* env = std::getenv("PEEL_SERVER");
  return env != nullptr && *env != '\0' ? env : kDefaultServer;
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) != 0; }

// One line on stderr that redraws itself (a terminal only), at most ten times a second.
class StatusLine {
 public:
  explicit StatusLine(bool on) : on_(on) {}
  ~StatusLine() { clear(); }
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  // `fraction` < 0: no bar.
  void show(const std::string& label, const std::string& phase, double fraction,
            const std::string& extra = "") {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds(100) && phase == phase_) return;
    last_ = now;
    phase_ = phase;
    std::string line = label + ": " + phase;
    if (fraction >= 0) {
      constexpr int kWidth = 24;
      const int filled = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * kWidth);
      line += fmt::format(" [{}{}] {:3.0f}%", std::string(filled, '#'),
                          std::string(kWidth - filled, '-'), std::clamp(fraction, 0.0, 1.0) * 100);
    }
    if (!extra.empty()) line += "  " + extra;
    std::fputs(("\r" + line + "\033[K").c_str(), stderr);
    std::fflush(stderr);
    drawn_ = true;
  }
  void clear() {
    if (!drawn_) return;
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    drawn_ = false;
  }

 private:
  bool on_;
  bool drawn_ = false;
  std::string phase_;
  std::chrono::steady_clock::time_point last_;
};

std::string megabytes(int64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

// A stable name for the service's own codes, where the engine has none (or another meaning).
std::string code_name(const Error& e, const std::optional<remote::Refusal>& refusal) {
  if (refusal) {
    if (refusal->data.is_object() && refusal->data.contains("name") &&
        refusal->data["name"].is_string()) {
      return refusal->data["name"];
    }
    static const std::map<int, std::string> kNames = {
        {400, "bad_request"},        {402, "attribution_missing"},
        {404, "not_found"},          {405, "method_not_allowed"},
        {409, "conflict"},           {412, "tus_version"},
        {413, "too_large"},          {416, "bad_range"},
        {429, "rate_limited"},       {431, "headers_too_large"},
        {460, "checksum_mismatch"},  {500, "server_error"},
        {501, "not_implemented"},    {1001, "bad_token"},
        {1002, "session_not_found"}, {2001, "not_enough_credits"}};
    if (refusal->code == 4002) return "file_too_large";
    if (refusal->code != 2001 && refusal->code != 1001 && refusal->code != 400) {
      const std::string_view name = error_name(e.code);
      if (name != "unknown") return std::string(name);
    }
    auto it = kNames.find(refusal->code);
    return it != kNames.end() ? it->second : "server_error";
  }
  return std::string(error_name(e.code));
}

// What the user reads of an error: say()'s words, and the server's code where it said it.
std::string words_of(const Error& e, const std::optional<remote::Refusal>& refusal) {
  std::string text = say(e);
  if (refusal) text += fmt::format(" [server code {}]", refusal->code);
  return text;
}

int exit_code_of(const Error& e) {
  const int code = static_cast<int>(e.code);
  if (e.code == ErrorCode::kUsage || code == 400) return kExitUsage;
  return exit_code_for(e.code);
}

// The errors of one command: on stderr as they come, and in the JSON at the end.
struct Report {
  bool json_out = false;
  json outputs = json::array();
  json errors = json::array();
  int worst = kExitOk;
  bool interrupted = false;

  void error(const std::string& input, const Error& e,
             const std::optional<remote::Refusal>& refusal = std::nullopt) {
    json j = error_json(input, e, say);
    j["name"] = code_name(e, refusal);
    errors.push_back(j);
    std::cerr << "peel remote: " << words_of(e, refusal) << "\n";
    if (e.code == ErrorCode::kCancelled) interrupted = true;
    worst = std::max(worst, exit_code_of(e));
  }
  int finish() const {
    if (json_out) {
      std::cout << json{{"outputs", outputs}, {"errors", errors}}.dump(2) << "\n";
    }
    if (interrupted) return kExitInterrupted;
    return worst;
  }
};

// The extension of a format of the table ("" when unknown), and the format of an extension.
std::string extension_of_format(const std::string& format) {
  for (const auto& f : formats()) {
    if (f.name == format) return f.extension;
  }
  return "";
}

std::string format_of_extension(std::string ext) {
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& f : formats()) {
    if (f.extension == ext) return f.name;
  }
  return "";
}

// The checks the local command makes on its output before writing a byte: not the input, not
// a folder, not existing unless -y, its folder there (or to be made, for -d).
std::optional<Error> check_target(const std::string& target, const std::string& input,
                                  bool overwrite, bool folder_made_later) {
  std::error_code ec;
  if (Result<void> free = engine::check_target_path(target, input, overwrite); !free) {
    return free.error();
  }
  fs::path dir = fs::path(target).parent_path();
  if (dir.empty()) dir = ".";
  if (!folder_made_later && !fs::is_directory(dir, ec)) {
    return Error{ErrorCode::kOutputUnwritable,
                 fmt::format("the output folder {} does not exist; create it first, or name it "
                             "as the folder for outputs (which is created)",
                             dir.string())}
        .about("output", Hint::kOutputFolder);
  }
  return std::nullopt;
}

// The local result of a finished export: the server's result, with this machine's names.
json local_result(const json& job, const std::string& input, const std::string& output,
                  const std::string& new_folder) {
  json result = job["output"].value("result", json::object());
  if (!result.is_object()) result = json::object();
  result["input"] = input;
  result["output"] = output;
  result["new_folder"] = new_folder.empty() ? json(nullptr) : json(new_folder);
  return result;
}

// describe_result()'s line, from a result's JSON.
std::string describe(const json& r) {
  OutputResult o;
  o.input = r.value("input", "");
  o.output = r.value("output", "");
  o.mode = r.value("mode", "") == "copy" ? Mode::kCopy : Mode::kTranscode;
  o.codec = r.value("codec", "");
  o.track = r.value("track", 0);
  o.lang = r.contains("lang") && r["lang"].is_string() ? r["lang"].get<std::string>() : "";
  o.start = static_cast<Micros>(std::llround(r.value("start", 0.0) * kMicrosPerSecond));
  o.end = static_cast<Micros>(std::llround(r.value("end", 0.0) * kMicrosPerSecond));
  o.sample_rate = r.value("sample_rate", 0);
  o.channels = r.value("channels", 0);
  o.bytes = r.value("bytes", int64_t{0});
  return describe_result(o);
}

std::string random_suffix() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}", random(), random());
}

// Seconds of audio the export will hold, as far as the upload's probe and the request tell.
double expected_seconds(const json& info, const json& request) {
  if (!info.is_object()) return 0;
  double length = info.value("duration", 0.0);
  const int track =
      request.is_object() && request["track"].is_number() ? request.value("track", 0) : 0;
  for (const auto& a : info.value("audio", json::array())) {
    if (a.value("track", -1) == track && a.value("duration", 0.0) > 0) {
      length = a.value("duration", 0.0);
    }
  }
  auto seconds = [&](const char* key) {
    return request.is_object() && request.contains(key) && request[key].is_number()
               ? std::optional<double>(request[key].get<double>())
               : std::nullopt;
  };
  const double from = seconds("from").value_or(0);
  double to = length;
  if (auto t = seconds("to")) to = std::min(to, *t);
  if (auto d = seconds("duration")) to = std::min(to, from + *d);
  return std::max(0.0, to - from);
}

void add_server_option(CLI::App& app, std::string& server) {
  app.add_option(
         "--server", server,
         fmt::format("the peel server's URL (default: $PEEL_SERVER, else {})", kDefaultServer))
      ->type_name("URL");
}

Result<remote::ClientOptions> client_options(const std::string& server, const CancelToken& cancel) {
  auto folder = remote::config_folder();
  if (!folder) return folder.error();
  remote::ClientOptions o;
  o.server = server;
  o.config_folder = *folder;
  o.version = PEEL_VERSION;
  o.cancel = cancel;
  return o;
}

// --- peel remote credits ----------------------------------------------------------------------

int credits_command(std::vector<std::string> args, const CancelToken& cancel) {
  std::string server = default_server();
  bool as_json = false;
  CLI::App app{"peel remote credits: the credits this client has on the server",
               "peel remote credits"};
  add_server_option(app, server);
  app.add_flag("--json", as_json, "print the balance as JSON");
  if (auto rc = parse_command_line(app, std::move(args))) return *rc;
  auto options = client_options(server, cancel);
  Report report;
  report.json_out = false;
  if (!options) {
    report.error("", options.error());
    return report.finish();
  }
  RemoteClient client(std::move(*options));
  auto balance = client.credits();
  if (!balance) {
    report.error("", balance.error(), client.last_refusal());
    return report.finish();
  }
  const json& b = *balance;
  if (as_json) {
    std::cout << json{{"available", b.value("available", 0)},
                      {"frozen", b.value("frozen", 0)},
                      {"total", b.value("total", 0)},
                      {"credits_enabled", b.value("credits_enabled", true)}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << fmt::format(
        "{} credits available, {} held for exports, {} in all{}\n", b.value("available", 0),
        b.value("frozen", 0), b.value("total", 0),
        b.value("credits_enabled", true) ? "" : " (exports are free on this server)");
  }
  return kExitOk;
}

// --- peel remote INPUT ------------------------------------------------------------------------

// One input extracted on the server.
class RemoteRun {
 public:
  RemoteRun(RemoteClient& client, const ExtractOptions& options, Report& report,
            const CancelToken& cancel)
      : client_(client),
        o_(options),
        report_(report),
        cancel_(cancel),
        line_(stderr_is_terminal() && !options.json && !options.quiet) {}

  ~RemoteRun() {
    // What this client left on the server: the job is stopped, the upload removed.
    if (!job_id_.empty() && !job_ended_) (void)client_.cancel_export(job_id_);
    if (!upload_id_.empty()) (void)client_.delete_upload(**session_, upload_id_);
  }

  void run(const std::string& input, std::optional<std::string>& session) {
    session_ = &session;
    input_ = input;
    label_ = fs::path(input).filename().string();
    auto size = remote::check_input(input);
    if (!size) return fail(size.error());

    // The format: -f, else -o's extension, else the server's choice (auto).
    std::string format = o_.request.format;
    if (format == "auto" && !o_.request.output.empty()) {
      const std::string ext = fs::path(o_.request.output).extension().string();
      format = ext.empty() ? "" : format_of_extension(ext.substr(1));
      if (format.empty()) {
        return fail(Error(ErrorCode::kUsage,
                          fmt::format("cannot tell the format from the extension of {}; use a "
                                      "known extension (mp3, m4a, aac, flac, wav, opus, ogg, mka, "
                                      "pcm) or name the format",
                                      o_.request.output))
                        .about("format"));
      }
    }
    if (format != "auto" && extension_of_format(format).empty()) {
      std::string names;
      for (const auto& f : formats()) {
        if (f.selectable) names += (names.empty() ? "" : ", ") + f.name;
      }
      return fail(Error(ErrorCode::kUsage,
                        fmt::format("unknown format '{}'; choose one of auto, {}", format, names))
                      .about("format"));
    }
    std::string target = target_for(format);
    if (!target.empty()) {
      if (auto refused = check_target(target, input, o_.request.overwrite, made_later())) {
        return fail(*refused);
      }
    }

    if (!session) {
      auto made = client_.create_session("peel remote");
      if (!made) return fail(made.error(), client_.last_refusal());
      session = *made;
    }
    line_.show(label_, "uploading", 0);
    auto uploaded = client_.upload(*session, input, [&](int64_t done, int64_t total) {
      line_.show(label_, "uploading", total > 0 ? static_cast<double>(done) / total : -1,
                 fmt::format("{} of {}", megabytes(done), megabytes(total)));
    });
    if (!uploaded) return fail(uploaded.error(), client_.last_refusal());
    upload_id_ = uploaded->upload_id;

    json body = to_json(o_.request);
    body.erase("all_tracks");
    body["format"] = format;
    body["id"] = "remote_" + random_suffix();
    body["sessionId"] = *session;
    body["upload_id"] = upload_id_;
    line_.show(label_, "queued", -1);
    auto created = client_.create_export(body);
    if (!created) return fail(created.error(), client_.last_refusal());
    job_id_ = body["id"];
    json job = *created;
    if (o_.verbose && job.contains("plan") && !o_.json) {
      line_.clear();
      std::cerr << "peel remote: " << label_ << ": " << job["plan"].value("reason", "") << "\n";
    }
    if (target.empty()) {
      const std::string ext =
          job.contains("plan") ? extension_of_format(job["plan"].value("format", "")) : "";
      target = target_for(job.contains("plan") ? job["plan"].value("format", "") : "");
      if (ext.empty() || target.empty()) {
        return fail(Error(ErrorCode::kInternal,
                          "the server did not say which format it makes; name one with -f"));
      }
      if (auto refused = check_target(target, input, o_.request.overwrite, made_later())) {
        return fail(*refused);
      }
    }

    // Polled until it ends; the bar follows the job's progress.
    const double seconds = expected_seconds(uploaded->info, job.value("request", json()));
    // Speed from the progress seen since the first poll that found it running.
    std::optional<std::pair<std::chrono::steady_clock::time_point, double>> first;
    for (;;) {
      const std::string status = job.value("status", "");
      if (status == "completed" || status == "failed" || status == "cancelled") break;
      if (status == "running") {
        const double fraction = job.value("progress", 0.0) / 100;
        const auto now = std::chrono::steady_clock::now();
        if (!first) first = std::pair{now, fraction};
        const double elapsed = std::chrono::duration<double>(now - first->first).count();
        std::string extra;
        if (seconds > 0 && elapsed >= 0.5 && fraction > first->second) {
          const double speed = (fraction - first->second) * seconds / elapsed;
          extra = fmt::format("{:.0f}x  ETA {:.0f}s", speed,
                              std::max(0.0, (1 - fraction) * seconds / speed));
        }
        line_.show(label_, "extracting", fraction, extra);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      if (cancel_.cancelled()) return fail(Error(ErrorCode::kCancelled, "cancelled"));
      auto polled = client_.export_status(job_id_);
      if (!polled) return fail(polled.error(), client_.last_refusal());
      job = *polled;
    }
    job_ended_ = true;
    if (job.value("status", "") != "completed") {
      Error e = remote::error_from_json(job.value("error", json()));
      if (e.code == ErrorCode::kCancelled) {
        e.message = fmt::format("the export of {} was cancelled on the server", input);
      }
      return fail(e);
    }

    std::string new_folder;
    if (!o_.request.out_dir.empty()) {
      auto made = engine::make_target_folder(target);
      if (!made) return fail(made.error());
      new_folder = *made;
    }
    const std::string url = job["output"].value("url", "");
    auto bytes = client_.download(
        url, target, o_.request.overwrite,
        [&](int64_t done, int64_t total) {
          line_.show(label_, "downloading", total > 0 ? static_cast<double>(done) / total : -1,
                     megabytes(done));
        },
        track_temp_file);
    line_.clear();
    if (!bytes) return fail(bytes.error(), client_.last_refusal());
    if (!new_folder.empty() && !o_.quiet && !o_.json) {
      std::cerr << "peel: created the folder " << new_folder << "\n";
    }
    json result = local_result(job, input, target, new_folder);
    result["bytes"] = *bytes;
    if (result.contains("lost") && result["lost"].is_array() && !result["lost"].empty()) {
      report_.worst = std::max(report_.worst, kExitDamaged);
    }
    if (o_.json) {
      report_.outputs.push_back(result);
    } else if (!o_.quiet) {
      std::cout << describe(result) << "\n";
    }
    for (const auto& w : result.value("warnings", json::array())) {
      if (w.is_string() && (!o_.quiet || !o_.json)) {
        std::cerr << "peel: warning: " << w.get<std::string>() << "\n";
      }
    }
  }

 private:
  // The local output path for `format` ("" while it is not known: auto before the plan).
  std::string target_for(const std::string& format) const {
    if (!o_.request.output.empty()) return o_.request.output;
    const std::string ext = extension_of_format(format);
    if (ext.empty()) return "";
    const fs::path in(input_);
    const fs::path dir =
        o_.request.out_dir.empty() ? in.parent_path() : fs::path(o_.request.out_dir);
    return (dir / (in.stem().string() + "." + ext)).string();
  }
  bool made_later() const { return !o_.request.out_dir.empty(); }

  void fail(Error e, const std::optional<remote::Refusal>& refusal = std::nullopt) {
    line_.clear();
    if (e.code == ErrorCode::kCancelled && e.message == "cancelled") {
      e.message = fmt::format("interrupted: {} was not extracted{}", input_,
                              job_id_.empty() ? "" : " (its export is cancelled on the server)");
    }
    report_.error(input_, e, refusal);
  }

  RemoteClient& client_;
  const ExtractOptions& o_;
  Report& report_;
  const CancelToken& cancel_;
  StatusLine line_;
  std::optional<std::string>* session_ = nullptr;
  std::string input_;
  std::string label_;
  std::string upload_id_;
  std::string job_id_;
  bool job_ended_ = false;
};

// The extraction flags that have no meaning on a server, with what to do instead.
const std::vector<std::pair<std::string, std::string>> kRefusedFlags = {
    {"--name", "the output is named {stem}.{ext}; use -o FILE for another name"},
    {"--all-tracks", "an export makes one file: run peel remote once per track with --track N"},
    {"--dry-run", "use peel --dry-run on this machine to see the plan"},
    {"--recursive", "name the files themselves"},
    {"--jobs", "the server decides how many run at once"},
    {"--segment-parallel", "the server decides how to encode"},
    {"--skip-existing", "name the files still to do"},
};

std::optional<std::string> unsupported_flag(const CLI::App& app) {
  for (const auto& [flag, instead] : kRefusedFlags) {
    if (app.count(flag) > 0) {
      return fmt::format("{} is not available with peel remote: {}", flag, instead);
    }
  }
  return std::nullopt;
}

int extract_remote(std::vector<std::string> args, const CancelToken& cancel) {
  ExtractOptions opts;
  std::string server = default_server();
  CLI::App app{
      "peel remote: the same extraction, run on a peel server (peel serve): the file is "
      "uploaded, extracted there and the audio downloaded here.\n"
      "  peel remote talk.mp4 -f mp3\n"
      "  peel remote --server http://10.0.0.5:8080 talk.mkv --from 1:00 --to 2:00 -o part.flac\n"
      "  peel remote credits                     the credits this client has\n"
      "  peel remote ask \"SENTENCE\" FILE...      say it in plain words",
      "peel remote"};
  app.add_option("INPUT", opts.request.inputs, "video or audio files")->type_name("")->required();
  add_server_option(app, server);
  add_extract_options(app, opts);
  for (const auto& [flag, instead] : kRefusedFlags) {
    app.get_option(flag)->description("not with peel remote");
  }
  if (auto rc = parse_extract_options(app, std::move(args), opts)) return *rc;
  if (auto refused = unsupported_flag(app)) {
    usage_error(*refused, opts.json);
    return kExitUsage;
  }
  if (!opts.request.output.empty() && opts.request.inputs.size() > 1) {
    usage_error("-o names one output, and there are several inputs; use -d DIR", opts.json);
    return kExitUsage;
  }
  Report report;
  report.json_out = opts.json;
  auto options = client_options(server, cancel);
  if (!options) {
    report.error("", options.error());
    return report.finish();
  }
  RemoteClient client(std::move(*options));
  std::optional<std::string> session;
  for (const auto& input : opts.request.inputs) {
    if (cancel.cancelled()) {
      report.interrupted = true;
      break;
    }
    RemoteRun run(client, opts, report, cancel);
    run.run(input, session);
    if (report.interrupted) break;
  }
  return report.finish();
}

// --- peel remote ask --------------------------------------------------------------------------

int ask_remote(std::vector<std::string> args, const CancelToken& cancel) {
  std::string server = default_server();
  std::string sentence;
  std::vector<std::string> inputs;
  std::string out_dir;
  bool overwrite = false, as_json = false, quiet = false;
  CLI::App app{
      "peel remote ask: the files uploaded to a peel server and a request in plain English or "
      "Chinese sent with them; the server's answers are printed and what it makes is "
      "downloaded beside the files (or into -d DIR).\n"
      "  peel remote ask \"extract the audio as flac\" talk.mp4\n"
      "  peel remote ask \"从第2分钟到第5分钟提取音轨\" video.mkv",
      "peel remote ask"};
  app.add_option("sentence", sentence, "the request, in quotes")->required();
  app.add_option("files", inputs, "the files it is about")->required();
  add_server_option(app, server);
  app.add_option("-d,--out-dir", out_dir, "folder for the outputs; created if missing")
      ->type_name("DIR");
  app.add_flag("-y,--overwrite", overwrite, "replace existing outputs (never an input)");
  app.add_flag("--json", as_json, "print the results as JSON (as peel --json)");
  app.add_flag("-q,--quiet", quiet, "print nothing but errors");
  if (auto rc = parse_command_line(app, std::move(args))) return *rc;

  Report report;
  report.json_out = as_json;
  auto options = client_options(server, cancel);
  if (!options) {
    report.error("", options.error());
    return report.finish();
  }
  RemoteClient client(std::move(*options));
  for (const auto& input : inputs) {
    if (auto checked = remote::check_input(input); !checked) {
      report.error(input, checked.error());
      return report.finish();
    }
  }
  std::ostream& words = as_json ? std::cerr : std::cout;
  const bool talk = !quiet;
  StatusLine line(stderr_is_terminal() && !as_json && !quiet);

  auto session = client.create_session("peel remote ask");
  if (!session) {
    report.error("", session.error(), client.last_refusal());
    return report.finish();
  }
  std::map<std::string, std::string> local_of;  // upload id -> the local file
  auto forget_uploads = [&] {
    for (const auto& [id, path] : local_of) (void)client.delete_upload(*session, id);
  };
  for (const auto& input : inputs) {
    const std::string label = fs::path(input).filename().string();
    auto up = client.upload(*session, input, [&](int64_t done, int64_t total) {
      line.show(label, "uploading", total > 0 ? static_cast<double>(done) / total : -1);
    });
    line.clear();
    if (!up) {
      report.error(input, up.error(), client.last_refusal());
      forget_uploads();
      return report.finish();
    }
    local_of[up->upload_id] = input;
  }

  std::map<std::string, std::string> running;  // job id -> file name, until it ends
  std::vector<json> results;
  auto sent = client.send_message(*session, sentence, [&](const remote::StreamEvent& e) {
    const json data = e.data.is_object() ? e.data.value("data", json::object()) : json::object();
    const std::string text = e.text();
    if (e.type == "progress") {
      line.show(running.count(data.value("job_id", "")) ? running[data.value("job_id", "")]
                                                        : std::string("export"),
                "extracting", data.value("percent", 0.0) / 100,
                fmt::format("{:.0f}x", data.value("speed", 0.0)));
      return;
    }
    line.clear();
    if (e.type == "understood") {
      if (talk) {
        words << text << "\n";
        if (data.contains("peel_command") && data["peel_command"].is_string()) {
          words << "  peel:   " << data["peel_command"].get<std::string>() << "\n";
        }
      }
    } else if (e.type == "job") {
      running[data.value("job_id", "")] = data.value("name", "");
      if (talk) {
        const int64_t held = data.value("credits", int64_t{0});
        words << fmt::format("{}: queued ({} credit{} held)\n", data.value("name", ""), held,
                             held == 1 ? "" : "s");
      }
    } else if (e.type == "result") {
      running.erase(data.value("job_id", ""));
      results.push_back(data);
    } else if (e.type == "error") {
      running.erase(data.value("job_id", ""));
      Error err = remote::error_from_json(data);
      if (err.message.empty()) err.message = text;
      remote::Refusal r{0, data.value("code", 0), err.message, data};
      report.error(data.value("input", ""), err, r);
    } else if (e.type == "question") {
      report.error("", Error(ErrorCode::kUsage, text));
    } else if (e.type == "answer") {
      if (talk || as_json) words << text << "\n";
    }
  });
  line.clear();
  if (!sent) {
    if (sent.error().code == ErrorCode::kCancelled) {
      for (const auto& [id, name] : running) (void)client.cancel_export(id);
    }
    report.error("", sent.error(), client.last_refusal());
    forget_uploads();
    return report.finish();
  }

  // What was made, downloaded: named after the local file, one name per track when there are
  // several of one file.
  std::map<std::string, int> per_upload;
  for (const auto& r : results) per_upload[r.value("upload_id", "")]++;
  for (const auto& r : results) {
    if (cancel.cancelled()) {
      report.interrupted = true;
      break;
    }
    const std::string upload_id = r.value("upload_id", "");
    const std::string input = local_of.count(upload_id) ? local_of[upload_id] : "";
    const json output = r.value("output", json::object());
    const json result = output.is_object() ? output.value("result", json::object()) : json();
    const fs::path in(input);
    std::string ext = fs::path(output.value("name", "")).extension().string();
    std::string name = in.stem().string();
    if (per_upload[upload_id] > 1 && result.is_object()) {
      const std::string lang =
          result.contains("lang") && result["lang"].is_string() ? result["lang"] : "und";
      name += fmt::format(".{}.{}", result.value("track", 0), lang);
    }
    const fs::path dir = out_dir.empty() ? in.parent_path() : fs::path(out_dir);
    const std::string target = (dir / (name + ext)).string();
    if (auto refused = check_target(target, input, overwrite, !out_dir.empty())) {
      report.error(input, *refused);
      continue;
    }
    std::string new_folder;
    if (!out_dir.empty()) {
      auto made = engine::make_target_folder(target);
      if (!made) {
        report.error(input, made.error());
        continue;
      }
      new_folder = *made;
    }
    auto bytes = client.download(
        output.value("url", ""), target, overwrite,
        [&](int64_t done, int64_t total) {
          line.show(fs::path(target).filename().string(), "downloading",
                    total > 0 ? static_cast<double>(done) / total : -1);
        },
        track_temp_file);
    line.clear();
    if (!bytes) {
      report.error(input, bytes.error(), client.last_refusal());
      continue;
    }
    json local = local_result(r, input, target, new_folder);
    local["bytes"] = *bytes;
    if (as_json) {
      report.outputs.push_back(local);
    } else if (talk) {
      std::cout << describe(local) << "\n";
    }
  }
  forget_uploads();
  return report.finish();
}

}  // namespace

int remote_command(Engine&, std::vector<std::string> args, const CancelToken& cancel) {
  // `peel remote [--server URL] credits|ask ...`: the word after the server, if one is given.
  size_t first = 0;
  while (first < args.size()) {
    if (args[first] == "--server") {
      first += 2;
    } else if (args[first].starts_with("--server=")) {
      ++first;
    } else {
      break;
    }
  }
  if (first < args.size() && (args[first] == "credits" || args[first] == "ask")) {
    const std::string sub = args[first];
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(first));
    return sub == "credits" ? credits_command(std::move(args), cancel)
                            : ask_remote(std::move(args), cancel);
  }
  return extract_remote(std::move(args), cancel);
}

}  // namespace peel::cli

// `peel probe` and `peel formats`.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/advice.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "peel/json.h"
#include "peel/formats.h"
#include "peel/media_info.h"

namespace peel::cli {

namespace {

void print_info(const MediaInfo& m) {
  std::cout << fmt::format("{}: {}, {}, {:.1f} MB\n", m.path, m.container_long,
                           format_time(m.duration), static_cast<double>(m.size) / 1e6);
  for (const auto& t : m.audio) {
    std::cout << fmt::format("  audio track {} (stream {}): {}{} {} Hz {}", t.number,
                             t.stream_index, t.codec, t.profile.empty() ? "" : " " + t.profile,
                             t.sample_rate, t.channel_layout);
    if (t.bitrate > 0) std::cout << fmt::format(", {} kbit/s", t.bitrate / 1000);
    if (!t.lang.empty()) std::cout << " [" << t.lang << "]";
    if (!t.title.empty()) std::cout << " \"" << t.title << "\"";
    if (t.is_default) std::cout << " (default)";
    std::cout << "\n";
  }
  for (const auto& v : m.video) {
    std::cout << fmt::format("  video (stream {}): {} {}x{}{}\n", v.stream_index, v.codec, v.width,
                             v.height, v.attached_pic ? " cover art" : "");
  }
  if (m.audio.empty()) std::cout << "  no audio\n";
  // What FFmpeg said while opening it (a damaged header, a guessed duration).
  for (const auto& line : m.log) std::cout << "  ffmpeg: " << line << "\n";
}

}  // namespace

int probe_command(Engine& engine, std::vector<std::string> args, const CancelToken& cancel) {
  CLI::App app{"List what is inside media files", "peel probe"};
  std::vector<std::string> inputs;
  bool json = false;
  app.add_option("inputs", inputs, "files")->required();
  app.add_flag("--json", json, "print JSON");
  if (auto rc = parse_command_line(app, std::move(args))) return *rc;

  nlohmann::json files = nlohmann::json::array();
  nlohmann::json errors = nlohmann::json::array();
  int rc = kExitOk;
  for (const auto& in : inputs) {
    auto info = probe(engine, in, cancel);
    if (!info) {
      errors.push_back(error_json(in, info.error(), say));
      std::cerr << "peel: " << say(info.error()) << "\n";
      rc = kExitFailed;
      continue;
    }
    if (json)
      files.push_back(to_json(*info));
    else
      print_info(*info);
  }
  if (json) std::cout << nlohmann::json{{"files", files}, {"errors", errors}}.dump(2) << "\n";
  return rc;
}

int formats_command(std::vector<std::string> args) {
  CLI::App app{"Print the output format table", "peel formats"};
  bool json = false;
  app.add_flag("--json", json, "print JSON");
  if (auto rc = parse_command_line(app, std::move(args))) return *rc;
  if (json) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& f : formats()) all.push_back(to_json(f));
    std::cout << all.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("{:<6} {:<5} {:<10} {:<30} {}\n", "format", "ext", "encodes", "copies",
                           "description");
  for (const auto& f : formats()) {
    std::string copies;
    for (const auto& c : f.copyable) copies += (copies.empty() ? "" : ",") + c;
    if (copies.size() > 30) copies = copies.substr(0, 27) + "...";
    std::cout << fmt::format("{:<6} {:<5} {:<10} {:<30} {}{}\n", f.name, f.extension, f.codec,
                             copies, f.description, f.selectable ? "" : " [auto only]");
  }
  return kExitOk;
}

}  // namespace peel::cli

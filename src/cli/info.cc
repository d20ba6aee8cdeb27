// `peel probe` and `peel formats`.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/advice.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "peel/formats.h"
#include "peel/json.h"
#include "peel/loudness.h"
#include "peel/media_info.h"

namespace peel::cli {

namespace {

// "-19.3 LUFS", or "silent".
std::string level(double value, const char* unit) {
  return std::isfinite(value) ? fmt::format("{:.1f} {}", value, unit) : std::string("silent");
}

void print_loudness(const Loudness& l) {
  std::cout << fmt::format("    loudness: {}, range {:.1f} LU, true peak {}\n",
                           level(l.integrated, "LUFS"), l.range, level(l.true_peak, "dBTP"));
}

void print_info(const MediaInfo& m, const std::vector<Loudness>& loudness) {
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
    for (const auto& l : loudness) {
      if (l.track == t.number) print_loudness(l);
    }
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
  bool loudness = false;
  app.add_option("inputs", inputs, "files")->required();
  app.add_flag("--json", json, "print JSON");
  app.add_flag("--loudness", loudness,
               "measure each audio track's loudness (EBU R128: integrated LUFS, loudness "
               "range, true peak); decodes every track whole");
  if (auto rc = parse_command_line(app, std::move(args))) return *rc;

  nlohmann::json files = nlohmann::json::array();
  nlohmann::json errors = nlohmann::json::array();
  int rc = kExitOk;
  for (const auto& in : inputs) {
    auto fail = [&](const Error& e) {
      errors.push_back(error_json(in, e, say));
      std::cerr << "peel: " << say(e) << "\n";
      rc = kExitFailed;
    };
    auto input = Input::open(engine, in, cancel);
    if (!input) {
      fail(input.error());
      continue;
    }
    const MediaInfo& info = input->info();
    std::vector<Loudness> measured;
    bool failed = false;
    if (loudness) {
      for (const auto& track : info.audio) {
        LoudnessOptions options;
        options.cancel = cancel;
        auto l = measure_loudness(*input, track.number, options);
        if (!l) {
          fail(l.error());
          failed = true;
          break;
        }
        measured.push_back(*l);
      }
    }
    if (failed) continue;
    if (json) {
      nlohmann::json file = to_json(info);
      if (loudness) {
        // Each audio track's object gets its measurement.
        for (auto& track : file["audio"]) {
          for (const auto& l : measured) {
            if (track.value("track", 0) == l.track) track["loudness"] = to_json(l);
          }
        }
      }
      files.push_back(std::move(file));
    } else {
      print_info(info, measured);
    }
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

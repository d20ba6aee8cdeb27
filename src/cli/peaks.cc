// `peel peaks`: a track's waveform peaks as audiowaveform's data (.json, .dat) or a picture.
#include "peel/peaks.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/advice.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "peel/json.h"
#include "peel/time.h"

namespace peel::cli {

namespace {

const char* format_name(PeaksFormat f) {
  switch (f) {
    case PeaksFormat::kJson:
      return "json";
    case PeaksFormat::kDat:
      return "dat";
    case PeaksFormat::kPng:
      return "png";
  }
  return "";
}

}  // namespace

int peaks_command(Engine& engine, std::vector<std::string> args, const CancelToken& cancel) {
  CLI::App app{"Write a track's waveform peaks (min/max per pixel) for players, or draw them",
               "peel peaks"};
  std::string in;
  std::string out;
  PeaksOptions options;
  PeaksWriteOptions write;
  int pixels_per_second = 0;
  bool json = false;
  bool quiet = false;
  app.add_option("input", in, "the media file")->required();
  app.add_option("-o,--output", out,
                 "peaks.json or peaks.dat (audiowaveform's formats), or wave.png")
      ->required();
  app.add_option("--track", options.track, "the N-th audio track, counting from 1");
  auto* pps = app.add_option("--pixels-per-second", pixels_per_second,
                             "resolution (default 100 for .json/.dat; for .png the picture is "
                             "then as wide as the track needs)");
  app.add_option("--width", options.width,
                 "fit the whole track into W pixels (default 1800 for .png)")
      ->excludes(pps);
  app.add_option("--height", write.picture.height, "height of a .png (default 280)");
  app.add_option("--bits", write.bits, "8 or 16 bits a value (default 16)")
      ->check(CLI::IsMember({8, 16}));
  app.add_flag("--split-channels", options.split_channels,
               "one waveform per channel instead of one of them mixed");
  app.add_flag("-y,--overwrite", write.overwrite, "replace an existing output (never the input)");
  app.add_flag("--json", json, "print the result as JSON");
  app.add_flag("-q,--quiet", quiet, "print nothing but errors");
  if (auto rc = parse_command_line(app, std::move(args))) return *rc;

  auto fail = [&](const Error& e) {
    if (json) {
      std::cout << nlohmann::json{{"outputs", nlohmann::json::array()},
                                  {"errors", {error_json(in, e, say)}}}
                       .dump(2)
                << "\n";
    }
    std::cerr << "peel: " << say(e) << "\n";
    return exit_code_for(e.code);
  };

  write.input = in;
  // Refused before decoding: a long track takes seconds.
  auto format = check_peaks_output(out, write);
  if (!format) return fail(format.error());
  const bool png = *format == PeaksFormat::kPng;
  if (!png && app.count("--height") > 0) {
    return fail(Error(ErrorCode::kUsage, "--height is the height of a .png; data has none")
                    .about("height"));
  }
  if (pixels_per_second > 0) {
    options.pixels_per_second = pixels_per_second;
  } else if (png && options.width == 0) {
    options.width = write.picture.width;
  }
  options.cancel = cancel;

  auto input = Input::open(engine, in, cancel);
  if (!input) return fail(input.error());
  auto p = peaks(engine, *input, options);
  if (!p) return fail(p.error());
  if (png) {
    write.picture.width = options.width > 0 ? options.width : static_cast<int>(p->length());
  }
  auto bytes = write_peaks(*p, out, write);
  if (!bytes) return fail(bytes.error());

  const double seconds = p->sample_rate > 0 ? static_cast<double>(p->samples) / p->sample_rate : 0;
  if (json) {
    nlohmann::json o = {{"input", in},
                        {"output", out},
                        {"format", format_name(*format)},
                        {"track", p->track},
                        {"sample_rate", p->sample_rate},
                        {"channels", p->channels},
                        {"source_channels", p->source_channels},
                        {"samples_per_pixel", p->samples_per_pixel},
                        {"length", p->length()},
                        {"samples", p->samples},
                        {"duration", seconds},
                        {"bits", png ? 16 : write.bits},
                        {"bytes", *bytes}};
    if (png) {
      o["width"] = write.picture.width;
      o["height"] = write.picture.height;
    }
    std::cout << nlohmann::json{{"outputs", {o}}, {"errors", nlohmann::json::array()}}.dump(2)
              << "\n";
  } else if (!quiet) {
    std::cout << fmt::format(
        "{} -> {}  ({} pixels of {} samples, {}{}; {})\n", in, out, p->length(),
        p->samples_per_pixel,
        p->channels == 1 && p->source_channels > 1
            ? fmt::format("{} channels mixed", p->source_channels)
            : fmt::format("{} channel{}", p->channels, p->channels == 1 ? "" : "s"),
        png ? fmt::format(", {}x{} picture", write.picture.width, write.picture.height)
            : fmt::format(", {}-bit", write.bits),
        format_time(static_cast<Micros>(seconds * 1e6)));
  }
  return kExitOk;
}

}  // namespace peel::cli

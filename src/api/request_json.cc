// A Request as JSON and back: what the HTTP service's exports and the MCP server's tools take,
// with the same names as the Request members and as `peel ask --json` (docs/json.md).
#include <cmath>
#include <string>

#include "peel/json.h"
#include "peel/time.h"

namespace peel {

namespace {

using nlohmann::json;

Error bad(const std::string& field, const std::string& message) {
  return Error(ErrorCode::kUsage, message).about(field, Hint::kChange);
}

// A time as seconds (a number) or as text peel reads anywhere ("1:30", "90.5", "2m").
Result<std::optional<Micros>> time_field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<Micros>();
  if (it->is_number()) {
    double seconds = it->get<double>();
    if (!std::isfinite(seconds) || std::fabs(seconds) > 1e9) {
      return bad(name, std::string(name) + " must be a time in seconds, like 90.5");
    }
    return std::optional<Micros>(static_cast<Micros>(std::llround(seconds * kMicrosPerSecond)));
  }
  if (it->is_string()) {
    auto t = parse_time(it->get<std::string>());
    if (!t) return Error(t.error()).about(name, Hint::kChange);
    return std::optional<Micros>(*t);
  }
  return bad(name, std::string(name) + " must be a time: seconds (90.5) or text (\"1:30\")");
}

Result<std::optional<int64_t>> integer_field(const json& body, const char* name, int64_t low,
                                             int64_t high) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<int64_t>();
  if (it->is_number_integer() ||
      (it->is_number_float() && std::floor(it->get<double>()) == it->get<double>())) {
    double v = it->get<double>();
    if (v >= static_cast<double>(low) && v <= static_cast<double>(high)) {
      return std::optional<int64_t>(static_cast<int64_t>(v));
    }
  }
  return bad(name, std::string(name) + " must be a whole number from " + std::to_string(low) +
                       " to " + std::to_string(high));
}

Result<std::optional<std::string>> string_field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return bad(name, std::string(name) + " must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

// "192k", "320000", 192000: bits per second ("192" alone means 192k, as on the command line).
Result<std::optional<int64_t>> bitrate_field(const json& body) {
  auto it = body.find("bitrate");
  if (it == body.end() || it->is_null()) return std::optional<int64_t>();
  double bps = -1;
  if (it->is_number()) {
    bps = it->get<double>();
  } else if (it->is_string()) {
    std::string text = it->get<std::string>();
    double scale = 1;
    if (!text.empty() && (text.back() == 'k' || text.back() == 'K')) {
      scale = 1000;
      text.pop_back();
    }
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (!text.empty() && end && *end == '\0') bps = v * scale;
  }
  if (!(bps > 0) || bps > 10e6) {
    return bad("bitrate", "bitrate must be bits per second, like 192000 or \"192k\"");
  }
  return std::optional<int64_t>(std::llround(bps < 1000 ? bps * 1000 : bps));
}

}  // namespace

Result<Request> request_from_json(const nlohmann::json& body) {
  if (!body.is_object()) return bad("", "the request must be a JSON object");
  Request r;
  auto format = string_field(body, "format");
  if (!format) return format.error();
  if (*format) r.format = **format;
  auto copy = string_field(body, "copy_policy");
  if (!copy) return copy.error();
  if (*copy) {
    if (**copy == "auto")
      r.copy_policy = CopyPolicy::kAuto;
    else if (**copy == "copy")
      r.copy_policy = CopyPolicy::kCopy;
    else if (**copy == "reencode")
      r.copy_policy = CopyPolicy::kReencode;
    else
      return bad("copy_policy", "copy_policy must be \"auto\", \"copy\" or \"reencode\"");
  }
  for (auto [name, slot] :
       {std::pair{"from", &r.from}, std::pair{"to", &r.to}, std::pair{"duration", &r.duration}}) {
    auto t = time_field(body, name);
    if (!t) return t.error();
    *slot = *t;
  }
  auto track = integer_field(body, "track", 1, 1000);
  if (!track) return track.error();
  if (*track) r.track.number = static_cast<int>(**track);
  auto lang = string_field(body, "lang");
  if (!lang) return lang.error();
  r.track.lang = *lang;
  auto title = string_field(body, "title");
  if (!title) return title.error();
  r.track.title = *title;
  if (auto it = body.find("all_tracks"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return bad("all_tracks", "all_tracks must be true or false");
    r.track.all = it->get<bool>();
  }
  auto bitrate = bitrate_field(body);
  if (!bitrate) return bitrate.error();
  r.bitrate = *bitrate;
  if (auto it = body.find("quality"); it != body.end() && !it->is_null()) {
    if (!it->is_number()) return bad("quality", "quality must be a number (the codec's VBR scale)");
    r.quality = it->get<double>();
  }
  // A loudness target: LUFS (-16), a preset ("podcast"), or {"lufs": -16, "true_peak": -1}.
  if (auto it = body.find("loudness"); it != body.end() && !it->is_null()) {
    if (it->is_number()) {
      r.loudness = LoudnessTarget{it->get<double>(), -1};
    } else if (it->is_string()) {
      auto t = parse_loudness(it->get<std::string>());
      if (!t) return t.error();
      r.loudness = *t;
    } else if (it->is_object()) {
      LoudnessTarget t;
      auto lufs = it->find("lufs");
      auto peak = it->find("true_peak");
      if (lufs == it->end() || !lufs->is_number() ||
          (peak != it->end() && !peak->is_null() && !peak->is_number())) {
        return bad("loudness", "loudness must be {\"lufs\": number, \"true_peak\": number}");
      }
      t.lufs = lufs->get<double>();
      if (peak != it->end() && peak->is_number()) t.true_peak = peak->get<double>();
      r.loudness = t;
    } else {
      return bad("loudness", "loudness must be LUFS (-16), a preset (\"podcast\") or an object");
    }
  }
  auto rate = integer_field(body, "sample_rate", 1000, 768000);
  if (!rate) return rate.error();
  if (*rate) r.sample_rate = static_cast<int>(**rate);
  if (auto it = body.find("channels"); it != body.end() && it->is_string()) {
    const std::string c = it->get<std::string>();
    if (c == "mono")
      r.channels = 1;
    else if (c == "stereo")
      r.channels = 2;
    else if (c == "5.1")
      r.channels = 6;
    else if (c == "7.1")
      r.channels = 8;
    else
      return bad("channels", "channels must be 1 to 8, \"mono\", \"stereo\", \"5.1\" or \"7.1\"");
  } else {
    auto channels = integer_field(body, "channels", 1, 8);
    if (!channels) return channels.error();
    if (*channels) r.channels = static_cast<int>(**channels);
  }
  auto sample_format = string_field(body, "sample_format");
  if (!sample_format) return sample_format.error();
  r.sample_format = *sample_format;
  for (auto [name, slot] :
       {std::pair{"keep_metadata", &r.keep_metadata}, std::pair{"strict", &r.strict}}) {
    if (auto it = body.find(name); it != body.end() && !it->is_null()) {
      if (!it->is_boolean()) return bad(name, std::string(name) + " must be true or false");
      *slot = it->get<bool>();
    }
  }
  return r;
}

nlohmann::json to_json(const Request& r) {
  auto time = [](const std::optional<Micros>& t) -> json {
    return t ? json(to_seconds(*t)) : json(nullptr);
  };
  const char* copy = r.copy_policy == CopyPolicy::kCopy       ? "copy"
                     : r.copy_policy == CopyPolicy::kReencode ? "reencode"
                                                              : "auto";
  return json{{"format", r.format},
              {"copy_policy", copy},
              {"from", time(r.from)},
              {"to", time(r.to)},
              {"duration", time(r.duration)},
              {"track", r.track.number ? json(*r.track.number) : json(nullptr)},
              {"lang", r.track.lang ? json(*r.track.lang) : json(nullptr)},
              {"title", r.track.title ? json(*r.track.title) : json(nullptr)},
              {"all_tracks", r.track.all},
              {"bitrate", r.bitrate ? json(*r.bitrate) : json(nullptr)},
              {"quality", r.quality ? json(*r.quality) : json(nullptr)},
              {"sample_rate", r.sample_rate ? json(*r.sample_rate) : json(nullptr)},
              {"channels", r.channels ? json(*r.channels) : json(nullptr)},
              {"sample_format", r.sample_format ? json(*r.sample_format) : json(nullptr)},
              {"loudness", r.loudness ? json{{"lufs", r.loudness->lufs},
                                             {"true_peak", r.loudness->true_peak}}
                                      : json(nullptr)},
              {"keep_metadata", r.keep_metadata},
              {"strict", r.strict}};
}

}  // namespace peel

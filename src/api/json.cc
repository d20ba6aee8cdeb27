// The JSON of probes, plans, results, formats and errors (peel/json.h).
#include "peel/json.h"

#include <cmath>

namespace peel {

namespace {

double secs(Micros t) { return to_seconds(t); }

// Levels to two decimals; -infinity (silence) as null.
nlohmann::json level(double v) {
  if (!std::isfinite(v)) return nullptr;
  return std::round(v * 100) / 100;
}

nlohmann::json normalization_json(const std::optional<NormalizationResult>& n) {
  if (!n) return nullptr;
  return {{"target_lufs", n->target_lufs},
          {"ceiling_dbtp", n->ceiling_dbtp},
          {"measured_lufs", level(n->measured_lufs)},
          {"measured_true_peak_dbtp", level(n->measured_true_peak)},
          {"gain_db", level(n->gain_db)},
          {"limited_seconds", n->limited_seconds}};
}

nlohmann::json folder_or_null(const std::string& folder) {
  return folder.empty() ? nlohmann::json() : nlohmann::json(folder);
}

const char* mode_name(Mode m) { return m == Mode::kCopy ? "copy" : "transcode"; }

}  // namespace

nlohmann::json to_json(const OutputResult& r) {
  nlohmann::json lost = nlohmann::json::array();
  for (const auto& s : r.lost) lost.push_back({{"from", secs(s.from)}, {"to", secs(s.to)}});
  return {
      {"input", r.input},
      {"output", r.output},
      {"mode", mode_name(r.mode)},
      {"format", r.format},
      {"codec", r.codec},
      {"track", r.track},
      {"lang", r.lang.empty() ? nlohmann::json() : nlohmann::json(r.lang)},
      {"start", secs(r.start)},
      {"end", secs(r.end)},
      {"duration", audio_seconds(r)},
      {"sample_rate", r.sample_rate},
      {"channels", r.channels},
      {"samples", r.samples},
      {"bytes", r.bytes},
      {"segments", r.segments},
      {"new_folder", folder_or_null(r.new_folder)},
      {"warnings", r.warnings},
      {"lost", lost},
      {"log", r.log},
      {"normalization", normalization_json(r.normalization)},
  };
}

nlohmann::json to_json(const OutputPlan& p, const std::string& new_folder) {
  return {
      {"input", p.input},
      {"output", p.output},
      {"mode", mode_name(p.mode)},
      {"reason", p.reason},
      {"format", p.format},
      {"codec", p.codec},
      {"track", p.track.number},
      {"lang", p.track.lang.empty() ? nlohmann::json() : nlohmann::json(p.track.lang)},
      {"from", secs(p.from)},
      {"to", p.to ? nlohmann::json(secs(*p.to)) : nlohmann::json()},
      {"sample_rate", p.sample_rate},
      {"channels", p.channels},
      {"bitrate", p.bitrate ? nlohmann::json(*p.bitrate) : nlohmann::json()},
      {"quality", p.quality ? nlohmann::json(*p.quality) : nlohmann::json()},
      {"new_folder", folder_or_null(new_folder)},
      {"ffmpeg_command", ffmpeg_command(p)},
  };
}

nlohmann::json to_json(const MediaInfo& info) {
  nlohmann::json audio = nlohmann::json::array();
  for (const auto& t : info.audio) {
    audio.push_back({
        {"track", t.number},
        {"stream_index", t.stream_index},
        {"codec", t.codec},
        {"profile", t.profile},
        {"sample_rate", t.sample_rate},
        {"channels", t.channels},
        {"channel_layout", t.channel_layout},
        {"bitrate", t.bitrate},
        {"bits_per_sample", t.bits_per_sample},
        {"language", t.lang.empty() ? nlohmann::json() : nlohmann::json(t.lang)},
        {"title", t.title.empty() ? nlohmann::json() : nlohmann::json(t.title)},
        {"default", t.is_default},
        {"start", secs(t.start - info.start)},
        {"duration", secs(t.duration)},
    });
  }
  nlohmann::json video = nlohmann::json::array();
  for (const auto& v : info.video) {
    video.push_back({{"stream_index", v.stream_index},
                     {"codec", v.codec},
                     {"width", v.width},
                     {"height", v.height},
                     {"fps", v.fps},
                     {"attached_pic", v.attached_pic}});
  }
  return {{"path", info.path},         {"container", info.container},
          {"duration", secs(info.duration)}, {"start_time", secs(info.start)},
          {"size", info.size},         {"tags", info.tags},
          {"chapters", info.chapters}, {"audio", audio},
          {"video", video},            {"log", info.log}};
}

nlohmann::json to_json(const Loudness& l) {
  // Two decimals: a meter agrees with another to about a hundredth of a unit at best.
  nlohmann::json channels = nlohmann::json::array();
  for (double peak : l.channel_true_peaks) channels.push_back(level(peak));
  return {{"track", l.track},
          {"integrated_lufs", level(l.integrated)},
          {"range_lu", level(l.range)},
          {"true_peak_dbtp", level(l.true_peak)},
          {"sample_peak_dbfs", level(l.sample_peak)},
          {"channel_true_peaks_dbtp", channels},
          {"sample_rate", l.sample_rate},
          {"channels", l.channels},
          {"seconds", l.seconds}};
}

nlohmann::json to_json(const FormatView& f) {
  return {{"name", f.name},         {"extension", f.extension}, {"description", f.description},
          {"codec", f.codec},       {"copyable", f.copyable},   {"tags", f.tags},
          {"chapters", f.chapters}, {"lossless", f.lossless},
          {"sample_formats", f.sample_formats},
          {"bitrate", f.bitrate ? nlohmann::json(f.bitrate) : nlohmann::json()},
          {"selectable", f.selectable}};
}

nlohmann::json error_json(const std::string& input, const Error& e, const Wording& words) {
  auto text_or_null = [](std::string_view s) {
    return s.empty() ? nlohmann::json() : nlohmann::json(std::string(s));
  };
  return {{"input", input},
          {"code", static_cast<int>(e.code)},
          {"name", std::string(error_name(e.code))},
          {"message", words ? words(e) : e.message},
          {"field", text_or_null(e.field)},
          {"hint", text_or_null(hint_name(e.hint))},
          {"suggestion", text_or_null(e.suggestion)},
          {"value", text_or_null(e.value)},
          {"other_field", text_or_null(e.other_field)}};
}

}  // namespace peel

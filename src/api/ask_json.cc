// The JSON of an understood sentence and its resolution (`peel ask --json`, docs/json.md).
#include "peel/ask.h"
#include "peel/json.h"

namespace peel {

namespace {

using nlohmann::json;

json optional_json(const auto& v) { return v ? json(*v) : json(nullptr); }
json optional_seconds(const std::optional<Micros>& v) {
  return v ? json(to_seconds(*v)) : json(nullptr);
}
json text_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

const char* policy_name(CopyPolicy p) {
  switch (p) {
    case CopyPolicy::kCopy: return "copy";
    case CopyPolicy::kReencode: return "reencode";
    case CopyPolicy::kAuto: return "auto";
  }
  return "auto";
}

}  // namespace

json to_json(const nl::Understanding& u, const nl::Resolution& res, const Wording& words) {
  // One job: its request (with "the last N" resolved); several: what the sentence said.
  const Request& r = res.jobs.size() == 1 ? res.jobs.front().request : u.request;
  json j;
  j["inputs"] = res.inputs;
  j["format"] = r.format != "auto" || u.format_stated ? json(r.format) : json(nullptr);
  j["copy_policy"] = policy_name(r.copy_policy);
  j["from"] = optional_seconds(r.from);
  j["to"] = optional_seconds(r.to);
  j["duration"] = optional_seconds(r.duration);
  j["from_end"] = optional_seconds(u.from_end);
  j["track"] = optional_json(r.track.number);
  j["lang"] = optional_json(r.track.lang);
  j["title"] = optional_json(r.track.title);
  j["all_tracks"] = r.track.all;
  j["bitrate"] = optional_json(r.bitrate);
  j["quality"] = optional_json(r.quality);
  j["sample_rate"] = optional_json(r.sample_rate);
  j["channels"] = optional_json(r.channels);
  j["sample_format"] = optional_json(r.sample_format);
  j["output"] = text_or_null(r.output);
  j["out_dir"] = text_or_null(r.out_dir);
  j["explanation"] = res.explanation.empty() ? u.explanation : res.explanation;
  j["notes"] = res.resolved.empty() ? u.notes : res.notes;
  std::string peel, ffmpeg;
  for (const auto& job : res.jobs) {
    std::vector<std::string> argv = {"peel"};
    const auto args = peel_arguments(job.request);
    argv.insert(argv.end(), args.begin(), args.end());
    peel += (peel.empty() ? "" : " && ") + shell_command(argv);
    ffmpeg += (ffmpeg.empty() || job.ffmpeg_command.empty() ? "" : " && ") + job.ffmpeg_command;
  }
  j["peel_command"] = text_or_null(peel);
  j["ffmpeg_command"] = text_or_null(ffmpeg);
  if (u.outcome != nl::Outcome::kPlan) j["question"] = u.question;
  json errors = json::array();
  std::string refusal;
  for (const auto& in : res.resolved) {
    if (const auto& e = in.refused ? in.refused : in.unreadable) {
      errors.push_back(error_json(in.input, *e, words));
    }
    if (!in.refusal.empty()) refusal += (refusal.empty() ? "" : " ") + in.refusal;
  }
  if (!errors.empty()) j["errors"] = errors;
  if (!refusal.empty()) j["refusal"] = refusal;
  return j;
}

}  // namespace peel

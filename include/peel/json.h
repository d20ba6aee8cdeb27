// The JSON of peel's results, shared by every front end: `peel ... --json`, the HTTP service
// and the MCP server answer with these shapes (described field by field in docs/json.md).
// Times are exact seconds: to the microsecond on the timeline, and an output's duration is its
// samples / sample_rate. Absent optional values are null, never missing keys.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "peel/ask.h"
#include "peel/batch.h"
#include "peel/error.h"
#include "peel/formats.h"
#include "peel/loudness.h"
#include "peel/media_info.h"
#include "peel/plan.h"
#include "peel/request.h"
#include "peel/run.h"

namespace peel {

// How a front end words an error's message: the library's own (e.message) when empty. The
// CLI appends its flags ("add -y to replace it"); a service may keep the message as it is
// and let clients read `field` and `hint`.
using Wording = std::function<std::string(const Error&)>;

nlohmann::json to_json(const MediaInfo& info);
// The parts of a Request that say what to make (format, copy_policy, from, to, duration,
// track, lang, title, all_tracks, bitrate, quality, sample_rate, channels, sample_format,
// keep_metadata, strict), null where not set; inputs and outputs are the caller's.
nlohmann::json to_json(const Request& request);
// The same keys back into a Request (missing or null: the default). Times are seconds or
// text ("1:30"); bitrate is bits per second or "192k"; channels a count or "mono"/"stereo".
// Fails with kUsage about the first field that is malformed (wrong type, out of range).
Result<Request> request_from_json(const nlohmann::json& body);
// A plan, with the missing folder check_output() says its run would create ("": none).
nlohmann::json to_json(const OutputPlan& plan, const std::string& new_folder = "");
nlohmann::json to_json(const OutputResult& result);
nlohmann::json to_json(const FormatView& format);
// {track, integrated_lufs, range_lu, true_peak_dbtp, sample_peak_dbfs,
// channel_true_peaks_dbtp, sample_rate, channels, seconds}; silence (-infinity) is null.
nlohmann::json to_json(const Loudness& loudness);

// {input, code, name, message, field, hint, suggestion, value, other_field}: the stable code
// and its name, the message (worded), and the error's structured parts (null where empty).
nlohmann::json error_json(const std::string& input, const Error& e, const Wording& words = {});

// One file of a batch or of a watch: input, status ("done", "skipped", "failed",
// "cancelled"), reason (skipped), outputs (results, or plans with `plans`) and errors.
nlohmann::json file_json(const FileOutcome& outcome, bool plans = false,
                         const Wording& words = {});
// A path that failed before it became a file of the batch (an unreadable folder...).
nlohmann::json failed_file_json(const std::string& path, const Error& e,
                                const Wording& words = {});

// {"summary": {...}}: the counts, `failures` (error objects) and the audio seconds, wall
// seconds and speed of the whole batch or watch.
nlohmann::json summary_json(const BatchTotals& totals, const nlohmann::json& failures);

// What a sentence was understood to ask (`peel ask --json`): the request's parts (null where
// not said), explanation, notes, peel_command and ffmpeg_command (null when nothing would
// run), `question` when it was not understood, `errors` (inputs refused or unreadable) and
// `refusal` (which words led to a refusal). For a question, pass a Resolution whose `inputs`
// are u.request.inputs.
nlohmann::json to_json(const nl::Understanding& u, const nl::Resolution& resolution,
                       const Wording& words = {});

}  // namespace peel

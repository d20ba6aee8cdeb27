// JSON shapes of the CLI's --json output (schema in docs/cli.md).
#pragma once

#include <nlohmann/json.hpp>

#include "peel/batch.h"
#include "peel/formats.h"
#include "peel/media_info.h"
#include "peel/plan.h"
#include "peel/run.h"

namespace peel::cli {

// Times are exact seconds: to the microsecond on the timeline, and an output's duration is its
// samples / sample_rate.
nlohmann::json to_json(const OutputResult& r);
// A plan, with the missing folder check_output() says its run would create ("": none).
nlohmann::json to_json(const OutputPlan& p, const std::string& new_folder = "");
nlohmann::json to_json(const MediaInfo& info);
nlohmann::json to_json(const FormatView& f);
nlohmann::json error_json(const std::string& input, const Error& e);

// One file of a batch or of `peel watch`, as its JSON line: input, status, reason (skipped),
// outputs (results, or plans with `plans`) and errors.
nlohmann::json file_json(const FileOutcome& outcome, bool plans = false);
// The line of a path that failed before it became a file of the batch (unreadable folder...).
nlohmann::json failed_file_json(const std::string& path, const Error& e);

// The last line of a batch or a watch: {"summary": {...}} with `failures` (error objects).
nlohmann::json summary_json(const BatchTotals& totals, const nlohmann::json& failures);

}  // namespace peel::cli

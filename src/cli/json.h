// JSON shapes of the CLI's --json output (schema in docs/cli.md).
#pragma once

#include <nlohmann/json.hpp>

#include "peel/formats.h"
#include "peel/media_info.h"
#include "peel/plan.h"
#include "peel/run.h"

namespace peel::cli {

nlohmann::json to_json(const OutputResult& r);
nlohmann::json to_json(const OutputPlan& p);
nlohmann::json to_json(const MediaInfo& info);
nlohmann::json to_json(const FormatView& f);
nlohmann::json error_json(const std::string& input, const Error& e);

}  // namespace peel::cli

// MediaInfo from an already opened input (shared by probe() and run()).
#pragma once

#include <string>

#include "av/av.h"
#include "peel/media_info.h"

namespace peel::engine {

MediaInfo describe(const AVFormatContext& ctx, const std::string& path);

}  // namespace peel::engine

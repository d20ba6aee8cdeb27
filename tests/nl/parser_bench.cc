// Parse time of the plain-language parser (bench/ask.sh): over every phrasing of the tests,
// and over random text of growing length, whose times must grow in proportion to it.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "nl/phrasings.h"
#include "peel/nl.h"

namespace {

using peel::nl::understand;
namespace phrasings = peel::nl::phrasings;

void Phrasings(benchmark::State& state) {
  size_t sentences = 0, bytes = 0;
  auto parse = [&](const auto& table) {
    for (const auto& c : table) {
      benchmark::DoNotOptimize(understand(c.sentence, c.want.args));
      ++sentences, bytes += std::char_traits<char>::length(c.sentence);
    }
  };
  for (auto _ : state) {
    parse(phrasings::kEnglish);
    parse(phrasings::kChinese);
    parse(phrasings::kEnglishKinds);
    parse(phrasings::kChineseKinds);
  }
  state.SetItemsProcessed(static_cast<int64_t>(sentences));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(Phrasings);

// `n` bytes of text made of the parser's own words, numbers, times, Han characters, marks,
// file names and bytes that are not UTF-8, in an order no one would type: the same text on
// every run (a fixed linear congruential generator).
std::string random_text(size_t n) {
  constexpr const char* kPieces[] = {
      "the ",  "from ", "to ",  "mp3 ",       "flac ", "between ",  "and ",     "minute ",
      "3 ",    "1:30 ", "2nd ", "track ",     "in ",   "teh ",      "x.mp4 ",   "\"a b\" ",
      "从",    "到",    "第",   "分钟",       "秒",    "音轨",      "的",       "视频.mp4",
      "320k ", "mono ", "'",    ", ",         "-",     "zqx ",      "\xff",     "最后 ",
      "保持 ", "原样 ", "for ", "subtitles ", "keep ", "original ", "quality ", "as "};
  uint64_t state = 42;
  std::string s;
  while (s.size() < n) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    s += kPieces[(state >> 33) % std::size(kPieces)];
  }
  s.resize(n);
  return s;
}

void RandomText(benchmark::State& state) {
  const std::string text = random_text(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(understand(text, {"in.mkv"}));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetComplexityN(state.range(0));
}
BENCHMARK(RandomText)->RangeMultiplier(2)->Range(1 << 10, 8 << 10)->Arg(10 << 10)->Complexity();

}  // namespace

BENCHMARK_MAIN();

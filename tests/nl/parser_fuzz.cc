// libFuzzer target: understand() takes any bytes without crashing, hanging or tripping a
// sanitizer, and always answers with either a plan or a question (scripts/fuzz-nl). Each
// input is read twice: alone, and with every file name it allows known to exist.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "peel/nl.h"

namespace {

void check(const peel::nl::Understanding& u) {
  // A plan has no question and every other outcome has one; both are explained.
  if ((u.outcome == peel::nl::Outcome::kPlan) != u.question.empty()) __builtin_trap();
  if (u.explanation.empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view sentence(reinterpret_cast<const char*>(data), size);
  const peel::nl::Understanding u = peel::nl::understand(sentence, {"in.mkv"});
  check(u);
  if (!u.file_candidates.empty()) {
    const auto known = peel::nl::understand(sentence, {"in.mkv"}, u.file_candidates);
    check(known);
    // A name known to exist is taken whole, byte for byte as the sentence has it.
    for (const auto& in : known.request.inputs) {
      if (in != "in.mkv" && sentence.find(in) == std::string_view::npos) __builtin_trap();
    }
  }
  return 0;
}

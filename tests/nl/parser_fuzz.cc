// libFuzzer target: understand() takes any bytes without crashing, hanging or tripping a
// sanitizer, and always answers with either a plan or a question (scripts/fuzz-nl).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "peel/nl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view sentence(reinterpret_cast<const char*>(data), size);
  const peel::nl::Understanding u = peel::nl::understand(sentence, {"in.mkv"});
  // A plan has no question and every other outcome has one; both are explained.
  if ((u.outcome == peel::nl::Outcome::kPlan) != u.question.empty()) __builtin_trap();
  if (u.explanation.empty()) __builtin_trap();
  return 0;
}

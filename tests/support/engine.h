// The one Engine a unit-test process shares, as an application would.
#pragma once

#include "peel/engine.h"

namespace peel::test {

inline Engine& engine() {
  static Engine e;
  return e;
}

}  // namespace peel::test

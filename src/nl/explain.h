// The plain-words plan of an Understanding, in the language of its sentence.
#pragma once

#include <string>

#include "peel/nl.h"

namespace peel::nl {

// Says what will be extracted, from what, over which range, into what; then the notes.
std::string explain(const Understanding& u);

}  // namespace peel::nl

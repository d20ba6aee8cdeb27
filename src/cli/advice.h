// The library's errors in the CLI's words: its message, then what to type to fix it, from the
// error's `field` and `hint` ("add -y to replace it", "--from").
#pragma once

#include <string>

#include "peel/error.h"

namespace peel::cli {

// The flag that sets a Request field ("from" -> "--from"), or "" for none.
std::string flag_for(const std::string& field);

// e.message, with the CLI's advice after it in parentheses where the error has some.
std::string say(const Error& e);

// The same error with say()'s message, for JSON output.
Error worded(Error e);

}  // namespace peel::cli

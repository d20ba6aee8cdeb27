// Command-line parsing shared by the subcommands.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace peel::cli {

// Parses args (without the program and subcommand names) into `app`, named like "peel ask". Returns an exit code
// when parsing ends the command: 0 after printing --help, 1 after reporting a usage error.
std::optional<int> parse_command_line(CLI::App& app, std::vector<std::string> args);

}  // namespace peel::cli

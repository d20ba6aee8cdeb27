// Command-line parsing shared by the subcommands.
#include "cli/args.h"

#include <algorithm>
#include <iostream>

#include "cli/commands.h"

namespace peel::cli {

std::optional<int> parse_command_line(CLI::App& app, std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::cerr << app.get_name() << ": " << e.what() << "; see " << app.get_name() << " --help\n";
    return kExitUsage;
  }
  return std::nullopt;
}

}  // namespace peel::cli

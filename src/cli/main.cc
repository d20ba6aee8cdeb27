// The `peel` executable: picks the subcommand, wires Ctrl-C to the cancel token.
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

struct Subcommand {
  const char* name;
  const char* description;
  int (*run)(peel::Engine&, std::vector<std::string>, const peel::CancelToken&);
};

int probe(peel::Engine& engine, std::vector<std::string> a, const peel::CancelToken& cancel) {
  return peel::cli::probe_command(engine, std::move(a), cancel);
}
int formats(peel::Engine&, std::vector<std::string> a, const peel::CancelToken&) {
  return peel::cli::formats_command(std::move(a));
}

constexpr Subcommand kSubcommands[] = {
    {"probe", "list the streams inside files", probe},
    {"formats", "print the output format table", formats},
    {"ask", "say what you want in plain English or Chinese", peel::cli::ask_command},
    {"watch", "extract every video that appears in a folder", peel::cli::watch_command},
};

}  // namespace

int main(int argc, char** argv) {
  peel::CancelToken cancel;
  peel::cli::install_interrupt_handler(cancel);

  // The one Engine of the process: every subcommand's probes and runs share its pool.
  peel::Engine engine;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty()) {
    for (const auto& sub : kSubcommands) {
      if (args.front() == sub.name) {
        args.erase(args.begin());
        return sub.run(engine, std::move(args), cancel);
      }
    }
  }
  return peel::cli::extract_command(engine, std::move(args), cancel);
}

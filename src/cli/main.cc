// The `peel` executable: picks the subcommand, wires Ctrl-C to the cancel token.
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

// The one piece of process state: the token Ctrl-C fires. A second Ctrl-C ends the process
// at once; partial outputs are hidden temporary files that the first cancel removes.
peel::CancelToken* g_cancel = nullptr;

void on_interrupt(int /*signal*/) {
  if (g_cancel->cancelled()) std::_Exit(peel::cli::kExitInterrupted);
  g_cancel->cancel();
}

struct Subcommand {
  const char* name;
  const char* description;
  int (*run)(std::vector<std::string>, const peel::CancelToken&);
};

int probe(std::vector<std::string> a, const peel::CancelToken&) {
  return peel::cli::probe_command(std::move(a));
}
int formats(std::vector<std::string> a, const peel::CancelToken&) {
  return peel::cli::formats_command(std::move(a));
}

constexpr Subcommand kSubcommands[] = {
    {"probe", "list the streams inside files", probe},
    {"formats", "print the output format table", formats},
    {"ask", "say what you want in plain English or Chinese", peel::cli::ask_command},
};

}  // namespace

int main(int argc, char** argv) {
  peel::CancelToken cancel;
  g_cancel = &cancel;
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty()) {
    for (const auto& sub : kSubcommands) {
      if (args.front() == sub.name) {
        args.erase(args.begin());
        return sub.run(std::move(args), cancel);
      }
    }
  }
  return peel::cli::extract_command(std::move(args), cancel);
}

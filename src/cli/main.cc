// The `peel` executable: picks the subcommand, wires Ctrl-C to the cancel token.
#include <algorithm>
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
    {"peaks", "write a track's waveform peaks, or draw them", peel::cli::peaks_command},
    {"watch", "extract every video that appears in a folder", peel::cli::watch_command},
    {"remote", "run the extraction on a peel server", peel::cli::remote_command},
};

// The -j the command line asks for (0 if none), read before the subcommand parses it: the
// pool is made once, and -j may ask for more threads than cores (files on a slow network
// share wait more than they compute). A malformed value is left for the parser to refuse.
int jobs_asked(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string value;
    if ((args[i] == "-j" || args[i] == "--jobs") && i + 1 < args.size()) {
      value = args[i + 1];
    } else if (args[i].starts_with("--jobs=")) {
      value = args[i].substr(7);
    } else if (args[i].starts_with("-j") && args[i].size() > 2) {
      value = args[i].substr(2);
    }
    if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos &&
        value.size() < 5) {
      return std::stoi(value);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  peel::CancelToken cancel;
  peel::cli::install_interrupt_handler(cancel);

  std::vector<std::string> args(argv + 1, argv + argc);
  // The service reads files from strangers: it makes its own Engine, with untrusted limits.
  if (!args.empty() && args.front() == "serve") {
    args.erase(args.begin());
    return peel::cli::serve_command(std::move(args), cancel);
  }
  // The one Engine of the process: every subcommand's probes and runs share its pool, of one
  // thread per core, or of -j threads where that is more.
  peel::EngineOptions options;
  options.threads = std::max(jobs_asked(args), peel::core_count());
  peel::Engine engine(options);
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

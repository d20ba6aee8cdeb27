// The `peel` subcommands. Each takes argv without the program name and returns an exit code.
#pragma once

#include <string>
#include <vector>

#include "peel/run.h"

namespace peel::cli {

// Exit codes (docs/errors.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;
inline constexpr int kExitFailed = 2;
inline constexpr int kExitDamaged = 3;
inline constexpr int kExitInterrupted = 130;

int exit_code_for(ErrorCode code);

// Ctrl-C (and SIGTERM) fire `cancel`; a second one exits at once, leaving no partial output.
void install_interrupt_handler(const CancelToken& cancel);

int extract_command(Engine& engine, std::vector<std::string> args, const CancelToken& cancel);
int probe_command(Engine& engine, std::vector<std::string> args, const CancelToken& cancel);
int formats_command(std::vector<std::string> args);
int ask_command(Engine& engine, std::vector<std::string> args, const CancelToken& cancel);
int peaks_command(Engine& engine, std::vector<std::string> args, const CancelToken& cancel);
int watch_command(Engine& engine, std::vector<std::string> args, const CancelToken& cancel);
// `peel remote`: the same extraction run on a `peel serve` server; `peel remote credits`,
// `peel remote ask`. The Engine is not used: the server does the work.
int remote_command(Engine& engine, std::vector<std::string> args, const CancelToken& cancel);
// `peel serve` makes its own Engine, with the limits for files from strangers.
int serve_command(std::vector<std::string> args, const CancelToken& cancel);

}  // namespace peel::cli

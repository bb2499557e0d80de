// The `faceattr` subcommands. Each add_*_command registers its subcommand and
// options on `app` and returns the subcommand plus the function that runs it
// once the command line is parsed (its exit code; failures throw Error).
#pragma once

#include <functional>
#include <utility>

namespace CLI {
class App;
}

namespace faceattr::cli {

using Command = std::pair<CLI::App*, std::function<int()>>;

Command add_predict_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_bench_command(CLI::App& app);
Command add_info_command(CLI::App& app);
Command add_explain_command(CLI::App& app);
Command add_video_command(CLI::App& app);

}  // namespace faceattr::cli

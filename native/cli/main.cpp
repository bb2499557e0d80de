// `faceattr`: command-line front end of libfaceattr. Every failure ends with one
// line "faceattr: error: ..." on stderr and a non-zero exit code.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "faceattr/faceattr.h"

namespace {

int report_error(const std::string& what, int code) {
  std::string line = what;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "faceattr: error: %s\n", line.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace faceattr::cli;
  CLI::App app{"faceattr: the 40 CelebA face attributes of the faces in images (Liu et al. 2015, ANet/LNet)",
               "faceattr"};
  app.set_version_flag("--version", std::string("faceattr ") + faceattr_version());
  app.require_subcommand(1);
  app.footer(
      "Run 'faceattr <command> --help' for a command's options. Models and data: non-commercial research "
      "use.");
  std::vector<Command> commands = {add_predict_command(app), add_eval_command(app),
                                   add_bench_command(app),   add_info_command(app),
                                   add_explain_command(app), add_video_command(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report_error(std::string(e.what()) + " (see 'faceattr --help')", 2);
  }
  try {
    for (const Command& c : commands) {
      if (c.first->parsed()) return c.second();
    }
    return report_error("no command given (see 'faceattr --help')", 2);
  } catch (const std::exception& e) {
    return report_error(e.what(), 1);
  }
}

// keel-supervisor's two modes (main.cc picks one by its first argument).
#pragma once

namespace keel {
// keel-supervisor --exit-file F --log-file L --pid-file P [--status-fd N] -- COMMAND...
int container_main(int argc, char** argv);
// keel-supervisor pod --socket PATH [--status-fd N]
int pod_main(int argc, char** argv);
}  // namespace keel

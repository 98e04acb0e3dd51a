// keel-supervisor: the process that stays with containers when keel does not (DESIGN.md:
// containers outlive the kubelet). Two modes:
//   pod:        one per pod; spawns the pod's containers from plans sent over a unix socket and
//               is their parent and subreaper (pod_main.cc).
//   (default)   one per container, running a command that creates it (container_main.cc).
#include <string.h>

#include "supervisor.h"

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "pod") == 0) return keel::pod_main(argc - 1, argv + 1);
  return keel::container_main(argc, argv);
}

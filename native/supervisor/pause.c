/* keel-pause: the process that holds a pod's namespaces (its sandbox), as Kubernetes' pause.
 * Statically linked so it runs from an otherwise empty root. As pid 1 of a pod with a shared
 * pid namespace it reaps orphans; SIGTERM/SIGINT end it. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, 0, WNOHANG) > 0) {
  }
}

static void stop(int sig) { _exit(sig == SIGTERM || sig == SIGINT ? 0 : 2); }

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = stop;
  sigaction(SIGINT, &sa, 0);
  sigaction(SIGTERM, &sa, 0);
  sa.sa_handler = reap;
  sa.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, 0);
  for (;;) pause();
}

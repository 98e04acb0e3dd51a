// Terminal plumbing for a container run in the foreground with a terminal (`keel run -t`): the
// runtime's child sends its pty master over the console socket (SCM_RIGHTS, as runc's
// --console-socket), which Node cannot receive; and the master's window size follows the
// user's terminal (TIOCSWINSZ), which Node cannot set on an fd it did not open as a tty.
#include "tty.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "errors.h"

namespace keel {

// recvFd(socketFd) → fd: one file descriptor passed with SCM_RIGHTS (close-on-exec). Blocks
// until the message arrives; the caller calls it once the peer has connected and sent.
Napi::Value recv_fd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) return throw_type(env, "recvFd(socketFd): socketFd must be a number");
  int sock = info[0].As<Napi::Number>().Int32Value();
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  std::memset(control, 0, sizeof control);
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return throw_sys(env, errno, "recvmsg");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      return Napi::Number::New(env, fd);
    }
  }
  return throw_sys(env, n == 0 ? ECONNRESET : EBADMSG, "recvmsg");
}

// setWinsize(fd, rows, cols)
Napi::Value set_winsize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) return throw_type(env, "setWinsize(fd, rows, cols): numbers expected");
  winsize ws{};
  ws.ws_row = (unsigned short)info[1].As<Napi::Number>().Uint32Value();
  ws.ws_col = (unsigned short)info[2].As<Napi::Number>().Uint32Value();
  if (::ioctl(info[0].As<Napi::Number>().Int32Value(), TIOCSWINSZ, &ws) < 0) return throw_sys(env, errno, "ioctl(TIOCSWINSZ)");
  return env.Undefined();
}

}  // namespace keel

// Raw system calls for code that runs in a cloned child.
//
// The child may share the parent's memory (CLONE_VM) and thread pointer, so it must not touch
// errno or any libc state: every call here returns -errno instead of setting errno.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace keel {

static inline long sys6(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

template <typename... T>
static inline long sys(long n, T... args) {
  return sys6(n, (long)args...);
}

[[noreturn]] static inline void sys_exit(int code) {
  for (;;) sys6(231 /* exit_group */, code);
}

static inline size_t c_strlen(const char* s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

// Copies at most cap-1 bytes and always terminates; returns the length written.
static inline size_t c_strlcpy(char* dst, const char* src, size_t cap) {
  size_t i = 0;
  if (cap == 0) return 0;
  for (; src && src[i] && i + 1 < cap; i++) dst[i] = src[i];
  dst[i] = 0;
  return i;
}

static inline bool c_streq(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

}  // namespace keel

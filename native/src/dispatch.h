// Runtime choice among a kernel's implementations, shared by the kernel files.
// An implementation table lists the fastest first and ends with one that is
// always available; the first available entry is used unless a test or the
// benchmark forces another by name. The choice is cached with relaxed atomics:
// every thread computes the same answer, so a race only repeats the probe.
// Header-only and freestanding (wasm32 builds have no libc).
#pragma once

namespace pouw_dispatch {

inline bool same_name(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

// A table entry, whether the table holds implementations or pointers to them (a
// kernel split over several files lists each file's entry by address).
template <class Impl>
const Impl& entry(const Impl& x) {
  return x;
}
template <class Impl>
const Impl& entry(const Impl* x) {
  return *x;
}

// Index of the implementation in use; `cache` starts at -1.
template <class Impl, int N>
int selected(const Impl (&impls)[N], int& cache) {
  int s = __atomic_load_n(&cache, __ATOMIC_RELAXED);
  if (s >= 0) return s;
  for (s = 0; s < N - 1 && !entry(impls[s]).available(); s++) {
  }
  __atomic_store_n(&cache, s, __ATOMIC_RELAXED);
  return s;
}

// Forces the implementation called `name`: 0 when it exists and is available here, -1 otherwise.
template <class Impl, int N>
int select(const Impl (&impls)[N], int& cache, const char* name) {
  for (int i = 0; i < N; i++) {
    if (same_name(entry(impls[i]).name, name)) {
      if (!entry(impls[i]).available()) return -1;
      __atomic_store_n(&cache, i, __ATOMIC_RELAXED);
      return 0;
    }
  }
  return -1;
}

}  // namespace pouw_dispatch

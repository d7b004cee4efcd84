// Node binding of the native kernels (node-addon-api). Thin by design: it
// checks arguments, copies inputs the kernels need, and runs long scans on
// worker threads through AsyncWorker so the event loop never blocks. All
// hashing logic lives in native/src, shared with the WASM build.
#include <napi.h>

#include <algorithm>
#include <array>
#include <memory>
#include <atomic>
#include <functional>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cpu_features.h"
#include "gemm_f32.h"
#include "gemm_i8.h"
#include "lottery.h"
#include "matrix.h"
#include "peak.h"
#include "sha256d.h"

#ifdef POUW_WITH_CUDA
extern "C" int pouw_cuda_device_count(char* first_name, int name_len, char* error, int error_len);
#endif

namespace {

Napi::Value TypeError(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value RangeError(Napi::Env env, const std::string& msg) {
  Napi::RangeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value Sha256d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) return TypeError(env, "sha256d(data: Uint8Array)");
  auto data = info[0].As<Napi::Uint8Array>();
  auto out = Napi::Uint8Array::New(env, 32);
  pouw_sha256d(data.Data(), data.ByteLength(), out.Data());
  return out;
}

Napi::Value Sha256dImpl(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), pouw_sha256d_impl());
}

Napi::Value Sha256dSelect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return TypeError(env, "sha256dSelect(name: string)");
  std::string name = info[0].As<Napi::String>();
  return Napi::Boolean::New(env, pouw_sha256d_select(name.c_str()) == 0);
}

// Scans [start, start + count) split into contiguous per-thread ranges.
class ScanWorker : public Napi::AsyncWorker {
 public:
  ScanWorker(Napi::Env env, pouw_sha256d_job job, std::vector<uint8_t> header, uint64_t start, uint64_t count,
             uint32_t threads, uint32_t max_found, bool stop_on_find, const volatile int32_t* cancel,
             Napi::Object keep_alive)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        job_(job),
        header_(std::move(header)),
        start_(start),
        count_(count),
        threads_(threads),
        max_found_(max_found),
        stop_on_find_(stop_on_find),
        cancel_(cancel) {
    job_.header = header_.data();
    keep_alive_ = Napi::Persistent(keep_alive);
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    const uint64_t wrap = job_.nonce_width == 4 ? (1ull << 32) : 0;  // 0: full 64-bit space
    uint32_t n = std::max<uint32_t>(1, threads_);
    if (count_ < n) n = static_cast<uint32_t>(std::max<uint64_t>(1, count_));
    std::vector<std::vector<uint64_t>> found(n);
    std::vector<uint64_t> done(n, 0);
    std::atomic<int32_t> stop{0};
    std::atomic<int> error{0};
    std::vector<std::thread> pool;
    const uint64_t per = count_ / n, extra = count_ % n;
    uint64_t offset = 0;
    for (uint32_t t = 0; t < n; t++) {
      uint64_t len = per + (t < extra ? 1 : 0);
      uint64_t begin = start_ + offset;
      if (wrap) begin %= wrap;
      offset += len;
      pool.emplace_back([&, t, begin, len] {
        // Chunks let a find on one thread stop the others promptly.
        const uint64_t chunk = 1ull << 18;
        std::vector<uint64_t> buf(max_found_ ? max_found_ : 1);
        uint64_t pos = 0;
        while (pos < len) {
          if (stop.load(std::memory_order_relaxed) || (cancel_ && *cancel_)) break;
          uint64_t step = std::min(chunk, len - pos);
          uint64_t from = begin + pos;
          if (wrap) from %= wrap;
          pouw_sha256d_result r{};
          int rc = pouw_sha256d_scan(&job_, from, step, buf.data(), max_found_, stop_on_find_ ? 1 : 0, cancel_, &r);
          if (rc != 0) {
            error.store(rc);
            break;
          }
          done[t] += r.hashes_done;
          for (uint32_t i = 0; i < r.found_count; i++) found[t].push_back(buf[i]);
          if (stop_on_find_ && r.found_count) stop.store(1);
          if (r.hashes_done < step) break;  // cancelled inside the kernel
          pos += step;
        }
      });
    }
    for (auto& th : pool) th.join();
    if (error.load()) {
      SetError("invalid scan job (code " + std::to_string(error.load()) + ")");
      return;
    }
    for (uint32_t t = 0; t < n; t++) {
      hashes_ += done[t];
      for (uint64_t v : found[t]) {
        if (results_.size() < max_found_) results_.push_back(v);
      }
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    auto obj = Napi::Object::New(env);
    auto arr = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); i++) arr.Set(i, Napi::BigInt::New(env, results_[i]));
    obj.Set("found", arr);
    obj.Set("hashesDone", Napi::BigInt::New(env, hashes_));
    deferred_.Resolve(obj);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(Napi::RangeError::New(Env(), e.Message()).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  pouw_sha256d_job job_;
  std::vector<uint8_t> header_;
  uint64_t start_, count_;
  uint32_t threads_, max_found_;
  bool stop_on_find_;
  const volatile int32_t* cancel_;
  Napi::ObjectReference keep_alive_;
  std::vector<uint64_t> results_;
  uint64_t hashes_ = 0;
};

uint64_t ToU64(const Napi::Value& v, bool* ok) {
  if (v.IsBigInt()) {
    bool lossless = true;
    uint64_t x = v.As<Napi::BigInt>().Uint64Value(&lossless);
    *ok = lossless;
    return x;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    *ok = d >= 0 && d <= 9007199254740991.0 && d == static_cast<double>(static_cast<uint64_t>(d));
    return static_cast<uint64_t>(d);
  }
  *ok = false;
  return 0;
}

// sha256dScan({ header, nonceOffset, nonceWidth, target, start, count, threads, maxFound, stopOnFind, cancel })
Napi::Value Sha256dScan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return TypeError(env, "sha256dScan(options: object)");
  auto o = info[0].As<Napi::Object>();
  auto header = o.Get("header");
  auto target = o.Get("target");
  if (!header.IsTypedArray() || header.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    return TypeError(env, "header must be a Uint8Array");
  if (!target.IsTypedArray() || target.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      target.As<Napi::Uint8Array>().ByteLength() != 32)
    return TypeError(env, "target must be a 32-byte Uint8Array (little-endian)");
  auto h = header.As<Napi::Uint8Array>();
  pouw_sha256d_job job{};
  std::vector<uint8_t> copy(h.Data(), h.Data() + h.ByteLength());
  job.header_len = static_cast<uint32_t>(copy.size());
  job.nonce_offset = o.Get("nonceOffset").ToNumber().Uint32Value();
  job.nonce_width = o.Get("nonceWidth").ToNumber().Uint32Value();
  std::memcpy(job.target, target.As<Napi::Uint8Array>().Data(), 32);
  bool ok1 = false, ok2 = false;
  uint64_t start = ToU64(o.Get("start"), &ok1);
  uint64_t count = ToU64(o.Get("count"), &ok2);
  if (!ok1 || !ok2) return RangeError(env, "start and count must be non-negative integers (bigint or safe number)");
  uint32_t threads = o.Has("threads") && o.Get("threads").IsNumber() ? o.Get("threads").ToNumber().Uint32Value() : 1;
  if (threads < 1 || threads > 1024) return RangeError(env, "threads must be within 1..1024");
  uint32_t max_found = o.Has("maxFound") && o.Get("maxFound").IsNumber() ? o.Get("maxFound").ToNumber().Uint32Value() : 16;
  if (max_found < 1 || max_found > (1u << 20)) return RangeError(env, "maxFound must be within 1..2^20");
  bool stop_on_find = o.Has("stopOnFind") && o.Get("stopOnFind").ToBoolean().Value();
  const volatile int32_t* cancel = nullptr;
  auto c = o.Get("cancel");
  if (!c.IsUndefined() && !c.IsNull()) {
    if (!c.IsTypedArray() || c.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      return TypeError(env, "cancel must be an Int32Array (ideally on a SharedArrayBuffer)");
    cancel = reinterpret_cast<const volatile int32_t*>(c.As<Napi::Int32Array>().Data());
  }
  // Validate the job synchronously so bad input fails before any thread starts.
  pouw_sha256d_job probe = job;
  probe.header = copy.data();
  uint64_t dummy;
  pouw_sha256d_result r{};
  int rc = pouw_sha256d_scan(&probe, start, 0, &dummy, 1, 0, nullptr, &r);
  if (rc != 0) return RangeError(env, "invalid scan job: header length 80..128, nonce width 4 or 8, nonce field after the first 64 bytes");
  auto worker = new ScanWorker(env, job, std::move(copy), start, count, threads, max_found, stop_on_find, cancel, o);
  auto promise = worker->Promise();
  worker->Queue();
  return promise;
}

// C = A·B for int8 (exact int32) or float32, rows split between threads, each
// with its own packing scratch. The typed arrays are referenced, not copied:
// callers must not transfer their buffers while a call is in flight.
template <typename In, typename Out>
class GemmWorker : public Napi::AsyncWorker {
 public:
  using Kernel = void (*)(const In*, const In*, Out*, uint32_t, uint32_t, uint32_t, void*);
  using Scratch = size_t (*)(uint32_t, uint32_t, uint32_t);

  GemmWorker(Napi::Env env, Kernel kernel, Scratch scratch, const In* a, const In* b, Out* c, uint32_t m, uint32_t k,
             uint32_t n, uint32_t threads, Napi::Object keep, Napi::Value result)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        kernel_(kernel),
        scratch_(scratch),
        a_(a), b_(b), c_(c), m_(m), k_(k), n_(n), threads_(threads) {
    keep_ = Napi::Persistent(keep);
    result_ = Napi::Persistent(result.As<Napi::Object>());
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    uint32_t t = std::max<uint32_t>(1, std::min(threads_, m_ ? m_ : 1));
    std::vector<std::thread> pool;
    uint32_t per = m_ / t, extra = m_ % t, row = 0;
    for (uint32_t i = 0; i < t; i++) {
      uint32_t rows = per + (i < extra ? 1 : 0);
      uint32_t begin = row;
      row += rows;
      pool.emplace_back([this, begin, rows] {
        std::vector<uint8_t> scratch(scratch_(rows, k_, n_) + 64);
        kernel_(a_ + size_t(begin) * k_, b_, c_ + size_t(begin) * n_, rows, k_, n_, scratch.data());
      });
    }
    for (auto& th : pool) th.join();
  }

  void OnOK() override { deferred_.Resolve(result_.Value()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Kernel kernel_;
  Scratch scratch_;
  const In* a_;
  const In* b_;
  Out* c_;
  uint32_t m_, k_, n_, threads_;
  Napi::ObjectReference keep_, result_;
};

bool Dims(const Napi::Object& o, uint32_t* m, uint32_t* k, uint32_t* n, uint32_t* threads) {
  for (auto [key, out] : {std::pair<const char*, uint32_t*>{"m", m}, {"k", k}, {"n", n}}) {
    Napi::Value v = o.Get(key);
    if (!v.IsNumber()) return false;
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 1 && d <= 65536 * 16) || d != static_cast<double>(static_cast<uint32_t>(d))) return false;
    *out = static_cast<uint32_t>(d);
  }
  *threads = o.Get("threads").IsNumber() ? o.Get("threads").ToNumber().Uint32Value() : 1;
  return *threads >= 1 && *threads <= 1024;
}

// gemmI8({A: Int8Array, B: Int8Array, m, k, n, threads}) -> Promise<Int32Array>
Napi::Value GemmI8(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return TypeError(env, "gemmI8(options: object)");
  auto o = info[0].As<Napi::Object>();
  uint32_t m, k, n, threads;
  if (!Dims(o, &m, &k, &n, &threads)) return RangeError(env, "m, k, n must be integers in 1..2^20 and threads in 1..1024");
  auto a = o.Get("A"), b = o.Get("B");
  if (!a.IsTypedArray() || a.As<Napi::TypedArray>().TypedArrayType() != napi_int8_array || !b.IsTypedArray() ||
      b.As<Napi::TypedArray>().TypedArrayType() != napi_int8_array)
    return TypeError(env, "A and B must be Int8Arrays");
  if (a.As<Napi::Int8Array>().ElementLength() != size_t(m) * k || b.As<Napi::Int8Array>().ElementLength() != size_t(k) * n)
    return RangeError(env, "A must hold m·k and B k·n entries");
  auto c = Napi::Int32Array::New(env, size_t(m) * n);
  auto w = new GemmWorker<int8_t, int32_t>(env, pouw_gemm_i8, pouw_gemm_i8_scratch_bytes, a.As<Napi::Int8Array>().Data(),
                                           b.As<Napi::Int8Array>().Data(), c.Data(), m, k, n, threads, o, c);
  auto p = w->Promise();
  w->Queue();
  return p;
}

// gemmF32({A: Float32Array, B: Float32Array, m, k, n, threads}) -> Promise<Float32Array>
Napi::Value GemmF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return TypeError(env, "gemmF32(options: object)");
  auto o = info[0].As<Napi::Object>();
  uint32_t m, k, n, threads;
  if (!Dims(o, &m, &k, &n, &threads)) return RangeError(env, "m, k, n must be integers in 1..2^20 and threads in 1..1024");
  auto a = o.Get("A"), b = o.Get("B");
  if (!a.IsTypedArray() || a.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !b.IsTypedArray() ||
      b.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    return TypeError(env, "A and B must be Float32Arrays");
  if (a.As<Napi::Float32Array>().ElementLength() != size_t(m) * k || b.As<Napi::Float32Array>().ElementLength() != size_t(k) * n)
    return RangeError(env, "A must hold m·k and B k·n entries");
  auto c = Napi::Float32Array::New(env, size_t(m) * n);
  auto w = new GemmWorker<float, float>(env, pouw_gemm_f32, pouw_gemm_f32_scratch_bytes, a.As<Napi::Float32Array>().Data(),
                                        b.As<Napi::Float32Array>().Data(), c.Data(), m, k, n, threads, o, c);
  auto p = w->Promise();
  w->Queue();
  return p;
}

// peakProbes() -> [{index, unit, sequence}]: the int8 multiply-add probes this CPU
// can run (see peak.h). peakRun(index, iterations) -> multiply-adds done, on the
// calling thread; the caller times it.
Napi::Value PeakProbes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto list = Napi::Array::New(env);
  uint32_t n = 0;
  for (int i = 0; i < pouw_peak_i8_count(); i++) {
    if (!pouw_peak_i8_available(i)) continue;
    auto o = Napi::Object::New(env);
    o.Set("index", Napi::Number::New(env, i));
    o.Set("unit", Napi::String::New(env, pouw_peak_i8_unit(i)));
    o.Set("sequence", Napi::String::New(env, pouw_peak_i8_sequence(i)));
    list.Set(n++, o);
  }
  return list;
}

Napi::Value PeakRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
    return TypeError(env, "peakRun(index, iterations) takes two numbers");
  const int index = info[0].As<Napi::Number>().Int32Value();
  const double iterations = info[1].As<Napi::Number>().DoubleValue();
  if (!(iterations >= 1 && iterations <= 4294967295.0) || iterations != static_cast<double>(static_cast<uint32_t>(iterations)))
    return RangeError(env, "iterations must be an integer within [1, 2^32)");
  if (!pouw_peak_i8_available(index)) return RangeError(env, "no such peak probe on this CPU");
  return Napi::Number::New(env, pouw_peak_i8_run(index, static_cast<uint32_t>(iterations)));
}

// Runs `work` on the libuv pool and resolves with what `done` builds on the JS
// thread; `keep` holds the caller's arrays alive meanwhile.
class TaskWorker : public Napi::AsyncWorker {
 public:
  // `done` gets the object passed as `keep`, alive again on the JS thread.
  using Done = std::function<Napi::Value(Napi::Env, Napi::Object)>;
  TaskWorker(Napi::Env env, Napi::Object keep, std::function<void()> work, Done done)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)), done_(std::move(done)) {
    keep_ = Napi::Persistent(keep);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override { work_(); }
  // `done` may throw a JS error (a coded failure of the kernel): the promise rejects with it.
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Value v = done_(env, keep_.Value());
    if (env.IsExceptionPending()) {
      deferred_.Reject(env.GetAndClearPendingException().Value());
    } else {
      deferred_.Resolve(v);
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  Done done_;
  Napi::ObjectReference keep_;
};

Napi::Value Queue(TaskWorker* w) {
  auto p = w->Promise();
  w->Queue();
  return p;
}

bool IsInt8(const Napi::Value& v, size_t length) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int8_array &&
         v.As<Napi::Int8Array>().ElementLength() == length;
}

uint32_t Dim(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) return 0;
  double d = v.As<Napi::Number>().DoubleValue();
  return d >= 1 && d <= 4294967295.0 && d == static_cast<double>(static_cast<uint32_t>(d)) ? static_cast<uint32_t>(d) : 0;
}

// commitLines({M: Int8Array, rows, cols, byColumns}) -> Promise<Uint8Array(32)>
Napi::Value CommitLines(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return TypeError(env, "commitLines(options: object)");
  auto o = info[0].As<Napi::Object>();
  uint32_t rows = Dim(o, "rows"), cols = Dim(o, "cols");
  if (!rows || !cols) return RangeError(env, "rows and cols must be integers >= 1");
  if (!IsInt8(o.Get("M"), size_t(rows) * cols)) return TypeError(env, "M must be an Int8Array of rows·cols entries");
  const int8_t* M = o.Get("M").As<Napi::Int8Array>().Data();
  bool by_columns = o.Get("byColumns").ToBoolean().Value();
  auto root = std::make_shared<std::vector<uint8_t>>(32);
  return Queue(new TaskWorker(
      env, o,
      [=] {
        std::vector<uint8_t> scratch(pouw_commit_scratch_bytes(rows, cols));
        pouw_commit_lines(M, rows, cols, by_columns ? 1 : 0, root->data(), scratch.data());
      },
      [=](Napi::Env e, Napi::Object) -> Napi::Value {
        auto out = Napi::Uint8Array::New(e, 32);
        std::memcpy(out.Data(), root->data(), 32);
        return out;
      }));
}

// freivalds({A, B, C: Int32Array, m, k, n, seed: Uint8Array(32), rounds}) -> Promise<boolean>
Napi::Value Freivalds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return TypeError(env, "freivalds(options: object)");
  auto o = info[0].As<Napi::Object>();
  uint32_t m = Dim(o, "m"), k = Dim(o, "k"), n = Dim(o, "n"), rounds = Dim(o, "rounds");
  if (!m || !k || !n || !rounds) return RangeError(env, "m, k, n and rounds must be integers >= 1");
  auto c = o.Get("C"), seed = o.Get("seed");
  if (!IsInt8(o.Get("A"), size_t(m) * k) || !IsInt8(o.Get("B"), size_t(k) * n) || !c.IsTypedArray() ||
      c.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || c.As<Napi::Int32Array>().ElementLength() != size_t(m) * n)
    return TypeError(env, "A (m·k) and B (k·n) must be Int8Arrays and C (m·n) an Int32Array");
  if (!seed.IsTypedArray() || seed.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      seed.As<Napi::Uint8Array>().ByteLength() != 32)
    return TypeError(env, "seed must be a 32-byte Uint8Array");
  const int8_t* A = o.Get("A").As<Napi::Int8Array>().Data();
  const int8_t* B = o.Get("B").As<Napi::Int8Array>().Data();
  const int32_t* C = c.As<Napi::Int32Array>().Data();
  std::array<uint8_t, 32> s;
  std::memcpy(s.data(), seed.As<Napi::Uint8Array>().Data(), 32);
  auto rc = std::make_shared<int>(0);
  auto w = new TaskWorker(
      env, o,
      [=] {
        std::vector<uint8_t> scratch(pouw_freivalds_scratch_bytes(m, k, n));
        *rc = pouw_freivalds(A, B, C, m, k, n, s.data(), rounds, scratch.data());
      },
      [=](Napi::Env e, Napi::Object) -> Napi::Value {
        if (*rc == -1) {
          Napi::RangeError::New(e, "freivalds: k·n above 2^39 or rounds outside 1..1024").ThrowAsJavaScriptException();
          return e.Undefined();
        }
        if (*rc == -2) {
          Napi::RangeError::New(e, "freivalds: an entry of A or B lies outside [-64, 64]").ThrowAsJavaScriptException();
          return e.Undefined();
        }
        return Napi::Boolean::New(e, *rc == 1);
      });
  return Queue(w);
}

// lottery({A, B, m, k, n, rank, tileRows, tileCols, seedA, seedB, threshold: Uint8Array(32 LE),
//          recover, threads}) -> Promise<{tickets: Uint8Array, winners: number[], product?: Int32Array}>
// Threads split the job by tile rows: every thread packs its share of B+F, then
// (after all have finished) runs its own tile rows with its own scratch.
Napi::Value Lottery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return TypeError(env, "lottery(options: object)");
  auto o = info[0].As<Napi::Object>();
  uint32_t m = Dim(o, "m"), k = Dim(o, "k"), n = Dim(o, "n");
  pouw_lottery_config cfg{Dim(o, "rank"), Dim(o, "tileRows"), Dim(o, "tileCols")};
  if (!m || !k || !n || !cfg.rank || !cfg.tile_rows || !cfg.tile_cols)
    return RangeError(env, "m, k, n, rank, tileRows and tileCols must be integers >= 1");
  if (!IsInt8(o.Get("A"), size_t(m) * k) || !IsInt8(o.Get("B"), size_t(k) * n))
    return TypeError(env, "A (m·k) and B (k·n) must be Int8Arrays");
  std::array<uint8_t, 32> seedA, seedB, threshold;
  for (auto [key, out] : {std::pair<const char*, uint8_t*>{"seedA", seedA.data()}, {"seedB", seedB.data()}, {"threshold", threshold.data()}}) {
    Napi::Value v = o.Get(key);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array || v.As<Napi::Uint8Array>().ByteLength() != 32)
      return TypeError(env, std::string(key) + " must be a 32-byte Uint8Array");
    std::memcpy(out, v.As<Napi::Uint8Array>().Data(), 32);
  }
  if (pouw_lottery_scratch_bytes(m, k, n, cfg.rank, cfg.tile_rows, cfg.tile_cols) == 0)
    return RangeError(env, "lottery shape rules broken: 2 <= rank <= k <= 65536, m % tileRows == 0, n % tileCols == 0");
  bool recover = o.Get("recover").ToBoolean().Value();
  uint32_t threads = o.Get("threads").IsNumber() ? o.Get("threads").ToNumber().Uint32Value() : 1;
  uint32_t tile_rows_total = m / cfg.tile_rows;
  threads = std::max<uint32_t>(1, std::min<uint32_t>({threads, tile_rows_total, 1024}));
  const int8_t* A = o.Get("A").As<Napi::Int8Array>().Data();
  const int8_t* B = o.Get("B").As<Napi::Int8Array>().Data();
  size_t tiles = size_t(tile_rows_total) * (n / cfg.tile_cols);
  struct Out {
    std::vector<uint8_t> tickets;
    std::vector<uint32_t> winners;
    std::vector<int32_t> product;
    int rc = 0;
  };
  auto out = std::make_shared<Out>();
  out->tickets.resize(32 * tiles);
  if (recover) out->product.resize(size_t(m) * n);
  return Queue(new TaskWorker(
      env, o,
      [=] {
        std::vector<uint8_t> shared(pouw_lottery_shared_bytes(m, k, n, cfg.rank, cfg.tile_rows, cfg.tile_cols));
        std::vector<int> rcs(threads, 0);
        std::vector<std::thread> pool;
        for (uint32_t p = 0; p < threads; p++)
          pool.emplace_back([&, p] {
            rcs[p] = pouw_lottery_prepare(B, m, k, n, &cfg, seedA.data(), seedB.data(), recover ? 1 : 0, p, threads, shared.data());
          });
        for (auto& t : pool) t.join();
        pool.clear();
        for (int rc : rcs)
          if (rc) {
            out->rc = rc;
            return;
          }
        std::vector<std::vector<uint32_t>> winners(threads);
        uint32_t per = tile_rows_total / threads, extra = tile_rows_total % threads, row = 0;
        for (uint32_t p = 0; p < threads; p++) {
          uint32_t begin = row, end = row + per + (p < extra ? 1 : 0);
          row = end;
          pool.emplace_back([&, p, begin, end] {
            std::vector<uint8_t> scratch(pouw_lottery_rows_scratch_bytes(m, k, n, cfg.rank, cfg.tile_rows, cfg.tile_cols));
            uint32_t max_winners = (end - begin) * (n / cfg.tile_cols), count = 0;
            winners[p].resize(max_winners);
            rcs[p] = pouw_lottery_run_rows(A, m, k, n, &cfg, seedA.data(), seedB.data(), threshold.data(), shared.data(), begin, end,
                                           out->tickets.data(), winners[p].data(), max_winners, &count,
                                           recover ? out->product.data() : nullptr, scratch.data());
            winners[p].resize(std::min(count, max_winners));
          });
        }
        for (auto& t : pool) t.join();
        for (uint32_t p = 0; p < threads; p++) {
          if (rcs[p]) out->rc = rcs[p];
          out->winners.insert(out->winners.end(), winners[p].begin(), winners[p].end());
        }
      },
      [=](Napi::Env e, Napi::Object) -> Napi::Value {
        if (out->rc == POUW_LOTTERY_EENTRY) {
          Napi::RangeError::New(e, "lottery: an entry of A or B lies outside [-64, 64]").ThrowAsJavaScriptException();
          return e.Undefined();
        }
        if (out->rc) {
          Napi::RangeError::New(e, "lottery: kernel error " + std::to_string(out->rc)).ThrowAsJavaScriptException();
          return e.Undefined();
        }
        auto r = Napi::Object::New(e);
        auto t = Napi::Uint8Array::New(e, out->tickets.size());
        std::memcpy(t.Data(), out->tickets.data(), out->tickets.size());
        r.Set("tickets", t);
        auto w = Napi::Array::New(e, out->winners.size());
        for (size_t i = 0; i < out->winners.size(); i++) w.Set(i, Napi::Number::New(e, out->winners[i]));
        r.Set("winners", w);
        if (!out->product.empty()) {
          auto pr = Napi::Int32Array::New(e, out->product.size());
          std::memcpy(pr.Data(), out->product.data(), 4 * out->product.size());
          r.Set("product", pr);
        }
        return r;
      }));
}

// lotteryPlainGemm({A, B, m, k, n}) -> Promise<Int32Array>: the lottery's own
// packing and microkernel without noise or folding, the baseline of its overhead.
Napi::Value LotteryPlainGemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return TypeError(env, "lotteryPlainGemm(options: object)");
  auto o = info[0].As<Napi::Object>();
  uint32_t m = Dim(o, "m"), k = Dim(o, "k"), n = Dim(o, "n");
  if (!m || !k || !n) return RangeError(env, "m, k, n must be integers >= 1");
  if (!IsInt8(o.Get("A"), size_t(m) * k) || !IsInt8(o.Get("B"), size_t(k) * n))
    return TypeError(env, "A (m·k) and B (k·n) must be Int8Arrays");
  const int8_t* A = o.Get("A").As<Napi::Int8Array>().Data();
  const int8_t* B = o.Get("B").As<Napi::Int8Array>().Data();
  auto c = Napi::Int32Array::New(env, size_t(m) * n);
  int32_t* C = c.Data();
  auto rc = std::make_shared<int>(0);
  auto keep = Napi::Object::New(env);
  keep.Set("options", o);
  keep.Set("result", c);
  return Queue(new TaskWorker(
      env, keep,
      [=] {
        std::vector<uint8_t> scratch(pouw_lottery_plain_scratch_bytes(m, k, n));
        *rc = pouw_lottery_plain_gemm(A, B, m, k, n, C, scratch.data());
      },
      [=](Napi::Env e, Napi::Object kept) -> Napi::Value {
        if (*rc) {
          Napi::RangeError::New(e, "lotteryPlainGemm: kernel error " + std::to_string(*rc)).ThrowAsJavaScriptException();
          return e.Undefined();
        }
        return kept.Get("result");
      }));
}

// tileState({AE, BFT, h, w, k, rank}) -> Promise<Uint32Array(16)>: one lottery tile's folded state.
Napi::Value TileState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return TypeError(env, "tileState(options: object)");
  auto o = info[0].As<Napi::Object>();
  uint32_t h = Dim(o, "h"), w = Dim(o, "w"), k = Dim(o, "k"), rank = Dim(o, "rank");
  if (!h || !w || !k || !rank) return RangeError(env, "h, w, k and rank must be integers >= 1");
  if (!IsInt8(o.Get("AE"), size_t(h) * k) || !IsInt8(o.Get("BFT"), size_t(w) * k))
    return TypeError(env, "AE (h·k) and BFT (w·k) must be Int8Arrays");
  const int8_t* AE = o.Get("AE").As<Napi::Int8Array>().Data();
  const int8_t* BFT = o.Get("BFT").As<Napi::Int8Array>().Data();
  struct Out {
    uint32_t state[16];
    int rc;
  };
  auto out = std::make_shared<Out>();
  return Queue(new TaskWorker(
      env, o,
      [=] {
        std::vector<int32_t> acc(size_t(h) * w);
        out->rc = pouw_tile_state(AE, BFT, h, w, k, rank, out->state, acc.data());
      },
      [=](Napi::Env e, Napi::Object) -> Napi::Value {
        if (out->rc) {
          Napi::RangeError::New(e, "tileState: rank must be >= 2 and <= k <= 65536").ThrowAsJavaScriptException();
          return e.Undefined();
        }
        auto r = Napi::Uint32Array::New(e, 16);
        std::memcpy(r.Data(), out->state, 64);
        return r;
      }));
}

Napi::Value KernelImpls(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
  o.Set("sha256d", pouw_sha256d_impl());
  o.Set("gemmI8", pouw_gemm_i8_impl());
  o.Set("gemmF32", pouw_gemm_f32_impl());
  o.Set("lottery", pouw_lottery_impl());
  return o;
}

Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
#if defined(__x86_64__)
  // The same check the kernels dispatch on (cpu_features.h), so the report and the choice agree.
  const pouw::CpuFeatures f = pouw::cpu_features();
  o.Set("sse41", Napi::Boolean::New(env, f.sse41));
  o.Set("sha", Napi::Boolean::New(env, f.sha));
  o.Set("avx2", Napi::Boolean::New(env, f.avx2));
  o.Set("avx512f", Napi::Boolean::New(env, f.avx512f));
  o.Set("avx512bw", Napi::Boolean::New(env, f.avx512bw));
  o.Set("avx512vnni", Napi::Boolean::New(env, f.avx512vnni));
  o.Set("avx512vbmi", Napi::Boolean::New(env, f.avx512vbmi));
  o.Set("amxInt8", Napi::Boolean::New(env, f.amx_tile && f.amx_int8 && f.amx_os));
#endif
  o.Set("threads", Napi::Number::New(env, std::thread::hardware_concurrency()));
  return o;
}

Napi::Value CudaDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
#ifdef POUW_WITH_CUDA
  char name[256] = {0}, error[256] = {0};
  int n = pouw_cuda_device_count(name, sizeof name, error, sizeof error);
  o.Set("compiled", Napi::Boolean::New(env, true));
  o.Set("count", Napi::Number::New(env, n));
  o.Set("name", Napi::String::New(env, name));
  o.Set("error", Napi::String::New(env, error));
#else
  o.Set("compiled", Napi::Boolean::New(env, false));
  o.Set("count", Napi::Number::New(env, 0));
  o.Set("name", Napi::String::New(env, ""));
  o.Set("error", Napi::String::New(env, "built without CUDA"));
#endif
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sha256d", Napi::Function::New(env, Sha256d));
  exports.Set("sha256dImpl", Napi::Function::New(env, Sha256dImpl));
  exports.Set("sha256dSelect", Napi::Function::New(env, Sha256dSelect));
  exports.Set("sha256dScan", Napi::Function::New(env, Sha256dScan));
  exports.Set("gemmI8", Napi::Function::New(env, GemmI8));
  exports.Set("gemmF32", Napi::Function::New(env, GemmF32));
  exports.Set("kernelImpls", Napi::Function::New(env, KernelImpls));
  exports.Set("commitLines", Napi::Function::New(env, CommitLines));
  exports.Set("freivalds", Napi::Function::New(env, Freivalds));
  exports.Set("lottery", Napi::Function::New(env, Lottery));
  exports.Set("tileState", Napi::Function::New(env, TileState));
  exports.Set("lotteryPlainGemm", Napi::Function::New(env, LotteryPlainGemm));
  exports.Set("peakProbes", Napi::Function::New(env, PeakProbes));
  exports.Set("peakRun", Napi::Function::New(env, PeakRun));
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeatures));
  exports.Set("cudaDevices", Napi::Function::New(env, CudaDevices));
  return exports;
}

}  // namespace

NODE_API_MODULE(pouw_native, Init)

// Node binding of the native kernels (node-addon-api). Thin by design: it
// checks arguments, copies inputs the kernels need, and runs long scans on
// worker threads through AsyncWorker so the event loop never blocks. All
// hashing logic lives in native/src, shared with the WASM build.
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

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

Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  o.Set("sse41", Napi::Boolean::New(env, __builtin_cpu_supports("sse4.1")));
  o.Set("avx2", Napi::Boolean::New(env, __builtin_cpu_supports("avx2")));
  o.Set("avx512f", Napi::Boolean::New(env, __builtin_cpu_supports("avx512f")));
  o.Set("avx512bw", Napi::Boolean::New(env, __builtin_cpu_supports("avx512bw")));
  o.Set("avx512vnni", Napi::Boolean::New(env, __builtin_cpu_supports("avx512vnni")));
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
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeatures));
  exports.Set("cudaDevices", Napi::Function::New(env, CudaDevices));
  return exports;
}

}  // namespace

NODE_API_MODULE(pouw_native, Init)

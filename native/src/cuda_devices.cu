// CUDA device discovery for the addon: how many devices the runtime sees and
// their names, so the CLI can say whether the CUDA backend can run. Built only
// when the CUDA toolkit was found (POUW_CUDA); cudart is linked statically, so
// a machine without a driver simply reports zero devices. The CUDA kernels
// themselves are not part of this version.
#include <cuda_runtime.h>
#include <stdio.h>

extern "C" int pouw_cuda_device_count(char* first_name, int name_len, char* error, int error_len) {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    snprintf(error, error_len, "%s", cudaGetErrorString(err));
    return 0;
  }
  if (n > 0 && name_len > 0) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) snprintf(first_name, name_len, "%s", prop.name);
  }
  return n;
}

// placeholder, replaced by the torch shim work
#include <torch/torch.h>
extern "C" {
#include "mer/torch.h"
}
extern "C" const char *mer_torch_version(void) { return "unknown"; }
extern "C" int mer_torch_cuda_available(void) { return torch::cuda::is_available() ? 1 : 0; }

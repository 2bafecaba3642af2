/* torch.h: placeholder, replaced by the torch shim work. */
#ifndef MER_TORCH_H
#define MER_TORCH_H
const char *mer_torch_version(void);
int mer_torch_cuda_available(void);
#endif

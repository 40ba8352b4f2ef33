"""LLM presets: KV-cache memory in tokens from a model's shape and a GPU's memory.

Arithmetic (standard for decoder-only transformers, e.g. Kwon et al. 2023, the vLLM
paper, §3): every token in the KV cache stores, in every layer, one key and one value
vector per KV head::

    bytes per token = layers × kv_heads × head_dim × 2 (K and V) × dtype bytes

and the memory left for the cache is what the GPU has after the weights
(parameters × weight bytes), scaled by the fraction the server may use (vLLM's
``gpu_memory_utilization``, default 0.9) and minus an activation reserve::

    M (tokens) = ⌊(gpu_bytes × utilization − params × weight_bytes − reserve) / bytes per token⌋

Sources of the presets (verified against the models' Hugging Face ``config.json``:
``num_hidden_layers``, ``num_key_value_heads``, ``hidden_size / num_attention_heads``):

=============== ====== ======== ======== ============ ======================================
model           layers KV heads head dim parameters   source
=============== ====== ======== ======== ============ ======================================
Llama-2-7B      32     32       128      6.74e9       meta-llama/Llama-2-7b-hf; Touvron 2023
Llama-2-13B     40     40       128      13.0e9       meta-llama/Llama-2-13b-hf; Touvron 2023
Llama-2-70B     80     8 (GQA)  128      69.0e9       meta-llama/Llama-2-70b-hf (k_proj 8192→1024)
Llama-3-8B      32     8 (GQA)  128      8.03e9       meta-llama/Meta-Llama-3-8B model card
Llama-3-70B     80     8 (GQA)  128      70.6e9       meta-llama/Meta-Llama-3-70B model card
Mistral-7B      32     8 (GQA)  128      7.24e9       mistralai/Mistral-7B-v0.1 (Jiang 2023)
Qwen2-7B        28     4 (GQA)  128      7.62e9       Qwen/Qwen2-7B (hidden 3584 / 28 heads;
                                                      k_proj 3584→512 = 4 heads × 128)
OPT-13B         40     40       128      12.9e9       facebook/opt-13b (Zhang 2022; vLLM paper)
=============== ====== ======== ======== ============ ======================================

GPU memory is the capacity ``nvidia-smi`` reports, in GiB (an "80 GB" A100/H100 has
80 GiB = 85.9e9 bytes); override with ``gpu_bytes`` if yours differs. Bandwidth and dense
16-bit tensor throughput (no 2:4 sparsity) come from the vendor datasheets, and feed
:meth:`IterationCost.roofline`:

========== ======== ============ =============== ==========================================
GPU        memory   HBM/GDDR     BF16/FP16 dense source
                    bandwidth    tensor FLOP/s
========== ======== ============ =============== ==========================================
A100-40GB  40 GiB   1555 GB/s    312 T           NVIDIA A100 datasheet (SXM4, HBM2)
A100-80GB  80 GiB   2039 GB/s    312 T           NVIDIA A100 datasheet (SXM4, HBM2e)
H100-80GB  80 GiB   3350 GB/s    989.4 T         NVIDIA H100 datasheet (SXM5; 1979 T is
                                                 with sparsity)
L40S       48 GiB   864 GB/s     362.05 T        NVIDIA L40S datasheet (733 T with sparsity)
A10G       24 GiB   600 GB/s     125 T           bandwidth: AWS G5 / A10 datasheet; FLOP/s:
                                                 the A10 datasheet's dense FP16 figure —
                                                 NVIDIA publishes no A10G datasheet and the
                                                 A10G's tensor rate is lower (Baseten 2023):
                                                 pass your own ``GPU`` if prefill matters
========== ======== ============ =============== ==========================================

Examples
--------
>>> llama = MODELS["Llama-2-7B"]
>>> llama.kv_bytes_per_token()           # 32 x 32 x 128 x 2 x 2 bytes = 0.5 MiB
524288
>>> kv_tokens("Llama-2-7B", "A100-80GB")  # (0.9 x 80 GiB - 13.48 GB) / 0.5 MiB
121744
"""

import math
from dataclasses import dataclass

from ..core.errors import ParameterError

__all__ = ["ModelShape", "GPU", "MODELS", "GPUS", "kv_tokens", "kv_bytes_per_token",
           "kv_blocks"]

GiB = 2**30


@dataclass(frozen=True)
class ModelShape:
    """A decoder-only transformer's shape: what its KV cache costs per token."""

    name: str
    layers: int
    kv_heads: int
    head_dim: int
    parameters: float
    source: str = ""

    def kv_bytes_per_token(self, dtype_bytes=2):
        """layers × kv_heads × head_dim × 2 (K and V) × dtype_bytes."""
        return self.layers * self.kv_heads * self.head_dim * 2 * dtype_bytes

    def weight_bytes(self, weight_bytes=2):
        return self.parameters * weight_bytes


@dataclass(frozen=True)
class GPU:
    """A GPU: its name, memory in bytes and (for :meth:`IterationCost.roofline`) its
    memory bandwidth in bytes/s and dense 16-bit tensor throughput in FLOP/s."""

    name: str
    memory_bytes: float
    bandwidth: float = None
    flops: float = None
    source: str = ""


#: Model shapes by name (layers, KV heads, head dimension, parameters, source).
MODELS = {m.name: m for m in (
    ModelShape("Llama-2-7B", 32, 32, 128, 6.74e9, "meta-llama/Llama-2-7b-hf config.json"),
    ModelShape("Llama-2-13B", 40, 40, 128, 13.0e9, "meta-llama/Llama-2-13b-hf config.json"),
    ModelShape("Llama-2-70B", 80, 8, 128, 69.0e9, "meta-llama/Llama-2-70b-hf config.json"),
    ModelShape("Llama-3-8B", 32, 8, 128, 8.03e9, "meta-llama/Meta-Llama-3-8B config.json"),
    ModelShape("Llama-3-70B", 80, 8, 128, 70.6e9, "meta-llama/Meta-Llama-3-70B config.json"),
    ModelShape("Mistral-7B", 32, 8, 128, 7.24e9, "mistralai/Mistral-7B-v0.1 config.json"),
    ModelShape("Qwen2-7B", 28, 4, 128, 7.62e9, "Qwen/Qwen2-7B config.json"),
    ModelShape("OPT-13B", 40, 40, 128, 12.9e9, "facebook/opt-13b config.json"),
)}

#: GPUs by name, with their memory in bytes.
GPUS = {g.name: g for g in (
    GPU("A100-40GB", 40 * GiB, 1555e9, 312e12, "NVIDIA A100 datasheet (SXM4 40GB)"),
    GPU("A100-80GB", 80 * GiB, 2039e9, 312e12, "NVIDIA A100 datasheet (SXM4 80GB)"),
    GPU("H100-80GB", 80 * GiB, 3350e9, 989.4e12, "NVIDIA H100 datasheet (SXM5, dense BF16)"),
    GPU("L40S", 48 * GiB, 864e9, 362.05e12, "NVIDIA L40S datasheet (dense BF16)"),
    GPU("A10G", 24 * GiB, 600e9, 125e12, "600 GB/s: AWS G5 / NVIDIA A10 datasheet; 125 "
        "TFLOP/s: A10 datasheet dense FP16 (no A10G datasheet; the A10G is slower)"),
    GPU("L4", 24 * GiB), GPU("RTX-4090", 24 * GiB),
)}


def _lookup(table, key, what):
    if not isinstance(key, str):
        return key
    folded = {name.casefold(): name for name in table}     # 'llama-3-8b' is Llama-3-8B
    if key.casefold() not in folded:
        raise ParameterError(f"{what} = {key!r} is unknown: use one of {sorted(table)} or "
                             f"pass a {'ModelShape' if what == 'model' else 'GPU'}.")
    return table[folded[key.casefold()]]


def kv_bytes_per_token(model, dtype_bytes=2):
    """KV-cache bytes per token of ``model`` (a preset name or a :class:`ModelShape`)."""
    return _lookup(MODELS, model, "model").kv_bytes_per_token(dtype_bytes)


def kv_tokens(model, gpu, num_gpus=1, utilization=0.9, kv_dtype_bytes=2, weight_bytes=2,
              reserve_bytes=0.0, gpu_bytes=None):
    """KV-cache capacity M in tokens for ``model`` on ``num_gpus`` × ``gpu``.

    M = ⌊(num_gpus × gpu_bytes × utilization − parameters × weight_bytes − reserve) /
    kv_bytes_per_token⌋ (tensor parallelism splits weights and cache alike).

    Examples
    --------
    >>> kv_tokens("Llama-2-70B", "A100-80GB", num_gpus=4)      # GQA: 0.3125 MiB/token
    522575
    >>> kv_tokens("Llama-2-70B", "A100-80GB")
    Traceback (most recent call last):
    ...
    qtheory.core.errors.ParameterError: Llama-2-70B needs 138 GB for its weights but 1 x A100-80GB offers 77.3 GB at utilization 0.9: add GPUs or quantise the weights (weight_bytes).
    """
    m = _lookup(MODELS, model, "model")
    g = _lookup(GPUS, gpu, "gpu")
    if not (0 < utilization <= 1):
        raise ParameterError(f"utilization = {utilization!r} is invalid: it must be in (0, 1].")
    if not (isinstance(num_gpus, int) and num_gpus >= 1):
        raise ParameterError(f"num_gpus = {num_gpus!r} is invalid: it must be an integer >= 1.")
    total = num_gpus * (gpu_bytes if gpu_bytes is not None else g.memory_bytes) * utilization
    free = total - m.weight_bytes(weight_bytes) - reserve_bytes
    if free < m.kv_bytes_per_token(kv_dtype_bytes):
        raise ParameterError(f"{m.name} needs {m.weight_bytes(weight_bytes) / 1e9:.3g} GB for its "
                             f"weights but {num_gpus} x {g.name} offers {total / 1e9:.3g} GB at "
                             f"utilization {utilization}: add GPUs or quantise the weights "
                             "(weight_bytes).")
    return int(math.floor(free / m.kv_bytes_per_token(kv_dtype_bytes)))


def kv_blocks(model, gpu, block_size=16, **options):
    """KV-cache capacity in whole blocks of ``block_size`` tokens (vLLM's paged cache,
    Kwon et al. 2023: block size 16 by default): ⌊:func:`kv_tokens` / block_size⌋.
    Other keywords as :func:`kv_tokens`.

    Examples
    --------
    >>> kv_blocks("Llama-2-7B", "A100-80GB")          # 121744 tokens // 16
    7609
    """
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ParameterError(f"block_size = {block_size!r} is invalid: it must be an integer "
                             ">= 1 (tokens per KV block; vLLM uses 16).")
    return kv_tokens(model, gpu, **options) // block_size

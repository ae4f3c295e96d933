#pragma once

// Quantised weights as the hub publishes them, decoded on the CPU without
// torch (libtorch 1.13 has no float8 type):
//
// * FP8 block-quantised linears (DeepSeek-V3/R1, Kimi-K2, Qwen3-*-FP8;
//   quant_method "fp8"): `X.weight` F8_E4M3 [out, in] and
//   `X.weight_scale_inv` F32 or BF16 [ceil(out/bm), ceil(in/bn)];
//   W[r, c] = e4m3fn(code[r, c]) * scale[r / bm, c / bn] in float32
//   (transformers v5 Fp8Dequantize, with FP8Linear's ceil scale grid, so the
//   last block row / column may be partial).
// * MXFP4 (gpt-oss experts; quant_method "mxfp4"): `<name>_blocks` U8
//   [..., out, G, 16] and `<name>_scales` U8 [..., out, G]; value 2j of
//   group g is FP4[low nibble of byte j], 2j+1 FP4[high nibble], times
//   2^(scale - 127) (transformers integrations/mxfp4.py
//   convert_moe_packed_tensors), i.e. an [..., out, G*32] tensor stored
//   output-major.
//
// The engine keeps these bytes mapped and decodes one matrix at a time
// into a transient buffer (WeightStore / Projection, decoder.h);
// tests/data/tiny-moe/FORMATS.md has worked examples.

#include "core/model/safetensors.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moescope::model {

class Checkpoint;

namespace quant {

// e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits; exponent 0 is
// subnormal; 0x7F / 0xFF are NaN; no infinities (max 448).
float e4m3(std::uint8_t code);
// e2m1: the FP4_VALUES table of mxfp4.py, index = 4-bit code (bit 3 = sign).
float fp4(std::uint8_t nibble);
// e8m0: 2^(code - 127) (255 is not a value in OCP MX; ldexp gives inf, as torch.ldexp would).
float e8m0(std::uint8_t code);
// float -> bfloat16 bits, round to nearest even (c10::BFloat16's rounding).
std::uint16_t bf16Bits(float value);

enum class Format { Fp8Block, Mxfp4 };

// One quantised tensor in the mapped file, validated against its scales.
// shape is that of the decoded tensor: [out, in] (FP8), [..., out, in] (MXFP4).
struct QuantizedTensor
{
    Format format = Format::Fp8Block;
    std::string file;   // the safetensors file (for messages)
    std::string name;   // the decoded tensor's name ("X.weight", "...gate_up_proj")
    std::vector<std::int64_t> shape;
    const std::uint8_t *codes = nullptr;  // FP8: codes; MXFP4: blocks
    const void *scales = nullptr;         // FP8: F32 / BF16 grid; MXFP4: e8m0 bytes
    bool bf16Scales = false;              // FP8
    std::int64_t blockRows = 0, blockCols = 0; // FP8

    std::int64_t rows() const { return shape.size() >= 2 ? shape[shape.size() - 2] : 0; }
    std::int64_t cols() const { return shape.empty() ? 0 : shape.back(); }
    std::int64_t numel() const;
    std::uint64_t storedBytes() const; // codes/blocks plus scales
    // Matrix i of a stacked [n, out, in] tensor (an MXFP4 expert), as a 2-D tensor.
    QuantizedTensor matrix(std::int64_t i) const;

    // The decoded 2-D tensor, row-major [rows(), cols()]; rows [first, last)
    // only for the two-argument-range forms.
    void decode(float *out) const;
    void decode(std::uint16_t *bf16Out) const;
    void decodeRows(std::int64_t first, std::int64_t last, float *out) const;
    void decodeRows(std::int64_t first, std::int64_t last, std::uint16_t *bf16Out) const;
};

// `name` as stored quantised in the checkpoint, or nullopt when it is stored
// plainly or absent: an F8_E4M3 tensor `name` (scales `name` + "_scale_inv"),
// or, when `name` is absent, `name` + "_blocks" / "_scales". Throws Error
// naming the safetensors file and tensor for missing scales, scales of the
// wrong shape or dtype, blocks of the wrong length, or a format that
// config.json's quantization_config does not declare.
std::optional<QuantizedTensor> findQuantized(const Checkpoint &checkpoint, const std::string &name);

// Whether a stored tensor belongs to a quantised weight (its codes, blocks
// or scales) rather than being a weight itself.
bool isQuantizationPart(const Checkpoint &checkpoint, const TensorRecord &record);

} // namespace quant
} // namespace moescope::model

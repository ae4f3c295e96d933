#include "core/model/quantized_weights.h"

#include "core/common/error.h"
#include "core/model/checkpoint.h"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>

namespace moescope::model::quant {

namespace {

std::array<float, 256> makeE4m3Table()
{
    std::array<float, 256> table{};
    for (int code = 0; code < 256; ++code) {
        const int sign = code >> 7, exponent = (code >> 3) & 0xF, mantissa = code & 0x7;
        float v;
        if (exponent == 0xF && mantissa == 0x7)
            v = std::numeric_limits<float>::quiet_NaN();
        else if (exponent == 0)
            v = std::ldexp(static_cast<float>(mantissa) / 8.0f, -6);
        else
            v = std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f, exponent - 7);
        table[static_cast<std::size_t>(code)] = sign ? -v : v;
    }
    return table;
}

const std::array<float, 256> &e4m3Table()
{
    static const auto table = makeE4m3Table();
    return table;
}

constexpr float kFp4[16] = {+0.0f, +0.5f, +1.0f, +1.5f, +2.0f, +3.0f, +4.0f, +6.0f,
                            -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

std::string shapeText(const std::vector<std::int64_t> &shape)
{
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + "]";
}

// Scales are read bytewise: safetensors does not promise aligned tensors,
// and a scale grid often follows an odd-sized F8 tensor.
float scaleAt(const QuantizedTensor &t, std::int64_t index)
{
    const auto *bytes = static_cast<const std::byte *>(t.scales);
    float v;
    if (!t.bf16Scales) {
        std::memcpy(&v, bytes + index * 4, sizeof v);
        return v;
    }
    std::uint16_t half;
    std::memcpy(&half, bytes + index * 2, sizeof half);
    const std::uint32_t bits = static_cast<std::uint32_t>(half) << 16;
    std::memcpy(&v, &bits, sizeof v);
    return v;
}

// One decoded row into out[0, cols); Store writes a float as the output type.
template <typename Out, typename Store>
void decodeRow(const QuantizedTensor &t, std::int64_t r, Out *out, Store store)
{
    const auto cols = t.cols();
    if (t.format == Format::Fp8Block) {
        const auto &table = e4m3Table();
        const std::uint8_t *codes = t.codes + r * cols;
        const auto scaleCols = (cols + t.blockCols - 1) / t.blockCols;
        const auto scaleRow = (r / t.blockRows) * scaleCols;
        for (std::int64_t b = 0; b < scaleCols; ++b) {
            const float s = scaleAt(t, scaleRow + b);
            const auto end = std::min(cols, (b + 1) * t.blockCols);
            for (std::int64_t c = b * t.blockCols; c < end; ++c)
                out[c] = store(table[codes[c]] * s);
        }
        return;
    }
    const auto groups = cols / 32;
    const std::uint8_t *blocks = t.codes + r * groups * 16;
    const auto *scales = static_cast<const std::uint8_t *>(t.scales) + r * groups;
    for (std::int64_t g = 0; g < groups; ++g) {
        const float s = e8m0(scales[g]);
        for (int j = 0; j < 16; ++j) {
            const std::uint8_t byte = blocks[g * 16 + j];
            out[g * 32 + 2 * j] = store(kFp4[byte & 0x0F] * s);
            out[g * 32 + 2 * j + 1] = store(kFp4[byte >> 4] * s);
        }
    }
}

} // namespace

float e4m3(std::uint8_t code)
{
    return e4m3Table()[code];
}

float fp4(std::uint8_t nibble)
{
    return kFp4[nibble & 0x0F];
}

float e8m0(std::uint8_t code)
{
    return std::ldexp(1.0f, static_cast<int>(code) - 127);
}

std::uint16_t bf16Bits(float value)
{
    std::uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    if (std::isnan(value))
        return 0x7FC0;
    const std::uint32_t rounding = 0x7FFF + ((bits >> 16) & 1);
    return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

std::int64_t QuantizedTensor::numel() const
{
    std::int64_t n = 1;
    for (auto d : shape)
        n *= d;
    return n;
}

std::uint64_t QuantizedTensor::storedBytes() const
{
    const auto n = static_cast<std::uint64_t>(numel());
    if (format == Format::Mxfp4)
        return n / 2 + n / 32;
    const auto matrices = static_cast<std::uint64_t>(numel() / std::max<std::int64_t>(1, rows() * cols()));
    const auto grid = static_cast<std::uint64_t>(((rows() + blockRows - 1) / blockRows)
                                                 * ((cols() + blockCols - 1) / blockCols));
    return n + matrices * grid * (bf16Scales ? 2 : 4);
}

QuantizedTensor QuantizedTensor::matrix(std::int64_t i) const
{
    if (shape.size() != 3 || i < 0 || i >= shape[0])
        throw Error(file, "'" + name + "' has no matrix " + std::to_string(i));
    QuantizedTensor m = *this;
    m.shape = {shape[1], shape[2]};
    const auto values = shape[1] * shape[2];
    if (format == Format::Mxfp4) {
        m.codes = codes + i * values / 2;
        m.scales = static_cast<const std::uint8_t *>(scales) + i * values / 32;
    } else {
        const auto grid = ((shape[1] + blockRows - 1) / blockRows) * ((shape[2] + blockCols - 1) / blockCols);
        m.codes = codes + i * values;
        m.scales = static_cast<const std::byte *>(scales) + i * grid * (bf16Scales ? 2 : 4);
    }
    m.name = name + "[" + std::to_string(i) + "]";
    return m;
}

void QuantizedTensor::decodeRows(std::int64_t first, std::int64_t last, float *out) const
{
    for (auto r = first; r < last; ++r)
        decodeRow(*this, r, out + (r - first) * cols(), [](float v) { return v; });
}

void QuantizedTensor::decodeRows(std::int64_t first, std::int64_t last, std::uint16_t *out) const
{
    for (auto r = first; r < last; ++r)
        decodeRow(*this, r, out + (r - first) * cols(), [](float v) { return bf16Bits(v); });
}

void QuantizedTensor::decode(float *out) const
{
    decodeRows(0, rows(), out);
}

void QuantizedTensor::decode(std::uint16_t *out) const
{
    decodeRows(0, rows(), out);
}

namespace {

bool endsWith(const std::string &s, const std::string &suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const char *methodName(QuantMethod m)
{
    return m == QuantMethod::Fp8Block ? "fp8" : m == QuantMethod::Mxfp4 ? "mxfp4" : "none";
}

void requireMethod(const Checkpoint &checkpoint, QuantMethod wanted, const std::string &file,
                   const std::string &tensor, const char *what)
{
    const auto have = checkpoint.spec().quantization.method;
    if (have != wanted)
        throw Error(file, "'" + tensor + "' is " + what + " but config.json's quantization_config.quant_method is '"
                              + methodName(have) + "' (needs '" + methodName(wanted) + "')");
}

QuantizedTensor fp8Tensor(const Checkpoint &checkpoint, const std::string &name, const Checkpoint::Entry &weight)
{
    const auto &file = weight.file->path();
    const auto &rec = *weight.record;
    requireMethod(checkpoint, QuantMethod::Fp8Block, file, name, "float8 e4m3");
    if (rec.shape.size() != 2)
        throw Error(file, "'" + name + "' is F8_E4M3 of shape " + shapeText(rec.shape)
                              + "; block-quantised weights must be 2-D [out, in]");
    const auto scaleName = name + "_scale_inv";
    const auto *scale = checkpoint.find(scaleName);
    if (!scale)
        throw Error(file, "'" + name + "' is F8_E4M3 but its block scales '" + scaleName + "' are missing");
    const auto &q = checkpoint.spec().quantization;
    const std::int64_t bm = q.blockRows, bn = q.blockCols;
    const std::vector<std::int64_t> grid = {(rec.shape[0] + bm - 1) / bm, (rec.shape[1] + bn - 1) / bn};
    const auto &srec = *scale->record;
    if (srec.dtype != DType::F32 && srec.dtype != DType::BF16)
        throw Error(scale->file->path(), "'" + scaleName + "' is " + dtypeName(srec.dtype) + "; block scales must be F32 or BF16");
    if (srec.shape != grid)
        throw Error(scale->file->path(), "'" + scaleName + "' has shape " + shapeText(srec.shape) + ", but "
                                             + shapeText(rec.shape) + " in " + std::to_string(bm) + "x"
                                             + std::to_string(bn) + " blocks needs " + shapeText(grid));
    QuantizedTensor t;
    t.format = Format::Fp8Block;
    t.file = file;
    t.name = name;
    t.shape = rec.shape;
    t.codes = reinterpret_cast<const std::uint8_t *>(weight.file->data(rec));
    t.scales = scale->file->data(srec);
    t.bf16Scales = srec.dtype == DType::BF16;
    t.blockRows = bm;
    t.blockCols = bn;
    return t;
}

QuantizedTensor mxfp4Tensor(const Checkpoint &checkpoint, const std::string &name, const Checkpoint::Entry &blocks)
{
    const auto &file = blocks.file->path();
    const auto &rec = *blocks.record;
    const auto blocksName = name + "_blocks", scalesName = name + "_scales";
    requireMethod(checkpoint, QuantMethod::Mxfp4, file, blocksName, "MXFP4");
    if (rec.dtype != DType::U8)
        throw Error(file, "'" + blocksName + "' is " + dtypeName(rec.dtype) + "; MXFP4 blocks must be U8");
    if (rec.shape.size() < 3 || rec.shape.back() != 16)
        throw Error(file, "'" + blocksName + "' has shape " + shapeText(rec.shape)
                              + "; MXFP4 blocks must be [..., rows, groups, 16] (16 bytes = 32 values per group)");
    const auto *scale = checkpoint.find(scalesName);
    if (!scale)
        throw Error(file, "'" + blocksName + "' has no e8m0 scales '" + scalesName + "'");
    const auto &srec = *scale->record;
    const std::vector<std::int64_t> want(rec.shape.begin(), rec.shape.end() - 1);
    if (srec.dtype != DType::U8)
        throw Error(scale->file->path(), "'" + scalesName + "' is " + dtypeName(srec.dtype) + "; e8m0 scales must be U8");
    if (srec.shape != want)
        throw Error(scale->file->path(), "'" + scalesName + "' has shape " + shapeText(srec.shape) + ", but "
                                             + blocksName + " " + shapeText(rec.shape) + " needs " + shapeText(want));
    QuantizedTensor t;
    t.format = Format::Mxfp4;
    t.file = file;
    t.name = name;
    t.shape = want;
    t.shape.back() *= 32;
    t.codes = reinterpret_cast<const std::uint8_t *>(blocks.file->data(rec));
    t.scales = scale->file->data(srec);
    return t;
}

} // namespace

std::optional<QuantizedTensor> findQuantized(const Checkpoint &checkpoint, const std::string &name)
{
    if (const auto *entry = checkpoint.find(name)) {
        if (entry->record->dtype == DType::F8_E4M3)
            return fp8Tensor(checkpoint, name, *entry);
        if (entry->record->dtype == DType::F8_E5M2)
            throw Error(entry->file->path(), "'" + name + "' is F8_E5M2; only e4m3 block-quantised weights are supported");
        return std::nullopt;
    }
    if (const auto *blocks = checkpoint.find(name + "_blocks"))
        return mxfp4Tensor(checkpoint, name, *blocks);
    return std::nullopt;
}

bool isQuantizationPart(const Checkpoint &checkpoint, const TensorRecord &record)
{
    const auto &n = record.name;
    auto partner = [&](const std::string &suffix, const std::string &other) {
        return endsWith(n, suffix) && checkpoint.find(n.substr(0, n.size() - suffix.size()) + other);
    };
    return record.dtype == DType::F8_E4M3 || record.dtype == DType::F8_E5M2
           || partner("_scale_inv", "") || partner("_blocks", "_scales") || partner("_scales", "_blocks");
}

} // namespace moescope::model::quant

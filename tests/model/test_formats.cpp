// Checkpoint formats beyond plain safetensors (docs/engine.md, "Checkpoint
// formats"): the FP8 / MXFP4 decoders against FORMATS.md's worked examples
// and hand-made scale grids, the errors for malformed files, quantised
// weights kept as stored at bf16 compute, and transformers-v5 packed experts
// restacked from the fixtures. The fp32 reference checks of the quantised
// fixtures are test_reference.cpp's.
#include "model_test_support.h"

#include "core/common/error.h"
#include "core/model/decoder.h"
#include "core/model/model_info.h"
#include "core/model/moe_model.h"
#include "core/model/quantized_weights.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <limits>

using namespace moescope;
using namespace moescope::model;
using moescope::test::errorOf;
using moescope::test::fixtureDir;
using moescope::test::maxAbsDiff;
using moescope::test::TempDir;

namespace {

// A stored tensor with its dtype and bytes as they are (F8 stays F8).
struct RawTensor
{
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    std::vector<std::byte> bytes;
};

std::vector<RawTensor> rawTensors(const std::string &fixture)
{
    const auto file = SafetensorsFile::open(fixtureDir(fixture) + "/model.safetensors");
    std::vector<RawTensor> out;
    for (const auto &rec : file->tensors()) {
        const auto *data = file->data(rec);
        out.push_back({rec.name, rec.dtype, rec.shape, std::vector<std::byte>(data, data + rec.byteSize())});
    }
    return out;
}

RawTensor &named(std::vector<RawTensor> &list, const std::string &name)
{
    for (auto &t : list)
        if (t.name == name)
            return t;
    throw std::runtime_error("no tensor " + name);
}

void eraseNamed(std::vector<RawTensor> &list, const std::string &name)
{
    list.erase(std::remove_if(list.begin(), list.end(), [&](const RawTensor &t) { return t.name == name; }),
               list.end());
}

void writeRaw(const std::filesystem::path &dir, const nlohmann::json &config, const std::vector<RawTensor> &tensors)
{
    test::writeText(dir / "config.json", config.dump(2));
    SafetensorsWriter writer;
    for (const auto &t : tensors)
        writer.add(t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size());
    writer.write((dir / "model.safetensors").string());
}

RawTensor rawOf(const std::string &name, const at::Tensor &tensor, DType dtype)
{
    const auto t = tensor.contiguous();
    const auto *p = static_cast<const std::byte *>(t.data_ptr());
    return {name, dtype, t.sizes().vec(), std::vector<std::byte>(p, p + t.numel() * t.element_size())};
}

float floatOfBits(std::uint32_t bits)
{
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

std::string errorLoading(const std::string &dir)
{
    return errorOf([&] { MoeModel::load(dir, {ComputeDtype::Float32, 1}); });
}

} // namespace

// ------------------------------------------------------------ decoders

TEST(QuantDecoders, E4m3MatchesTheBitLayout)
{
    // FORMATS.md (b): the worked example's codes.
    EXPECT_EQ(quant::e4m3(0xED), -104.0f);
    EXPECT_EQ(quant::e4m3(0x70), 128.0f);
    EXPECT_EQ(quant::e4m3(0x69), 72.0f);
    EXPECT_EQ(quant::e4m3(0xF4), -192.0f);
    // 1.0 = exponent 7, the largest finite value, the smallest normal and subnormals.
    EXPECT_EQ(quant::e4m3(0x38), 1.0f);
    EXPECT_EQ(quant::e4m3(0x7E), 448.0f);
    EXPECT_EQ(quant::e4m3(0xFE), -448.0f);
    EXPECT_EQ(quant::e4m3(0x08), std::ldexp(1.0f, -6));
    EXPECT_EQ(quant::e4m3(0x01), std::ldexp(1.0f, -9));
    EXPECT_EQ(quant::e4m3(0x07), 7.0f * std::ldexp(1.0f, -9));
    EXPECT_EQ(quant::e4m3(0x00), 0.0f);
    EXPECT_TRUE(std::signbit(quant::e4m3(0x80)));
    EXPECT_TRUE(std::isnan(quant::e4m3(0x7F)));
    EXPECT_TRUE(std::isnan(quant::e4m3(0xFF)));
    // Monotonic over the positive codes: no gaps or overlaps between binades.
    for (int c = 1; c < 0x7F; ++c)
        EXPECT_LT(quant::e4m3(static_cast<std::uint8_t>(c - 1)), quant::e4m3(static_cast<std::uint8_t>(c))) << c;
}

TEST(QuantDecoders, Fp4E8m0AndBf16Rounding)
{
    const float expected[16] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f,
                                -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};
    for (int i = 0; i < 16; ++i)
        EXPECT_EQ(quant::fp4(static_cast<std::uint8_t>(i)), expected[i]) << i;
    EXPECT_TRUE(std::signbit(quant::fp4(8)));
    EXPECT_EQ(quant::e8m0(127), 1.0f);
    EXPECT_EQ(quant::e8m0(123), 0.0625f);
    EXPECT_EQ(quant::e8m0(130), 8.0f);
    EXPECT_EQ(quant::e8m0(0), std::ldexp(1.0f, -127));
    // Round to nearest even at the bf16 boundary (1 + 2^-8 is a tie).
    EXPECT_EQ(quant::bf16Bits(1.0f), 0x3F80);
    EXPECT_EQ(quant::bf16Bits(1.0f + std::ldexp(1.0f, -8)), 0x3F80);
    EXPECT_EQ(quant::bf16Bits(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);
    EXPECT_EQ(quant::bf16Bits(-2.0f), 0xC000);
}

TEST(QuantDecoders, Fp8WorkedExampleOfTheFixture)
{
    const auto ckpt = Checkpoint::open(fixtureDir("deepseek_v3-fp8"));
    const auto t = quant::findQuantized(*ckpt, "model.layers.1.self_attn.kv_a_proj_with_mqa.weight");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->shape, (std::vector<std::int64_t>{24, 64}));
    EXPECT_EQ(t->blockRows, 32);
    std::vector<float> w(24 * 64);
    t->decode(w.data());
    const float s0 = floatOfBits(0x3A600000), s1 = floatOfBits(0x3A36DB6E);
    EXPECT_EQ(w[0], -104.0f * s0);
    EXPECT_NEAR(w[0], -0.08886719, 1e-8);
    EXPECT_EQ(w[1], 0.109375f);
    EXPECT_EQ(w[23 * 64 + 32], 72.0f * s1);
    EXPECT_NEAR(w[23 * 64 + 32], 0.050223216, 1e-8);
    EXPECT_EQ(w[23 * 64 + 63], -192.0f * s1);
    // bf16 decoding is the float product rounded once.
    std::vector<std::uint16_t> b(24 * 64);
    t->decode(b.data());
    for (std::size_t i = 0; i < w.size(); ++i)
        ASSERT_EQ(b[i], quant::bf16Bits(w[i])) << i;
    // A plain tensor is not quantised.
    EXPECT_FALSE(quant::findQuantized(*ckpt, "model.layers.1.mlp.gate.weight"));
}

TEST(QuantDecoders, Mxfp4WorkedExampleOfTheFixture)
{
    const auto ckpt = Checkpoint::open(fixtureDir("gpt_oss-mxfp4"));
    const auto t = quant::findQuantized(*ckpt, "model.layers.0.mlp.experts.gate_up_proj");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->format, quant::Format::Mxfp4);
    EXPECT_EQ(t->shape, (std::vector<std::int64_t>{8, 64, 64})); // [E, 2I, H]: output-major
    const auto expert0 = t->matrix(0);
    std::vector<float> w(64 * 64);
    expert0.decode(w.data());
    // Output row n = 0 (a gate column of gate_up_proj), inputs k = 0..3.
    EXPECT_EQ(w[0], -0.09375f);
    EXPECT_EQ(w[1], -0.125f);
    EXPECT_EQ(w[2], -0.125f);
    EXPECT_EQ(w[3], -0.09375f);
    // Every MXFP4 value is exact in bf16.
    std::vector<std::uint16_t> b(64 * 64);
    expert0.decode(b.data());
    for (std::size_t i = 0; i < w.size(); ++i)
        ASSERT_EQ(static_cast<std::uint32_t>(b[i]) << 16, [&] {
            std::uint32_t bits;
            std::memcpy(&bits, &w[i], sizeof bits);
            return bits;
        }()) << i;
    // Expert 7 starts 7 matrices further in the blocks and scales.
    const auto last = t->matrix(7);
    EXPECT_EQ(last.codes, t->codes + 7 * 64 * 2 * 16);
}

namespace {

// A [5, 7] FP8 weight in [2, 3] blocks: scale grid [3, 3], last block row of
// 1 row, last block column of 1 column. Every code is 1.0 except [4, 6]
// (2.0) and [0, 0] (-0.5), so W[r, c] shows the scale that covers it.
void writePartialBlockCheckpoint(const std::filesystem::path &dir, DType scaleType)
{
    auto config = test::fixtureConfig("qwen3_moe-fp8");
    config["quantization_config"]["weight_block_size"] = {2, 3};
    std::vector<std::uint8_t> codes(35, 0x38);
    codes[4 * 7 + 6] = 0x40; // 2.0
    codes[0] = 0xB0;         // -0.5
    std::vector<float> scales(9);
    for (int i = 0; i < 9; ++i)
        scales[static_cast<std::size_t>(i)] = static_cast<float>(i + 1) * 0.25f; // exact in bf16
    std::vector<RawTensor> tensors;
    tensors.push_back({"w.weight", DType::F8_E4M3, {5, 7},
                       std::vector<std::byte>(reinterpret_cast<const std::byte *>(codes.data()),
                                              reinterpret_cast<const std::byte *>(codes.data()) + codes.size())});
    const auto scaleTensor = at::from_blob(scales.data(), {3, 3}, at::kFloat);
    tensors.push_back(scaleType == DType::BF16 ? rawOf("w.weight_scale_inv", scaleTensor.to(at::kBFloat16), DType::BF16)
                                               : rawOf("w.weight_scale_inv", scaleTensor, DType::F32));
    writeRaw(dir, config, tensors);
}

} // namespace

TEST(QuantDecoders, PartialEdgeBlocksUseTheirOwnScaleWithF32AndBf16Scales)
{
    for (const auto scaleType : {DType::F32, DType::BF16}) {
        TempDir tmp;
        writePartialBlockCheckpoint(tmp.path(), scaleType);
        const auto ckpt = Checkpoint::open(tmp.str());
        const auto t = quant::findQuantized(*ckpt, "w.weight");
        ASSERT_TRUE(t);
        EXPECT_EQ(t->bf16Scales, scaleType == DType::BF16);
        std::vector<float> w(35);
        t->decode(w.data());
        for (int r = 0; r < 5; ++r)
            for (int c = 0; c < 7; ++c) {
                const float scale = static_cast<float>((r / 2) * 3 + c / 3 + 1) * 0.25f;
                float code = 1.0f;
                if (r == 4 && c == 6)
                    code = 2.0f;
                if (r == 0 && c == 0)
                    code = -0.5f;
                EXPECT_EQ(w[static_cast<std::size_t>(r * 7 + c)], code * scale) << r << "," << c;
            }
        // The corner block [2, 2] (one row, one column) has scale 9 * 0.25.
        EXPECT_EQ(w[34], 2.0f * 2.25f);

        // The layers' view: kept as stored at bf16, decoded once at fp32, same values.
        const WeightStore bf16Store(ckpt, at::kBFloat16), fp32Store(ckpt, at::kFloat);
        const auto lazy = Projection::linear(bf16Store, "w", false);
        EXPECT_TRUE(lazy.quantized);
        EXPECT_FALSE(lazy.weight.defined());
        EXPECT_EQ(lazy.outFeatures(), 5);
        const auto eager = Projection::linear(fp32Store, "w", false);
        EXPECT_FALSE(eager.quantized);
        ASSERT_TRUE(eager.weight.defined());
        EXPECT_EQ(eager.weight.scalar_type(), at::kFloat);
        EXPECT_EQ(maxAbsDiff(eager.weight, at::from_blob(w.data(), {5, 7}, at::kFloat)), 0.0);
        EXPECT_EQ(maxAbsDiff(lazy.dense().to(at::kFloat), eager.weight), 0.0); // all exact in bf16
        // A product through the transient decode: bf16 output rounding only.
        const auto x = at::randn({3, 7}).to(at::kBFloat16);
        const auto y = lazy(x).to(at::kFloat), expected = at::linear(x.to(at::kFloat), eager.weight);
        EXPECT_TRUE(at::allclose(y, expected, /*rtol=*/1e-2, /*atol=*/1e-3)) << (y - expected).abs().max().item<double>();
    }
}

// ------------------------------------------------------------ bad files

TEST(QuantErrors, BadScalesAndBlocksNameTheFileAndTensor)
{
    const std::string kv = "model.layers.1.self_attn.kv_a_proj_with_mqa.weight";
    {
        TempDir tmp;
        auto tensors = rawTensors("deepseek_v3-fp8");
        eraseNamed(tensors, kv + "_scale_inv");
        writeRaw(tmp.path(), test::fixtureConfig("deepseek_v3-fp8"), tensors);
        const auto e = errorLoading(tmp.str());
        EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
        EXPECT_NE(e.find(kv + "_scale_inv"), std::string::npos) << e;
        EXPECT_NE(e.find("missing"), std::string::npos) << e;
        EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    }
    {
        // A full-block grid where the 24-row matrix needs one partial block row.
        TempDir tmp;
        auto tensors = rawTensors("deepseek_v3-fp8");
        auto &scale = named(tensors, kv + "_scale_inv");
        scale.shape = {2, 1};
        writeRaw(tmp.path(), test::fixtureConfig("deepseek_v3-fp8"), tensors);
        const auto e = errorLoading(tmp.str());
        EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
        EXPECT_NE(e.find(kv + "_scale_inv' has shape [2, 1]"), std::string::npos) << e;
        EXPECT_NE(e.find("needs [1, 2]"), std::string::npos) << e;
    }
    {
        TempDir tmp;
        auto tensors = rawTensors("deepseek_v3-fp8");
        named(tensors, kv + "_scale_inv").dtype = DType::I32;
        writeRaw(tmp.path(), test::fixtureConfig("deepseek_v3-fp8"), tensors);
        const auto e = errorLoading(tmp.str());
        EXPECT_NE(e.find("F32 or BF16"), std::string::npos) << e;
    }
    const std::string gateUp = "model.layers.1.mlp.experts.gate_up_proj";
    {
        // 15-byte blocks: not 32 values per group.
        TempDir tmp;
        auto tensors = rawTensors("gpt_oss-mxfp4");
        auto &blocks = named(tensors, gateUp + "_blocks");
        blocks.shape = {8, 64, 2, 15};
        blocks.bytes.resize(8 * 64 * 2 * 15);
        writeRaw(tmp.path(), test::fixtureConfig("gpt_oss-mxfp4"), tensors);
        const auto e = errorLoading(tmp.str());
        EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
        EXPECT_NE(e.find(gateUp + "_blocks' has shape [8, 64, 2, 15]"), std::string::npos) << e;
    }
    {
        TempDir tmp;
        auto tensors = rawTensors("gpt_oss-mxfp4");
        eraseNamed(tensors, gateUp + "_scales");
        writeRaw(tmp.path(), test::fixtureConfig("gpt_oss-mxfp4"), tensors);
        const auto e = errorLoading(tmp.str());
        EXPECT_NE(e.find(gateUp + "_scales"), std::string::npos) << e;
    }
    {
        TempDir tmp;
        auto tensors = rawTensors("gpt_oss-mxfp4");
        auto &scales = named(tensors, gateUp + "_scales");
        scales.shape = {8, 128, 1};
        writeRaw(tmp.path(), test::fixtureConfig("gpt_oss-mxfp4"), tensors);
        const auto e = errorLoading(tmp.str());
        EXPECT_NE(e.find(gateUp + "_scales' has shape [8, 128, 1]"), std::string::npos) << e;
    }
    {
        // Blocks of the right structure that decode to the wrong width for the config.
        TempDir tmp;
        auto tensors = rawTensors("gpt_oss-mxfp4");
        auto config = test::fixtureConfig("gpt_oss-mxfp4");
        config["intermediate_size"] = 16;
        writeRaw(tmp.path(), config, tensors);
        const auto e = errorLoading(tmp.str());
        EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
        EXPECT_NE(e.find("decodes to [8, 64, 64]"), std::string::npos) << e;
    }
}

TEST(QuantErrors, ConfigMustDeclareAKnownMethod)
{
    {
        TempDir tmp;
        auto config = test::fixtureConfig("qwen3_moe-fp8");
        config["quantization_config"]["quant_method"] = "gptq";
        writeRaw(tmp.path(), config, rawTensors("qwen3_moe-fp8"));
        const auto e = errorLoading(tmp.str());
        EXPECT_NE(e.find("config.json"), std::string::npos) << e;
        EXPECT_NE(e.find("'gptq'"), std::string::npos) << e;
    }
    {
        TempDir tmp;
        auto config = test::fixtureConfig("qwen3_moe-fp8");
        config["quantization_config"]["weight_block_size"] = {128};
        writeRaw(tmp.path(), config, rawTensors("qwen3_moe-fp8"));
        EXPECT_NE(errorLoading(tmp.str()).find("weight_block_size"), std::string::npos);
    }
    {
        // F8 bytes without an fp8 quantization_config.
        TempDir tmp;
        auto config = test::fixtureConfig("qwen3_moe-fp8");
        config.erase("quantization_config");
        writeRaw(tmp.path(), config, rawTensors("qwen3_moe-fp8"));
        const auto e = errorLoading(tmp.str());
        EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
        EXPECT_NE(e.find("quant_method is 'none'"), std::string::npos) << e;
    }
}

// ------------------------------------------------------------ bf16 compute

// The default dtype keeps quantised weights as stored: projections decode per
// product (FP8) and routed experts are MXFP4 views decoded per use.
TEST(QuantizedBf16, WeightsStayQuantisedAndMatchDecodingAtLoad)
{
    for (const std::string fixture : {"deepseek_v3-fp8", "qwen3_moe-fp8", "gpt_oss-mxfp4"}) {
        const auto dir = fixtureDir(fixture);
        const auto ckpt = Checkpoint::open(dir);
        const WeightStore store(ckpt, at::kBFloat16);
        const auto &spec = ckpt->spec();
        const auto experts = loadExperts(spec, store, spec.moeLayers().front());
        for (const auto &mlp : experts) {
            EXPECT_TRUE(mlp.down.quantized) << fixture;
            EXPECT_FALSE(mlp.down.weight.defined()) << fixture;
        }

        // A plain bf16 twin decoded at load (WeightStore::get) runs the same numbers.
        TempDir tmp;
        std::vector<std::pair<std::string, at::Tensor>> twin;
        for (const auto &file : ckpt->files())
            for (const auto &rec : file->tensors()) {
                if (quant::isQuantizationPart(*ckpt, rec) && rec.dtype != DType::F8_E4M3
                    && rec.name.find("_blocks") == std::string::npos)
                    continue;
                std::string name = rec.name;
                if (name.size() > 7 && name.compare(name.size() - 7, 7, "_blocks") == 0)
                    name.resize(name.size() - 7);
                auto t = store.get(name);
                if (quant::findQuantized(*ckpt, name) && t.dim() == 3) // MXFP4 [E, out, in] -> gpt_oss [E, in, out]
                    t = t.transpose(1, 2).contiguous();
                twin.emplace_back(name, t);
            }
        auto config = test::fixtureConfig(fixture);
        config.erase("quantization_config");
        test::writeModel(tmp.path(), config, twin);

        const auto quantised = MoeModel::load(dir);
        const auto plain = MoeModel::load(tmp.str());
        ASSERT_EQ(quantised.computeDtypeName(), "bf16");
        ASSERT_EQ(plain.computeDtypeName(), "bf16");
        const auto ids = test::fixtureIds(fixture);
        RoutingCapture a, b;
        const auto la = test::logitsOf(quantised, ids, {}, &a);
        const auto lb = test::logitsOf(plain, ids, {}, &b);
        // Only bf16-level agreement (routing identical, logits close): the
        // quantised experts, decoded per step, run through GatedMlp (routing
        // weight after `down`, sums in bf16) while the plain twin's bf16
        // experts take the MoE block's kernel loop (weight before `down`,
        // sums in fp32); the MXFP4 twin is also input-major (x @ W).
        EXPECT_LE((la - lb).abs().mean().item<double>(), 0.01) << fixture;
        EXPECT_LE(maxAbsDiff(la, lb), 0.1) << fixture;
        for (const auto &[layer, c] : a.layers)
            EXPECT_EQ(test::compareTopk(c.topkIdx, c.topkWeights, b.layers.at(layer).topkIdx,
                                        b.layers.at(layer).topkWeights)
                          .mismatchedRows,
                      0)
                << fixture << " layer " << layer;
    }
}

// ------------------------------------------------------------ shards

// The quantised fixtures split over three shards round-robin, so a weight's
// codes and its scales (or blocks and scales) sit in different files.
TEST(QuantizedShards, ScalesInAnotherShardStillMatchTheReference)
{
    for (const std::string fixture : {"deepseek_v3-fp8", "gpt_oss-mxfp4"}) {
        TempDir tmp;
        const auto tensors = rawTensors(fixture);
        test::writeText(tmp.path() / "config.json", test::fixtureConfig(fixture).dump(2));
        nlohmann::json index = {{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
        std::vector<SafetensorsWriter> writers(3);
        for (std::size_t i = 0; i < tensors.size(); ++i) {
            const auto &t = tensors[i];
            writers[i % 3].add(t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size());
            index["weight_map"][t.name] = "model-" + std::to_string(i % 3 + 1) + "-of-3.safetensors";
        }
        for (int s = 0; s < 3; ++s)
            writers[static_cast<std::size_t>(s)].write(tmp.str("model-" + std::to_string(s + 1) + "-of-3.safetensors"));
        test::writeText(tmp.path() / "model.safetensors.index.json", index.dump(2));

        const auto model = MoeModel::load(tmp.str(), {ComputeDtype::Float32, 0});
        const auto ref = SafetensorsFile::open(fixtureDir(fixture) + "/reference.safetensors");
        EXPECT_LE(maxAbsDiff(test::logitsOf(model, readTensor(*ref, "input_ids")), readTensor(*ref, "logits")), 1e-4)
            << fixture;
    }
}

// ------------------------------------------------------------ v5 packed experts

namespace {

// The fixture's per-expert tensors restacked as transformers v5 holds them:
// <layer>mlp.experts.gate_up_proj [E, 2I, H] (gate rows first) and
// down_proj [E, H, I]; mixtral's block_sparse_moe. becomes mlp.
std::vector<std::pair<std::string, at::Tensor>> packedExperts(const std::string &family)
{
    const auto ckpt = Checkpoint::open(fixtureDir(family));
    const auto &spec = ckpt->spec();
    const auto &n = spec.names;
    auto tensors = test::fixtureTensors(family);
    std::map<std::string, at::Tensor> byName(tensors.begin(), tensors.end());
    std::vector<std::pair<std::string, at::Tensor>> out;
    const auto moeLayers = spec.moeLayers();
    for (const auto &[name, t] : tensors) {
        if (name.find(".experts.") != std::string::npos)
            continue;
        std::string renamed = name;
        const auto pos = renamed.find("block_sparse_moe.");
        if (pos != std::string::npos)
            renamed.replace(pos, std::string("block_sparse_moe.").size(), "mlp.");
        out.emplace_back(renamed, t);
    }
    for (int l : moeLayers) {
        std::vector<at::Tensor> gateUp, down;
        for (int e = 0; e < spec.moe.numExperts; ++e) {
            const auto p = ModelSpec::expand(n.layer + n.moe + n.expert, l, e);
            gateUp.push_back(at::cat({byName.at(p + n.gateProj + ".weight"), byName.at(p + n.upProj + ".weight")}, 0));
            down.push_back(byName.at(p + n.downProj + ".weight"));
        }
        const auto prefix = ModelSpec::expand(n.layer, l) + "mlp.experts.";
        out.emplace_back(prefix + "gate_up_proj", at::stack(gateUp));
        out.emplace_back(prefix + "down_proj", at::stack(down));
    }
    return out;
}

} // namespace

class PackedExperts : public ::testing::TestWithParam<std::string>
{
};

TEST_P(PackedExperts, RestackedFolderMatchesTheReference)
{
    TempDir tmp;
    test::writeModel(tmp.path(), test::fixtureConfig(GetParam()), packedExperts(GetParam()), 2);
    const auto info = inspectModel(tmp.str());
    EXPECT_NE(info.format.find("packed experts"), std::string::npos) << info.format;
    const auto model = MoeModel::load(tmp.str(), {ComputeDtype::Float32, 0});
    EXPECT_EQ(model.spec().moe.layout, ExpertLayout::StackedGateUp);
    const auto ref = SafetensorsFile::open(fixtureDir(GetParam()) + "/reference.safetensors");
    RoutingCapture capture;
    const auto logits = test::logitsOf(model, readTensor(*ref, "input_ids"), {}, &capture);
    EXPECT_LE(maxAbsDiff(logits, readTensor(*ref, "logits")), 1e-4);
    for (const auto &[layer, c] : capture.layers) {
        const auto name = std::to_string(layer);
        const auto cmp = test::compareTopk(c.topkIdx, c.topkWeights, readTensor(*ref, "topk_idx." + name),
                                           readTensor(*ref, "topk_w." + name));
        EXPECT_EQ(cmp.mismatchedRows, 0) << "layer " << layer;
        EXPECT_LE(cmp.maxWeightDiff, 1e-5) << "layer " << layer;
    }
    // The KV-cached greedy continuation, as the reference made it.
    const auto ids = readTensor(*ref, "input_ids");
    std::vector<std::vector<std::int64_t>> prompts;
    for (std::int64_t b = 0; b < ids.size(0); ++b)
        prompts.push_back(test::rowOf(ids, b));
    GenerationOptions options;
    options.maxNewTokens = 8;
    options.stopTokens = std::vector<std::int64_t>{};
    const auto result = model.generate(prompts, options);
    const auto expected = readTensor(*ref, "generated_ids");
    for (std::size_t b = 0; b < result.tokens.size(); ++b)
        EXPECT_EQ(result.tokens[b], test::rowOf(expected, static_cast<std::int64_t>(b))) << "row " << b;
}

INSTANTIATE_TEST_SUITE_P(TinyMoe, PackedExperts,
                         ::testing::Values("mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "deepseek_v3"));

// ------------------------------------------------------------ info

TEST(QuantizedInfo, FormatMemoryAndParameters)
{
    struct Case
    {
        const char *fixture, *twin, *format;
    };
    for (const auto &c : {Case{"gpt_oss-mxfp4", "gpt_oss-bf16", "MXFP4 experts, bf16 elsewhere"},
                          Case{"deepseek_v3-fp8", "deepseek_v3-bf16", "FP8 e4m3, 32\u00d732 blocks (fp32 scales), bf16 elsewhere"},
                          Case{"qwen3_moe-fp8", "qwen3_moe-bf16", "FP8 e4m3, 128\u00d7128 blocks (fp32 scales), bf16 elsewhere"}}) {
        const auto info = inspectModel(fixtureDir(c.fixture));
        const auto twin = inspectModel(fixtureDir(c.twin));
        EXPECT_EQ(info.format, c.format);
        EXPECT_EQ(info.computeDtype, "bf16");
        // Parameters are what the weights decode to, as for the bf16 twin.
        EXPECT_EQ(info.totalParameters, twin.totalParameters) << c.fixture;
        EXPECT_EQ(info.activeParameters, twin.activeParameters) << c.fixture;
        // bf16 compute maps the file (plus small conversions and one decoded
        // matrix); fp32 holds 4 bytes per parameter.
        std::uint64_t fileBytes = 0;
        for (const auto &f : info.files)
            fileBytes += f.second;
        EXPECT_LT(info.memoryBytes, fileBytes + 64 * 1024) << c.fixture;
        EXPECT_LT(info.memoryBytes, twin.memoryBytes) << c.fixture;
        EXPECT_GE(info.memoryBytesFp32, 4 * info.totalParameters) << c.fixture;
        EXPECT_NE(formatModelInfo(info).find(c.format), std::string::npos);
    }
    EXPECT_EQ(inspectModel(fixtureDir("mixtral")).format, "fp32");
}

// The one safetensors reader/writer: round trip, header validation, and the
// zero-copy mapping the engine relies on.
#include "model_test_support.h"

#include "core/common/error.h"
#include "core/model/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

using namespace moescope;
using namespace moescope::model;

TEST(Safetensors, WriteThenReadRoundTrips)
{
    test::TempDir tmp;
    const std::vector<float> values = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -8.5f};
    const std::vector<std::int64_t> ids = {3, 1, 4, 1, 5};
    SafetensorsWriter writer;
    writer.setMetadata("format", "pt");
    writer.add("values", DType::F32, {2, 3}, values.data(), values.size() * sizeof(float));
    writer.add("ids", DType::I64, {5}, ids.data(), ids.size() * sizeof(std::int64_t));
    writer.write(tmp.str("t.safetensors"));

    const auto file = SafetensorsFile::open(tmp.str("t.safetensors"));
    EXPECT_EQ(file->metadata().at("format"), "pt");
    const auto &v = file->get("values");
    EXPECT_EQ(v.dtype, DType::F32);
    EXPECT_EQ(v.shape, (std::vector<std::int64_t>{2, 3}));
    EXPECT_EQ(std::memcmp(file->data(v), values.data(), values.size() * sizeof(float)), 0);
    const auto &i = file->get("ids");
    EXPECT_EQ(std::memcmp(file->data(i), ids.data(), ids.size() * sizeof(std::int64_t)), 0);
    // The writer pads the header so tensors start 8-byte aligned.
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(file->data(i)) % 8, 0u);
    EXPECT_EQ(file->find("missing"), nullptr);
    EXPECT_THROW(file->get("missing"), Error);
}

TEST(Safetensors, WriterRejectsSizeMismatchAndDuplicates)
{
    SafetensorsWriter writer;
    const float x[2] = {1, 2};
    EXPECT_THROW(writer.add("x", DType::F32, {3}, x, sizeof x), Error);
    writer.add("x", DType::F32, {2}, x, sizeof x);
    EXPECT_THROW(writer.add("x", DType::F32, {2}, x, sizeof x), Error);
}

TEST(Safetensors, TruncatedAndMalformedFilesAreErrors)
{
    test::TempDir tmp;
    const std::vector<float> values(64, 1.0f);
    SafetensorsWriter writer;
    writer.add("values", DType::F32, {64}, values.data(), values.size() * sizeof(float));
    writer.write(tmp.str("full.safetensors"));
    const auto bytes = test::readText(tmp.path() / "full.safetensors");

    // Cut inside the tensor data.
    test::writeText(tmp.path() / "cut.safetensors", bytes.substr(0, bytes.size() - 10));
    EXPECT_THROW(SafetensorsFile::open(tmp.str("cut.safetensors")), Error);
    // Cut inside the header.
    test::writeText(tmp.path() / "header.safetensors", bytes.substr(0, 20));
    EXPECT_THROW(SafetensorsFile::open(tmp.str("header.safetensors")), Error);
    // Too short to hold the length.
    test::writeText(tmp.path() / "tiny.safetensors", "abc");
    EXPECT_THROW(SafetensorsFile::open(tmp.str("tiny.safetensors")), Error);
    // Header that is not JSON.
    std::string garbage(8, '\0');
    garbage[0] = 4;
    garbage += "nope";
    test::writeText(tmp.path() / "garbage.safetensors", garbage);
    EXPECT_THROW(SafetensorsFile::open(tmp.str("garbage.safetensors")), Error);
    // Missing file.
    try {
        SafetensorsFile::open(tmp.str("absent.safetensors"));
        FAIL() << "no error for a missing file";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("absent.safetensors"), std::string::npos);
    }
}

TEST(Safetensors, ReadsTheFixtureHeaderWithoutTouchingData)
{
    const auto file = SafetensorsFile::open(test::fixtureDir("mixtral") + "/model.safetensors");
    const auto &embed = file->get("model.embed_tokens.weight");
    EXPECT_EQ(embed.shape, (std::vector<std::int64_t>{512, 64}));
    EXPECT_EQ(embed.dtype, DType::F32);
    const auto bf16 = SafetensorsFile::open(test::fixtureDir("mixtral-bf16") + "/model.safetensors");
    EXPECT_EQ(bf16->get("model.embed_tokens.weight").dtype, DType::BF16);
}

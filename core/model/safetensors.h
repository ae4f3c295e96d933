#pragma once

// The one safetensors reader and writer of the project (format:
// github.com/huggingface/safetensors — 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
// then the raw little-endian tensor bytes). Torch-free: the engine wraps the
// mapped bytes with torch::from_blob elsewhere (weight_store.cpp).

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace moescope::model {

// F8_E4M3 / F8_E5M2: float8 bytes (torch 1.13 has no float8 type; the FP8
// block-quantised weights are decoded by quantized_weights.h).
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool, F8_E4M3, F8_E5M2 };

std::size_t dtypeSize(DType dtype);
std::string dtypeName(DType dtype); // the safetensors spelling: "F32", "BF16", ...

struct TensorRecord
{
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0; // offset of the first byte, relative to the data section
    std::uint64_t end = 0;

    std::int64_t numel() const;
    std::uint64_t byteSize() const { return end - begin; }
};

// A memory-mapped safetensors file. Opening parses only the header; tensor
// bytes are paged in by the OS when first touched.
class SafetensorsFile
{
public:
    // Throws moescope::Error naming the file on any malformed or truncated input.
    static std::shared_ptr<SafetensorsFile> open(const std::string &path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile &) = delete;
    SafetensorsFile &operator=(const SafetensorsFile &) = delete;

    const std::string &path() const { return m_path; }
    std::uint64_t fileSize() const { return m_fileSize; }
    const std::vector<TensorRecord> &tensors() const { return m_tensors; }
    const std::map<std::string, std::string> &metadata() const { return m_metadata; }

    const TensorRecord *find(const std::string &name) const;
    // Throws Error(path, "no tensor NAME") when absent.
    const TensorRecord &get(const std::string &name) const;
    const std::byte *data(const TensorRecord &record) const;

private:
    SafetensorsFile() = default;

    std::string m_path;
    std::uint64_t m_fileSize = 0;
    void *m_map = nullptr;
    const std::byte *m_dataSection = nullptr;
    std::vector<TensorRecord> m_tensors;
    std::map<std::string, std::size_t> m_index;
    std::map<std::string, std::string> m_metadata;
};

// Collects tensors and writes them as one safetensors file, atomically.
class SafetensorsWriter
{
public:
    void setMetadata(const std::string &key, const std::string &value);
    // Copies nbytes from data; nbytes must equal numel(shape) * dtypeSize(dtype).
    void add(const std::string &name, DType dtype, const std::vector<std::int64_t> &shape,
             const void *data, std::size_t nbytes);
    void write(const std::string &path) const;

private:
    struct Pending
    {
        std::string name;
        DType dtype;
        std::vector<std::int64_t> shape;
        std::vector<std::byte> bytes;
    };
    std::vector<Pending> m_tensors;
    std::map<std::string, std::string> m_metadata;
};

} // namespace moescope::model

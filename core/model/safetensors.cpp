#include "core/model/safetensors.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace moescope::model {

namespace {

// The header is JSON of a few KB to a few MB; anything larger is corrupt input.
constexpr std::uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

struct DTypeName
{
    DType dtype;
    const char *name;
    std::size_t size;
};

constexpr DTypeName kDTypes[] = {
    {DType::F64, "F64", 8},  {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},  {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
    {DType::Bool, "BOOL", 1}, {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
};

DType parseDType(const std::string &name, const std::string &path)
{
    for (const auto &d : kDTypes)
        if (name == d.name)
            return d.dtype;
    throw Error(path, "unsupported tensor dtype '" + name + "'");
}

} // namespace

std::size_t dtypeSize(DType dtype)
{
    for (const auto &d : kDTypes)
        if (d.dtype == dtype)
            return d.size;
    return 0;
}

std::string dtypeName(DType dtype)
{
    for (const auto &d : kDTypes)
        if (d.dtype == dtype)
            return d.name;
    return "?";
}

std::int64_t TensorRecord::numel() const
{
    std::int64_t n = 1;
    for (auto s : shape)
        n *= s;
    return n;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string &path)
{
    std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
    file->m_path = path;

    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        ::close(fd);
        throw Error(path, std::string("cannot stat: ") + std::strerror(errno));
    }
    file->m_fileSize = static_cast<std::uint64_t>(st.st_size);
    if (file->m_fileSize < 8) {
        ::close(fd);
        throw Error(path, "not a safetensors file (shorter than its 8-byte header length)");
    }
    void *map = mmap(nullptr, file->m_fileSize, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED)
        throw Error(path, std::string("cannot map: ") + std::strerror(errno));
    file->m_map = map;
    const auto *bytes = static_cast<const std::byte *>(map);

    std::uint64_t headerLen = 0;
    for (int i = 7; i >= 0; --i)
        headerLen = (headerLen << 8) | static_cast<std::uint8_t>(bytes[i]);
    if (headerLen > kMaxHeaderBytes || headerLen > file->m_fileSize - 8)
        throw Error(path, "truncated or not a safetensors file (header length "
                              + std::to_string(headerLen) + " exceeds the file)");
    const std::uint64_t dataSize = file->m_fileSize - 8 - headerLen;
    file->m_dataSection = bytes + 8 + headerLen;

    nlohmann::json header;
    try {
        header = nlohmann::json::parse(reinterpret_cast<const char *>(bytes + 8),
                                       reinterpret_cast<const char *>(bytes + 8 + headerLen));
    } catch (const nlohmann::json::exception &e) {
        throw Error(path, std::string("malformed safetensors header: ") + e.what());
    }
    if (!header.is_object())
        throw Error(path, "malformed safetensors header: not a JSON object");

    try {
        for (auto it = header.begin(); it != header.end(); ++it) {
            if (it.key() == "__metadata__") {
                for (auto m = it.value().begin(); m != it.value().end(); ++m)
                    if (m.value().is_string())
                        file->m_metadata[m.key()] = m.value().get<std::string>();
                continue;
            }
            const auto &v = it.value();
            TensorRecord rec;
            rec.name = it.key();
            rec.dtype = parseDType(v.at("dtype").get<std::string>(), path);
            rec.shape = v.at("shape").get<std::vector<std::int64_t>>();
            const auto offsets = v.at("data_offsets").get<std::vector<std::uint64_t>>();
            if (offsets.size() != 2 || offsets[0] > offsets[1])
                throw Error(path, "tensor '" + rec.name + "' has bad data_offsets");
            rec.begin = offsets[0];
            rec.end = offsets[1];
            for (auto s : rec.shape)
                if (s < 0)
                    throw Error(path, "tensor '" + rec.name + "' has a negative dimension");
            if (static_cast<std::uint64_t>(rec.numel()) * dtypeSize(rec.dtype) != rec.byteSize())
                throw Error(path, "tensor '" + rec.name + "' byte size does not match its shape");
            if (rec.end > dataSize)
                throw Error(path, "truncated: tensor '" + rec.name + "' extends past the end of the file");
            file->m_index[rec.name] = file->m_tensors.size();
            file->m_tensors.push_back(std::move(rec));
        }
    } catch (const nlohmann::json::exception &e) {
        throw Error(path, std::string("malformed safetensors header: ") + e.what());
    }
    return file;
}

SafetensorsFile::~SafetensorsFile()
{
    if (m_map)
        munmap(m_map, m_fileSize);
}

const TensorRecord *SafetensorsFile::find(const std::string &name) const
{
    const auto it = m_index.find(name);
    return it == m_index.end() ? nullptr : &m_tensors[it->second];
}

const TensorRecord &SafetensorsFile::get(const std::string &name) const
{
    const auto *rec = find(name);
    if (!rec)
        throw Error(m_path, "no tensor '" + name + "'");
    return *rec;
}

const std::byte *SafetensorsFile::data(const TensorRecord &record) const
{
    return m_dataSection + record.begin;
}

void SafetensorsWriter::setMetadata(const std::string &key, const std::string &value)
{
    m_metadata[key] = value;
}

void SafetensorsWriter::add(const std::string &name, DType dtype,
                            const std::vector<std::int64_t> &shape, const void *data,
                            std::size_t nbytes)
{
    std::int64_t numel = 1;
    for (auto s : shape)
        numel *= s;
    if (static_cast<std::size_t>(numel) * dtypeSize(dtype) != nbytes)
        throw Error("safetensors writer: tensor '" + name + "' byte size does not match its shape");
    for (const auto &t : m_tensors)
        if (t.name == name)
            throw Error("safetensors writer: duplicate tensor '" + name + "'");
    Pending p{name, dtype, shape, std::vector<std::byte>(nbytes)};
    if (nbytes)
        std::memcpy(p.bytes.data(), data, nbytes);
    m_tensors.push_back(std::move(p));
}

void SafetensorsWriter::write(const std::string &path) const
{
    nlohmann::json header = nlohmann::json::object();
    if (!m_metadata.empty())
        header["__metadata__"] = m_metadata;
    std::uint64_t offset = 0;
    for (const auto &t : m_tensors) {
        header[t.name] = {{"dtype", dtypeName(t.dtype)},
                          {"shape", t.shape},
                          {"data_offsets", {offset, offset + t.bytes.size()}}};
        offset += t.bytes.size();
    }
    std::string text = header.dump();
    // Pad with spaces so the data section starts 8-byte aligned, as the
    // reference implementation does; readers can then map tensors in place.
    while ((text.size() + 8) % 8 != 0)
        text.push_back(' ');

    AtomicFile file(path);
    {
        std::ofstream out(file.tempPath(), std::ios::binary);
        if (!out)
            throw Error(path, std::string("cannot write: ") + std::strerror(errno));
        std::uint64_t len = text.size();
        unsigned char lenBytes[8];
        for (int i = 0; i < 8; ++i)
            lenBytes[i] = static_cast<unsigned char>((len >> (8 * i)) & 0xff);
        out.write(reinterpret_cast<const char *>(lenBytes), 8);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        for (const auto &t : m_tensors)
            out.write(reinterpret_cast<const char *>(t.bytes.data()),
                      static_cast<std::streamsize>(t.bytes.size()));
        out.flush();
        if (!out)
            throw Error(path, "write failed (disk full?)");
    }
    file.commit();
}

} // namespace moescope::model

#include "core/trace/trace_file.h"

#include "core/common/error.h"
#include "core/trace/trace_validation.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <limits>

namespace moescope {

using h5::check;
using h5::checkStatus;
using h5::Handle;

namespace {

constexpr const char *kLanguagesGroup = "languages";
constexpr const char *kTokensGroup = "tokens";

std::string shapeText(const std::vector<hsize_t> &dims)
{
    std::string s = "[";
    for (std::size_t i = 0; i < dims.size(); ++i)
        s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

Handle fileAccess(const std::string &file)
{
    Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), file, "cannot create file access list"));
    // Version-1.8 file format on purpose: the 1.10 format (superblock v3)
    // marks a file "open for write" until it is closed, so after a kill -9
    // neither we nor h5py could open it without `h5clear -s`. The 1.8 format
    // has no such flag and keeps every flushed batch readable.
    checkStatus(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18), file,
                "cannot select the file format version");
    // HDF5's own lock would keep readers out for as long as a recording has
    // the file open, and within one process HDF5 refuses to open a file twice
    // with different locking settings. So nobody takes it; TraceWriter holds
    // its own lock against a second writer instead.
    checkStatus(H5Pset_file_locking(fapl, false, true), file, "cannot configure file locking");
    // Every object starts on a 4 KiB page. A kill -9 can cut a write(2) short
    // only between pages, so an object header or B-tree node (each smaller
    // than a page) is then either fully old or fully new, never torn.
    checkStatus(H5Pset_alignment(fapl, 1, 4096), file, "cannot set alignment");
    // Without the sieve buffer every raw-data write reaches the file when it
    // is issued, in program order, which the commit order relies on.
    checkStatus(H5Pset_sieve_buf_size(fapl, 0), file, "cannot configure buffering");
    return fapl;
}

Handle openGroup(hid_t loc, const std::string &name, const std::string &file,
                 const std::string &what)
{
    if (!h5::linkExists(loc, name))
        throw Error(file, what + " is missing");
    return Handle(check(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), file, "cannot open " + what));
}

Handle openDataset(hid_t group, const std::string &name, const std::string &file,
                   const std::string &what)
{
    if (!h5::linkExists(group, name))
        throw Error(file, what + " is missing");
    return Handle(check(H5Dopen2(group, name.c_str(), H5P_DEFAULT), file, "cannot open " + what));
}

void requireShape(hid_t ds, const std::vector<hsize_t> &expected, const std::string &file,
                  const std::string &what)
{
    const auto dims = h5::datasetShape(ds, file, what);
    if (dims != expected)
        throw Error(file, what + " has shape " + shapeText(dims) + ", expected "
                              + shapeText(expected));
}

// Reads a whole dataset of unsigned counts; signed storage is accepted when
// no value is negative (HDF5 would silently clip negatives to 0).
std::vector<std::uint64_t> readCounts(hid_t group, const std::string &name,
                                      const std::vector<hsize_t> &shape, const std::string &file,
                                      const std::string &what)
{
    Handle ds = openDataset(group, name, file, what);
    if (h5::datasetTypeClass(ds, file, what) != H5T_INTEGER)
        throw Error(file, what + " must hold integers");
    requireShape(ds, shape, file, what);
    std::size_t n = 1;
    for (hsize_t d : shape)
        n *= static_cast<std::size_t>(d);
    std::vector<std::uint64_t> out(n);
    if (n == 0)
        return out;
    if (h5::datasetIsUnsigned(ds)) {
        checkStatus(H5Dread(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
                    file, "cannot read " + what);
        return out;
    }
    std::vector<std::int64_t> signedValues(n);
    checkStatus(H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, signedValues.data()),
                file, "cannot read " + what);
    for (std::size_t i = 0; i < n; ++i) {
        if (signedValues[i] < 0)
            throw Error(file, what + " contains a negative count");
        out[i] = static_cast<std::uint64_t>(signedValues[i]);
    }
    return out;
}

std::vector<double> readDoubles(hid_t group, const std::string &name,
                                const std::vector<hsize_t> &shape, const std::string &file,
                                const std::string &what)
{
    Handle ds = openDataset(group, name, file, what);
    if (h5::datasetTypeClass(ds, file, what) != H5T_FLOAT)
        throw Error(file, what + " must hold floating-point numbers");
    requireShape(ds, shape, file, what);
    std::size_t n = 1;
    for (hsize_t d : shape)
        n *= static_cast<std::size_t>(d);
    std::vector<double> out(n);
    if (n > 0)
        checkStatus(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
                    file, "cannot read " + what);
    return out;
}

// Fixed-size datasets are contiguous and allocated when created, so later
// batches overwrite bytes in place and never change the file's structure.
Handle createFixedDataset(hid_t group, const std::string &name, hid_t type,
                          const std::vector<hsize_t> &shape, const std::string &file)
{
    Handle space(check(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr),
                       file, "cannot create dataspace"));
    Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), file, "cannot create dataset properties"));
    checkStatus(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), file,
                "cannot set allocation time");
    return Handle(check(H5Dcreate2(group, name.c_str(), type, space, H5P_DEFAULT, dcpl,
                                   H5P_DEFAULT),
                        file, "cannot create dataset " + name));
}

Handle openOrCreateGroup(hid_t loc, const std::string &name, const std::string &file)
{
    if (h5::linkExists(loc, name))
        return Handle(check(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), file,
                            "cannot open group " + name));
    return Handle(check(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                        file, "cannot create group " + name));
}

int checkedInt(std::int64_t v, const std::string &file, const std::string &what)
{
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
        throw Error(file, what + " is out of range (" + std::to_string(v) + ")");
    return static_cast<int>(v);
}

// Extendible token-level datasets, chunked along the token axis and NOT
// compressed: a compressed chunk is re-encoded (and often moved) whenever rows
// are appended to it, so a kill during a commit could destroy rows committed
// earlier in the same chunk. Uncompressed chunks are rewritten in place with
// identical bytes for those rows. (`h5repack -f GZIP=4` compresses a finished
// trace; the readers accept either.)
Handle createExtendible(hid_t group, const std::string &name, hid_t type,
                        const std::vector<hsize_t> &rowShape, hsize_t rowsPerChunk,
                        const std::string &file)
{
    std::vector<hsize_t> dims{0}, maxDims{H5S_UNLIMITED}, chunk{rowsPerChunk};
    for (hsize_t d : rowShape) {
        dims.push_back(d);
        maxDims.push_back(d);
        chunk.push_back(d);
    }
    Handle space(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(),
                                        maxDims.data()),
                       file, "cannot create dataspace"));
    Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), file, "cannot create dataset properties"));
    checkStatus(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()), file,
                "cannot set chunking");
    return Handle(check(H5Dcreate2(group, name.c_str(), type, space, H5P_DEFAULT, dcpl,
                                   H5P_DEFAULT),
                        file, "cannot create dataset " + name));
}

// Writes rows [first, first + rows) of an extendible dataset, growing it to
// exactly first + rows rows.
void writeRows(hid_t ds, hid_t memType, const void *data, hsize_t first, hsize_t rows,
               const std::string &file, const std::string &what)
{
    auto dims = h5::datasetShape(ds, file, what);
    dims[0] = first + rows;
    checkStatus(H5Dset_extent(ds, dims.data()), file, "cannot extend " + what);
    if (rows == 0)
        return;
    Handle fileSpace(check(H5Dget_space(ds), file, "cannot select in " + what));
    std::vector<hsize_t> start(dims.size(), 0), count = dims;
    start[0] = first;
    count[0] = rows;
    checkStatus(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start.data(), nullptr,
                                    count.data(), nullptr),
                file, "cannot select in " + what);
    Handle memSpace(check(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                          file, "cannot create dataspace"));
    checkStatus(H5Dwrite(ds, memType, memSpace, fileSpace, H5P_DEFAULT, data), file,
                "cannot write " + what);
}

void readRows(hid_t ds, hid_t memType, void *data, hsize_t rows, const std::string &file,
              const std::string &what)
{
    if (rows == 0)
        return;
    auto dims = h5::datasetShape(ds, file, what);
    Handle fileSpace(check(H5Dget_space(ds), file, "cannot select in " + what));
    std::vector<hsize_t> start(dims.size(), 0), count = dims;
    count[0] = rows;
    checkStatus(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start.data(), nullptr,
                                    count.data(), nullptr),
                file, "cannot select in " + what);
    Handle memSpace(check(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                          file, "cannot create dataspace"));
    checkStatus(H5Dread(ds, memType, memSpace, fileSpace, H5P_DEFAULT, data), file,
                "cannot read " + what);
}

void shrinkRows(hid_t ds, hsize_t rows, const std::string &file, const std::string &what)
{
    auto dims = h5::datasetShape(ds, file, what);
    if (dims.empty() || dims[0] <= rows)
        return;
    dims[0] = rows;
    checkStatus(H5Dset_extent(ds, dims.data()), file, "cannot shrink " + what);
}

std::vector<std::int64_t> readOffsets(hid_t group, const std::string &file,
                                      const std::string &what)
{
    Handle ds = openDataset(group, "doc_offsets", file, what + "doc_offsets");
    if (h5::datasetTypeClass(ds, file, what) != H5T_INTEGER)
        throw Error(file, what + "doc_offsets must hold integers");
    const auto dims = h5::datasetShape(ds, file, what + "doc_offsets");
    if (dims.size() != 1 || dims[0] == 0)
        throw Error(file, what + "doc_offsets has shape " + shapeText(dims)
                              + ", expected [documents + 1]");
    std::vector<std::int64_t> offsets(static_cast<std::size_t>(dims[0]));
    checkStatus(H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, offsets.data()),
                file, "cannot read " + what + "doc_offsets");
    if (offsets[0] != 0)
        throw Error(file, what + "doc_offsets must start at 0");
    for (std::size_t i = 1; i < offsets.size(); ++i)
        if (offsets[i] < offsets[i - 1])
            throw Error(file, what + "doc_offsets decreases at document " + std::to_string(i - 1));
    return offsets;
}

herr_t collectLinkName(hid_t, const char *name, const H5L_info_t *, void *out)
{
    static_cast<std::vector<std::string> *>(out)->emplace_back(name);
    return 0;
}

} // namespace

TraceFile TraceFile::create(const std::string &path, const std::string &displayName,
                            const RoutingTrace &header)
{
    h5::QuietErrors quiet;
    TraceFile f;
    f.m_name = displayName;
    f.m_header = header;
    f.m_header.languages.clear();
    f.m_header.toolVersion = MOESCOPE_VERSION;
    if (f.m_header.provenance.empty())
        f.m_header.provenance = "{}";
    Handle fapl = fileAccess(displayName);
    f.m_file = Handle(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl),
                            displayName, "cannot create the HDF5 file"));
    const hid_t root = f.m_file;
    const ModelSummary &m = f.m_header.model;
    const std::string &name = f.m_name;
    h5::writeStringAttribute(root, "format", kTraceFormat, name);
    h5::writeInt64Attribute(root, "version", kTraceVersion, name);
    h5::writeStringAttribute(root, "model_id", m.modelId, name);
    h5::writeStringAttribute(root, "model_type", m.modelType, name);
    h5::writeInt64Attribute(root, "num_layers", m.numLayers, name);
    h5::writeInt64Attribute(root, "num_experts", m.numExperts, name);
    h5::writeInt64Attribute(root, "top_k", m.topK, name);
    h5::writeInt64ArrayAttribute(
        root, "moe_layers", std::vector<std::int64_t>(m.moeLayers.begin(), m.moeLayers.end()),
        name);
    h5::writeStringAttribute(root, "created", f.m_header.created, name);
    h5::writeStringAttribute(root, "tool_version", f.m_header.toolVersion, name);
    h5::writeStringAttribute(root, "provenance", f.m_header.provenance, name);
    h5::writeStringArrayAttribute(root, "languages", {}, name);
    Handle languages = openOrCreateGroup(root, kLanguagesGroup, name);
    return f;
}

TraceFile TraceFile::open(const std::string &path, bool writable)
{
    namespace fs = std::filesystem;
    h5::QuietErrors quiet;
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw Error(path, "no such file");
    if (fs::is_directory(path, ec))
        throw Error(path, "is a directory, expected a trace file (.h5)");
    const htri_t isHdf5 = H5Fis_hdf5(path.c_str());
    H5Eclear2(H5E_DEFAULT);
    if (isHdf5 == 0)
        throw Error(path, "not an HDF5 file");
    if (isHdf5 < 0)
        throw Error(path, "cannot read the file");
    TraceFile f;
    f.m_name = path;
    Handle fapl = fileAccess(path);
    f.m_file = Handle(check(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl),
                            path, "cannot open the HDF5 file (truncated or damaged?)"));
    f.readHeader();
    return f;
}

void TraceFile::readHeader()
{
    const hid_t root = m_file;
    const std::string &name = m_name;
    if (!h5::attributeExists(root, "format"))
        throw Error(name, "not a moescope trace (no 'format' attribute on the root group)");
    const std::string format = h5::readStringAttribute(root, "format", name, "format attribute");
    if (format != kTraceFormat)
        throw Error(name, "not a moescope trace (format is '" + format + "', expected '"
                              + kTraceFormat + "')");
    const std::int64_t version = h5::readInt64Attribute(root, "version", name, "version attribute");
    if (version != kTraceVersion)
        throw Error(name, "trace format version " + std::to_string(version)
                              + " is not supported (this moescope reads version "
                              + std::to_string(kTraceVersion) + ")");
    ModelSummary &m = m_header.model;
    m.modelId = h5::readStringAttribute(root, "model_id", name, "model_id attribute");
    m.modelType = h5::readStringAttribute(root, "model_type", name, "model_type attribute");
    m.numLayers = checkedInt(h5::readInt64Attribute(root, "num_layers", name, "num_layers"), name,
                             "num_layers");
    m.numExperts = checkedInt(h5::readInt64Attribute(root, "num_experts", name, "num_experts"),
                              name, "num_experts");
    m.topK = checkedInt(h5::readInt64Attribute(root, "top_k", name, "top_k"), name, "top_k");
    m.moeLayers.clear();
    for (std::int64_t l : h5::readInt64ArrayAttribute(root, "moe_layers", name, "moe_layers"))
        m.moeLayers.push_back(checkedInt(l, name, "moe_layers entry"));
    validateModel(m, name);
    m_header.created = h5::readStringAttribute(root, "created", name, "created attribute");
    m_header.toolVersion =
        h5::readStringAttribute(root, "tool_version", name, "tool_version attribute");
    m_header.provenance =
        h5::readStringAttribute(root, "provenance", name, "provenance attribute");
    if (!nlohmann::json::accept(m_header.provenance))
        throw Error(name, "the provenance attribute is not valid JSON");

    const auto labels =
        h5::readStringArrayAttribute(root, "languages", name, "languages attribute");
    Handle group = openGroup(root, kLanguagesGroup, name, "group /languages");
    H5G_info_t info{};
    checkStatus(H5Gget_info(group, &info), name, "cannot list /languages");
    if (info.nlinks != labels.size())
        throw Error(name, "/languages has " + std::to_string(info.nlinks)
                              + " groups but the root 'languages' attribute lists "
                              + std::to_string(labels.size()));
    m_header.languages.clear();
    for (const auto &label : labels) {
        validateLabel(label, name);
        m_header.languages.push_back(LanguageRouting{});
        m_header.languages.back().label = label;
    }
}

std::vector<std::string> TraceFile::languageOrder() const
{
    std::vector<std::string> out;
    for (const auto &l : m_header.languages)
        out.push_back(l.label);
    return out;
}

LanguageRouting TraceFile::readLanguage(const std::string &label) const
{
    h5::QuietErrors quiet;
    const std::string &name = m_name;
    const std::string who = "language '" + label + "'";
    Handle languages = openGroup(m_file, kLanguagesGroup, name, "group /languages");
    Handle group = openGroup(languages, label, name, who + " (group /languages/" + label + ")");
    const hsize_t L = static_cast<hsize_t>(m_header.model.numLayers);
    const hsize_t E = static_cast<hsize_t>(m_header.model.numExperts);
    LanguageRouting lang;
    lang.label = label;
    lang.counts = readCounts(group, "counts", {L, E}, name, who + ": counts");
    lang.gateSum = readDoubles(group, "gate_sum", {L, E}, name, who + ": gate_sum");
    lang.tokens = readCounts(group, "tokens", {L}, name, who + ": tokens");
    lang.corpus = h5::readStringAttribute(group, "corpus", name, who + ": corpus attribute");
    lang.documents =
        h5::readUInt64Attribute(group, "documents", name, who + ": documents attribute");
    lang.tokenScope =
        h5::readStringAttribute(group, "token_scope", name, who + ": token_scope attribute");
    lang.templateName =
        h5::readStringAttribute(group, "template", name, who + ": template attribute");
    return lang;
}

RoutingTrace TraceFile::readAll() const
{
    RoutingTrace trace = m_header;
    trace.languages.clear();
    for (const auto &l : m_header.languages)
        trace.languages.push_back(readLanguage(l.label));
    return trace;
}

void TraceFile::writeLanguage(const LanguageRouting &lang)
{
    h5::QuietErrors quiet;
    const std::string &name = m_name;
    validateLabel(lang.label, name);
    const hsize_t L = static_cast<hsize_t>(m_header.model.numLayers);
    const hsize_t E = static_cast<hsize_t>(m_header.model.numExperts);
    if (lang.counts.size() != L * E || lang.gateSum.size() != L * E || lang.tokens.size() != L)
        throw Error(name, "language '" + lang.label + "' does not match the model's shape");
    Handle languages = openOrCreateGroup(m_file, kLanguagesGroup, name);
    const bool isNew = !h5::linkExists(languages, lang.label);
    Handle group = openOrCreateGroup(languages, lang.label, name);
    auto dataset = [&](const char *dsName, hid_t type, std::vector<hsize_t> shape) {
        if (h5::linkExists(group, dsName))
            return Handle(check(H5Dopen2(group, dsName, H5P_DEFAULT), name,
                                std::string("cannot open ") + dsName));
        return createFixedDataset(group, dsName, type, shape, name);
    };
    // Order matters for a kill in the middle of a commit: every prefix of
    // tokens -> counts -> gate_sum still passes validateTrace (counts never
    // exceed tokens, a gate sum never appears without its count).
    Handle tokens = dataset("tokens", H5T_STD_U64LE, {L});
    checkStatus(H5Dwrite(tokens, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                         lang.tokens.data()),
                name, "cannot write tokens of '" + lang.label + "'");
    Handle counts = dataset("counts", H5T_STD_U64LE, {L, E});
    checkStatus(H5Dwrite(counts, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                         lang.counts.data()),
                name, "cannot write counts of '" + lang.label + "'");
    Handle gate = dataset("gate_sum", H5T_IEEE_F64LE, {L, E});
    checkStatus(H5Dwrite(gate, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                         lang.gateSum.data()),
                name, "cannot write gate_sum of '" + lang.label + "'");
    h5::writeStringAttribute(group, "corpus", lang.corpus, name);
    h5::writeUInt64Attribute(group, "documents", lang.documents, name);
    h5::writeStringAttribute(group, "token_scope", lang.tokenScope, name);
    h5::writeStringAttribute(group, "template", lang.templateName, name);
    if (isNew) {
        m_header.languages.push_back(LanguageRouting{});
        m_header.languages.back().label = lang.label;
        h5::writeStringArrayAttribute(m_file, "languages", languageOrder(), name);
    }
}

bool TraceFile::hasTokenTrace(const std::string &label) const
{
    h5::QuietErrors quiet;
    return h5::linkExists(m_file, kTokensGroup)
        && h5::linkExists(m_file, std::string(kTokensGroup) + "/" + label);
}

std::vector<std::string> TraceFile::tokenLabels() const
{
    h5::QuietErrors quiet;
    std::vector<std::string> out;
    if (!h5::linkExists(m_file, kTokensGroup))
        return out;
    Handle group = openGroup(m_file, kTokensGroup, m_name, "group /tokens");
    checkStatus(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, collectLinkName, &out),
                m_name, "cannot list /tokens");
    return out;
}

TokenTrace TraceFile::readTokens(const std::string &label) const
{
    h5::QuietErrors quiet;
    const std::string &name = m_name;
    const std::string who = "token trace '" + label + "': ";
    if (!hasTokenTrace(label))
        throw Error(name, "no token-level trace for '" + label + "'");
    Handle group(check(H5Gopen2(m_file, (std::string(kTokensGroup) + "/" + label).c_str(),
                                H5P_DEFAULT),
                       name, "cannot open the token trace of '" + label + "'"));
    TokenTrace t;
    t.label = label;
    t.numLayers = m_header.model.numLayers;
    t.topK = m_header.model.topK;
    const hsize_t L = static_cast<hsize_t>(t.numLayers), k = static_cast<hsize_t>(t.topK);
    t.docOffsets = readOffsets(group, name, who);
    const hsize_t committed = static_cast<hsize_t>(t.docOffsets.back());

    Handle ids = openDataset(group, "token_ids", name, who + "token_ids");
    Handle idx = openDataset(group, "topk_idx", name, who + "topk_idx");
    Handle w = openDataset(group, "topk_w", name, who + "topk_w");
    const auto idsShape = h5::datasetShape(ids, name, who + "token_ids");
    const auto idxShape = h5::datasetShape(idx, name, who + "topk_idx");
    const auto wShape = h5::datasetShape(w, name, who + "topk_w");
    if (idsShape.size() != 1)
        throw Error(name, who + "token_ids has shape " + shapeText(idsShape) + ", expected [N]");
    for (const auto *shape : {&idxShape, &wShape})
        if (shape->size() != 3 || (*shape)[1] != L || (*shape)[2] != k)
            throw Error(name, who + "topk_idx/topk_w have shape " + shapeText(*shape)
                                  + ", expected [N, " + std::to_string(L) + ", "
                                  + std::to_string(k) + "]");
    if (idsShape[0] < committed || idxShape[0] < committed || wShape[0] < committed)
        throw Error(name, who + "doc_offsets point past the end of the token data");
    if (h5::datasetTypeClass(ids, name, who) != H5T_INTEGER
        || h5::datasetTypeClass(idx, name, who) != H5T_INTEGER
        || h5::datasetTypeClass(w, name, who) != H5T_FLOAT)
        throw Error(name, who + "unexpected dataset types");

    t.tokenIds.resize(committed);
    t.topkIdx.resize(committed * L * k);
    t.topkWeights.resize(committed * L * k);
    readRows(ids, H5T_NATIVE_INT32, t.tokenIds.data(), committed, name, who + "token_ids");
    readRows(idx, H5T_NATIVE_INT16, t.topkIdx.data(), committed, name, who + "topk_idx");
    readRows(w, H5T_NATIVE_FLOAT, t.topkWeights.data(), committed, name, who + "topk_w");
    return t;
}

void TraceFile::appendTokens(const std::string &label, const TokenBatch &batch,
                             std::uint64_t committedTokens, std::uint64_t committedDocs)
{
    h5::QuietErrors quiet;
    const std::string &name = m_name;
    validateLabel(label, name);
    const hsize_t L = static_cast<hsize_t>(m_header.model.numLayers);
    const hsize_t k = static_cast<hsize_t>(m_header.model.topK);
    Handle tokens = openOrCreateGroup(m_file, kTokensGroup, name);
    const bool isNew = !h5::linkExists(tokens, label);
    Handle group = openOrCreateGroup(tokens, label, name);
    if (isNew) {
        const hsize_t rowsPerChunk = std::max<hsize_t>(1, (256 * 1024) / (L * k * 2));
        Handle float16 = h5::float16Type();
        createExtendible(group, "token_ids", H5T_STD_I32LE, {}, 16384, name);
        createExtendible(group, "topk_idx", H5T_STD_I16LE, {L, k}, rowsPerChunk, name);
        createExtendible(group, "topk_w", float16, {L, k}, rowsPerChunk, name);
        Handle offsets = createExtendible(group, "doc_offsets", H5T_STD_I64LE, {}, 4096, name);
        const std::int64_t zero = 0;
        writeRows(offsets, H5T_NATIVE_INT64, &zero, 0, 1, name, "doc_offsets");
    }
    const hsize_t n = batch.tokenIds.size();
    Handle ids(check(H5Dopen2(group, "token_ids", H5P_DEFAULT), name, "cannot open token_ids"));
    Handle idx(check(H5Dopen2(group, "topk_idx", H5P_DEFAULT), name, "cannot open topk_idx"));
    Handle w(check(H5Dopen2(group, "topk_w", H5P_DEFAULT), name, "cannot open topk_w"));
    Handle offsets(check(H5Dopen2(group, "doc_offsets", H5P_DEFAULT), name,
                         "cannot open doc_offsets"));
    writeRows(ids, H5T_NATIVE_INT32, batch.tokenIds.data(), committedTokens, n, name, "token_ids");
    writeRows(idx, H5T_NATIVE_INT16, batch.topkIdx.data(), committedTokens, n, name, "topk_idx");
    writeRows(w, H5T_NATIVE_FLOAT, batch.topkWeights.data(), committedTokens, n, name, "topk_w");
    // The rows must be on disk before the offsets that make them visible.
    flush();
    std::vector<std::int64_t> ends;
    std::int64_t end = static_cast<std::int64_t>(committedTokens);
    for (std::int64_t len : batch.documentLengths)
        ends.push_back(end += len);
    writeRows(offsets, H5T_NATIVE_INT64, ends.data(), committedDocs + 1, ends.size(), name,
              "doc_offsets");
}

std::pair<std::uint64_t, std::uint64_t> TraceFile::tokenExtent(const std::string &label) const
{
    h5::QuietErrors quiet;
    if (!hasTokenTrace(label))
        return {0, 0};
    Handle group(check(H5Gopen2(m_file, (std::string(kTokensGroup) + "/" + label).c_str(),
                                H5P_DEFAULT),
                       m_name, "cannot open the token trace of '" + label + "'"));
    const auto offsets = readOffsets(group, m_name, "token trace '" + label + "': ");
    return {offsets.size() - 1, static_cast<std::uint64_t>(offsets.back())};
}

void TraceFile::truncateTokens(const std::string &label, std::uint64_t documents)
{
    h5::QuietErrors quiet;
    const std::string &name = m_name;
    const std::string who = "token trace '" + label + "': ";
    Handle group(check(H5Gopen2(m_file, (std::string(kTokensGroup) + "/" + label).c_str(),
                                H5P_DEFAULT),
                       name, "cannot open the token trace of '" + label + "'"));
    const auto offsets = readOffsets(group, name, who);
    const std::uint64_t keepDocs = std::min<std::uint64_t>(documents, offsets.size() - 1);
    const hsize_t keepTokens = static_cast<hsize_t>(offsets[keepDocs]);
    for (const char *ds : {"token_ids", "topk_idx", "topk_w"}) {
        Handle d(check(H5Dopen2(group, ds, H5P_DEFAULT), name, who + "cannot open " + ds));
        shrinkRows(d, keepTokens, name, who + ds);
    }
    Handle d(check(H5Dopen2(group, "doc_offsets", H5P_DEFAULT), name, who + "cannot open offsets"));
    shrinkRows(d, keepDocs + 1, name, who + "doc_offsets");
}

void TraceFile::flush()
{
    h5::QuietErrors quiet;
    checkStatus(H5Fflush(m_file, H5F_SCOPE_LOCAL), m_name, "cannot flush the trace to disk");
}

void TraceFile::close()
{
    h5::QuietErrors quiet;
    if (m_file.valid() && !m_file.close())
        throw Error(m_name, "cannot finish writing the trace (disk full?)");
}

} // namespace moescope

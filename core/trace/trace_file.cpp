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

// Readers pass no status and use HDF5's own POSIX driver; writers pass one
// and use the failure-latching driver (failure_latching_driver.h).
Handle fileAccess(const std::string &file, h5::WriteStatus *status = nullptr)
{
    Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), file, "cannot create file access list"));
    // Version-1.8 file format: readable by every HDF5 >= 1.8 (and h5py), and
    // free of the 1.10 format's "open for writing" flag, which would make a
    // file left behind by a killed process unreadable without `h5clear -s`.
    checkStatus(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18), file,
        "cannot select the file format version");
    // HDF5's own lock would keep readers out for as long as a recording has
    // a file open, and within one process HDF5 refuses to open a file twice
    // with different locking settings. So nobody takes it; TraceWriter holds
    // its own lock against a second writer instead.
    checkStatus(H5Pset_file_locking(fapl, false, true), file, "cannot configure file locking");
    if (status)
        h5::useFailureLatchingDriver(fapl, status);
    return fapl;
}

Handle openGroup(
    hid_t loc, const std::string &name, const std::string &file, const std::string &what)
{
    if (!h5::linkExists(loc, name))
        throw Error(file, what + " is missing");
    return Handle(check(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), file, "cannot open " + what));
}

Handle openDataset(
    hid_t group, const std::string &name, const std::string &file, const std::string &what)
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
        throw Error(
            file, what + " has shape " + shapeText(dims) + ", expected " + shapeText(expected));
}

// Reads a whole dataset of unsigned counts; signed storage is accepted when
// no value is negative (HDF5 would silently clip negatives to 0).
std::vector<std::uint64_t> readCounts(hid_t group, const std::string &name,
    const std::vector<hsize_t> &shape, const std::string &file, const std::string &what)
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
        checkStatus(H5Dread(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), file,
            "cannot read " + what);
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
    const std::vector<hsize_t> &shape, const std::string &file, const std::string &what)
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
        checkStatus(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), file,
            "cannot read " + what);
    return out;
}

constexpr const char *kJournal = "commit_journal";

std::vector<hsize_t> rowShape(hsize_t rows, const std::vector<hsize_t> &perRow)
{
    std::vector<hsize_t> dims { rows };
    dims.insert(dims.end(), perRow.begin(), perRow.end());
    return dims;
}

// Contiguous datasets allocated when created, with their bytes written (zeros)
// at once: later in-place writes then only overwrite existing blocks, which a
// full disk cannot refuse.
Handle createPreallocated(hid_t group, const std::string &name, hid_t type,
    const std::vector<hsize_t> &shape, const std::string &file)
{
    Handle space(check(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr),
        file, "cannot create dataspace"));
    Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), file, "cannot create dataset properties"));
    checkStatus(H5Pset_layout(dcpl, H5D_CONTIGUOUS), file, "cannot set the layout");
    checkStatus(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), file, "cannot set allocation time");
    checkStatus(H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC), file, "cannot set fill time");
    return Handle(
        check(H5Dcreate2(group, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), file,
            "cannot create dataset " + name));
}

// Exactly sized, chunked along the first axis, extendible (maxshape None) and
// gzip-compressed when HDF5 has the filter: the finished form of token data.
Handle createFinal(hid_t group, const std::string &name, hid_t type,
    const std::vector<hsize_t> &shape, hsize_t rowsPerChunk, const std::string &file)
{
    std::vector<hsize_t> maxDims = shape, chunk = shape;
    maxDims[0] = H5S_UNLIMITED;
    chunk[0] = std::max<hsize_t>(1, rowsPerChunk);
    Handle space(
        check(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), maxDims.data()), file,
            "cannot create dataspace"));
    Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), file, "cannot create dataset properties"));
    checkStatus(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()), file,
        "cannot set chunking");
    if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0)
        checkStatus(H5Pset_deflate(dcpl, 4), file, "cannot set compression");
    return Handle(
        check(H5Dcreate2(group, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), file,
            "cannot create dataset " + name));
}

Handle createGroup(hid_t loc, const std::string &name, const std::string &file)
{
    return Handle(check(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), file,
        "cannot create group " + name));
}

Handle openOrCreateGroup(hid_t loc, const std::string &name, const std::string &file)
{
    if (h5::linkExists(loc, name))
        return Handle(
            check(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), file, "cannot open group " + name));
    return createGroup(loc, name, file);
}

int checkedInt(std::int64_t v, const std::string &file, const std::string &what)
{
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
        throw Error(file, what + " is out of range (" + std::to_string(v) + ")");
    return static_cast<int>(v);
}

// Selects rows [first, first + rows) of a dataset, all of every other axis.
Handle selectRows(hid_t ds, hsize_t first, hsize_t rows, const std::string &file,
    const std::string &what, std::vector<hsize_t> &count)
{
    const auto dims = h5::datasetShape(ds, file, what);
    if (dims.empty() || first + rows > dims[0])
        throw Error(file,
            what + ": rows " + std::to_string(first) + ".." + std::to_string(first + rows)
                + " are outside shape " + shapeText(dims));
    Handle fileSpace(check(H5Dget_space(ds), file, "cannot select in " + what));
    std::vector<hsize_t> start(dims.size(), 0);
    count = dims;
    start[0] = first;
    count[0] = rows;
    checkStatus(H5Sselect_hyperslab(
                    fileSpace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
        file, "cannot select in " + what);
    return fileSpace;
}

void writeRows(hid_t ds, hid_t memType, const void *data, hsize_t first, hsize_t rows,
    const std::string &file, const std::string &what)
{
    if (rows == 0)
        return;
    std::vector<hsize_t> count;
    Handle fileSpace = selectRows(ds, first, rows, file, what, count);
    Handle memSpace(check(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
        file, "cannot create dataspace"));
    checkStatus(H5Dwrite(ds, memType, memSpace, fileSpace, H5P_DEFAULT, data), file,
        "cannot write " + what);
}

void readRows(hid_t ds, hid_t memType, void *data, hsize_t first, hsize_t rows,
    const std::string &file, const std::string &what)
{
    if (rows == 0)
        return;
    std::vector<hsize_t> count;
    Handle fileSpace = selectRows(ds, first, rows, file, what, count);
    Handle memSpace(check(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
        file, "cannot create dataspace"));
    checkStatus(
        H5Dread(ds, memType, memSpace, fileSpace, H5P_DEFAULT, data), file, "cannot read " + what);
}

std::uint64_t datasetOffset(hid_t group, const char *name, const std::string &file)
{
    Handle ds(check(H5Dopen2(group, name, H5P_DEFAULT), file, std::string("cannot open ") + name));
    const haddr_t at = H5Dget_offset(ds);
    H5Eclear2(H5E_DEFAULT);
    return at == HADDR_UNDEF ? 0 : static_cast<std::uint64_t>(at);
}

herr_t collectLinkName(hid_t, const char *name, const H5L_info_t *, void *out)
{
    static_cast<std::vector<std::string> *>(out)->emplace_back(name);
    return 0;
}

} // namespace

const InPlaceLayout::TokenTrace *InPlaceLayout::find(const std::string &label) const
{
    for (const auto &t : tokenTraces)
        if (t.label == label)
            return &t;
    return nullptr;
}

TraceFile TraceFile::create(
    const std::string &path, const std::string &displayName, const RoutingTrace &header)
{
    h5::QuietErrors quiet;
    TraceFile f;
    f.m_name = displayName;
    f.m_status = std::make_unique<h5::WriteStatus>();
    f.m_header = header;
    f.m_header.languages.clear();
    f.m_header.toolVersion = MOESCOPE_VERSION;
    if (f.m_header.provenance.empty())
        f.m_header.provenance = "{}";
    f.writing([&] {
        Handle fapl = fileAccess(displayName, f.m_status.get());
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
        h5::writeInt64ArrayAttribute(root, "moe_layers",
            std::vector<std::int64_t>(m.moeLayers.begin(), m.moeLayers.end()), name);
        h5::writeStringAttribute(root, "created", f.m_header.created, name);
        h5::writeStringAttribute(root, "tool_version", f.m_header.toolVersion, name);
        h5::writeStringAttribute(root, "provenance", f.m_header.provenance, name);
        h5::writeStringArrayAttribute(root, "languages", {}, name);
        createGroup(root, kLanguagesGroup, name);
    });
    return f;
}

TraceFile TraceFile::open(const std::string &path)
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
    f.m_file = Handle(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), path,
        "cannot open the HDF5 file (truncated or damaged?)"));
    f.readHeader();
    f.readCommitJournal();
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
        throw Error(name,
            "not a moescope trace (format is '" + format + "', expected '" + kTraceFormat + "')");
    const std::int64_t version = h5::readInt64Attribute(root, "version", name, "version attribute");
    if (version != kTraceVersion)
        throw Error(name,
            "trace format version " + std::to_string(version)
                + " is not supported (this moescope reads version " + std::to_string(kTraceVersion)
                + ")");
    ModelSummary &m = m_header.model;
    m.modelId = h5::readStringAttribute(root, "model_id", name, "model_id attribute");
    m.modelType = h5::readStringAttribute(root, "model_type", name, "model_type attribute");
    m.numLayers = checkedInt(
        h5::readInt64Attribute(root, "num_layers", name, "num_layers"), name, "num_layers");
    m.numExperts = checkedInt(
        h5::readInt64Attribute(root, "num_experts", name, "num_experts"), name, "num_experts");
    m.topK = checkedInt(h5::readInt64Attribute(root, "top_k", name, "top_k"), name, "top_k");
    m.moeLayers.clear();
    for (std::int64_t l : h5::readInt64ArrayAttribute(root, "moe_layers", name, "moe_layers"))
        m.moeLayers.push_back(checkedInt(l, name, "moe_layers entry"));
    validateModel(m, name);
    m_header.created = h5::readStringAttribute(root, "created", name, "created attribute");
    m_header.toolVersion
        = h5::readStringAttribute(root, "tool_version", name, "tool_version attribute");
    m_header.provenance = h5::readStringAttribute(root, "provenance", name, "provenance attribute");
    if (!nlohmann::json::accept(m_header.provenance))
        throw Error(name, "the provenance attribute is not valid JSON");

    const auto labels
        = h5::readStringArrayAttribute(root, "languages", name, "languages attribute");
    Handle group = openGroup(root, kLanguagesGroup, name, "group /languages");
    H5G_info_t info {};
    checkStatus(H5Gget_info(group, &info), name, "cannot list /languages");
    if (info.nlinks != labels.size())
        throw Error(name,
            "/languages has " + std::to_string(info.nlinks)
                + " groups but the root 'languages' attribute lists "
                + std::to_string(labels.size()));
    m_header.languages.clear();
    for (const auto &label : labels) {
        validateLabel(label, name);
        m_header.languages.push_back(LanguageRouting {});
        m_header.languages.back().label = label;
    }
}

void TraceFile::readCommitJournal()
{
    const std::string &name = m_name;
    if (!h5::linkExists(m_file, kJournal))
        return;
    Handle ds = openDataset(m_file, kJournal, name, "/commit_journal");
    const auto dims = h5::datasetShape(ds, name, "/commit_journal");
    if (dims.size() != 2 || dims[0] != 2
        || h5::datasetTypeClass(ds, name, "/commit_journal") != H5T_INTEGER)
        throw Error(name,
            "/commit_journal has shape " + shapeText(dims)
                + ", expected two slots of bytes [2, n]");
    const std::size_t slot = static_cast<std::size_t>(dims[1]);
    std::vector<std::uint8_t> bytes(2 * slot);
    if (!bytes.empty())
        checkStatus(H5Dread(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()),
            name, "cannot read /commit_journal");
    const std::size_t L = static_cast<std::size_t>(m_header.model.numLayers);
    const std::size_t E = static_cast<std::size_t>(m_header.model.numExperts);
    for (int s = 0; s < 2; ++s) {
        auto record = decodeCommitRecord(bytes.data() + s * slot, slot, L, E);
        if (record && (!m_record || record->sequence > m_record->sequence)) {
            m_record = std::move(record);
            m_recordSlot = s;
        }
    }
    if (!m_record)
        return;
    // Languages and token traces only change when a whole new file is
    // written, so a valid record must describe exactly these.
    std::vector<std::string> recordLanguages, recordTokens;
    for (const auto &l : m_record->languages)
        recordLanguages.push_back(l.label);
    for (const auto &t : m_record->tokenTraces)
        recordTokens.push_back(t.label);
    if (recordLanguages != languageOrder() || recordTokens != tokenLabels())
        throw Error(name, "the commit journal does not match the trace's languages (damaged file)");
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
    lang.counts = readCounts(group, "counts", { L, E }, name, who + ": counts");
    lang.gateSum = readDoubles(group, "gate_sum", { L, E }, name, who + ": gate_sum");
    lang.tokens = readCounts(group, "tokens", { L }, name, who + ": tokens");
    lang.corpus = h5::readStringAttribute(group, "corpus", name, who + ": corpus attribute");
    lang.documents
        = h5::readUInt64Attribute(group, "documents", name, who + ": documents attribute");
    lang.tokenScope
        = h5::readStringAttribute(group, "token_scope", name, who + ": token_scope attribute");
    lang.templateName
        = h5::readStringAttribute(group, "template", name, who + ": template attribute");
    // A recording's commits after the file was last written whole live in
    // the commit record (docs/trace-format.md, "Crash safety").
    if (const auto *committed = m_record ? m_record->findLanguage(label) : nullptr) {
        lang.documents = committed->documents;
        lang.tokens = committed->tokens;
        lang.counts = committed->counts;
        lang.gateSum = committed->gateSum;
    }
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
    writing([&] {
        h5::QuietErrors quiet;
        const std::string &name = m_name;
        validateLabel(lang.label, name);
        const hsize_t L = static_cast<hsize_t>(m_header.model.numLayers);
        const hsize_t E = static_cast<hsize_t>(m_header.model.numExperts);
        if (lang.counts.size() != L * E || lang.gateSum.size() != L * E || lang.tokens.size() != L)
            throw Error(name, "language '" + lang.label + "' does not match the model's shape");
        Handle languages = openGroup(m_file, kLanguagesGroup, name, "group /languages");
        if (h5::linkExists(languages, lang.label))
            throw Error(name, "duplicate language '" + lang.label + "'");
        Handle group = createGroup(languages, lang.label, name);
        Handle tokens = createPreallocated(group, "tokens", H5T_STD_U64LE, { L }, name);
        checkStatus(
            H5Dwrite(tokens, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, lang.tokens.data()),
            name, "cannot write tokens of '" + lang.label + "'");
        Handle counts = createPreallocated(group, "counts", H5T_STD_U64LE, { L, E }, name);
        checkStatus(
            H5Dwrite(counts, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, lang.counts.data()),
            name, "cannot write counts of '" + lang.label + "'");
        Handle gate = createPreallocated(group, "gate_sum", H5T_IEEE_F64LE, { L, E }, name);
        checkStatus(
            H5Dwrite(gate, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, lang.gateSum.data()),
            name, "cannot write gate_sum of '" + lang.label + "'");
        h5::writeStringAttribute(group, "corpus", lang.corpus, name);
        h5::writeUInt64Attribute(group, "documents", lang.documents, name);
        h5::writeStringAttribute(group, "token_scope", lang.tokenScope, name);
        h5::writeStringAttribute(group, "template", lang.templateName, name);
        m_header.languages.push_back(LanguageRouting {});
        m_header.languages.back().label = lang.label;
        h5::writeStringArrayAttribute(m_file, "languages", languageOrder(), name);
    });
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

Handle TraceFile::tokenGroup(const std::string &label) const
{
    if (!hasTokenTrace(label))
        throw Error(m_name, "no token-level trace for '" + label + "'");
    return Handle(
        check(H5Gopen2(m_file, (std::string(kTokensGroup) + "/" + label).c_str(), H5P_DEFAULT),
            m_name, "cannot open the token trace of '" + label + "'"));
}

std::pair<std::uint64_t, std::uint64_t> TraceFile::tokenExtent(const std::string &label) const
{
    h5::QuietErrors quiet;
    if (!hasTokenTrace(label))
        return { 0, 0 };
    if (const auto *committed = m_record ? m_record->findTokens(label) : nullptr)
        return { committed->documents, committed->tokens };
    const std::string &name = m_name;
    const std::string who = "token trace '" + label + "': ";
    Handle group = tokenGroup(label);
    Handle ds = openDataset(group, "doc_offsets", name, who + "doc_offsets");
    const auto dims = h5::datasetShape(ds, name, who + "doc_offsets");
    if (dims.size() != 1 || dims[0] == 0)
        throw Error(
            name, who + "doc_offsets has shape " + shapeText(dims) + ", expected [documents + 1]");
    // Written whole, a file's `documents` says which doc_offsets entries are
    // in use (the rest is a recording's spare room); files without it use all.
    std::uint64_t documents = dims[0] - 1;
    if (h5::attributeExists(group, "documents"))
        documents = h5::readUInt64Attribute(group, "documents", name, who + "documents attribute");
    if (documents + 1 > dims[0])
        throw Error(name,
            who + "documents attribute says " + std::to_string(documents)
                + " but doc_offsets has room for " + std::to_string(dims[0] - 1));
    std::int64_t end = 0;
    readRows(ds, H5T_NATIVE_INT64, &end, documents, 1, name, who + "doc_offsets");
    if (end < 0)
        throw Error(name, who + "doc_offsets is negative");
    return { documents, static_cast<std::uint64_t>(end) };
}

TokenTrace TraceFile::readTokens(const std::string &label) const
{
    h5::QuietErrors quiet;
    const std::string &name = m_name;
    const std::string who = "token trace '" + label + "': ";
    Handle group = tokenGroup(label);
    const auto [documents, committed] = tokenExtent(label);
    TokenTrace t;
    t.label = label;
    t.numLayers = m_header.model.numLayers;
    t.topK = m_header.model.topK;
    const hsize_t L = static_cast<hsize_t>(t.numLayers), k = static_cast<hsize_t>(t.topK);

    Handle offsets = openDataset(group, "doc_offsets", name, who + "doc_offsets");
    if (h5::datasetTypeClass(offsets, name, who) != H5T_INTEGER)
        throw Error(name, who + "doc_offsets must hold integers");
    t.docOffsets.resize(documents + 1);
    readRows(offsets, H5T_NATIVE_INT64, t.docOffsets.data(), 0, documents + 1, name,
        who + "doc_offsets");
    if (t.docOffsets[0] != 0)
        throw Error(name, who + "doc_offsets must start at 0");
    for (std::size_t i = 1; i < t.docOffsets.size(); ++i)
        if (t.docOffsets[i] < t.docOffsets[i - 1])
            throw Error(name, who + "doc_offsets decreases at document " + std::to_string(i - 1));
    if (static_cast<std::uint64_t>(t.docOffsets.back()) != committed)
        throw Error(name,
            who + "doc_offsets ends at " + std::to_string(t.docOffsets.back()) + " but "
                + std::to_string(committed) + " tokens are committed");

    Handle ids = openDataset(group, "token_ids", name, who + "token_ids");
    Handle idx = openDataset(group, "topk_idx", name, who + "topk_idx");
    Handle w = openDataset(group, "topk_w", name, who + "topk_w");
    const auto idsShape = h5::datasetShape(ids, name, who + "token_ids");
    const auto idxShape = h5::datasetShape(idx, name, who + "topk_idx");
    const auto wShape = h5::datasetShape(w, name, who + "topk_w");
    if (idsShape.size() != 1)
        throw Error(name, who + "token_ids has shape " + shapeText(idsShape) + ", expected [N]");
    for (const auto *shape : { &idxShape, &wShape })
        if (shape->size() != 3 || (*shape)[1] != L || (*shape)[2] != k)
            throw Error(name,
                who + "topk_idx/topk_w have shape " + shapeText(*shape) + ", expected [N, "
                    + std::to_string(L) + ", " + std::to_string(k) + "]");
    if (idsShape[0] < committed || idxShape[0] < committed || wShape[0] < committed)
        throw Error(name, who + "doc_offsets point past the end of the token data");
    if (h5::datasetTypeClass(ids, name, who) != H5T_INTEGER
        || h5::datasetTypeClass(idx, name, who) != H5T_INTEGER
        || h5::datasetTypeClass(w, name, who) != H5T_FLOAT)
        throw Error(name, who + "unexpected dataset types");

    t.tokenIds.resize(committed);
    t.topkIdx.resize(committed * L * k);
    t.topkWeights.resize(committed * L * k);
    readRows(ids, H5T_NATIVE_INT32, t.tokenIds.data(), 0, committed, name, who + "token_ids");
    readRows(idx, H5T_NATIVE_INT16, t.topkIdx.data(), 0, committed, name, who + "topk_idx");
    readRows(w, H5T_NATIVE_FLOAT, t.topkWeights.data(), 0, committed, name, who + "topk_w");
    return t;
}

TokenBatch TraceFile::readTokenRows(
    const std::string &label, std::uint64_t first, std::uint64_t count) const
{
    h5::QuietErrors quiet;
    const std::string &name = m_name;
    const std::string who = "token trace '" + label + "': ";
    Handle group = tokenGroup(label);
    const std::size_t perRow = static_cast<std::size_t>(m_header.model.numLayers)
        * static_cast<std::size_t>(m_header.model.topK);
    TokenBatch rows;
    rows.tokenIds.resize(count);
    rows.topkIdx.resize(count * perRow);
    rows.topkWeights.resize(count * perRow);
    Handle ids = openDataset(group, "token_ids", name, who + "token_ids");
    Handle idx = openDataset(group, "topk_idx", name, who + "topk_idx");
    Handle w = openDataset(group, "topk_w", name, who + "topk_w");
    readRows(ids, H5T_NATIVE_INT32, rows.tokenIds.data(), first, count, name, who + "token_ids");
    readRows(idx, H5T_NATIVE_INT16, rows.topkIdx.data(), first, count, name, who + "topk_idx");
    readRows(w, H5T_NATIVE_FLOAT, rows.topkWeights.data(), first, count, name, who + "topk_w");
    return rows;
}

std::vector<std::int64_t> TraceFile::readDocOffsets(
    const std::string &label, std::uint64_t first, std::uint64_t count) const
{
    h5::QuietErrors quiet;
    Handle group = tokenGroup(label);
    const std::string what = "token trace '" + label + "': doc_offsets";
    Handle ds = openDataset(group, "doc_offsets", m_name, what);
    std::vector<std::int64_t> out(count);
    readRows(ds, H5T_NATIVE_INT64, out.data(), first, count, m_name, what);
    return out;
}

std::optional<InPlaceLayout> TraceFile::inPlaceLayout() const
{
    h5::QuietErrors quiet;
    if (!h5::linkExists(m_file, kJournal))
        return std::nullopt;
    InPlaceLayout layout;
    Handle journal = openDataset(m_file, kJournal, m_name, "/commit_journal");
    layout.journalAt = static_cast<std::uint64_t>(H5Dget_offset(journal));
    layout.slotBytes = h5::datasetShape(journal, m_name, "/commit_journal").at(1);
    if (layout.journalAt == HADDR_UNDEF)
        return std::nullopt;
    for (const auto &label : tokenLabels()) {
        Handle group = tokenGroup(label);
        InPlaceLayout::TokenTrace t;
        t.label = label;
        t.tokenIdsAt = datasetOffset(group, "token_ids", m_name);
        t.topkIdxAt = datasetOffset(group, "topk_idx", m_name);
        t.topkWeightsAt = datasetOffset(group, "topk_w", m_name);
        t.docOffsetsAt = datasetOffset(group, "doc_offsets", m_name);
        if (!t.tokenIdsAt || !t.topkIdxAt || !t.topkWeightsAt || !t.docOffsetsAt)
            return std::nullopt; // chunked (finished) storage: not writable in place
        Handle ids = openDataset(group, "token_ids", m_name, "token_ids");
        Handle offsets = openDataset(group, "doc_offsets", m_name, "doc_offsets");
        t.rowCapacity = h5::datasetShape(ids, m_name, "token_ids").at(0);
        t.offsetCapacity = h5::datasetShape(offsets, m_name, "doc_offsets").at(0);
        layout.tokenTraces.push_back(std::move(t));
    }
    return layout;
}

void TraceFile::createTokenTrace(const std::string &label, TokenStorage storage,
    std::uint64_t rowCapacity, std::uint64_t offsetCapacity)
{
    writing([&] {
        h5::QuietErrors quiet;
        const std::string &name = m_name;
        validateLabel(label, name);
        const hsize_t L = static_cast<hsize_t>(m_header.model.numLayers);
        const hsize_t k = static_cast<hsize_t>(m_header.model.topK);
        Handle tokens = openOrCreateGroup(m_file, kTokensGroup, name);
        Handle group = createGroup(tokens, label, name);
        Handle float16 = h5::float16Type();
        struct Spec
        {
            const char *name;
            hid_t type;
            std::vector<hsize_t> perRow;
            hsize_t rows, rowsPerChunk;
        };
        const hsize_t perChunk = std::max<hsize_t>(1, (256 * 1024) / (L * k * 2));
        const Spec specs[] = {
            { "token_ids", H5T_STD_I32LE, {}, rowCapacity, 16384 },
            { "topk_idx", H5T_STD_I16LE, { L, k }, rowCapacity, perChunk },
            { "topk_w", float16, { L, k }, rowCapacity, perChunk },
            { "doc_offsets", H5T_STD_I64LE, {}, offsetCapacity, 4096 },
        };
        for (const Spec &s : specs) {
            const auto shape = rowShape(s.rows, s.perRow);
            if (storage == TokenStorage::Growing)
                createPreallocated(group, s.name, s.type, shape, name);
            else
                createFinal(group, s.name, s.type, shape, s.rowsPerChunk, name);
        }
    });
}

void TraceFile::writeTokenRows(
    const std::string &label, std::uint64_t first, const TokenBatch &rows)
{
    writing([&] {
        h5::QuietErrors quiet;
        const std::string &name = m_name;
        Handle group = tokenGroup(label);
        const hsize_t n = rows.tokenIds.size();
        Handle ids = openDataset(group, "token_ids", name, "token_ids");
        Handle idx = openDataset(group, "topk_idx", name, "topk_idx");
        Handle w = openDataset(group, "topk_w", name, "topk_w");
        writeRows(ids, H5T_NATIVE_INT32, rows.tokenIds.data(), first, n, name, "token_ids");
        writeRows(idx, H5T_NATIVE_INT16, rows.topkIdx.data(), first, n, name, "topk_idx");
        writeRows(w, H5T_NATIVE_FLOAT, rows.topkWeights.data(), first, n, name, "topk_w");
    });
}

void TraceFile::writeDocOffsets(
    const std::string &label, std::uint64_t first, const std::vector<std::int64_t> &offsets)
{
    writing([&] {
        h5::QuietErrors quiet;
        Handle group = tokenGroup(label);
        Handle ds = openDataset(group, "doc_offsets", m_name, "doc_offsets");
        writeRows(
            ds, H5T_NATIVE_INT64, offsets.data(), first, offsets.size(), m_name, "doc_offsets");
    });
}

void TraceFile::setTokenDocuments(const std::string &label, std::uint64_t documents)
{
    writing([&] {
        h5::QuietErrors quiet;
        Handle group = tokenGroup(label);
        h5::writeUInt64Attribute(group, "documents", documents, m_name);
    });
}

void TraceFile::createCommitJournal(std::uint64_t slotBytes)
{
    writing([&] {
        h5::QuietErrors quiet;
        createPreallocated(m_file, kJournal, H5T_STD_U8LE, { 2, slotBytes }, m_name);
    });
}

void TraceFile::throwIfWriteFailed() const
{
    if (m_status && m_status->failed)
        throw Error(m_name, "cannot write: " + m_status->reason + " (is the disk full?)");
}

template <class F> void TraceFile::writing(F &&work)
{
    if (!m_status)
        throw Error(m_name, "the trace is open for reading only");
    try {
        work();
    } catch (const Error &) {
        // After a failed write HDF5 may trip over the data it could not
        // write; the write failure is the cause worth reporting.
        throwIfWriteFailed();
        throw;
    }
    throwIfWriteFailed();
}

void TraceFile::close()
{
    h5::QuietErrors quiet;
    if (!m_file.valid())
        return;
    const bool closed = m_file.close();
    throwIfWriteFailed();
    if (!closed)
        throw Error(m_name, "cannot finish writing the trace");
}

} // namespace moescope

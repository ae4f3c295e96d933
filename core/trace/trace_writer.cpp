#include "core/trace/trace_writer.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/trace/commit_record.h"
#include "core/trace/trace_disk_io.h"
#include "core/trace/trace_file.h"
#include "core/trace/trace_store.h"
#include "core/trace/trace_validation.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>

namespace moescope {

namespace {

// Opens path and takes the writer lock (flock) on it; the kernel drops it when
// the process dies, kill -9 included. The lock belongs to the inode, and
// commits replace the file by renaming a new one over it, so check that the
// locked inode is still the one path names (else retry with the new one).
int lockTrace(const std::string &path, int openFlags)
{
    for (int attempt = 0; attempt < 100; ++attempt) {
        const int fd = ::open(path.c_str(), openFlags | O_CLOEXEC);
        if (fd < 0)
            throw Error(path, std::string("cannot open: ") + std::strerror(errno));
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            const int error = errno;
            ::close(fd);
            if (error == EWOULDBLOCK)
                throw Error(path, "another recording is writing this trace");
            throw Error(path, std::string("cannot lock: ") + std::strerror(error));
        }
        struct stat locked
        {
        }, named {};
        if (::fstat(fd, &locked) == 0 && ::stat(path.c_str(), &named) == 0
            && locked.st_dev == named.st_dev && locked.st_ino == named.st_ino)
            return fd;
        ::close(fd);
    }
    throw Error(path, "cannot lock: the file keeps being replaced");
}

// Spare room of a growing token trace: doubling keeps the copies made when it
// runs out (a rewrite of the whole file) to O(final size) in total.
std::uint64_t withRoom(std::uint64_t needed, std::uint64_t minimum)
{
    return std::max(needed * 2, minimum);
}

constexpr std::uint64_t kMinimumTokenRows = 256;
constexpr std::uint64_t kMinimumDocOffsets = 64;
constexpr std::uint64_t kCopyBlockRows = 65536;

} // namespace

struct TraceWriter::State
{
    std::string path;
    int fd = -1; // the trace, read-write, holding the writer lock
    RoutingTrace totals; // committed + pending
    std::size_t languagesInFile = 0; // totals.languages[0, n) exist in the file
    std::set<std::string> dirty;
    std::map<std::string, std::uint64_t> committedDocs;

    struct TokenProgress
    {
        std::uint64_t documents = 0, tokens = 0; // committed
        bool inFile = false;
        TokenBatch pending;
    };
    std::map<std::string, TokenProgress> tokenProgress; // sorted like HDF5's link order

    // Set while the file is in the growing form (it has token data): commits
    // then write in place and finish with a commit record.
    std::optional<InPlaceLayout> inPlace;
    std::uint64_t sequence = 0; // of the newest commit record
    int nextSlot = 0; // journal slot that does not hold it
    bool broken = false;
    bool closed = false;

    ~State()
    {
        if (fd >= 0)
            ::close(fd);
    }
    void requireUsable() const
    {
        if (broken)
            throw Error(path, "the trace writer stopped after an earlier error");
        if (closed)
            throw Error(path, "the trace writer is closed");
    }
    LanguageRouting *find(const std::string &label)
    {
        for (auto &l : totals.languages)
            if (l.label == label)
                return &l;
        return nullptr;
    }
    bool canCommitInPlace() const;
    void commitInPlace();
    void rewrite(TraceFile::TokenStorage storage);
};

TraceWriter::TraceWriter(const std::string &path, const RoutingTrace &header, Mode mode)
    : m(std::make_unique<State>())
{
    m->path = path;
    validateModel(header.model, path);
    std::error_code ec;
    const bool exists = std::filesystem::exists(path, ec);
    if (mode == Mode::Create) {
        // Never replace a trace that another recording is still writing.
        if (exists)
            ::close(lockTrace(path, O_RDONLY));
        m->totals = header;
        m->totals.languages.clear();
        if (m->totals.created.empty())
            m->totals.created = isoTimestampNow();
        m->rewrite(TraceFile::TokenStorage::Final);
        return;
    }
    if (!exists)
        throw Error(path, "no such file");
    m->fd = lockTrace(path, O_RDWR);
    const TraceFile file = TraceFile::open(path);
    const ModelSummary &existing = file.header().model;
    if (!existing.sameShape(header.model) || existing.modelId != header.model.modelId)
        throw Error(path,
            "cannot resume: the trace was recorded with model '" + existing.modelId + "' ("
                + std::to_string(existing.numLayers) + " layers, "
                + std::to_string(existing.numExperts) + " experts, top-"
                + std::to_string(existing.topK) + "), not '" + header.model.modelId + "'");
    m->totals = file.readAll();
    validateTrace(m->totals, path);
    m->languagesInFile = m->totals.languages.size();
    for (const auto &lang : m->totals.languages)
        m->committedDocs[lang.label] = lang.documents;
    for (const auto &label : file.tokenLabels()) {
        auto &progress = m->tokenProgress[label];
        std::tie(progress.documents, progress.tokens) = file.tokenExtent(label);
        progress.inFile = true;
    }
    m->inPlace = file.inPlaceLayout();
    if (const auto record = file.commitRecord()) {
        m->sequence = record->sequence;
        m->nextSlot = 1 - file.commitRecordSlot();
    }
}

TraceWriter::~TraceWriter() = default;

const std::string &TraceWriter::path() const
{
    return m->path;
}

const RoutingTrace &TraceWriter::totals() const
{
    return m->totals;
}

std::uint64_t TraceWriter::committedDocuments(const std::string &label) const
{
    const auto it = m->committedDocs.find(label);
    return it == m->committedDocs.end() ? 0 : it->second;
}

void TraceWriter::add(const LanguageRouting &batch)
{
    m->requireUsable();
    validateLabel(batch.label, m->path);
    const ModelSummary &model = m->totals.model;
    const std::size_t L = static_cast<std::size_t>(model.numLayers);
    const std::size_t cells = L * static_cast<std::size_t>(model.numExperts);
    if (batch.counts.size() != cells || batch.gateSum.size() != cells || batch.tokens.size() != L)
        throw Error(
            m->path, "batch for '" + batch.label + "' does not match the model's layers x experts");
    LanguageRouting *lang = m->find(batch.label);
    if (!lang) {
        LanguageRouting fresh;
        fresh.label = batch.label;
        fresh.corpus = batch.corpus;
        fresh.tokenScope = batch.tokenScope;
        fresh.templateName = batch.templateName;
        fresh.counts.assign(cells, 0);
        fresh.gateSum.assign(cells, 0.0);
        fresh.tokens.assign(L, 0);
        m->totals.languages.push_back(std::move(fresh));
        lang = &m->totals.languages.back();
    } else if (lang->tokenScope != batch.tokenScope || lang->templateName != batch.templateName
        || lang->corpus != batch.corpus) {
        throw Error(m->path,
            "batch for '" + batch.label
                + "' has a different corpus, token_scope or template than "
                  "the language already in the trace");
    }
    for (std::size_t i = 0; i < cells; ++i) {
        lang->counts[i] += batch.counts[i];
        lang->gateSum[i] += batch.gateSum[i];
    }
    for (std::size_t l = 0; l < L; ++l)
        lang->tokens[l] += batch.tokens[l];
    lang->documents += batch.documents;
    m->dirty.insert(batch.label);
}

void TraceWriter::addTokens(const std::string &label, const TokenBatch &batch)
{
    m->requireUsable();
    validateLabel(label, m->path);
    const ModelSummary &model = m->totals.model;
    const std::size_t n = batch.tokenIds.size();
    const std::size_t perToken
        = static_cast<std::size_t>(model.numLayers) * static_cast<std::size_t>(model.topK);
    std::int64_t sum = 0;
    for (std::int64_t len : batch.documentLengths) {
        if (len < 0)
            throw Error(m->path, "token batch for '" + label + "' has a negative document length");
        sum += len;
    }
    if (static_cast<std::size_t>(sum) != n)
        throw Error(m->path,
            "token batch for '" + label + "': document lengths sum to " + std::to_string(sum)
                + " but it has " + std::to_string(n) + " tokens");
    if (batch.topkIdx.size() != n * perToken || batch.topkWeights.size() != n * perToken)
        throw Error(m->path,
            "token batch for '" + label
                + "': topk arrays must hold tokens x layers x top_k values");
    for (std::int16_t e : batch.topkIdx)
        if (e < -1 || e >= model.numExperts)
            throw Error(m->path,
                "token batch for '" + label + "' names expert " + std::to_string(e)
                    + ", outside -1.." + std::to_string(model.numExperts - 1));
    TokenBatch &pending = m->tokenProgress[label].pending;
    auto append = [](auto &to, const auto &from) { to.insert(to.end(), from.begin(), from.end()); };
    append(pending.tokenIds, batch.tokenIds);
    append(pending.documentLengths, batch.documentLengths);
    append(pending.topkIdx, batch.topkIdx);
    append(pending.topkWeights, batch.topkWeights);
}

void TraceWriter::commit()
{
    m->requireUsable();
    try {
        validateTrace(m->totals, m->path);
    } catch (const Error &) {
        m->broken = true;
        throw;
    }
    bool pendingTokens = false;
    for (const auto &[label, progress] : m->tokenProgress)
        pendingTokens = pendingTokens || !progress.inFile || !progress.pending.tokenIds.empty()
            || !progress.pending.documentLengths.empty();
    if (m->dirty.empty() && !pendingTokens)
        return;
    try {
        if (m->canCommitInPlace())
            m->commitInPlace();
        else
            m->rewrite(TraceFile::TokenStorage::Growing);
    } catch (...) {
        // The file still holds the previous commit (see the two methods);
        // this writer's pending state no longer matches anything on disk.
        m->broken = true;
        throw;
    }
    for (const auto &lang : m->totals.languages)
        m->committedDocs[lang.label] = lang.documents;
    m->languagesInFile = m->totals.languages.size();
    for (auto &[label, progress] : m->tokenProgress) {
        progress.documents += progress.pending.documentLengths.size();
        progress.tokens += progress.pending.tokenIds.size();
        progress.inFile = true;
        progress.pending = TokenBatch {};
    }
    m->dirty.clear();
}

void TraceWriter::close()
{
    if (m->closed)
        return;
    commit();
    // The growing form (spare rows, commit journal) is for recordings in
    // progress; a finished trace is written once more in the final form.
    if (m->inPlace) {
        try {
            m->rewrite(TraceFile::TokenStorage::Final);
        } catch (...) {
            m->broken = true;
            throw;
        }
    }
    ::close(m->fd);
    m->fd = -1;
    m->closed = true;
}

bool TraceWriter::State::canCommitInPlace() const
{
    if (!inPlace || languagesInFile != totals.languages.size()
        || tokenProgress.size() != inPlace->tokenTraces.size())
        return false;
    for (const auto &[label, progress] : tokenProgress) {
        const auto *room = inPlace->find(label);
        if (!room || !progress.inFile
            || progress.tokens + progress.pending.tokenIds.size() > room->rowCapacity
            || progress.documents + progress.pending.documentLengths.size() + 1
                > room->offsetCapacity)
            return false;
    }
    return true;
}

// Token rows and doc_offsets go past the committed ones (readers ignore
// them until a commit record counts them), then the commit record goes into
// the journal slot that does not hold the newest one. A kill or a failed
// write anywhere leaves that newest record intact and in charge: the commit
// either happened completely or not at all.
void TraceWriter::State::commitInPlace()
{
    const ModelSummary &model = totals.model;
    const std::size_t perRow
        = static_cast<std::size_t>(model.numLayers) * static_cast<std::size_t>(model.topK);
    static_assert(std::endian::native == std::endian::little,
        "in-place commits write little-endian memory images");
    h5::QuietErrors quiet;
    CommitRecord record;
    record.sequence = sequence + 1;
    for (const auto &[label, progress] : tokenProgress) {
        const TokenBatch &p = progress.pending;
        const std::size_t n = p.tokenIds.size();
        const auto &at = *inPlace->find(label);
        if (n > 0) {
            writeAt(fd, at.tokenIdsAt + progress.tokens * 4, p.tokenIds.data(), n * 4, path);
            writeAt(fd, at.topkIdxAt + progress.tokens * perRow * 2, p.topkIdx.data(),
                n * perRow * 2, path);
            // float32 -> binary16 with HDF5's own conversion, the one H5Dwrite uses.
            std::vector<float> halves = p.topkWeights;
            h5::Handle float16 = h5::float16Type();
            h5::checkStatus(H5Tconvert(H5T_NATIVE_FLOAT, float16, halves.size(), halves.data(),
                                nullptr, H5P_DEFAULT),
                path, "cannot convert routing weights to float16");
            writeAt(fd, at.topkWeightsAt + progress.tokens * perRow * 2, halves.data(),
                n * perRow * 2, path);
        }
        std::vector<std::int64_t> ends;
        auto end = static_cast<std::int64_t>(progress.tokens);
        for (std::int64_t len : p.documentLengths)
            ends.push_back(end += len);
        if (!ends.empty())
            writeAt(fd, at.docOffsetsAt + (progress.documents + 1) * 8, ends.data(),
                ends.size() * 8, path);
        record.tokenTraces.push_back(
            { label, progress.documents + p.documentLengths.size(), progress.tokens + n });
    }
    for (const auto &lang : totals.languages)
        record.languages.push_back(
            { lang.label, lang.documents, lang.tokens, lang.counts, lang.gateSum });
    const auto bytes = encodeCommitRecord(record, static_cast<std::size_t>(model.numLayers),
        static_cast<std::size_t>(model.numExperts));
    if (bytes.size() > inPlace->slotBytes)
        throw Error(path, "the commit record outgrew its journal slot");
    writeAt(fd, inPlace->journalAt + static_cast<std::uint64_t>(nextSlot) * inPlace->slotBytes,
        bytes.data(), bytes.size(), path);
    sequence = record.sequence;
    nextSlot = 1 - nextSlot;
}

// Writes the complete committed-plus-pending state into a new file and renames
// it over the trace: atomic, and a failure (or kill) before the rename leaves
// the trace as it was and, at most, a temporary file (removed on failure).
void TraceWriter::State::rewrite(TraceFile::TokenStorage storage)
{
    const bool growing = storage == TraceFile::TokenStorage::Growing && !tokenProgress.empty();
    const ModelSummary &model = totals.model;
    AtomicFile atomic(path);
    std::optional<TraceFile> old;
    for (const auto &[label, progress] : tokenProgress)
        if (progress.inFile && !old)
            old.emplace(TraceFile::open(path));
    {
        TraceFile out = TraceFile::create(atomic.tempPath(), path, totals);
        for (const auto &lang : totals.languages)
            out.writeLanguage(lang);
        std::vector<std::string> languages, tokenLabels;
        for (const auto &lang : totals.languages)
            languages.push_back(lang.label);
        for (const auto &[label, progress] : tokenProgress) {
            tokenLabels.push_back(label);
            const TokenBatch &p = progress.pending;
            const std::uint64_t rows = progress.tokens + p.tokenIds.size();
            const std::uint64_t documents = progress.documents + p.documentLengths.size();
            out.createTokenTrace(label, growing ? storage : TraceFile::TokenStorage::Final,
                growing ? withRoom(rows, kMinimumTokenRows) : rows,
                growing ? withRoom(documents + 1, kMinimumDocOffsets) : documents + 1);
            std::vector<std::int64_t> offsets { 0 };
            if (progress.inFile) {
                for (std::uint64_t first = 0; first < progress.tokens; first += kCopyBlockRows)
                    out.writeTokenRows(label, first,
                        old->readTokenRows(
                            label, first, std::min(kCopyBlockRows, progress.tokens - first)));
                offsets = old->readDocOffsets(label, 0, progress.documents + 1);
            }
            out.writeTokenRows(label, progress.tokens, p);
            for (std::int64_t len : p.documentLengths)
                offsets.push_back(offsets.back() + len);
            out.writeDocOffsets(label, 0, offsets);
            out.setTokenDocuments(label, documents);
        }
        if (growing)
            out.createCommitJournal(
                commitRecordSize(languages, tokenLabels, static_cast<std::size_t>(model.numLayers),
                    static_cast<std::size_t>(model.numExperts)));
        out.close();
    }
    old.reset();
    std::optional<InPlaceLayout> layout;
    if (growing)
        layout = TraceFile::open(atomic.tempPath()).inPlaceLayout();
    // Lock the new file before it replaces the old one: the lock never lapses.
    const int newFd = lockTrace(atomic.tempPath(), O_RDWR);
    announceTraceWrite({ -1, 0, nullptr, 0, true });
    try {
        atomic.commit();
    } catch (...) {
        ::close(newFd);
        throw;
    }
    if (fd >= 0)
        ::close(fd);
    fd = newFd;
    inPlace = std::move(layout);
    sequence = 0;
    nextSlot = 0;
}

} // namespace moescope

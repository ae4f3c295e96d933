#include "core/trace/trace_writer.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/trace/trace_file.h"
#include "core/trace/trace_store.h"
#include "core/trace/trace_validation.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <sys/file.h>
#include <unistd.h>

namespace moescope {

namespace {

// An advisory lock (flock) on the trace for the writer's lifetime, so that two
// recordings cannot append to one file. The kernel drops it when the process
// dies, kill -9 included.
class WriterLock
{
public:
    explicit WriterLock(const std::string &path)
    {
        m_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (m_fd < 0)
            throw Error(path, std::string("cannot open: ") + std::strerror(errno));
        if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
            ::close(m_fd);
            throw Error(path, "another recording is writing this trace");
        }
    }
    ~WriterLock() { ::close(m_fd); }
    WriterLock(const WriterLock &) = delete;
    WriterLock &operator=(const WriterLock &) = delete;

private:
    int m_fd = -1;
};

} // namespace

struct TraceWriter::State
{
    std::string path;
    std::optional<WriterLock> lock;
    std::optional<TraceFile> file;
    RoutingTrace totals;
    std::set<std::string> dirty;
    std::map<std::string, std::uint64_t> committedDocs;

    struct TokenProgress
    {
        std::uint64_t documents = 0, tokens = 0;
        TokenBatch pending;
    };
    std::map<std::string, TokenProgress> tokenProgress;
    bool broken = false;

    void requireUsable() const
    {
        if (broken)
            throw Error(path, "the trace writer stopped after an earlier error");
        if (!file)
            throw Error(path, "the trace writer is closed");
    }
    LanguageRouting *find(const std::string &label)
    {
        for (auto &l : totals.languages)
            if (l.label == label)
                return &l;
        return nullptr;
    }
};

TraceWriter::TraceWriter(const std::string &path, const RoutingTrace &header, Mode mode)
    : m(std::make_unique<State>())
{
    m->path = path;
    validateModel(header.model, path);
    if (mode == Mode::Create) {
        // Never replace a trace that another recording is still writing.
        if (std::error_code ec; std::filesystem::exists(path, ec))
            WriterLock probe(path);
        AtomicFile atomic(path);
        RoutingTrace h = header;
        h.languages.clear();
        if (h.created.empty())
            h.created = isoTimestampNow();
        m->file = TraceFile::create(atomic.tempPath(), path, h);
        m->file->flush();
        // The open file follows the rename: from here on path always names a
        // complete, readable trace.
        atomic.commit();
        m->lock.emplace(path);
        m->totals = m->file->header();
        return;
    }
    if (std::error_code ec; std::filesystem::exists(path, ec))
        m->lock.emplace(path);
    m->file = TraceFile::open(path, true);
    const ModelSummary &existing = m->file->header().model;
    if (!existing.sameShape(header.model) || existing.modelId != header.model.modelId)
        throw Error(path, "cannot resume: the trace was recorded with model '" + existing.modelId
                              + "' (" + std::to_string(existing.numLayers) + " layers, "
                              + std::to_string(existing.numExperts) + " experts, top-"
                              + std::to_string(existing.topK) + "), not '" + header.model.modelId
                              + "'");
    m->totals = m->file->readAll();
    validateTrace(m->totals, path);
    for (const auto &lang : m->totals.languages)
        m->committedDocs[lang.label] = lang.documents;
    // Token records are written before the totals, so a kill between the two
    // can leave more token documents than counted ones; drop those (and any
    // rows past the last complete document).
    for (const auto &label : m->file->tokenLabels()) {
        const auto it = m->committedDocs.find(label);
        m->file->truncateTokens(label, it == m->committedDocs.end() ? 0 : it->second);
        auto [docs, tokens] = m->file->tokenExtent(label);
        m->tokenProgress[label].documents = docs;
        m->tokenProgress[label].tokens = tokens;
    }
    m->file->flush();
}

TraceWriter::~TraceWriter()
{
    if (m && m->file) {
        try {
            m->file->close();
        } catch (const Error &) {
            // Destructors cannot report; commit() already flushed everything
            // that counts.
        }
    }
}

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
        throw Error(m->path, "batch for '" + batch.label
                                 + "' does not match the model's layers x experts");
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
        throw Error(m->path, "batch for '" + batch.label
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
    const std::size_t perToken =
        static_cast<std::size_t>(model.numLayers) * static_cast<std::size_t>(model.topK);
    std::int64_t sum = 0;
    for (std::int64_t len : batch.documentLengths) {
        if (len < 0)
            throw Error(m->path, "token batch for '" + label + "' has a negative document length");
        sum += len;
    }
    if (static_cast<std::size_t>(sum) != n)
        throw Error(m->path, "token batch for '" + label + "': document lengths sum to "
                                 + std::to_string(sum) + " but it has " + std::to_string(n)
                                 + " tokens");
    if (batch.topkIdx.size() != n * perToken || batch.topkWeights.size() != n * perToken)
        throw Error(m->path, "token batch for '" + label
                                 + "': topk arrays must hold tokens x layers x top_k values");
    for (std::int16_t e : batch.topkIdx)
        if (e < -1 || e >= model.numExperts)
            throw Error(m->path, "token batch for '" + label + "' names expert "
                                     + std::to_string(e) + ", outside -1.."
                                     + std::to_string(model.numExperts - 1));
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
    try {
        for (auto &[label, progress] : m->tokenProgress) {
            TokenBatch &p = progress.pending;
            if (p.tokenIds.empty() && p.documentLengths.empty())
                continue;
            m->file->appendTokens(label, p, progress.tokens, progress.documents);
            progress.tokens += p.tokenIds.size();
            progress.documents += p.documentLengths.size();
            p = TokenBatch{};
        }
        for (const auto &lang : m->totals.languages)
            if (m->dirty.count(lang.label))
                m->file->writeLanguage(lang);
        m->file->flush();
    } catch (...) {
        m->broken = true;
        throw;
    }
    for (const auto &lang : m->totals.languages)
        m->committedDocs[lang.label] = lang.documents;
    m->dirty.clear();
}

void TraceWriter::close()
{
    if (!m->file)
        return;
    commit();
    TraceFile file = std::move(*m->file);
    m->file.reset();
    file.close();
    m->lock.reset();
}

} // namespace moescope

#include "core/trace/commit_record.h"

#include <bit>
#include <cstring>

namespace moescope {

// Records are stored little endian, as every other number in the trace.
static_assert(std::endian::native == std::endian::little,
    "commit records are written as little-endian memory images");

namespace {

constexpr char kMagic[8] = { 'M', 'S', 'C', 'O', 'M', 'I', 'T', '1' };
// magic, sequence, payload bytes, checksum
constexpr std::size_t kHeaderBytes = 8 + 8 + 8 + 8;

// FNV-1a, 64 bit: enough to tell a complete record from one mixed with the
// bytes of an older record (torn writes are accidents, not attacks).
std::uint64_t checksum(const std::uint8_t *p, std::size_t n, std::uint64_t sequence)
{
    std::uint64_t h = 0xcbf29ce484222325ull;
    auto mix = [&h](std::uint8_t b) {
        h ^= b;
        h *= 0x100000001b3ull;
    };
    for (int i = 0; i < 8; ++i)
        mix(static_cast<std::uint8_t>(sequence >> (8 * i)));
    for (std::size_t i = 0; i < n; ++i)
        mix(p[i]);
    return h;
}

class Writer
{
public:
    void u64(std::uint64_t v) { raw(&v, 8); }
    void f64(double v) { raw(&v, 8); }
    void text(const std::string &s)
    {
        u64(s.size());
        raw(s.data(), s.size());
    }
    template <class T> void array(const std::vector<T> &v) { raw(v.data(), v.size() * sizeof(T)); }
    void raw(const void *p, std::size_t n)
    {
        if (n == 0)
            return;
        const std::size_t at = out.size();
        out.resize(at + n);
        std::memcpy(out.data() + at, p, n);
    }
    std::vector<std::uint8_t> out;
};

class Reader
{
public:
    Reader(const std::uint8_t *p, std::size_t n)
        : m_p(p)
        , m_end(p + n)
    { }
    bool u64(std::uint64_t &v) { return raw(&v, 8); }
    bool text(std::string &s)
    {
        std::uint64_t n = 0;
        if (!u64(n) || n > static_cast<std::uint64_t>(m_end - m_p))
            return false;
        s.assign(reinterpret_cast<const char *>(m_p), static_cast<std::size_t>(n));
        m_p += n;
        return true;
    }
    template <class T> bool array(std::vector<T> &v, std::size_t n)
    {
        v.resize(n);
        return raw(v.data(), n * sizeof(T));
    }
    bool raw(void *to, std::size_t n)
    {
        if (n > static_cast<std::size_t>(m_end - m_p))
            return false;
        std::memcpy(to, m_p, n);
        m_p += n;
        return true;
    }
    bool atEnd() const { return m_p == m_end; }

private:
    const std::uint8_t *m_p;
    const std::uint8_t *m_end;
};

} // namespace

const CommitRecord::Language *CommitRecord::findLanguage(const std::string &label) const
{
    for (const auto &l : languages)
        if (l.label == label)
            return &l;
    return nullptr;
}

const CommitRecord::TokenExtent *CommitRecord::findTokens(const std::string &label) const
{
    for (const auto &t : tokenTraces)
        if (t.label == label)
            return &t;
    return nullptr;
}

std::size_t commitRecordSize(const std::vector<std::string> &languages,
    const std::vector<std::string> &tokenTraces, std::size_t L, std::size_t E)
{
    std::size_t n = kHeaderBytes + 16;
    for (const auto &label : languages)
        n += 8 + label.size() + 8 + 8 * L + 16 * L * E;
    for (const auto &label : tokenTraces)
        n += 8 + label.size() + 16;
    return n;
}

std::vector<std::uint8_t> encodeCommitRecord(
    const CommitRecord &record, std::size_t L, std::size_t E)
{
    Writer payload;
    payload.u64(record.languages.size());
    payload.u64(record.tokenTraces.size());
    for (const auto &lang : record.languages) {
        payload.text(lang.label);
        payload.u64(lang.documents);
        std::vector<std::uint64_t> tokens = lang.tokens, counts = lang.counts;
        std::vector<double> gate = lang.gateSum;
        tokens.resize(L);
        counts.resize(L * E);
        gate.resize(L * E);
        payload.array(tokens);
        payload.array(counts);
        payload.array(gate);
    }
    for (const auto &t : record.tokenTraces) {
        payload.text(t.label);
        payload.u64(t.documents);
        payload.u64(t.tokens);
    }
    Writer out;
    out.raw(kMagic, 8);
    out.u64(record.sequence);
    out.u64(payload.out.size());
    out.u64(checksum(payload.out.data(), payload.out.size(), record.sequence));
    out.raw(payload.out.data(), payload.out.size());
    return std::move(out.out);
}

std::optional<CommitRecord> decodeCommitRecord(
    const std::uint8_t *bytes, std::size_t size, std::size_t L, std::size_t E)
{
    if (size < kHeaderBytes || std::memcmp(bytes, kMagic, 8) != 0)
        return std::nullopt;
    Reader header(bytes + 8, kHeaderBytes - 8);
    std::uint64_t sequence = 0, payloadBytes = 0, sum = 0;
    header.u64(sequence);
    header.u64(payloadBytes);
    header.u64(sum);
    if (payloadBytes > size - kHeaderBytes)
        return std::nullopt;
    const std::uint8_t *payload = bytes + kHeaderBytes;
    const std::size_t n = static_cast<std::size_t>(payloadBytes);
    if (checksum(payload, n, sequence) != sum)
        return std::nullopt;
    Reader r(payload, n);
    CommitRecord record;
    record.sequence = sequence;
    std::uint64_t languages = 0, tokenTraces = 0;
    if (!r.u64(languages) || !r.u64(tokenTraces) || languages > n || tokenTraces > n)
        return std::nullopt;
    for (std::uint64_t i = 0; i < languages; ++i) {
        CommitRecord::Language lang;
        if (!r.text(lang.label) || !r.u64(lang.documents) || !r.array(lang.tokens, L)
            || !r.array(lang.counts, L * E) || !r.array(lang.gateSum, L * E))
            return std::nullopt;
        record.languages.push_back(std::move(lang));
    }
    for (std::uint64_t i = 0; i < tokenTraces; ++i) {
        CommitRecord::TokenExtent t;
        if (!r.text(t.label) || !r.u64(t.documents) || !r.u64(t.tokens))
            return std::nullopt;
        record.tokenTraces.push_back(std::move(t));
    }
    if (!r.atEnd())
        return std::nullopt;
    return record;
}

} // namespace moescope

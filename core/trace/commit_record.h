#pragma once

// The commit record of a recording with token-level data
// (docs/trace-format.md, "Crash safety"): the complete committed state of a
// trace's aggregates and token-trace extents, serialised with a sequence
// number and a checksum. TraceWriter writes one per commit into alternating
// slots of /commit_journal; readers take the valid record with the highest
// sequence. A record cut short by a kill or a full disk fails its checksum,
// and the other slot still holds the previous commit.

#include "core/trace/routing_trace.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moescope {

struct CommitRecord
{
    struct Language
    {
        std::string label;
        std::uint64_t documents = 0;
        std::vector<std::uint64_t> tokens; // [L]
        std::vector<std::uint64_t> counts; // [L * E]
        std::vector<double> gateSum; // [L * E]
    };
    struct TokenExtent
    {
        std::string label;
        std::uint64_t documents = 0;
        std::uint64_t tokens = 0;
    };
    std::uint64_t sequence = 0;
    std::vector<Language> languages; // the trace's language order
    std::vector<TokenExtent> tokenTraces; // sorted by label

    const Language *findLanguage(const std::string &label) const;
    const TokenExtent *findTokens(const std::string &label) const;
};

// Bytes of a record with these labels for a model of L layers, E experts.
std::size_t commitRecordSize(const std::vector<std::string> &languages,
    const std::vector<std::string> &tokenTraces, std::size_t L, std::size_t E);

std::vector<std::uint8_t> encodeCommitRecord(
    const CommitRecord &record, std::size_t L, std::size_t E);

// The record in bytes[0, size), or nothing when the slot is empty, cut short
// or damaged (bad magic, length or checksum).
std::optional<CommitRecord> decodeCommitRecord(
    const std::uint8_t *bytes, std::size_t size, std::size_t L, std::size_t E);

} // namespace moescope

// Crash and full-disk safety of TraceWriter (docs/trace-format.md, "Crash
// safety"), by deterministic fault injection: a scripted recording runs in a
// forked child that is killed with SIGKILL, or runs out of disk space
// (RLIMIT_FSIZE), at its n-th write, for every n (optionally after writing
// part of that write). The file left behind must read as exactly the state
// after some completed commit, and a resume must end with exactly what an
// uninterrupted recording writes.
#include "core/common/error.h"
#include "core/trace/commit_record.h"
#include "core/trace/token_trace.h"
#include "core/trace/trace_disk_io.h"
#include "core/trace/trace_store.h"
#include "core/trace/trace_writer.h"
#include "trace_test_support.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace moescope;
using namespace moescope::test;

namespace {

// One language's share of a commit: its statistics and token records of
// documents with the given lengths.
struct Part
{
    std::string label;
    unsigned seed;
    std::vector<std::int64_t> lengths;
};
using Step = std::vector<Part>; // what one commit adds

RoutingTrace header()
{
    RoutingTrace h = makeTrace({});
    h.provenance = R"({"command":"record"})";
    return h;
}

// New languages mid-way, two languages in one commit, and enough tokens for
// "en" to outgrow its spare rows (256) twice: every kind of commit.
const std::vector<Step> &script()
{
    static const std::vector<Step> steps = {
        { { "en", 1, { 30, 25 } } },
        { { "de", 2, { 20, 40 } } },
        { { "en", 3, { 50, 10 } } },
        { { "zh", 4, { 35, 35 } } },
        { { "en", 5, { 60, 60 } }, { "de", 6, { 45, 45 } } },
        { { "en", 7, { 70, 30 } } },
        { { "zh", 8, { 20, 20 } } },
        { { "en", 9, { 200, 150 } } },
    };
    return steps;
}

LanguageRouting statsFor(const Part &p)
{
    LanguageRouting b = makeTrace({ p.label }, p.seed).languages.front();
    b.documents = p.lengths.size();
    return b;
}

TokenBatch tokensFor(const Part &p)
{
    const ModelSummary model = header().model;
    TokenBatch b;
    b.documentLengths = p.lengths;
    std::int64_t n = 0;
    for (auto len : p.lengths)
        n += len;
    for (std::int64_t t = 0; t < n; ++t) {
        b.tokenIds.push_back(static_cast<std::int32_t>(p.seed * 1000 + t));
        for (int l = 0; l < model.numLayers; ++l)
            for (int k = 0; k < model.topK; ++k) {
                const bool dense = l == 0;
                b.topkIdx.push_back(dense
                        ? -1
                        : static_cast<std::int16_t>((t + l + k + p.seed) % model.numExperts));
                b.topkWeights.push_back(
                    dense ? 0.0f : static_cast<float>(1 + (t + k) % 60) / 64.0f);
            }
    }
    return b;
}

void addStep(TraceWriter &w, const Step &step)
{
    for (const Part &p : step) {
        w.add(statsFor(p));
        w.addTokens(p.label, tokensFor(p));
    }
}

// Everything a reader sees in a trace.
struct Snapshot
{
    bool exists = false;
    RoutingTrace trace;
    std::map<std::string, TokenTrace> tokens;
};

Snapshot snapshot(const std::string &path)
{
    Snapshot s;
    if (!std::filesystem::exists(path))
        return s;
    s.exists = true;
    s.trace = readTrace(path);
    for (const auto &label : tokenTraceLabels(path))
        s.tokens[label] = readTokenTrace(path, label);
    return s;
}

bool same(const Snapshot &a, const Snapshot &b)
{
    if (a.exists != b.exists || a.trace.languages.size() != b.trace.languages.size()
        || a.tokens.size() != b.tokens.size())
        return false;
    for (std::size_t i = 0; i < a.trace.languages.size(); ++i) {
        const auto &x = a.trace.languages[i], &y = b.trace.languages[i];
        if (x.label != y.label || x.counts != y.counts || x.gateSum != y.gateSum
            || x.tokens != y.tokens || x.documents != y.documents || x.corpus != y.corpus)
            return false;
    }
    for (const auto &[label, t] : a.tokens) {
        const auto it = b.tokens.find(label);
        if (it == b.tokens.end() || t.tokenIds != it->second.tokenIds
            || t.docOffsets != it->second.docOffsets || t.topkIdx != it->second.topkIdx
            || t.topkWeights != it->second.topkWeights)
            return false;
    }
    return true;
}

std::string describe(const Snapshot &s)
{
    if (!s.exists)
        return "no file";
    std::string out;
    for (const auto &l : s.trace.languages)
        out += l.label + ":" + std::to_string(l.documents) + " ";
    for (const auto &[label, t] : s.tokens)
        out += "tokens(" + label + "):" + std::to_string(t.numDocuments()) + " ";
    return out;
}

// What readers see after each stage of an uninterrupted run: [0] before the
// file exists, [1] right after creation, [1 + k] after k commits.
struct Reference
{
    std::vector<Snapshot> states;
    // For each write (or rename) of the whole run, in order: does it change
    // the trace itself (a rename over it, or an in-place write into it)
    // rather than a temporary file that is not yet the trace?
    std::vector<bool> touchesTrace;
};

bool writesTo(int fd, const std::string &path)
{
    std::error_code ec;
    const auto target = std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
    return !ec && target == std::filesystem::path(path);
}

const Reference &reference()
{
    static const Reference ref = [] {
        Reference r;
        TempDir dir("crash-reference");
        const std::string path = dir.file("t.h5");
        setTraceWriteHook([&](const TraceDiskWrite &w) {
            r.touchesTrace.push_back(w.isRename || writesTo(w.fd, path));
        });
        r.states.push_back(snapshot(path));
        TraceWriter w(path, header());
        r.states.push_back(snapshot(path));
        for (const Step &step : script()) {
            addStep(w, step);
            w.commit();
            r.states.push_back(snapshot(path));
        }
        w.close();
        setTraceWriteHook({});
        return r;
    }();
    return ref;
}

enum class Fault { Kill, DiskFull };

struct ChildOutcome
{
    int stages = 0; // stages the child reported complete (see Reference)
    bool exited = false; // exited normally (not by a signal)
    int exitCode = -1;
    int signal = 0;
    std::string error; // the Error the child caught
};

// Runs the script in a child. At write number `at` (1-based), writes `part`
// thousandths of it, then dies (Kill) or makes the file size limit end right
// there so that the rest of that write and every later write fails (DiskFull).
ChildOutcome runFaulty(const std::string &path, std::size_t at, Fault fault, int part)
{
    int fds[2];
    if (::pipe(fds) != 0)
        return {};
    const pid_t child = ::fork();
    if (child == 0) {
        ::close(fds[0]);
        std::signal(SIGXFSZ, SIG_IGN);
        std::size_t seen = 0;
        setTraceWriteHook([&](const TraceDiskWrite &w) {
            if (++seen != at)
                return;
            const std::size_t prefix = w.size * static_cast<std::size_t>(part) / 1000;
            if (fault == Fault::Kill) {
                if (prefix > 0 && ::pwrite(w.fd, w.data, prefix, static_cast<off_t>(w.offset)) < 0)
                    ::_exit(5);
                ::kill(::getpid(), SIGKILL);
            }
            const rlim_t limit = w.isRename ? 0 : static_cast<rlim_t>(w.offset + prefix);
            const rlimit r { limit, limit };
            ::setrlimit(RLIMIT_FSIZE, &r);
        });
        auto report = [&](char c) {
            if (::write(fds[1], &c, 1) != 1)
                ::_exit(6);
        };
        int code = 0;
        try {
            TraceWriter w(path, header());
            report('s');
            for (const Step &step : script()) {
                addStep(w, step);
                w.commit();
                report('s');
            }
            w.close();
            code = 3; // never failed
        } catch (const Error &e) {
            const std::string text = e.what();
            report('e');
            if (::write(fds[1], text.data(), text.size()) < 0)
                ::_exit(6);
        } catch (...) {
            code = 4;
        }
        ::close(fds[1]);
        // HDF5's shutdown is where a file left half-closed by a failed write
        // used to crash the process (H5F__close_cb).
        H5close();
        ::_exit(code);
    }
    ::close(fds[1]);
    ChildOutcome out;
    char c = 0;
    bool inError = false;
    while (::read(fds[0], &c, 1) == 1) {
        if (inError)
            out.error += c;
        else if (c == 's')
            ++out.stages;
        else
            inError = true;
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    out.exited = WIFEXITED(status);
    out.exitCode = out.exited ? WEXITSTATUS(status) : -1;
    out.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return out;
}

// The number of leading steps whose documents the writer reports committed,
// the way `record --resume` decides what to skip (script().size() + 1 when
// no prefix matches).
std::size_t committedSteps(const TraceWriter &w)
{
    std::map<std::string, std::uint64_t> docs;
    for (std::size_t k = 0; k <= script().size(); ++k) {
        bool matches = true;
        for (const auto &lang : w.totals().languages)
            matches = matches && w.committedDocuments(lang.label) == docs[lang.label];
        if (matches)
            return k;
        if (k < script().size())
            for (const Part &p : script()[k])
                docs[p.label] += p.lengths.size();
    }
    return script().size() + 1;
}

// Continues the recording like `record --resume` (or starts it when the file
// is missing); returns the steps it found committed.
std::size_t resumeAndFinish(const std::string &path)
{
    const bool exists = std::filesystem::exists(path);
    TraceWriter w(path, header(), exists ? TraceWriter::Mode::Resume : TraceWriter::Mode::Create);
    const std::size_t done = committedSteps(w);
    for (std::size_t s = done; s < script().size(); ++s) {
        addStep(w, script()[s]);
        w.commit();
    }
    w.close();
    return done;
}

// Faults at every write into the trace and every rename over it, and at every
// eighth write into temporary files (until its rename, any of those leaves the
// trace alike), each with a different share of the faulty write on disk.
void checkEveryFaultPoint(Fault fault)
{
    const Reference &ref = reference();
    std::vector<std::size_t> points;
    for (std::size_t i = 0; i < ref.touchesTrace.size(); ++i)
        if (ref.touchesTrace[i] || i % 8 == 0)
            points.push_back(i + 1);
    ASSERT_GT(std::count(ref.touchesTrace.begin(), ref.touchesTrace.end(), true), 20);
    TempDir dir(fault == Fault::Kill ? "crash-kill" : "crash-full");
    const std::string path = dir.file("t.h5");
    const Snapshot &finalState = ref.states.back();
    for (const std::size_t at : points) {
        std::filesystem::remove(path);
        const int part = static_cast<int>((at * 389) % 1001);
        const ChildOutcome child = runFaulty(path, at, fault, part);
        SCOPED_TRACE("fault at write " + std::to_string(at) + " (" + std::to_string(part)
            + "/1000 of it written)");
        if (fault == Fault::Kill) {
            ASSERT_EQ(child.signal, SIGKILL) << "exit " << child.exitCode << " " << child.error;
        } else if (child.exitCode == 3) {
            // Full only after the last write (at the final rename): nothing failed.
            ASSERT_EQ(static_cast<std::size_t>(child.stages), ref.states.size() - 1);
        } else {
            // A clean, one-line error and a normal exit; no crash at shutdown.
            ASSERT_TRUE(child.exited) << "signal " << child.signal;
            ASSERT_EQ(child.exitCode, 0) << child.error;
            EXPECT_EQ(child.error.find('\n'), std::string::npos) << child.error;
            EXPECT_NE(child.error.find("t.h5"), std::string::npos) << child.error;
        }
        // The file holds exactly the state after the last completed stage, or
        // (killed between a commit and its report) the one after.
        const Snapshot got = snapshot(path);
        const std::size_t s = static_cast<std::size_t>(child.stages);
        ASSERT_LT(s, ref.states.size());
        const bool atReported = same(got, ref.states[s]);
        const bool atNext = s + 1 < ref.states.size() && same(got, ref.states[s + 1]);
        if (fault == Fault::DiskFull)
            EXPECT_TRUE(atReported) << describe(got) << " vs " << describe(ref.states[s]);
        else
            EXPECT_TRUE(atReported || atNext) << describe(got) << " after stage " << s;
        const std::size_t stage = atReported ? s : s + 1;
        // Only the writer's own files remain (failed temporaries are removed;
        // a kill can leave one, which the next writer ignores).
        if (fault == Fault::DiskFull) {
            for (const auto &name : dir.entries())
                EXPECT_EQ(name, "t.h5");
        }
        // What a resume skips is exactly the committed steps, and finishing
        // the recording gives the uninterrupted result.
        EXPECT_EQ(resumeAndFinish(path), stage >= 1 ? stage - 1 : 0);
        EXPECT_TRUE(same(snapshot(path), finalState)) << describe(snapshot(path));
        if (::testing::Test::HasFailure())
            return;
    }
}

} // namespace

TEST(TraceCrashSafety, KillAtEveryWriteLeavesACompletedCommitAndResumesExactly)
{
    checkEveryFaultPoint(Fault::Kill);
}

TEST(TraceCrashSafety, FullDiskAtEveryWriteLeavesTheLastCommitAndExitsCleanly)
{
    checkEveryFaultPoint(Fault::DiskFull);
}

TEST(TraceCrashSafety, UncommittedWorkNeverReachesReaders)
{
    // The reference run's states are all different: a torn commit could not
    // pass for a neighbouring one.
    const Reference &ref = reference();
    for (std::size_t i = 1; i < ref.states.size(); ++i)
        EXPECT_FALSE(same(ref.states[i - 1], ref.states[i])) << "stage " << i;
}

TEST(TraceCrashSafety, ATraceThatCannotBeCreatedFailsWithOneLineAndNoCrash)
{
    TempDir dir("crash-create");
    const std::string path = dir.file("new.h5");
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    if (child == 0) {
        ::close(fds[0]);
        std::signal(SIGXFSZ, SIG_IGN);
        const rlimit r { 1024, 1024 }; // not even the root attributes fit
        ::setrlimit(RLIMIT_FSIZE, &r);
        int code = 3;
        try {
            TraceWriter w(path, header());
        } catch (const Error &e) {
            const std::string text = e.what();
            code = ::write(fds[1], text.data(), text.size()) < 0 ? 6 : 0;
        }
        ::close(fds[1]);
        H5close();
        ::_exit(code);
    }
    ::close(fds[1]);
    std::string error;
    char c = 0;
    while (::read(fds[0], &c, 1) == 1)
        error += c;
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << "signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    EXPECT_EQ(WEXITSTATUS(status), 0) << error;
    EXPECT_NE(error.find("cannot write: File too large"), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    EXPECT_TRUE(dir.entries().empty()) << "no trace and no temporary file";
}

TEST(CommitRecord, RoundTripsAndRejectsTornOrDamagedBytes)
{
    const RoutingTrace t = makeTrace({ "en", "zh+mask(en,0-4)" }, 7);
    const std::size_t L = 4, E = 6;
    CommitRecord r;
    r.sequence = 41;
    for (const auto &l : t.languages)
        r.languages.push_back({ l.label, l.documents, l.tokens, l.counts, l.gateSum });
    r.tokenTraces.push_back({ "en", 12, 345 });
    const auto bytes = encodeCommitRecord(r, L, E);
    ASSERT_EQ(bytes.size(), commitRecordSize({ "en", "zh+mask(en,0-4)" }, { "en" }, L, E));
    // The slot may be larger than the record; the rest is ignored.
    auto slot = bytes;
    slot.resize(bytes.size() + 100, 0xAB);
    const auto back = decodeCommitRecord(slot.data(), slot.size(), L, E);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->sequence, 41u);
    ASSERT_EQ(back->languages.size(), 2u);
    EXPECT_EQ(back->languages[1].label, "zh+mask(en,0-4)");
    EXPECT_EQ(back->languages[1].counts, t.languages[1].counts);
    EXPECT_EQ(back->languages[1].gateSum, t.languages[1].gateSum);
    EXPECT_EQ(back->languages[0].documents, t.languages[0].documents);
    ASSERT_NE(back->findTokens("en"), nullptr);
    EXPECT_EQ(back->findTokens("en")->tokens, 345u);

    // An empty (zeroed) slot, a record cut short, one with any byte changed,
    // and the new record over an older one with only a prefix written.
    const std::vector<std::uint8_t> zeros(bytes.size(), 0);
    EXPECT_FALSE(decodeCommitRecord(zeros.data(), zeros.size(), L, E));
    EXPECT_FALSE(decodeCommitRecord(bytes.data(), bytes.size() - 1, L, E));
    for (std::size_t i = 0; i < bytes.size(); i += 7) {
        auto damaged = bytes;
        damaged[i] ^= 0x20;
        EXPECT_FALSE(decodeCommitRecord(damaged.data(), damaged.size(), L, E)) << "byte " << i;
    }
    CommitRecord older = r;
    older.sequence = 39;
    older.languages[0].counts[7] += 1;
    older.languages[0].tokens[1] += 1;
    const auto previous = encodeCommitRecord(older, L, E);
    // A torn write is rejected unless it equals one of the two records (it
    // changed no byte yet, or it covers every byte that differs): never a mix.
    std::size_t rejected = 0;
    for (std::size_t cut = 1; cut < bytes.size(); cut += 13) {
        auto torn = previous;
        std::copy(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut), torn.begin());
        if (!decodeCommitRecord(torn.data(), torn.size(), L, E))
            ++rejected;
        else
            EXPECT_TRUE(torn == bytes || torn == previous) << "cut at " << cut;
    }
    EXPECT_GT(rejected, 0u);
}

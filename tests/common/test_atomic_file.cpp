#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace fs = std::filesystem;
using namespace moescope;

TEST(AtomicFile, LeavesNothingBehindWithoutCommit)
{
    const fs::path dir = fs::temp_directory_path() / "moescope-atomic-test";
    fs::remove_all(dir);
    fs::create_directories(dir);
    {
        AtomicFile f((dir / "out.txt").string());
        writeFileAtomically(f.tempPath(), "partial");
    }
    EXPECT_TRUE(fs::is_empty(dir));
    writeFileAtomically((dir / "out.txt").string(), "done");
    EXPECT_EQ(readFile((dir / "out.txt").string()), "done");
    EXPECT_THROW(writeFileAtomically((dir / "missing" / "x").string(), "y"), Error);
    EXPECT_THROW(readFile((dir / "nope").string()), Error);
    fs::remove_all(dir);
}

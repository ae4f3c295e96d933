#pragma once

// Resources compiled into the binary (see resources/CMakeLists.txt).

namespace moescope::resources {

// Resource folder holding the study's mgsm_<lang>.json files, LICENSE and
// README.md (Qwen3-30B-A3B routing counts, arXiv 2601.14050, MIT licence).
inline constexpr const char *kStudyDataDir = ":/study/qwen3-30b-a3b-mgsm";
inline constexpr const char *kAppIcon = ":/icons/moescope.svg";

// Resources in a static library are dropped by the linker unless something
// references them; call this once before reading any ":/" path.
void registerBundledResources();

} // namespace moescope::resources

#pragma once

// The bundled UDHR sample, compiled into the library by embed_udhr.cmake
// (internal to core/corpus; use udhr_corpus.h).

#include <cstddef>

namespace moescope::udhr_data {

struct EmbeddedFile
{
    const char *language; // file name without .json: the language label
    const char *json;     // the file's bytes (UTF-8 JSON)
    std::size_t size;
};

extern const EmbeddedFile kFiles[];
extern const std::size_t kFileCount;

} // namespace moescope::udhr_data

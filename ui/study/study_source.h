#pragma once

// Where a study comes from: the dataset bundled in the binary, an HDF5 trace,
// or the study's JSON files (a folder of them or single files).

#include "core/trace/routing_trace.h"

#include <QString>

#include <memory>

namespace moescope::ui {

struct StudySource
{
    QString path; // empty: the bundled Qwen3-30B-A3B MGSM data

    bool isBundled() const { return path.isEmpty(); }
    QString displayName() const; // short name for captions
    QString detail() const;      // full path or a description of the bundle

    static StudySource bundled() { return {}; }
    static StudySource fromPath(const QString &path) { return {path}; }
};

// Reads the source; throws moescope::Error(file, reason) on failure.
std::shared_ptr<const RoutingTrace> loadStudy(const StudySource &source);

// The bundled study: Qwen3-30B-A3B routing counts on MGSM (arXiv 2601.14050).
std::shared_ptr<const RoutingTrace> loadBundledStudy();

} // namespace moescope::ui

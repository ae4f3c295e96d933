#pragma once

// What every model and figure in the GUI reads: one loaded trace and the
// core analysis of it. Plain data (the Hotspot "data.h" idea): the GUI never
// re-derives a number that core/analysis already computed.

#include "core/analysis/routing_analysis.h"
#include "core/trace/routing_trace.h"

#include <QString>

#include <memory>
#include <vector>

namespace moescope::ui {

struct StudySnapshot
{
    std::shared_ptr<const RoutingTrace> trace;
    AnalysisResult analysis;
    // activationFrequency() per language, in trace order: [lang][layer*E + e].
    std::vector<std::vector<double>> frequency;
    QString sourceName;    // short, for captions and the status bar
    QString sourceDetail;  // full path, or what the bundled data is

    int languageCount() const { return static_cast<int>(trace->languages.size()); }
    int layerCount() const { return trace->model.numLayers; }
    int expertCount() const { return trace->model.numExperts; }
    QString languageLabel(int i) const
    {
        return QString::fromStdString(trace->languages[static_cast<std::size_t>(i)].label);
    }
    int languageIndex(const QString &label) const
    {
        for (int i = 0; i < languageCount(); ++i)
            if (languageLabel(i) == label)
                return i;
        return -1;
    }
};

using StudySnapshotPtr = std::shared_ptr<const StudySnapshot>;

// Runs the core analyses on trace (the expensive part; call off the GUI
// thread).
StudySnapshotPtr analyzeStudy(std::shared_ptr<const RoutingTrace> trace,
                              const AnalysisParams &params, const QString &sourceName,
                              const QString &sourceDetail);

} // namespace moescope::ui

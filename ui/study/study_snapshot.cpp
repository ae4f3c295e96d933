#include "ui/study/study_snapshot.h"

namespace moescope::ui {

StudySnapshotPtr analyzeStudy(std::shared_ptr<const RoutingTrace> trace,
                              const AnalysisParams &params, const QString &sourceName,
                              const QString &sourceDetail)
{
    auto snapshot = std::make_shared<StudySnapshot>();
    snapshot->analysis = analyzeTrace(*trace, params);
    snapshot->frequency.reserve(trace->languages.size());
    for (const auto &lang : trace->languages)
        snapshot->frequency.push_back(activationFrequency(lang, trace->model));
    snapshot->trace = std::move(trace);
    snapshot->sourceName = sourceName;
    snapshot->sourceDetail = sourceDetail;
    return snapshot;
}

} // namespace moescope::ui

#pragma once

// The study's whole figure set in one call: the routing figures of a study
// (usage and difference heatmaps, similarity, dendrogram, similarity and
// entropy by layer, expert counts) and, when given, the ablation grid
// (metric and change from baseline) and the steering comparison. Used by
// `moescope figures --paper` and the GUI's "Paper figures" action.
//
// Call on the thread that owns the QApplication (the chart-based figures are
// QGraphicsWidgets); takes about a second per format for the full set.

#include "ui/figures/figure_export.h"
#include "ui/figures/intervention_results.h"
#include "ui/study/study_snapshot.h"

#include <QList>
#include <QStringList>

namespace moescope::ui {

struct PaperFigureSet
{
    // Any of the three may be missing; at least one must be there.
    StudySnapshotPtr study;
    InterventionResultsPtr ablation; // Kind::Ablation
    InterventionResultsPtr steering; // Kind::Steering
    // Usage heatmap language and difference pair (labels); empty: en and zh
    // when present, else the first two languages.
    QString language, compareLanguage;
    // Drawn metric of the results figures; empty: each task's main metric.
    QString metric;
};

// Writes every figure of inputs into dir (created if missing) in each
// format, named <figure stem>.<suffix> (e.g. ablation-accuracy-delta.svg),
// atomically. options.format is ignored in favour of formats; dpi and size
// apply to every figure. Returns the written paths in order. Throws
// moescope::Error (nothing given, unknown language or metric, unwritable
// folder); files written before the error stay complete.
QStringList exportPaperFigures(const PaperFigureSet &inputs, const QString &dir,
    const QList<FigureFormat> &formats, const FigureExportOptions &options = {});

// The same in the single format options.format.
QStringList exportPaperFigures(
    const PaperFigureSet &inputs, const QString &dir, const FigureExportOptions &options);

} // namespace moescope::ui

#include "ui/figures/paper_figures.h"

#include "core/common/error.h"
#include "ui/figures/ablation_grid_renderer.h"
#include "ui/figures/steering_results_renderer.h"
#include "ui/figures/study_figures.h"

#include <QDir>

#include <memory>

namespace moescope::ui {

QStringList exportPaperFigures(const PaperFigureSet &inputs, const QString &dir,
    const QList<FigureFormat> &formats, const FigureExportOptions &options)
{
    if (!inputs.study && !inputs.ablation && !inputs.steering)
        throw Error(dir.toStdString(), "no study and no ablation or steering results to draw");
    if (formats.isEmpty())
        throw Error(dir.toStdString(), "no figure format chosen");
    if (!QDir().mkpath(dir))
        throw Error(dir.toStdString(), "cannot create output folder");

    // Build every figure first so that a bad language or metric fails before
    // any file is written.
    StudyFigures study;
    QList<FigureRenderer *> figures;
    if (inputs.study) {
        study.setSnapshot(inputs.study);
        study.selectLanguages(inputs.language, inputs.compareLanguage);
        figures << study.figures();
    }
    std::unique_ptr<AblationGridRenderer> ablation, ablationDelta;
    if (inputs.ablation) {
        ablation = std::make_unique<AblationGridRenderer>(inputs.ablation);
        ablationDelta = std::make_unique<AblationGridRenderer>(inputs.ablation);
        ablation->setMetric(inputs.metric);
        ablationDelta->setMetric(inputs.metric);
        ablationDelta->setShowDelta(true);
        figures << ablation.get() << ablationDelta.get();
    }
    std::unique_ptr<SteeringResultsRenderer> steering;
    if (inputs.steering) {
        steering = std::make_unique<SteeringResultsRenderer>(inputs.steering);
        steering->setMetric(inputs.metric);
        figures << steering.get();
    }

    QStringList written;
    for (FigureRenderer *figure : figures)
        for (FigureFormat format : formats) {
            FigureExportOptions o = options;
            o.format = format;
            const QString path = QDir(dir).filePath(
                figure->fileStem() + QLatin1Char('.') + figureFormatSuffix(format));
            exportFigure(*figure, path, o);
            written << path;
        }
    return written;
}

QStringList exportPaperFigures(
    const PaperFigureSet &inputs, const QString &dir, const FigureExportOptions &options)
{
    return exportPaperFigures(inputs, dir, QList<FigureFormat> { options.format }, options);
}

} // namespace moescope::ui

#pragma once

// Every figure of a study, with the models behind them. The GUI shows these
// exact objects and `moescope figures` exports them, so a figure on screen
// and its exported file come from the same model and renderer.

#include "ui/study/study_snapshot.h"

#include <QList>
#include <QObject>

namespace moescope::ui {

class DendrogramModel;
class DendrogramRenderer;
class ExpertCountsModel;
class ExpertCountsRenderer;
class FigureRenderer;
class HeatmapModel;
class HeatmapRenderer;
class LanguageTableModel;
class LayerChartRenderer;
class LayerSeriesModel;
class SimilarityModel;
class SimilarityRenderer;

class StudyFigures : public QObject
{
    Q_OBJECT
public:
    explicit StudyFigures(QObject *parent = nullptr);
    ~StudyFigures() override;

    // Updates every model; keeps the chosen languages when they still exist.
    void setSnapshot(StudySnapshotPtr snapshot);
    StudySnapshotPtr snapshot() const { return m_snapshot; }

    // Picks the usage heatmap's language and the difference pair by label.
    // Throws moescope::Error naming the unknown label.
    void selectLanguages(const QString &language, const QString &compare);

    HeatmapModel *usageModel() const { return m_usage; }
    HeatmapModel *differenceModel() const { return m_difference; }
    SimilarityModel *similarityModel() const { return m_similarity; }
    DendrogramModel *dendrogramModel() const { return m_dendrogram; }
    LayerSeriesModel *similarityByLayerModel() const { return m_similarityByLayer; }
    LayerSeriesModel *entropyByLayerModel() const { return m_entropyByLayer; }
    ExpertCountsModel *expertCountsModel() const { return m_expertCounts; }
    LanguageTableModel *languageTableModel() const { return m_languageTable; }

    HeatmapRenderer *usageFigure() const { return m_usageFigure; }
    HeatmapRenderer *differenceFigure() const { return m_differenceFigure; }
    SimilarityRenderer *similarityFigure() const { return m_similarityFigure; }
    DendrogramRenderer *dendrogramFigure() const { return m_dendrogramFigure; }
    LayerChartRenderer *similarityByLayerFigure() const { return m_similarityByLayerFigure; }
    LayerChartRenderer *entropyByLayerFigure() const { return m_entropyByLayerFigure; }
    ExpertCountsRenderer *expertCountsFigure() const { return m_expertCountsFigure; }

    // In display order (the GUI's tabs).
    QList<FigureRenderer *> figures() const;

    // "Data: … · model … · k = 15, threshold = 0.4, linkage = average · MoEScope x.y"
    static QString caption(const StudySnapshot &snapshot);

private:
    StudySnapshotPtr m_snapshot;
    HeatmapModel *m_usage;
    HeatmapModel *m_difference;
    SimilarityModel *m_similarity;
    DendrogramModel *m_dendrogram;
    LayerSeriesModel *m_similarityByLayer;
    LayerSeriesModel *m_entropyByLayer;
    ExpertCountsModel *m_expertCounts;
    LanguageTableModel *m_languageTable;

    HeatmapRenderer *m_usageFigure;
    HeatmapRenderer *m_differenceFigure;
    SimilarityRenderer *m_similarityFigure;
    DendrogramRenderer *m_dendrogramFigure;
    LayerChartRenderer *m_similarityByLayerFigure;
    LayerChartRenderer *m_entropyByLayerFigure;
    ExpertCountsRenderer *m_expertCountsFigure;
};

} // namespace moescope::ui

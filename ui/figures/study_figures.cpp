#include "ui/figures/study_figures.h"

#include "core/common/error.h"
#include "ui/figures/dendrogram_renderer.h"
#include "ui/figures/expert_counts_renderer.h"
#include "ui/figures/heatmap_renderer.h"
#include "ui/figures/layer_chart_renderer.h"
#include "ui/figures/similarity_renderer.h"
#include "ui/models/dendrogram_model.h"
#include "ui/models/expert_counts_model.h"
#include "ui/models/heatmap_model.h"
#include "ui/models/language_table_model.h"
#include "ui/models/layer_series_model.h"
#include "ui/models/similarity_model.h"

namespace moescope::ui {

StudyFigures::StudyFigures(QObject *parent)
    : QObject(parent),
      m_usage(new HeatmapModel(this)),
      m_difference(new HeatmapModel(this)),
      m_similarity(new SimilarityModel(this)),
      m_dendrogram(new DendrogramModel(this)),
      m_similarityByLayer(new LayerSeriesModel(LayerSeriesModel::Kind::SimilarityByLayer, this)),
      m_entropyByLayer(new LayerSeriesModel(LayerSeriesModel::Kind::EntropyByLayer, this)),
      m_expertCounts(new ExpertCountsModel(this)),
      m_languageTable(new LanguageTableModel(this)),
      m_usageFigure(new HeatmapRenderer(m_usage, this)),
      m_differenceFigure(new HeatmapRenderer(m_difference, this)),
      m_similarityFigure(new SimilarityRenderer(m_similarity, this)),
      m_dendrogramFigure(new DendrogramRenderer(m_dendrogram, this)),
      m_similarityByLayerFigure(new LayerChartRenderer(m_similarityByLayer, this)),
      m_entropyByLayerFigure(new LayerChartRenderer(m_entropyByLayer, this)),
      m_expertCountsFigure(new ExpertCountsRenderer(m_expertCounts, this))
{
    m_difference->setMeasure(HeatmapModel::Measure::Difference);
}

StudyFigures::~StudyFigures() = default;

void StudyFigures::setSnapshot(StudySnapshotPtr snapshot)
{
    const bool firstStudy = !m_snapshot
        || (snapshot && m_snapshot->trace != snapshot->trace);
    m_snapshot = std::move(snapshot);
    if (m_snapshot && firstStudy) {
        // The study's own comparison pair (its steering experiments use
        // en and zh) when present; otherwise the first two languages.
        const int en = m_snapshot->languageIndex(QStringLiteral("en"));
        const int zh = m_snapshot->languageIndex(QStringLiteral("zh"));
        const int n = m_snapshot->languageCount();
        const int a = en >= 0 ? en : 0;
        const int b = zh >= 0 && zh != a ? zh : (a == 0 && n > 1 ? 1 : 0);
        m_usage->setLanguage(a);
        m_difference->setLanguage(a);
        m_difference->setCompareLanguage(b);
    }
    for (HeatmapModel *m : {m_usage, m_difference})
        m->setSnapshot(m_snapshot);
    m_similarity->setSnapshot(m_snapshot);
    m_dendrogram->setSnapshot(m_snapshot);
    m_similarityByLayer->setSnapshot(m_snapshot);
    m_entropyByLayer->setSnapshot(m_snapshot);
    m_expertCounts->setSnapshot(m_snapshot);
    m_languageTable->setSnapshot(m_snapshot);
    const QString text = m_snapshot ? caption(*m_snapshot) : QString();
    for (FigureRenderer *f : figures())
        f->setCaption(text);
}

void StudyFigures::selectLanguages(const QString &language, const QString &compare)
{
    if (!m_snapshot)
        return;
    auto index = [this](const QString &label) {
        const int i = m_snapshot->languageIndex(label);
        if (i < 0) {
            QStringList known;
            for (int j = 0; j < m_snapshot->languageCount(); ++j)
                known << m_snapshot->languageLabel(j);
            throw Error(m_snapshot->sourceName.toStdString(),
                        QStringLiteral("no language '%1' (have: %2)")
                            .arg(label, known.join(QLatin1String(", ")))
                            .toStdString());
        }
        return i;
    };
    if (!language.isEmpty()) {
        m_usage->setLanguage(index(language));
        m_difference->setLanguage(index(language));
    }
    if (!compare.isEmpty())
        m_difference->setCompareLanguage(index(compare));
}

QList<FigureRenderer *> StudyFigures::figures() const
{
    return {m_usageFigure,          m_differenceFigure,       m_similarityFigure,   m_dendrogramFigure,
            m_similarityByLayerFigure, m_entropyByLayerFigure, m_expertCountsFigure};
}

QString StudyFigures::caption(const StudySnapshot &snapshot)
{
    const auto &model = snapshot.trace->model;
    const auto &p = snapshot.analysis.params;
    return QStringLiteral("Data: %1 · model %2, %3 layers × %4 experts, top-%5 · %6 languages · "
                          "k = %7, threshold = %8, linkage = %9 · MoEScope %10")
        .arg(snapshot.sourceName, QString::fromStdString(model.modelId))
        .arg(model.numLayers)
        .arg(model.numExperts)
        .arg(model.topK)
        .arg(snapshot.languageCount())
        .arg(p.k)
        .arg(p.threshold)
        .arg(QString::fromStdString(linkageName(p.linkage)), QStringLiteral(MOESCOPE_VERSION));
}

} // namespace moescope::ui

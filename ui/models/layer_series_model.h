#pragma once

#include "ui/models/model_roles.h"
#include "ui/study/study_snapshot.h"

#include <QAbstractTableModel>

namespace moescope::ui {

// One value per MoE layer and series (rows: MoE layers, columns: series).
//  - SimilarityByLayer: column 0 is the mean pairwise similarity over all
//    language pairs (core meanPairwisePerLayer); then one column per
//    language: its mean similarity to the other languages in that layer.
//  - EntropyByLayer: one column per language, routing entropy in bits.
class LayerSeriesModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum class Kind { SimilarityByLayer, EntropyByLayer };

    explicit LayerSeriesModel(Kind kind, QObject *parent = nullptr);

    void setSnapshot(StudySnapshotPtr snapshot);
    StudySnapshotPtr snapshot() const { return m_snapshot; }
    Kind kind() const { return m_kind; }

    int layerAt(int row) const;
    double value(int row, int series) const;
    QString seriesName(int series) const;
    int seriesLanguage(int series) const; // -1 for the all-pairs aggregate
    QString title() const;
    QString valueAxisTitle() const;
    ValueRange valueRange() const; // over all finite values

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    void rebuild();

    Kind m_kind;
    StudySnapshotPtr m_snapshot;
    std::vector<int> m_layers;
    std::vector<QString> m_names;
    std::vector<int> m_languages;
    std::vector<std::vector<double>> m_values; // [row][series]
};

} // namespace moescope::ui

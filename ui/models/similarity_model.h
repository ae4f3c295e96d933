#pragma once

#include "ui/models/model_roles.h"
#include "ui/study/study_snapshot.h"

#include <QAbstractTableModel>

namespace moescope::ui {

// Language × language routing similarity (1 − JSD, base 2): the mean over MoE
// layers, or one layer.
class SimilarityModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    static constexpr int kMeanOverLayers = -1;

    explicit SimilarityModel(QObject *parent = nullptr);

    void setSnapshot(StudySnapshotPtr snapshot);
    void setLayer(int layer); // kMeanOverLayers or a MoE layer index

    StudySnapshotPtr snapshot() const { return m_snapshot; }
    int layer() const { return m_layer; }
    std::vector<int> moeLayers() const;

    double value(int a, int b) const;
    // Colour domain: from the smallest off-diagonal similarity (rounded down
    // to 0.05) to 1, so that differences between languages are visible.
    ValueRange valueRange() const;
    QString title() const;
    QString toolTip(int a, int b) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    const std::vector<std::vector<double>> *matrix() const;

    StudySnapshotPtr m_snapshot;
    int m_layer = kMeanOverLayers;
};

} // namespace moescope::ui

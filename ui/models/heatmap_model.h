#pragma once

#include "ui/models/model_roles.h"
#include "ui/study/study_snapshot.h"

#include <QAbstractTableModel>

namespace moescope::ui {

// Layer × expert usage of one language (rows: layers, columns: experts), or
// the difference of activation frequencies between two languages.
class HeatmapModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum class Measure {
        Frequency,  // f = counts / tokens (sums to ~top_k per layer)
        Share,      // the language's share among all languages, top-k filtered
        Difference, // f(language) - f(compare language)
    };

    explicit HeatmapModel(QObject *parent = nullptr);

    void setSnapshot(StudySnapshotPtr snapshot);
    void setMeasure(Measure measure);
    void setLanguage(int language);
    void setCompareLanguage(int language);

    StudySnapshotPtr snapshot() const { return m_snapshot; }
    Measure measure() const { return m_measure; }
    int language() const { return m_language; }
    int compareLanguage() const { return m_compare; }
    bool isDiverging() const { return m_measure == Measure::Difference; }

    double value(int layer, int expert) const;
    // Colour-scale domain: [0, max] for frequency, [0, 1] for share, and
    // symmetric [-m, m] around zero for differences.
    ValueRange valueRange() const { return m_range; }
    QString measureLabel() const; // legend title
    QString title() const;
    QString toolTip(int layer, int expert) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    void rebuild();
    std::size_t cell(int layer, int expert) const;

    StudySnapshotPtr m_snapshot;
    Measure m_measure = Measure::Frequency;
    int m_language = 0;
    int m_compare = 1;
    std::vector<double> m_values; // [layer*E + expert]
    ValueRange m_range;
};

} // namespace moescope::ui

#pragma once

// Per-token routing of one generation (prompt and generated tokens): rows
// are decoder layers, columns tokens, the value the top-1 expert. Cells are
// coloured by that expert, or by the expert's share for one language taken
// from the loaded study (the study's share, core/analysis
// expertSpecialisation) when the study's model has the same shape.

#include "ui/live/live_data.h"
#include "ui/models/model_roles.h"
#include "ui/study/study_snapshot.h"

#include <QAbstractTableModel>

#include <limits>

namespace moescope::ui {

class TokenRoutingModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum class Colouring { TopExpert, LanguageShare };

    explicit TokenRoutingModel(QObject *parent = nullptr);

    void setOutcome(GenerationOutcomePtr outcome);
    void setSnapshot(StudySnapshotPtr snapshot);
    // language: index into the snapshot's languages (LanguageShare only).
    void setColouring(Colouring colouring, int language = 0);
    // Model and plan named in the figure's title and caption.
    void setDescription(const QString &modelName, const QString &planSummary);

    GenerationOutcomePtr outcome() const { return m_outcome; }
    StudySnapshotPtr snapshot() const { return m_snapshot; }
    Colouring colouring() const { return m_colouring; }
    int language() const { return m_language; }
    QString languageLabel() const;
    QString modelName() const { return m_modelName; }
    QString planSummary() const { return m_planSummary; }

    // Shares need a study recorded on a model with the same layers and
    // experts; otherwise this says why not ("" when they are available).
    QString sharesUnavailableReason() const;
    bool sharesAvailable() const { return sharesUnavailableReason().isEmpty(); }

    int tokenCount() const;
    int layerCount() const;
    int expertCount() const;
    int topK() const;
    int promptTokens() const;
    bool isMoeLayer(int layer) const;
    const RoutedToken &token(int index) const;
    // -1 when the token is not routed yet or the layer is dense.
    int topExpert(int layer, int token) const;
    // The language's share of expert in layer; NaN without shares.
    double share(int layer, int expert) const;
    QString toolTip(int layer, int token) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(
        int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // A token's text made visible: spaces as ·, line breaks as ⏎, tabs as →.
    static QString visibleText(const QString &text);

private:
    GenerationOutcomePtr m_outcome;
    StudySnapshotPtr m_snapshot;
    Colouring m_colouring = Colouring::TopExpert;
    int m_language = 0;
    QString m_modelName;
    QString m_planSummary;
};

} // namespace moescope::ui

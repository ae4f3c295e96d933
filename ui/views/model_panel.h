#pragma once

#include "ui/live/live_data.h"

#include <QWidget>

class QFormLayout;
class QLabel;
class QPushButton;

namespace moescope::ui {

// The model dock: what `moescope info` says about the loaded model folder,
// and the current intervention plan. Before a model is loaded it asks for
// one.
class ModelPanel : public QWidget
{
    Q_OBJECT
public:
    explicit ModelPanel(QWidget *parent = nullptr);

    void setLoading(const QString &directory);
    void setFacts(const ModelFactsPtr &facts);
    // Load failed: back to the previous model (or to "Open a model folder").
    void setFailed(const ModelFactsPtr &previous);
    void setPlanSummary(const QString &summary, const QString &path, bool empty);

    QString statusText() const;
    // The value shown for a fact (tests): "Family", "Parameters", "Layers"...
    QString fact(const QString &name) const;

    // "1.2 K", "3.4 M", "30.5 B" parameters; "12.3 MB" bytes.
    static QString formatCount(std::uint64_t n);
    static QString formatBytes(std::uint64_t bytes);

Q_SIGNALS:
    void openModelRequested();
    void openPlanRequested();
    void savePlanRequested();
    void clearPlanRequested();

private:
    void setFact(const QString &name, const QString &value, const QString &toolTip = {});

    QLabel *m_status;
    QPushButton *m_open;
    QWidget *m_factsBox;
    QFormLayout *m_facts;
    QLabel *m_plan;
    QPushButton *m_savePlan;
    QPushButton *m_clearPlan;
};

} // namespace moescope::ui

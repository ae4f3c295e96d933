#pragma once

// The intervention plan the live panels generate with (PLAN.json,
// docs/architecture.md "Intervention plan"): loaded, saved and cleared from the
// File menu, applied by the playground when "Apply plan" is on.

#include "core/routing/intervention_plan.h"

#include <QObject>
#include <QString>

namespace moescope::ui {

class PlanDocument : public QObject
{
    Q_OBJECT
public:
    explicit PlanDocument(QObject *parent = nullptr);

    const routing::InterventionPlan &plan() const { return m_plan; }
    bool isEmpty() const { return m_plan.empty(); }
    // File it was last loaded from or saved to ("" when made in the GUI).
    QString path() const { return m_path; }

    // Throw moescope::Error(path, reason); the document is unchanged then.
    void load(const QString &path);
    void save(const QString &path);
    void setPlan(const routing::InterventionPlan &plan);
    void clear();

    // "no plan", or e.g. "mask 12 experts (2 entries), steer 30 experts (1 entry)"
    QString summary() const;
    static QString summarise(const routing::InterventionPlan &plan);

Q_SIGNALS:
    void changed();

private:
    routing::InterventionPlan m_plan;
    QString m_path;
};

} // namespace moescope::ui

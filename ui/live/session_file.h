#pragma once

// A saved session (File → Save Session…): which model and study were open,
// the plan, the analysis parameters, the current tab and the values of the
// panels' controls, so that reopening it puts the window back as it was.
//
//   {"format": "moescope-session", "version": 1,
//    "model": "/models/demo" | null, "study": "/traces/udhr.h5" | null (bundled),
//    "plan": {PLAN.json} | null, "plan_file": "/plans/mask-en.json" | null,
//    "analysis": {"k": 15, "threshold": 0.4, "linkage": "average"},
//    "tab": "Ablation",
//    "ablation_results": "/results/ablation" | null, "steering_results": ... | null,
//    "controls": {"ablation": {"language": "en", "k": 15, ...}, ...}}

#include "core/analysis/routing_analysis.h"
#include "core/routing/intervention_plan.h"

#include <QJsonObject>
#include <QString>

#include <optional>

class QWidget;

namespace moescope::ui {

struct Session
{
    QString modelDirectory; // "" = no model
    QString studyPath; // "" = the bundled study
    std::optional<routing::InterventionPlan> plan;
    QString planPath;
    AnalysisParams analysis;
    QString tab;
    QJsonObject controls; // panel name -> captureControls()
    // Folders of the last ablation grid and steering evaluation (results.json).
    QString ablationResults;
    QString steeringResults;
};

// Throws moescope::Error(path, reason) with a one-line reason: unreadable,
// not JSON, not a session, a bad plan or analysis value.
Session readSession(const QString &path);
// Atomic; throws moescope::Error.
void writeSession(const Session &session, const QString &path);

// The values of root's named input widgets (spin boxes, combo boxes, line and
// text edits, check boxes, list checklists), keyed by objectName.
QJsonObject captureControls(const QWidget *root);
// Sets the named widgets present in values; unknown names and values a
// widget cannot take (a combo entry that is not offered) are skipped.
void restoreControls(QWidget *root, const QJsonObject &values);

} // namespace moescope::ui

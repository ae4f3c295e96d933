#pragma once

#include "ui/views/intervention_panel.h"

class QComboBox;
class QDoubleSpinBox;

namespace moescope::ui {

// The study's layerwise steering: language pair, λ, k, threshold and layer
// range give the steering plan (core steeringPlan, as `moescope plan
// --steer`), drawn as a layer × expert map. Evaluate runs `moescope steer`'s
// evaluation (core steeringCells + runGrid: language consistency by CLD2,
// or the corpus task's accuracy), drawn as baseline-vs-steered bars.
class SteeringPanel : public InterventionPanel
{
    Q_OBJECT
public:
    SteeringPanel(LiveJobTracker *jobs, PlanDocument *plan, QWidget *parent = nullptr);

    routing::InterventionPlan currentPlan() const override;
    // The base's reasons, then the pair's: two different languages.
    QString unavailableReason() const override;
    // The controls' pair, λ, k, threshold and layers, evaluated once.
    GridRequest gridRequest() const override;

    QComboBox *languageABox() const { return m_a; }
    QComboBox *languageBBox() const { return m_b; }
    QDoubleSpinBox *lambdaBox() const { return m_lambda; }

private:
    void applyModelDefaults(int numLayers) override;
    void applySnapshot() override;
    PlanDescription describe(const routing::InterventionPlan &plan) const override;

    QComboBox *m_a;
    QComboBox *m_b;
    QDoubleSpinBox *m_lambda;
};

} // namespace moescope::ui

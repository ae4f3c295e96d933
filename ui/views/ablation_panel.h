#pragma once

#include "ui/views/intervention_panel.h"

#include <set>
#include <utility>

class QComboBox;
class QLineEdit;
class QPushButton;

namespace moescope::ui {

class AblationGridRenderer;

// Masks one language's exclusive experts (from the loaded study, with k and
// threshold) over a layer range: the mask is drawn as a layer × expert map
// and can be edited there by hand. "Run grid" runs the study's block ×
// language grid (core ablationCells + runGrid, as `moescope ablate`) and
// draws its heatmaps.
class AblationPanel : public InterventionPanel
{
    Q_OBJECT
public:
    AblationPanel(LiveJobTracker *jobs, PlanDocument *plan, QWidget *parent = nullptr);

    // The language's exclusive experts (core expertSpecialisation with k and
    // threshold) in layers [first, last], one entry per layer, with the
    // hand-picked cells flipped. Empty without a usable study.
    routing::InterventionPlan currentPlan() const override;
    GridRequest gridRequest() const override;

    QComboBox *languageBox() const { return m_language; }
    QLineEdit *gridLanguagesEdit() const { return m_gridLanguages; }
    QLineEdit *gridBlocksEdit() const { return m_gridBlocks; }
    AblationGridRenderer *gridFigure() const;

    // Hand-picking on the mask map: a clicked cell of a routed layer flips
    // between masked and not masked, on top of the language's exclusive
    // experts; clearPicks() goes back to those alone.
    void toggleExpert(int layer, int expert);
    void clearPicks();
    int pickCount() const { return static_cast<int>(m_toggled.size()); }

    // Default blocks for a model of numLayers: the study's three five-layer
    // blocks (start, middle, end of 48 layers) scaled to the model.
    static QString defaultBlocks(int numLayers);

private:
    void applyModelDefaults(int numLayers) override;
    void applySnapshot() override;
    PlanDescription describe(const routing::InterventionPlan &plan) const override;

    QComboBox *m_language;
    QLineEdit *m_gridLanguages;
    QLineEdit *m_gridBlocks;
    QPushButton *m_clearPicks;
    std::set<std::pair<int, int>> m_toggled; // (layer, expert) flipped by hand
};

} // namespace moescope::ui

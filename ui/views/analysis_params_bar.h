#pragma once

#include "core/analysis/routing_analysis.h"

#include <QToolBar>

class QComboBox;
class QDoubleSpinBox;
class QSpinBox;
class QTimer;

namespace moescope::ui {

// k, threshold and linkage of the analysis. Changes are reported after a
// short pause so that spinning through values starts one analysis, not ten.
class AnalysisParamsBar : public QToolBar
{
    Q_OBJECT
public:
    explicit AnalysisParamsBar(QWidget *parent = nullptr);

    AnalysisParams params() const;
    void setParams(const AnalysisParams &params);
    void setExpertCount(int experts); // upper bound for k

    QSpinBox *kBox() const { return m_k; }
    QDoubleSpinBox *thresholdBox() const { return m_threshold; }
    QComboBox *linkageBox() const { return m_linkage; }

Q_SIGNALS:
    void paramsChanged(const moescope::AnalysisParams &params);

private:
    QSpinBox *m_k;
    QDoubleSpinBox *m_threshold;
    QComboBox *m_linkage;
    QTimer *m_debounce;
};

} // namespace moescope::ui

#pragma once

#include <Qt>

namespace moescope::ui {

// Roles shared by the figure models: DisplayRole is the formatted value,
// ValueRole the raw double that the figures map to colour or position.
enum ModelRole {
    ValueRole = Qt::UserRole + 1,
    CountRole,            // tokens that selected the expert (heatmaps)
    FrequencyRole,        // f = count / tokens (heatmaps)
    ShareRole,            // share of the language among all languages (heatmaps)
    CompareCountRole,     // the same for the second language (difference heatmap)
    CompareFrequencyRole,
    LanguageIndexRole,    // index of the language a row/column/series belongs to, -1 for none
};

struct ValueRange
{
    double min = 0;
    double max = 1;
};

} // namespace moescope::ui

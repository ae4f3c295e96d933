#pragma once

#include "core/cli/command.h"

namespace moescope::ui {

// `moescope figures`: exports every figure of a study headless, through the
// same models and renderers as the GUI.
cli::Command figuresCommand();

// Creates the QApplication the figures need when there is none, on the
// offscreen platform unless QT_QPA_PLATFORM says otherwise: the command must
// never need a display.
class HeadlessApplication
{
public:
    HeadlessApplication();
    ~HeadlessApplication();
    HeadlessApplication(const HeadlessApplication &) = delete;
    HeadlessApplication &operator=(const HeadlessApplication &) = delete;

private:
    struct Private;
    Private *d = nullptr;
};

} // namespace moescope::ui

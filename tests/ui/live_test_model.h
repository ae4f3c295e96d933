#pragma once

// A model folder for GUI tests: the tiny random mixtral fixture (vocab 512,
// 3 MoE layers x 8 experts, top-2) copied into a temporary folder, with a
// hand-made byte-level tokenizer.json so prompts can be typed. Ids 0-2 are
// <pad>, <s>, </s> (as the fixture's config), ids 3-258 the 256 bytes, and
// ids 259-511 placeholder tokens "<tN>" so that every id the model can
// produce decodes to something.

#include "core/trace/routing_trace.h"

#include <QString>
#include <QTemporaryDir>

#include <memory>
#include <string>

namespace moescope::ui::test {

class LiveTestModel
{
public:
    LiveTestModel();
    bool isValid() const { return m_dir.isValid() && m_ok; }
    QString path() const { return m_dir.path(); }

private:
    QTemporaryDir m_dir;
    bool m_ok = false;
};

// A study with LiveTestModel's shape (3 layers x 8 experts, top-2) in which
// `first` routes to experts 0-3 and `second` to experts 4-7 in every layer.
std::shared_ptr<RoutingTrace> twoLanguageStudy(const std::string &first, const std::string &second);

} // namespace moescope::ui::test

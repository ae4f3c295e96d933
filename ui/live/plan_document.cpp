#include "ui/live/plan_document.h"

namespace moescope::ui {

PlanDocument::PlanDocument(QObject *parent)
    : QObject(parent)
{ }

void PlanDocument::load(const QString &path)
{
    m_plan = routing::loadPlan(path.toStdString());
    m_path = path;
    Q_EMIT changed();
}

void PlanDocument::save(const QString &path)
{
    routing::savePlan(m_plan, path.toStdString());
    m_path = path;
    Q_EMIT changed();
}

void PlanDocument::setPlan(const routing::InterventionPlan &plan)
{
    m_plan = plan;
    m_path.clear();
    Q_EMIT changed();
}

void PlanDocument::clear()
{
    setPlan({});
}

QString PlanDocument::summary() const
{
    return summarise(m_plan);
}

QString PlanDocument::summarise(const routing::InterventionPlan &plan)
{
    if (plan.empty())
        return tr("no plan");
    auto part = [](const auto &entries, const QString &verb) {
        std::size_t experts = 0;
        int first = -1, last = -1;
        for (const auto &e : entries) {
            experts += e.experts.size();
            first = first < 0 ? e.layers.first : std::min(first, e.layers.first);
            last = std::max(last, e.layers.last);
        }
        return tr("%1 %2 experts in layers %3–%4 (%5 %6)")
            .arg(verb)
            .arg(experts)
            .arg(first)
            .arg(last)
            .arg(entries.size())
            .arg(entries.size() == 1 ? tr("entry") : tr("entries"));
    };
    QStringList parts;
    if (!plan.mask.empty())
        parts << part(plan.mask, tr("mask"));
    if (!plan.steer.empty())
        parts << part(plan.steer, tr("steer"));
    return parts.join(QStringLiteral("; "));
}

} // namespace moescope::ui

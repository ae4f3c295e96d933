#include "ui/models/token_routing_model.h"

#include <algorithm>
#include <cmath>

namespace moescope::ui {

TokenRoutingModel::TokenRoutingModel(QObject *parent)
    : QAbstractTableModel(parent)
{ }

void TokenRoutingModel::setOutcome(GenerationOutcomePtr outcome)
{
    beginResetModel();
    m_outcome = std::move(outcome);
    endResetModel();
}

void TokenRoutingModel::setSnapshot(StudySnapshotPtr snapshot)
{
    beginResetModel();
    m_snapshot = std::move(snapshot);
    if (!m_snapshot || m_language >= m_snapshot->languageCount())
        m_language = 0;
    if (!sharesAvailable())
        m_colouring = Colouring::TopExpert;
    endResetModel();
}

void TokenRoutingModel::setColouring(Colouring colouring, int language)
{
    beginResetModel();
    m_colouring = colouring;
    m_language = language;
    endResetModel();
}

void TokenRoutingModel::setDescription(const QString &modelName, const QString &planSummary)
{
    beginResetModel();
    m_modelName = modelName;
    m_planSummary = planSummary;
    endResetModel();
}

QString TokenRoutingModel::languageLabel() const
{
    return m_snapshot && m_language < m_snapshot->languageCount()
        ? m_snapshot->languageLabel(m_language)
        : QString();
}

QString TokenRoutingModel::sharesUnavailableReason() const
{
    if (!m_snapshot)
        return tr("no study is loaded");
    if (!m_outcome)
        return tr("nothing generated yet");
    if (m_snapshot->layerCount() != m_outcome->numLayers
        || m_snapshot->expertCount() != m_outcome->numExperts)
        return tr("the loaded study's model has %1 layers × %2 experts, this model %3 × %4")
            .arg(m_snapshot->layerCount())
            .arg(m_snapshot->expertCount())
            .arg(m_outcome->numLayers)
            .arg(m_outcome->numExperts);
    return {};
}

int TokenRoutingModel::tokenCount() const
{
    return m_outcome ? static_cast<int>(m_outcome->tokens.size()) : 0;
}

int TokenRoutingModel::layerCount() const
{
    return m_outcome ? m_outcome->numLayers : 0;
}

int TokenRoutingModel::expertCount() const
{
    return m_outcome ? m_outcome->numExperts : 0;
}

int TokenRoutingModel::topK() const
{
    return m_outcome ? m_outcome->topK : 0;
}

int TokenRoutingModel::promptTokens() const
{
    return m_outcome ? m_outcome->promptTokens : 0;
}

bool TokenRoutingModel::isMoeLayer(int layer) const
{
    return m_outcome
        && std::find(m_outcome->moeLayers.begin(), m_outcome->moeLayers.end(), layer)
        != m_outcome->moeLayers.end();
}

const RoutedToken &TokenRoutingModel::token(int index) const
{
    return m_outcome->tokens[static_cast<std::size_t>(index)];
}

int TokenRoutingModel::topExpert(int layer, int tokenIndex) const
{
    if (tokenIndex < 0 || tokenIndex >= tokenCount() || layer < 0 || layer >= layerCount())
        return -1;
    const auto &t = token(tokenIndex);
    return t.routed() ? t.experts[static_cast<std::size_t>(layer * topK())] : -1;
}

double TokenRoutingModel::share(int layer, int expert) const
{
    if (!sharesAvailable() || expert < 0)
        return std::numeric_limits<double>::quiet_NaN();
    const auto &shares = m_snapshot->analysis.experts.share;
    if (m_language >= static_cast<int>(shares.size()))
        return std::numeric_limits<double>::quiet_NaN();
    return shares[static_cast<std::size_t>(m_language)]
                 [static_cast<std::size_t>(layer) * expertCount() + expert];
}

QString TokenRoutingModel::visibleText(const QString &text)
{
    QString out = text;
    out.replace(QLatin1Char(' '), QChar(0x00B7));
    out.replace(QLatin1Char('\n'), QChar(0x23CE));
    out.replace(QLatin1Char('\t'), QChar(0x2192));
    return out;
}

QString TokenRoutingModel::toolTip(int layer, int tokenIndex) const
{
    if (tokenIndex < 0 || tokenIndex >= tokenCount() || layer < 0 || layer >= layerCount())
        return {};
    const auto &t = token(tokenIndex);
    QString text = tr("<b>%1</b> token %2 “%3” (id %4)<br>layer %5")
                       .arg(t.generated ? tr("Generated") : tr("Prompt"))
                       .arg(tokenIndex)
                       .arg(visibleText(t.text).toHtmlEscaped())
                       .arg(t.id)
                       .arg(layer);
    if (!isMoeLayer(layer))
        return text + tr(" — dense layer (no router)");
    if (!t.routed())
        return text + tr(" — routing not computed yet");
    const bool withShare = sharesAvailable();
    for (int j = 0; j < topK(); ++j) {
        const auto i = static_cast<std::size_t>(layer * topK() + j);
        const int e = t.experts[i];
        if (e < 0) {
            text += tr("<br>routing unknown (the probe could not isolate this token)");
            break;
        }
        text += tr("<br>expert %1 · weight %2").arg(e).arg(t.weights[i], 0, 'f', 3);
        if (withShare)
            text += tr(" · share %1 %2").arg(languageLabel()).arg(share(layer, e), 0, 'f', 2);
    }
    return text;
}

int TokenRoutingModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : layerCount();
}

int TokenRoutingModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : tokenCount();
}

QVariant TokenRoutingModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid())
        return {};
    const int e = topExpert(index.row(), index.column());
    switch (role) {
    case Qt::DisplayRole:
        return e >= 0 ? QVariant(e) : QVariant();
    case ValueRole:
        if (m_colouring == Colouring::LanguageShare)
            return share(index.row(), e);
        return e;
    case ShareRole:
        return share(index.row(), e);
    case Qt::ToolTipRole:
        return toolTip(index.row(), index.column());
    }
    return {};
}

QVariant TokenRoutingModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole)
        return {};
    if (orientation == Qt::Vertical)
        return section;
    return section < tokenCount() ? visibleText(token(section).text) : QVariant();
}

} // namespace moescope::ui

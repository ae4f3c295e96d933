#include "ui/models/language_table_model.h"

#include "ui/figures/palettes.h"

#include <QColor>

namespace moescope::ui {

LanguageTableModel::LanguageTableModel(QObject *parent) : QAbstractTableModel(parent) {}

void LanguageTableModel::setSnapshot(StudySnapshotPtr snapshot)
{
    beginResetModel();
    m_snapshot = std::move(snapshot);
    endResetModel();
}

int LanguageTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() || !m_snapshot ? 0 : m_snapshot->languageCount();
}

int LanguageTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant LanguageTableModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || !m_snapshot)
        return {};
    const auto &lang = m_snapshot->trace->languages[static_cast<std::size_t>(index.row())];
    if (role == Qt::DecorationRole && index.column() == LabelColumn)
        return categoricalColor(index.row());
    if (role == Qt::TextAlignmentRole && (index.column() == TokensColumn || index.column() == ExclusiveColumn))
        return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole)
        return {};
    switch (index.column()) {
    case LabelColumn:
        return QString::fromStdString(lang.label);
    case TokensColumn: {
        // Tokens per layer are equal in every MoE layer; report the first.
        const auto &layers = m_snapshot->trace->model.moeLayers;
        if (layers.empty() || lang.tokens.empty())
            return 0;
        return QVariant::fromValue<qulonglong>(lang.tokens[static_cast<std::size_t>(layers.front())]);
    }
    case ExclusiveColumn: {
        const auto &ex = m_snapshot->analysis.experts.exclusive;
        const auto it = ex.find(lang.label);
        return it == ex.end() ? 0 : static_cast<int>(it->second.size());
    }
    case CorpusColumn:
        return QString::fromStdString(lang.corpus);
    default:
        return {};
    }
}

QVariant LanguageTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole || orientation != Qt::Horizontal)
        return {};
    switch (section) {
    case LabelColumn:
        return tr("Language");
    case TokensColumn:
        return tr("Tokens");
    case ExclusiveColumn:
        return tr("Exclusive");
    case CorpusColumn:
        return tr("Corpus");
    default:
        return {};
    }
}

} // namespace moescope::ui

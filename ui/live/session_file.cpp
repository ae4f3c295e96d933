#include "ui/live/session_file.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <QAbstractButton>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QSpinBox>

namespace moescope::ui {

namespace {
constexpr auto kFormat = "moescope-session";
constexpr int kVersion = 1;

QJsonValue pathOrNull(const QString &path)
{
    return path.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(path);
}
} // namespace

Session readSession(const QString &path)
{
    const std::string file = path.toStdString();
    const QByteArray bytes = QByteArray::fromStdString(readFile(file));
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &parseError);
    if (doc.isNull())
        throw Error(file,
            "not JSON: " + parseError.errorString().toStdString() + " at byte "
                + std::to_string(parseError.offset));
    if (!doc.isObject()
        || doc.object().value(QLatin1String("format")).toString() != QLatin1String(kFormat))
        throw Error(file, "not a MoEScope session (\"format\": \"moescope-session\" missing)");
    const QJsonObject top = doc.object();
    if (top.value(QLatin1String("version")).toInt() != kVersion)
        throw Error(file,
            "session version "
                + top.value(QLatin1String("version")).toVariant().toString().toStdString()
                + " is not supported (this MoEScope reads version 1)");
    auto optionalString = [&](const char *key) -> QString {
        const QJsonValue v = top.value(QLatin1String(key));
        if (v.isNull() || v.isUndefined())
            return {};
        if (!v.isString())
            throw Error(file, std::string("\"") + key + "\" must be a path or null");
        return v.toString();
    };
    Session s;
    s.modelDirectory = optionalString("model");
    s.studyPath = optionalString("study");
    s.planPath = optionalString("plan_file");
    s.ablationResults = optionalString("ablation_results");
    s.steeringResults = optionalString("steering_results");
    const QJsonValue plan = top.value(QLatin1String("plan"));
    if (plan.isObject())
        s.plan = routing::parsePlan(
            QJsonDocument(plan.toObject()).toJson(QJsonDocument::Compact).toStdString(),
            file + " (plan)");
    else if (!plan.isNull() && !plan.isUndefined())
        throw Error(file, "\"plan\" must be a plan object or null");
    const QJsonObject analysis = top.value(QLatin1String("analysis")).toObject();
    if (analysis.contains(QLatin1String("k")))
        s.analysis.k = analysis.value(QLatin1String("k")).toInt(s.analysis.k);
    if (analysis.contains(QLatin1String("threshold")))
        s.analysis.threshold
            = analysis.value(QLatin1String("threshold")).toDouble(s.analysis.threshold);
    if (analysis.contains(QLatin1String("linkage"))) {
        try {
            s.analysis.linkage
                = parseLinkage(analysis.value(QLatin1String("linkage")).toString().toStdString());
        } catch (const Error &e) {
            throw Error(file, e.reason());
        }
    }
    if (s.analysis.k < 1 || !(s.analysis.threshold > 0 && s.analysis.threshold < 1))
        throw Error(file, "\"analysis\" needs k >= 1 and a threshold in (0, 1)");
    s.tab = top.value(QLatin1String("tab")).toString();
    s.controls = top.value(QLatin1String("controls")).toObject();
    return s;
}

void writeSession(const Session &s, const QString &path)
{
    QJsonObject top { { "format", QLatin1String(kFormat) }, { "version", kVersion },
        { "model", pathOrNull(s.modelDirectory) }, { "study", pathOrNull(s.studyPath) },
        { "plan_file", pathOrNull(s.planPath) }, { "tab", s.tab }, { "controls", s.controls },
        { "ablation_results", pathOrNull(s.ablationResults) },
        { "steering_results", pathOrNull(s.steeringResults) } };
    top.insert(QLatin1String("plan"),
        s.plan ? QJsonValue(
            QJsonDocument::fromJson(QByteArray::fromStdString(routing::planToJson(*s.plan)))
                .object())
               : QJsonValue(QJsonValue::Null));
    top.insert(QLatin1String("analysis"),
        QJsonObject { { "k", s.analysis.k }, { "threshold", s.analysis.threshold },
            { "linkage", QString::fromStdString(linkageName(s.analysis.linkage)) } });
    writeFileAtomically(
        path.toStdString(), QJsonDocument(top).toJson(QJsonDocument::Indented).toStdString());
}

QJsonObject captureControls(const QWidget *root)
{
    QJsonObject values;
    for (const QWidget *w : root->findChildren<QWidget *>()) {
        const QString name = w->objectName();
        if (name.isEmpty() || name.startsWith(QLatin1String("qt_")))
            continue;
        if (auto *spin = qobject_cast<const QSpinBox *>(w))
            values.insert(name, spin->value());
        else if (auto *dspin = qobject_cast<const QDoubleSpinBox *>(w))
            values.insert(name, dspin->value());
        else if (auto *combo = qobject_cast<const QComboBox *>(w))
            values.insert(name,
                combo->currentData().isValid() && !combo->isEditable()
                    ? combo->currentData().toString()
                    : combo->currentText());
        else if (auto *line = qobject_cast<const QLineEdit *>(w))
            values.insert(name, line->text());
        else if (auto *text = qobject_cast<const QPlainTextEdit *>(w))
            values.insert(name, text->toPlainText());
        else if (auto *check = qobject_cast<const QAbstractButton *>(w);
                 check && check->isCheckable())
            values.insert(name, check->isChecked());
        else if (auto *list = qobject_cast<const QListWidget *>(w)) {
            QJsonArray checked;
            for (int i = 0; i < list->count(); ++i)
                if (list->item(i)->checkState() == Qt::Checked)
                    checked.append(list->item(i)->data(Qt::UserRole).toString());
            values.insert(name, checked);
        }
    }
    return values;
}

void restoreControls(QWidget *root, const QJsonObject &values)
{
    for (QWidget *w : root->findChildren<QWidget *>()) {
        const QString name = w->objectName();
        if (name.isEmpty() || !values.contains(name))
            continue;
        const QJsonValue v = values.value(name);
        if (auto *spin = qobject_cast<QSpinBox *>(w)) {
            spin->setValue(v.toInt(spin->value()));
        } else if (auto *dspin = qobject_cast<QDoubleSpinBox *>(w)) {
            dspin->setValue(v.toDouble(dspin->value()));
        } else if (auto *combo = qobject_cast<QComboBox *>(w)) {
            int i = combo->findData(v.toString());
            if (i < 0)
                i = combo->findText(v.toString());
            if (i >= 0)
                combo->setCurrentIndex(i);
            else if (combo->isEditable())
                combo->setEditText(v.toString());
        } else if (auto *line = qobject_cast<QLineEdit *>(w)) {
            line->setText(v.toString());
        } else if (auto *text = qobject_cast<QPlainTextEdit *>(w)) {
            text->setPlainText(v.toString());
        } else if (auto *check = qobject_cast<QAbstractButton *>(w);
                   check && check->isCheckable()) {
            check->setChecked(v.toBool(check->isChecked()));
        } else if (auto *list = qobject_cast<QListWidget *>(w)) {
            QStringList checked;
            for (const auto &item : v.toArray())
                checked << item.toString();
            for (int i = 0; i < list->count(); ++i)
                list->item(i)->setCheckState(
                    checked.contains(list->item(i)->data(Qt::UserRole).toString()) ? Qt::Checked
                                                                                   : Qt::Unchecked);
        }
    }
}

} // namespace moescope::ui

#include "ui/study/study_source.h"

#include "core/common/error.h"
#include "core/trace/study_json.h"
#include "core/trace/trace_store.h"
#include "resources/bundled_resources.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

namespace moescope::ui {

namespace {

StudyJsonOptions bundledOptions()
{
    // What the study's README says about its data: Qwen3-30B-A3B, MGSM
    // questions through the chat template, prefill tokens only.
    StudyJsonOptions options;
    options.modelId = "Qwen/Qwen3-30B-A3B";
    options.modelType = "qwen3_moe";
    options.corpus = "mgsm";
    return options;
}

} // namespace

QString StudySource::displayName() const
{
    if (isBundled())
        return QStringLiteral("bundled Qwen3-30B-A3B MGSM routing (arXiv 2601.14050)");
    return QFileInfo(path).fileName();
}

QString StudySource::detail() const
{
    if (isBundled())
        return QStringLiteral("Bundled study data: Qwen3-30B-A3B expert routing counts on MGSM, "
                              "from arXiv 2601.14050 (MIT licence)");
    return QDir::toNativeSeparators(QFileInfo(path).absoluteFilePath());
}

std::shared_ptr<const RoutingTrace> loadBundledStudy()
{
    resources::registerBundledResources();
    const QDir dir(QString::fromLatin1(resources::kStudyDataDir));
    const QStringList names = dir.entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
    if (names.isEmpty())
        throw Error(resources::kStudyDataDir, "bundled study data is missing from the binary");
    std::vector<StudyJsonDocument> documents;
    for (const QString &name : names) {
        QFile file(dir.filePath(name));
        if (!file.open(QIODevice::ReadOnly))
            throw Error(file.fileName().toStdString(), "cannot read bundled resource");
        const QByteArray bytes = file.readAll();
        documents.push_back({name.toStdString(), std::string(bytes.constData(), bytes.size())});
    }
    return std::make_shared<const RoutingTrace>(importStudyJsonDocuments(documents, bundledOptions()));
}

std::shared_ptr<const RoutingTrace> loadStudy(const StudySource &source)
{
    if (source.isBundled())
        return loadBundledStudy();
    const QFileInfo info(source.path);
    const std::string path = source.path.toStdString();
    if (!info.exists())
        throw Error(path, "no such file or folder");
    if (info.isDir() || info.suffix().compare(QLatin1String("json"), Qt::CaseInsensitive) == 0)
        return std::make_shared<const RoutingTrace>(importStudyJson({path}));
    return std::make_shared<const RoutingTrace>(readTrace(path));
}

} // namespace moescope::ui

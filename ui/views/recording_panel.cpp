#include "ui/views/recording_panel.h"

#include "ui/live/live_job_tracker.h"
#include "ui/views/figure_view.h"
#include "ui/views/user_data_folder.h"

#include "core/common/error.h"
#include "core/corpus/corpus_spec.h"
#include "core/corpus/language_codes.h"
#include "core/corpus/prompt_template.h"
#include "core/corpus/udhr_corpus.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QRadioButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace moescope::ui {

namespace {

// Languages checked at start: a spread of scripts and families (the study's
// MGSM languages that the bundled UDHR has), small enough to record in
// seconds on the demo model.
const QStringList kDefaultLanguages { QStringLiteral("en"), QStringLiteral("de"),
    QStringLiteral("fr"), QStringLiteral("es"), QStringLiteral("zh"), QStringLiteral("ja"),
    QStringLiteral("sw"), QStringLiteral("bn") };

QString defaultTracePath()
{
    return QDir(userDataFolder()).filePath(QStringLiteral("recordings/udhr-trace.h5"));
}

} // namespace

RecordingPanel::RecordingPanel(LiveJobTracker *jobs, QWidget *parent)
    : QWidget(parent)
    , m_jobs(jobs)
    , m_useUdhr(new QRadioButton(tr("Bundled &UDHR sample"), this))
    , m_useFile(new QRadioButton(tr("Corpus &file or folder"), this))
    , m_udhrLanguages(new QListWidget(this))
    , m_firstArticle(new QSpinBox(this))
    , m_lastArticle(new QSpinBox(this))
    , m_corpusPath(new QLineEdit(this))
    , m_format(new QComboBox(this))
    , m_fileLanguage(new QLineEdit(this))
    , m_limit(new QSpinBox(this))
    , m_scope(new QComboBox(this))
    , m_maxNewTokens(new QSpinBox(this))
    , m_template(new QComboBox(this))
    , m_target(new QLineEdit(this))
    , m_batchSize(new QSpinBox(this))
    , m_maxLength(new QSpinBox(this))
    , m_output(new QLineEdit(this))
    , m_mode(new QComboBox(this))
    , m_spec(new QLabel(this))
    , m_record(new QPushButton(tr("&Record"), this))
    , m_cancel(new QPushButton(tr("Cancel"), this))
    , m_status(new QLabel(this))
{
    m_useUdhr->setChecked(true);
    // Names for sessions (session_file.h saves and restores named controls).
    for (const auto &[widget, name] : std::initializer_list<std::pair<QWidget *, const char *>> {
             { m_useUdhr, "useUdhr" }, { m_useFile, "useFile" },
             { m_udhrLanguages, "udhrLanguages" }, { m_firstArticle, "firstArticle" },
             { m_lastArticle, "lastArticle" }, { m_corpusPath, "corpusPath" },
             { m_format, "format" }, { m_fileLanguage, "fileLanguage" }, { m_limit, "limit" },
             { m_scope, "scope" }, { m_maxNewTokens, "maxNewTokens" }, { m_template, "template" },
             { m_target, "target" }, { m_batchSize, "batchSize" }, { m_maxLength, "maxLength" },
             { m_output, "output" }, { m_mode, "mode" } })
        widget->setObjectName(QLatin1String(name));
    for (const auto &label : bundledUdhrLanguages()) {
        const QString code = QString::fromStdString(label);
        auto *item = new QListWidgetItem(
            QStringLiteral("%1 — %2").arg(code, QString::fromStdString(languageEnglishName(label))),
            m_udhrLanguages);
        item->setData(Qt::UserRole, code);
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(kDefaultLanguages.contains(code) ? Qt::Checked : Qt::Unchecked);
    }
    m_udhrLanguages->setToolTip(tr("Languages of the Universal Declaration of Human Rights "
                                   "bundled with MoEScope (resources/corpus/udhr)"));
    m_firstArticle->setRange(0, 30);
    m_lastArticle->setRange(0, 30);
    m_firstArticle->setValue(1);
    m_lastArticle->setValue(10);
    m_firstArticle->setToolTip(tr("Article 0 is the preamble"));

    for (const auto &[name, description] : corpusFormats())
        if (name != "udhr")
            m_format->addItem(QString::fromStdString(name), QString::fromStdString(name));
    m_format->setToolTip(tr("docs/corpora.md describes each format"));
    m_corpusPath->setPlaceholderText(tr("file (text, jsonl) or folder (flores, mgsm, …)"));
    m_fileLanguage->setPlaceholderText(tr("language(s), e.g. fr or eng_Latn,zho_Hans"));
    m_limit->setRange(0, 1000000);
    m_limit->setSpecialValueText(tr("all"));
    m_limit->setToolTip(tr("First N documents of each language (0 = all)"));

    m_scope->addItem(tr("Prompt tokens"), QStringLiteral("prompt"));
    m_scope->addItem(tr("Generated tokens"), QStringLiteral("generated"));
    m_scope->addItem(tr("Prompt and generated"), QStringLiteral("all"));
    m_maxNewTokens->setRange(1, 4096);
    m_maxNewTokens->setValue(32);
    m_maxNewTokens->setToolTip(tr("Greedy continuation length for the generated scopes"));
    for (const auto &t : builtinPromptTemplates())
        m_template->addItem(QString::fromStdString(t.name), QString::fromStdString(t.name));
    m_template->setEditable(true);
    m_template->setToolTip(
        tr("A built-in template or the path of a template file (docs/corpora.md)"));
    m_target->setPlaceholderText(tr("for templates with {target_language}"));
    m_batchSize->setRange(1, 256);
    m_batchSize->setValue(8);
    m_maxLength->setRange(0, 1 << 20);
    m_maxLength->setSpecialValueText(tr("the model's context"));
    m_maxLength->setToolTip(
        tr("Longer prompts are cut to this many tokens (moescope record --max-length)"));

    m_output->setText(defaultTracePath());
    m_mode->addItem(tr("Replace the file"), static_cast<int>(experiments::OutputMode::Overwrite));
    m_mode->addItem(
        tr("Continue it (same settings)"), static_cast<int>(experiments::OutputMode::Resume));
    m_mode->addItem(
        tr("Only if it does not exist"), static_cast<int>(experiments::OutputMode::CreateNew));
    m_mode->setToolTip(tr("Continue resumes an interrupted recording of the same corpus and "
                          "settings (moescope record --resume)"));
    m_spec->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_spec->setWordWrap(true);
    m_status->setWordWrap(true);
    m_cancel->setEnabled(false);
    m_record->setDefault(true);

    auto *corpusBox = new QGroupBox(tr("Corpus"), this);
    auto *corpusLayout = new QVBoxLayout(corpusBox);
    corpusLayout->addWidget(m_useUdhr);
    corpusLayout->addWidget(m_udhrLanguages, 1);
    auto *articles = new QHBoxLayout;
    articles->addWidget(new QLabel(tr("Articles"), this));
    articles->addWidget(m_firstArticle);
    articles->addWidget(new QLabel(tr("to"), this));
    articles->addWidget(m_lastArticle);
    articles->addStretch(1);
    corpusLayout->addLayout(articles);
    corpusLayout->addWidget(m_useFile);
    auto *fileForm = new QFormLayout;
    auto *pathRow = new QHBoxLayout;
    pathRow->addWidget(m_corpusPath, 1);
    auto *browseCorpus = new QPushButton(tr("Browse…"), this);
    pathRow->addWidget(browseCorpus);
    fileForm->addRow(tr("Path:"), pathRow);
    fileForm->addRow(tr("Format:"), m_format);
    fileForm->addRow(tr("Language:"), m_fileLanguage);
    fileForm->addRow(tr("Limit:"), m_limit);
    corpusLayout->addLayout(fileForm);

    auto *settingsBox = new QGroupBox(tr("Recording"), this);
    auto *form = new QFormLayout(settingsBox);
    form->addRow(tr("&Scope:"), m_scope);
    form->addRow(tr("Max &new tokens:"), m_maxNewTokens);
    form->addRow(tr("&Template:"), m_template);
    form->addRow(tr("Tar&get language:"), m_target);
    form->addRow(tr("&Batch size:"), m_batchSize);
    form->addRow(tr("Max &length:"), m_maxLength);
    auto *outRow = new QHBoxLayout;
    outRow->addWidget(m_output, 1);
    auto *browseOut = new QPushButton(tr("Browse…"), this);
    outRow->addWidget(browseOut);
    form->addRow(tr("Trace:"), outRow);
    form->addRow(tr("If it exists:"), m_mode);
    form->addRow(tr("Corpus spec:"), m_spec);
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_record);
    buttons->addWidget(m_cancel);
    buttons->addStretch(1);
    form->addRow(buttons);
    form->addRow(m_status);

    m_settingsColumn = new QVBoxLayout;
    m_settingsColumn->addWidget(settingsBox);
    m_settingsColumn->addStretch(1);
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(corpusBox, 1);
    layout->addLayout(m_settingsColumn, 2);

    connect(m_useUdhr, &QRadioButton::toggled, this, &RecordingPanel::updateControls);
    connect(m_udhrLanguages, &QListWidget::itemChanged, this, &RecordingPanel::updateControls);
    for (QSpinBox *box : { m_firstArticle, m_lastArticle, m_limit })
        connect(box, &QSpinBox::valueChanged, this, &RecordingPanel::updateControls);
    for (QLineEdit *edit : { m_corpusPath, m_fileLanguage })
        connect(edit, &QLineEdit::textChanged, this, &RecordingPanel::updateControls);
    connect(m_format, &QComboBox::currentIndexChanged, this, &RecordingPanel::updateControls);
    connect(m_scope, &QComboBox::currentIndexChanged, this, &RecordingPanel::updateControls);
    connect(browseCorpus, &QPushButton::clicked, this, &RecordingPanel::browseCorpus);
    connect(browseOut, &QPushButton::clicked, this, &RecordingPanel::browseOutput);
    connect(m_record, &QPushButton::clicked, this, [this] { record(); });
    connect(m_cancel, &QPushButton::clicked, this, &RecordingPanel::cancel);

    connect(m_jobs, &LiveJobTracker::modelLoaded, this,
        [this](quint64, ModelFactsPtr facts) { onModelLoaded(facts); });
    connect(m_jobs, &LiveJobTracker::recordingCommitted, this, &RecordingPanel::onCommitted);
    connect(m_jobs, &LiveJobTracker::recordingFinished, this, &RecordingPanel::onFinished);
    connect(m_jobs, &LiveJobTracker::taskFailed, this, &RecordingPanel::onFailed);
    connect(m_jobs, &LiveJobTracker::jobCancelled, this, &RecordingPanel::onCancelled);
    onModelLoaded(m_jobs->model());
    updateControls();
}

void RecordingPanel::setPreviewFigure(FigureRenderer *figure)
{
    // Replaces the stretch below the settings.
    delete m_settingsColumn->takeAt(m_settingsColumn->count() - 1);
    auto *view = new FigureView(figure, this);
    view->setMinimumHeight(260);
    m_settingsColumn->addWidget(view, 1);
}

void RecordingPanel::setUdhrLanguages(const QStringList &languages)
{
    m_useUdhr->setChecked(true);
    for (int i = 0; i < m_udhrLanguages->count(); ++i) {
        QListWidgetItem *item = m_udhrLanguages->item(i);
        item->setCheckState(
            languages.contains(item->data(Qt::UserRole).toString()) ? Qt::Checked : Qt::Unchecked);
    }
}

QString RecordingPanel::corpusSpec(QString *why) const
{
    auto fail = [why](const QString &reason) {
        if (why)
            *why = reason;
        return QString();
    };
    QString text;
    if (m_useUdhr->isChecked()) {
        QStringList languages;
        for (int i = 0; i < m_udhrLanguages->count(); ++i)
            if (m_udhrLanguages->item(i)->checkState() == Qt::Checked)
                languages << m_udhrLanguages->item(i)->data(Qt::UserRole).toString();
        if (languages.isEmpty())
            return fail(tr("Tick at least one language."));
        if (m_firstArticle->value() > m_lastArticle->value())
            return fail(tr("The first article comes after the last."));
        text = QStringLiteral("udhr:%1?articles=%2-%3")
                   .arg(languages.join(QLatin1Char(',')))
                   .arg(m_firstArticle->value())
                   .arg(m_lastArticle->value());
    } else {
        const QString path = m_corpusPath->text().trimmed();
        if (path.isEmpty())
            return fail(tr("Choose a corpus file or folder."));
        const QString format = m_format->currentData().toString();
        const QString language = m_fileLanguage->text().trimmed();
        // Single-file formats name one language; dataset folders a list.
        const bool oneFile = format == QLatin1String("text") || format == QLatin1String("jsonl");
        if (oneFile && language.isEmpty())
            return fail(tr("Say which language the file is in."));
        QStringList options;
        if (!language.isEmpty())
            options << (oneFile ? QStringLiteral("lang=") : QStringLiteral("langs=")) + language;
        if (m_limit->value() > 0)
            options << QStringLiteral("limit=%1").arg(m_limit->value());
        text = format + QLatin1Char(':') + path;
        if (!options.isEmpty())
            text += QLatin1Char('?') + options.join(QLatin1Char('&'));
    }
    try {
        return QString::fromStdString(parseCorpusSpec(text.toStdString()).toString());
    } catch (const Error &e) {
        return fail(QString::fromStdString(e.what()));
    }
}

RecordingRequest RecordingPanel::request() const
{
    RecordingRequest r;
    r.corpusSpec = corpusSpec().toStdString();
    r.settings.scope
        = experiments::parseTokenScope(m_scope->currentData().toString().toStdString());
    r.settings.maxNewTokens = m_maxNewTokens->value();
    r.settings.batchSize = static_cast<std::size_t>(m_batchSize->value());
    r.templateName = m_template->currentText().trimmed().toStdString();
    r.target = m_target->text().trimmed().toStdString();
    // The tab cuts prompts at the limit (the model's context by default)
    // rather than refusing them.
    r.maxLength = static_cast<std::size_t>(m_maxLength->value());
    r.truncate = true;
    const QString output = QDir::cleanPath(m_output->text().trimmed());
    r.outputPath = output.toStdString();
    r.mode = static_cast<experiments::OutputMode>(m_mode->currentData().toInt());
    r.title = tr("Record %1").arg(QFileInfo(output).fileName());
    return r;
}

quint64 RecordingPanel::record()
{
    QString why;
    const QString spec = corpusSpec(&why);
    if (!m_jobs->hasModel())
        why = tr("Open a model folder first (File → Open Model Folder…).");
    else if (!m_jobs->model()->hasTokenizer)
        why = m_jobs->model()->tokenizerProblem;
    const RecordingRequest r = request();
    const QString output = QString::fromStdString(r.outputPath);
    if (why.isEmpty() && output.isEmpty())
        why = tr("Choose the trace file to write.");
    if (why.isEmpty()) {
        const QFileInfo out(output);
        if (!QDir().mkpath(out.absolutePath()))
            why = tr("%1: cannot create the folder").arg(out.absolutePath());
    }
    if (!why.isEmpty() || spec.isEmpty()) {
        Q_EMIT errorOccurred(tr("Cannot record: %1").arg(why));
        return 0;
    }
    m_path = output;
    m_commits = 0;
    m_tag = m_jobs->record(channel(), r);
    m_status->setText(tr("Recording %1 into %2…").arg(spec, QDir::toNativeSeparators(m_path)));
    setRunning(true);
    return m_tag;
}

void RecordingPanel::cancel()
{
    if (m_tag)
        m_jobs->cancel(m_tag);
}

QString RecordingPanel::statusText() const
{
    return m_status->text();
}

void RecordingPanel::onModelLoaded(ModelFactsPtr facts)
{
    if (!facts) {
        m_status->setText(tr("Open a model folder to record its routing."));
        return;
    }
    m_status->setText(facts->hasTokenizer
            ? tr("Ready to record with %1. Press Record: the heatmap below fills in as batches "
                 "are committed, and the trace then drives Ablation and Steering.")
                  .arg(QFileInfo(facts->directory).fileName())
            : facts->tokenizerProblem);
    updateControls();
}

void RecordingPanel::onCommitted(quint64 tag, const QString &ch, const RecordingCommit &commit)
{
    if (ch != channel() || tag != m_tag)
        return;
    ++m_commits;
    m_status->setText(tr("Recording: %1 %2 of %3 documents committed (%4 batches so far)")
                          .arg(commit.label)
                          .arg(commit.committed)
                          .arg(commit.total)
                          .arg(m_commits));
    if (commit.trace)
        Q_EMIT traceUpdated(m_path, commit.trace);
}

void RecordingPanel::onFinished(quint64 tag, const QString &ch, RecordingOutcomePtr outcome)
{
    if (ch != channel() || tag != m_tag)
        return;
    const auto &report = outcome->report;
    m_status->setText(
        tr("Recorded %1 documents (%2 tokens) into %3%4.")
            .arg(report.documentsRecorded)
            .arg(report.tokensRouted)
            .arg(QDir::toNativeSeparators(outcome->path),
                report.documentsSkipped ? tr("; %1 were already there").arg(report.documentsSkipped)
                                        : QString()));
    if (outcome->trace)
        Q_EMIT traceUpdated(outcome->path, outcome->trace);
    m_tag = 0;
    setRunning(false);
    Q_EMIT recordingFinished(outcome->path);
}

void RecordingPanel::onFailed(quint64 tag, const QString &ch, const QString &message)
{
    if (ch != channel() || tag != m_tag)
        return;
    m_tag = 0;
    setRunning(false);
    m_status->setText(tr("Recording failed."));
    Q_EMIT errorOccurred(tr("Recording failed: %1").arg(message));
}

void RecordingPanel::onCancelled(quint64 tag, const QString &ch)
{
    if (ch != channel() || tag != m_tag)
        return;
    m_tag = 0;
    setRunning(false);
    m_status->setText(tr("Cancelled. %1 keeps every committed batch; \"Continue it\" resumes.")
                          .arg(QDir::toNativeSeparators(m_path)));
    Q_EMIT recordingFinished(m_path);
}

void RecordingPanel::browseCorpus()
{
    const QString format = m_format->currentData().toString();
    const bool oneFile = format == QLatin1String("text") || format == QLatin1String("jsonl");
    const QString path = oneFile
        ? QFileDialog::getOpenFileName(this, tr("Corpus file"), m_corpusPath->text())
        : QFileDialog::getExistingDirectory(this, tr("Corpus folder"), m_corpusPath->text());
    if (!path.isEmpty()) {
        m_corpusPath->setText(path);
        m_useFile->setChecked(true);
    }
}

void RecordingPanel::browseOutput()
{
    QString path = QFileDialog::getSaveFileName(this, tr("Trace to record into"), m_output->text(),
        tr("MoEScope traces (*.h5)"), nullptr, QFileDialog::DontConfirmOverwrite);
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += QStringLiteral(".h5");
    m_output->setText(path);
}

void RecordingPanel::updateControls()
{
    const bool udhr = m_useUdhr->isChecked();
    m_udhrLanguages->setEnabled(udhr);
    m_firstArticle->setEnabled(udhr);
    m_lastArticle->setEnabled(udhr);
    for (QWidget *w :
        std::initializer_list<QWidget *> { m_corpusPath, m_format, m_fileLanguage, m_limit })
        w->setEnabled(!udhr);
    m_maxNewTokens->setEnabled(m_scope->currentData().toString() != QLatin1String("prompt"));
    QString why;
    const QString spec = corpusSpec(&why);
    m_spec->setText(spec.isEmpty() ? why : spec);
    m_record->setEnabled(!isRecording() && !spec.isEmpty());
}

void RecordingPanel::setRunning(bool running)
{
    m_cancel->setEnabled(running);
    m_record->setEnabled(!running);
    if (!running)
        updateControls();
}

} // namespace moescope::ui

#include "ui/views/playground_panel.h"

#include "ui/figures/token_routing_renderer.h"
#include "ui/live/live_job_tracker.h"
#include "ui/live/plan_document.h"
#include "ui/models/token_routing_model.h"
#include "ui/views/figure_view.h"

#include "core/common/error.h"
#include "core/corpus/language_codes.h"
#include "core/corpus/udhr_corpus.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QShortcut>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QSplitter>
#include <QTextEdit>
#include <QVBoxLayout>

namespace moescope::ui {

PlaygroundPanel::PlaygroundPanel(LiveJobTracker *jobs, PlanDocument *plan, QWidget *parent)
    : QWidget(parent)
    , m_jobs(jobs)
    , m_plan(plan)
    , m_routing(new TokenRoutingModel(this))
    , m_figure(new TokenRoutingRenderer(m_routing, this))
    , m_prompt(new QPlainTextEdit(this))
    , m_udhrLanguage(new QComboBox(this))
    , m_maxTokens(new QSpinBox(this))
    , m_stopAtEos(new QCheckBox(tr("Stop at end of text"), this))
    , m_applyPlan(new QCheckBox(tr("Apply plan"), this))
    , m_generate(new QPushButton(tr("Generate"), this))
    , m_stop(new QPushButton(tr("Stop"), this))
    , m_output(new QTextEdit(this))
    , m_status(new QLabel(this))
    , m_colouring(new QComboBox(this))
    , m_view(new FigureView(m_figure, this))
{
    // Names for sessions (session_file.h saves and restores named controls).
    for (const auto &[widget, name] : std::initializer_list<std::pair<QWidget *, const char *>> {
             { m_prompt, "prompt" }, { m_udhrLanguage, "udhrLanguage" }, { m_maxTokens, "maxNewTokens" }, { m_stopAtEos, "stopAtEos" }, { m_applyPlan, "applyPlan" } })
        widget->setObjectName(QLatin1String(name));
    m_prompt->setPlaceholderText(
        tr("Type a prompt in any language, or pick a UDHR sentence →   (Ctrl+Enter generates)"));
    m_prompt->setTabChangesFocus(true);
    m_prompt->setMaximumHeight(fontMetrics().lineSpacing() * 4 + 12);

    for (const auto &label : bundledUdhrLanguages()) {
        const QString code = QString::fromStdString(label);
        m_udhrLanguage->addItem(
            QStringLiteral("%1 — %2").arg(code, QString::fromStdString(languageEnglishName(label))),
            code);
    }
    m_udhrLanguage->setCurrentIndex(std::max(0, m_udhrLanguage->findData(QStringLiteral("en"))));
    m_udhrLanguage->setToolTip(
        tr("Article 1 of the Universal Declaration of Human Rights, bundled in %1 languages")
            .arg(m_udhrLanguage->count()));
    auto *useUdhr = new QPushButton(tr("Use UDHR sentence"), this);
    connect(useUdhr, &QPushButton::clicked, this,
        [this] { useUdhrSentence(m_udhrLanguage->currentData().toString()); });

    m_maxTokens->setRange(1, 4096);
    m_maxTokens->setValue(32);
    m_maxTokens->setToolTip(tr("Maximum number of new tokens (greedy decoding)"));
    m_stopAtEos->setChecked(true);
    m_applyPlan->setChecked(true);
    m_stop->setEnabled(false);
    m_generate->setDefault(true);
    connect(m_generate, &QPushButton::clicked, this, [this] { generate(); });
    connect(m_stop, &QPushButton::clicked, this, &PlaygroundPanel::stop);
    auto *shortcut = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return), this);
    connect(shortcut, &QShortcut::activated, this, [this] { generate(); });

    m_output->setReadOnly(true);
    m_output->setPlaceholderText(tr("The continuation appears here as it is generated."));
    m_status->setTextFormat(Qt::PlainText);
    m_status->setWordWrap(true);

    m_colouring->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    connect(m_colouring, &QComboBox::currentIndexChanged, this, [this](int index) {
        const int language = m_colouring->itemData(index).toInt();
        m_routing->setColouring(language < 0 ? TokenRoutingModel::Colouring::TopExpert
                                             : TokenRoutingModel::Colouring::LanguageShare,
            std::max(0, language));
    });

    auto *promptRow = new QHBoxLayout;
    promptRow->addWidget(m_prompt, 1);
    auto *udhrColumn = new QVBoxLayout;
    udhrColumn->addWidget(m_udhrLanguage);
    udhrColumn->addWidget(useUdhr);
    udhrColumn->addStretch(1);
    promptRow->addLayout(udhrColumn);

    auto *controls = new QHBoxLayout;
    auto *maxLabel = new QLabel(tr("&Max new tokens:"), this);
    maxLabel->setBuddy(m_maxTokens);
    controls->addWidget(maxLabel);
    controls->addWidget(m_maxTokens);
    controls->addWidget(m_stopAtEos);
    controls->addWidget(m_applyPlan);
    controls->addStretch(1);
    controls->addWidget(m_generate);
    controls->addWidget(m_stop);

    auto *figureControls = new QHBoxLayout;
    auto *colourLabel = new QLabel(tr("&Colour cells by:"), this);
    colourLabel->setBuddy(m_colouring);
    figureControls->addWidget(colourLabel);
    figureControls->addWidget(m_colouring);
    figureControls->addStretch(1);
    figureControls->addWidget(
        new QLabel(tr("Hover a cell for the token, layer, experts and weights."), this));
    auto *figureBox = new QWidget(this);
    auto *figureLayout = new QVBoxLayout(figureBox);
    figureLayout->setContentsMargins(0, 0, 0, 0);
    figureLayout->addLayout(figureControls);
    figureLayout->addWidget(m_view, 1);

    auto *splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(m_output);
    splitter->addWidget(figureBox);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 3);
    splitter->setChildrenCollapsible(false);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addLayout(promptRow);
    layout->addLayout(controls);
    layout->addWidget(m_status);
    layout->addWidget(splitter, 1);

    connect(m_jobs, &LiveJobTracker::modelLoaded, this,
        [this](quint64, ModelFactsPtr f) { onModelLoaded(f); });
    connect(m_jobs, &LiveJobTracker::generationUpdated, this, &PlaygroundPanel::onGeneration);
    connect(m_jobs, &LiveJobTracker::generationFailed, this, &PlaygroundPanel::onFailed);
    connect(m_jobs, &LiveJobTracker::jobCancelled, this, &PlaygroundPanel::onCancelled);
    connect(m_plan, &PlanDocument::changed, this, &PlaygroundPanel::updatePlanLabel);

    onModelLoaded(m_jobs->model());
    updatePlanLabel();
    rebuildColouringChoices();
}

void PlaygroundPanel::setSnapshot(StudySnapshotPtr snapshot)
{
    m_routing->setSnapshot(std::move(snapshot));
    rebuildColouringChoices();
}

void PlaygroundPanel::useUdhrSentence(const QString &language)
{
    try {
        const auto declaration = bundledUdhr(language.toStdString());
        for (const auto &article : declaration.articles)
            if (article.number == 1 && !article.paragraphs.empty()) {
                m_prompt->setPlainText(QString::fromStdString(article.paragraphs.front()));
                return;
            }
        Q_EMIT errorOccurred(tr("The bundled UDHR in %1 has no article 1").arg(language));
    } catch (const Error &e) {
        Q_EMIT errorOccurred(QString::fromStdString(e.what()));
    }
}

quint64 PlaygroundPanel::generate()
{
    if (!m_jobs->hasModel()) {
        Q_EMIT errorOccurred(tr("Open a model folder first (File → Open Model…)."));
        return 0;
    }
    if (m_prompt->toPlainText().isEmpty()) {
        Q_EMIT errorOccurred(tr("Type a prompt (or pick a UDHR sentence) to generate from."));
        return 0;
    }
    GenerationRequest request;
    request.prompt = m_prompt->toPlainText().toStdString();
    request.maxNewTokens = m_maxTokens->value();
    request.stopAtEos = m_stopAtEos->isChecked();
    if (m_applyPlan->isChecked())
        request.plan = m_plan->plan();
    request.title = tr("Playground: %1 tokens").arg(request.maxNewTokens);
    m_promptText = m_prompt->toPlainText();
    m_generatedText.clear();
    const auto facts = m_jobs->model();
    m_routing->setDescription(
        QFileInfo(facts->directory).fileName(), PlanDocument::summarise(request.plan));
    m_figure->setCaption(
        tr("Model: %1 (%2, %3) · plan: %4 · greedy, up to %5 new tokens · MoEScope %6")
            .arg(facts->directory, QString::fromStdString(facts->info.modelType),
                facts->computeDtype, PlanDocument::summarise(request.plan))
            .arg(request.maxNewTokens)
            .arg(QStringLiteral(MOESCOPE_VERSION)));
    m_tag = m_jobs->generate(channel(), request);
    m_status->setText(tr("Generating…"));
    setRunning(true);
    return m_tag;
}

void PlaygroundPanel::stop()
{
    if (m_tag)
        m_jobs->cancel(m_tag);
}

QString PlaygroundPanel::generatedText() const
{
    return m_generatedText;
}

QString PlaygroundPanel::statusText() const
{
    return m_status->text();
}

void PlaygroundPanel::onModelLoaded(ModelFactsPtr facts)
{
    m_generate->setEnabled(facts != nullptr);
    m_prompt->setEnabled(facts != nullptr);
    if (!facts) {
        m_status->setText(tr("Open a model folder (File → Open Model…) to generate."));
        return;
    }
    if (!facts->hasTokenizer) {
        m_generate->setEnabled(false);
        m_status->setText(
            tr("This model can't take typed prompts: %1").arg(facts->tokenizerProblem));
        return;
    }
    m_status->setText(tr("Ready: %1").arg(QFileInfo(facts->directory).fileName()));
}

void PlaygroundPanel::onGeneration(
    quint64 tag, const QString &channel, GenerationOutcomePtr outcome)
{
    if (channel != this->channel() || tag != m_tag)
        return;
    showOutcome(outcome);
    if (outcome->complete) {
        setRunning(false);
        m_status->setText(tr("%1 new tokens%2 · %3 prompt tokens · plan: %4")
                              .arg(outcome->generatedTokens())
                              .arg(outcome->stopped ? tr(" (stopped at end of text)") : QString())
                              .arg(outcome->promptTokens)
                              .arg(m_routing->planSummary()));
        rebuildColouringChoices();
    }
}

void PlaygroundPanel::onFailed(quint64 tag, const QString &channel, const QString &message)
{
    if (channel != this->channel() || tag != m_tag)
        return;
    setRunning(false);
    m_status->setText(tr("Generation failed."));
    Q_EMIT errorOccurred(tr("Generation failed: %1").arg(message));
}

void PlaygroundPanel::onCancelled(quint64 tag, const QString &channel)
{
    if (channel != this->channel() || tag != m_tag)
        return;
    setRunning(false);
    m_status->setText(tr("Stopped."));
}

void PlaygroundPanel::showOutcome(const GenerationOutcomePtr &outcome)
{
    m_generatedText = outcome->generatedText;
    m_output->setHtml(
        QStringLiteral("<p style=\"white-space: pre-wrap\"><span style=\"color:#777\">%1</span>"
                       "<span style=\"color:#111\"><b>%2</b></span></p>")
            .arg(m_promptText.toHtmlEscaped(), m_generatedText.toHtmlEscaped()));
    m_routing->setOutcome(outcome);
}

void PlaygroundPanel::setRunning(bool running)
{
    m_stop->setEnabled(running);
}

void PlaygroundPanel::rebuildColouringChoices()
{
    const QSignalBlocker blocker(m_colouring);
    m_colouring->clear();
    m_colouring->addItem(tr("Top-1 expert"), -1);
    const auto snapshot = m_routing->snapshot();
    if (m_routing->sharesAvailable()) {
        for (int i = 0; i < snapshot->languageCount(); ++i)
            m_colouring->addItem(
                tr("Share of %1 (loaded study)").arg(snapshot->languageLabel(i)), i);
        m_colouring->setToolTip(tr("The top-1 expert's share for the language in the loaded study "
                                   "(top-k of the analysis parameters)."));
    } else {
        m_colouring->setToolTip(tr("Language shares need a study recorded on this model: %1")
                                    .arg(m_routing->sharesUnavailableReason()));
    }
    const bool share = m_routing->colouring() == TokenRoutingModel::Colouring::LanguageShare;
    m_colouring->setCurrentIndex(
        share ? std::max(0, m_colouring->findData(m_routing->language())) : 0);
}

void PlaygroundPanel::updatePlanLabel()
{
    m_applyPlan->setText(tr("Apply plan (%1)").arg(m_plan->summary()));
    m_applyPlan->setEnabled(!m_plan->isEmpty());
}

} // namespace moescope::ui

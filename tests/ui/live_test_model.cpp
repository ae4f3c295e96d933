#include "live_test_model.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace moescope::ui::test {

namespace {

// GPT-2's byte-to-unicode table (the ByteLevel pre-tokenizer's alphabet):
// printable Latin-1 bytes stand for themselves, the rest are shifted to
// U+0100 and up, in byte order.
QString byteLevelChar(int byte)
{
    const bool printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac)
        || (byte >= 0xae && byte <= 0xff);
    if (printable)
        return QString(QChar(byte));
    int shifted = 0;
    for (int b = 0; b < byte; ++b) {
        const bool p
            = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
        if (!p)
            ++shifted;
    }
    return QString(QChar(0x100 + shifted));
}

QJsonObject addedToken(int id, const QString &content)
{
    return { { "id", id }, { "content", content }, { "special", true }, { "lstrip", false },
        { "rstrip", false }, { "normalized", false }, { "single_word", false } };
}

} // namespace

LiveTestModel::LiveTestModel()
{
    if (!m_dir.isValid())
        return;
    const QString fixture = QStringLiteral(MOESCOPE_TEST_DATA "/tiny-moe/mixtral/");
    for (const char *name : { "config.json", "generation_config.json", "model.safetensors" })
        if (!QFile::copy(fixture + QLatin1String(name), m_dir.filePath(QLatin1String(name))))
            return;

    QJsonObject vocab;
    vocab.insert(QStringLiteral("<pad>"), 0);
    vocab.insert(QStringLiteral("<s>"), 1);
    vocab.insert(QStringLiteral("</s>"), 2);
    for (int b = 0; b < 256; ++b)
        vocab.insert(byteLevelChar(b), 3 + b);
    for (int id = 259; id < 512; ++id)
        vocab.insert(QStringLiteral("<t%1>").arg(id), id);
    const QJsonObject tokenizer {
        { "version", "1.0" },
        { "added_tokens",
            QJsonArray { addedToken(0, "<pad>"), addedToken(1, "<s>"), addedToken(2, "</s>") } },
        { "normalizer", QJsonValue::Null },
        { "pre_tokenizer",
            QJsonObject {
                { "type", "ByteLevel" }, { "add_prefix_space", false }, { "use_regex", false } } },
        { "post_processor", QJsonValue::Null },
        { "decoder", QJsonObject { { "type", "ByteLevel" } } },
        { "model",
            QJsonObject { { "type", "BPE" }, { "vocab", vocab }, { "merges", QJsonArray {} } } },
    };
    QFile out(m_dir.filePath(QStringLiteral("tokenizer.json")));
    if (!out.open(QIODevice::WriteOnly))
        return;
    out.write(QJsonDocument(tokenizer).toJson(QJsonDocument::Compact));
    m_ok = true;
}

std::shared_ptr<RoutingTrace> twoLanguageStudy(const std::string &first, const std::string &second)
{
    auto trace = std::make_shared<RoutingTrace>();
    trace->model = { "tiny", "mixtral", 3, 8, 2, { 0, 1, 2 } };
    for (const auto &label : { first, second }) {
        LanguageRouting lang;
        lang.label = label;
        lang.counts.assign(24, 0);
        lang.gateSum.assign(24, 0.0);
        lang.tokens.assign(3, 100);
        const int firstExpert = label == first ? 0 : 4;
        for (int l = 0; l < 3; ++l)
            for (int e = firstExpert; e < firstExpert + 4; ++e) {
                lang.counts[static_cast<std::size_t>(l * 8 + e)] = 50;
                lang.gateSum[static_cast<std::size_t>(l * 8 + e)] = 25.0;
            }
        trace->languages.push_back(lang);
    }
    return trace;
}

} // namespace moescope::ui::test

#include "core/corpus/prompt_template.h"

#include "core/corpus/language_codes.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>

namespace moescope {
namespace {

struct Instruction
{
    std::string_view language;
    std::string_view text;
};

// The study appends PolyMath's instruction (externel/PolyMath/instruction.py,
// query_dic) to MGSM and PolyMath questions: question + "\n" + instruction.
// Copied verbatim, including the Python source's "\{\}" which its string
// literals keep as backslash-brace.
constexpr Instruction kMathInstructions[] = {
    {"en", R"(Note: Please put the final answer in the $\boxed\{\}$.)"},
    {"zh", R"(注意：请将最终答案放在 $\boxed\{\}$ 中。)"},
    {"ar", R"(ملاحظة: يُرجى وضع الإجابة النهائية في $\boxed\{\}$.)"},
    {"bn", R"(বিঃদ্রঃ: অনুগ্রহ করে চূড়ান্ত উত্তরটি $\boxed\{\}$ এর মধ্যে রাখুন।)"},
    {"de", R"(Hinweis: Bitte setzen Sie die endgültige Antwort in $\boxed\{\}$.)"},
    {"es", R"(Nota: Por favor, coloque la respuesta final en el $\boxed\{\}$.)"},
    {"fr", R"(Remarque : Veuillez mettre la réponse finale dans le $\boxed\{\}$.)"},
    {"id", R"(Catatan: Silakan letakkan jawaban akhir di dalam $\boxed\{\}$.)"},
    {"it", R"(Nota: Per favore, metti la risposta finale nel $\boxed\{\}$.)"},
    {"ja", R"(注意：最終的な答えを $\boxed\{\}$ に入れてください。)"},
    {"ko", R"(참고: 최종 답안을 $\boxed\{\}$ 안에 넣어 주세요.)"},
    {"ms", R"(Nota: Sila letakkan jawapan akhir dalam $\boxed\{\}$.)"},
    {"pt", R"(Nota: Por favor, coloque a resposta final no $\boxed\{\}$.)"},
    {"ru", R"(Примечание: Пожалуйста, поместите окончательный ответ в $\boxed\{\}$.)"},
    {"sw", R"(Kumbuka: Tafadhali weka jibu la mwisho katika $\boxed\{\}$.)"},
    {"te", R"(గమనిక: దయచేసి తుది జవాబును $\boxed\{\}$ లో ఉంచండి.)"},
    {"th", R"(หมายเหตุ: กรุณาใส่คำตอบสุดท้ายใน $\boxed\{\}$.)"},
    {"vi", R"(Lưu ý: Vui lòng đặt câu trả lời cuối cùng trong $\boxed\{\}$.)"},
};

// The study's XQuAD instruction (intervention/vllm_intervention_xquad.py,
// direct_answer_dic): context + "\n" + question + "\n" + instruction.
constexpr Instruction kDirectAnswerInstructions[] = {
    {"en", R"(Please output the answer directly.)"},
    {"zh", R"(请直接输出答案。)"},
    {"ar", R"(يُرجى إخراج الإجابة مباشرة.)"},
    {"de", R"(Bitte geben Sie die Antwort direkt aus.)"},
    {"es", R"(Por favor, proporcione la respuesta directamente.)"},
    {"ru", R"(Пожалуйста, выведите ответ напрямую.)"},
    {"th", R"(กรุณาแสดงคำตอบโดยตรง)"},
    {"vi", R"(Vui lòng xuất câu trả lời trực tiếp.)"},
    {"el", R"(Παρακαλώ δώστε την απάντηση απευθείας.)"},
    {"hi", R"(कृपया सीधे उत्तर दें।)"},
    {"ro", R"(Vă rugăm să răspundeți direct.)"},
    {"tr", R"(Lütfen cevabı doğrudan verin.)"},
};

template <std::size_t N>
const Instruction *findInstruction(const Instruction (&table)[N], const std::string &language)
{
    const std::string label = normaliseLanguage(language);
    for (const auto &entry : table)
        if (entry.language == label)
            return &entry;
    return nullptr;
}

template <std::size_t N>
std::string instructionOrEnglish(const Instruction (&table)[N], const std::string &language)
{
    if (const Instruction *entry = findInstruction(table, language))
        return std::string(entry->text);
    return std::string(table[0].text); // both tables start with English
}

const std::vector<std::string> &knownPlaceholders()
{
    static const std::vector<std::string> names = {
        "text",           "question",      "passage",
        "answer",         "choices",       "language",
        "language_name",  "target_language", "target_language_name",
        "math_instruction", "direct_answer_instruction",
    };
    return names;
}

// Walks the body, calling literal() for text and placeholder() for each
// {name}. Throws Error(where, ...) for unbalanced braces.
void scan(const std::string &body, const std::string &where,
          const std::function<void(std::string_view)> &literal,
          const std::function<void(const std::string &)> &placeholder)
{
    std::size_t i = 0;
    while (i < body.size()) {
        const char c = body[i];
        if ((c == '{' || c == '}') && i + 1 < body.size() && body[i + 1] == c) {
            literal(std::string_view(&body[i], 1));
            i += 2;
            continue;
        }
        if (c == '}')
            throw Error(where, "unmatched '}' at offset " + std::to_string(i) + " (write }} for a brace)");
        if (c == '{') {
            const std::size_t close = body.find('}', i + 1);
            if (close == std::string::npos)
                throw Error(where, "unclosed '{' at offset " + std::to_string(i) + " (write {{ for a brace)");
            placeholder(body.substr(i + 1, close - i - 1));
            i = close + 1;
            continue;
        }
        const std::size_t next = body.find_first_of("{}", i);
        const std::size_t end = next == std::string::npos ? body.size() : next;
        literal(std::string_view(body).substr(i, end - i));
        i = end;
    }
}

void validate(const PromptTemplate &t, const std::string &where)
{
    for (const auto &name : t.placeholders())
        if (std::find(knownPlaceholders().begin(), knownPlaceholders().end(), name)
            == knownPlaceholders().end())
            throw Error(where, "unknown placeholder {" + name + "} in template '" + t.name + "'");
}

} // namespace

std::vector<std::string> PromptTemplate::placeholders() const
{
    std::vector<std::string> names;
    scan(body, "template '" + name + "'", [](std::string_view) {},
         [&](const std::string &n) {
             if (std::find(names.begin(), names.end(), n) == names.end())
                 names.push_back(n);
         });
    return names;
}

std::string PromptTemplate::render(const Document &doc, const std::string &targetLanguage) const
{
    const std::string where = "template '" + name + "'";
    auto missing = [&](const std::string &what) {
        return Error(where, "needs " + what + ", which document '" + doc.id + "' ("
                               + doc.language + ") does not have");
    };
    auto value = [&](const std::string &n) -> std::string {
        if (n == "text") {
            if (doc.text.empty())
                throw missing("a text");
            return doc.text;
        }
        if (n == "question") {
            if (doc.question.empty())
                throw missing("a question");
            return doc.question;
        }
        if (n == "passage") {
            if (doc.passage.empty())
                throw missing("a passage");
            return doc.passage;
        }
        if (n == "answer") {
            if (doc.answers.empty())
                throw missing("an answer");
            return doc.answers.front();
        }
        if (n == "choices") {
            if (doc.choices.empty())
                throw missing("answer choices");
            std::string out;
            for (std::size_t k = 0; k < doc.choices.size(); ++k) {
                if (k)
                    out += '\n';
                out += static_cast<char>('A' + k % 26);
                out += ". " + doc.choices[k];
            }
            return out;
        }
        if (n == "language")
            return doc.language;
        if (n == "language_name")
            return languageEnglishName(doc.language);
        if (n == "target_language" || n == "target_language_name") {
            if (targetLanguage.empty())
                throw Error(where, "needs a target language");
            return n == "target_language" ? normaliseLanguage(targetLanguage)
                                          : languageEnglishName(targetLanguage);
        }
        if (n == "math_instruction")
            return mathInstruction(doc.language);
        if (n == "direct_answer_instruction")
            return directAnswerInstruction(doc.language);
        throw Error(where, "unknown placeholder {" + n + "}");
    };

    std::string out;
    scan(body, where, [&](std::string_view s) { out.append(s); },
         [&](const std::string &n) { out += value(n); });
    return out;
}

std::vector<PromptTemplate> builtinPromptTemplates()
{
    return {
        {"raw", "{text}", false, "the document text as it is, no chat template"},
        {"chat", "{text}", true,
         "the document text as the user message of the model's chat template"},
        {"question", "{question}", true,
         "the bare question through the chat template (the study's MGSM routing recording)"},
        {"math", "{question}\n{math_instruction}", true,
         "question + the \\boxed{} instruction in its language (the study's MGSM/PolyMath "
         "ablation and steering prompt)"},
        {"translate",
         "Translate the following English text into {target_language_name}.\n"
         "English: {text}\n\n{target_language_name}:",
         true, "translation from English (the study's FLORES ablation prompt)"},
        {"qa", "{passage}\n{question}\n{direct_answer_instruction}", true,
         "context, question and the answer-directly instruction (the study's XQuAD prompt)"},
        {"multiple-choice", "{passage}\n{question}\n{choices}", true,
         "passage, question and lettered options (the study's Belebele routing prompt)"},
    };
}

PromptTemplate promptTemplate(const std::string &nameOrPath)
{
    for (auto &t : builtinPromptTemplates())
        if (t.name == nameOrPath)
            return t;
    std::error_code ec;
    if (std::filesystem::is_regular_file(nameOrPath, ec))
        return promptTemplateFromFile(nameOrPath);
    std::string names;
    for (const auto &t : builtinPromptTemplates())
        names += (names.empty() ? "" : ", ") + t.name;
    throw Error(nameOrPath, "no such prompt template or file (built-in: " + names + ")");
}

PromptTemplate promptTemplateFromFile(const std::string &path)
{
    PromptTemplate t;
    const std::string contents = readFile(path);
    if (std::filesystem::path(path).extension() == ".json") {
        nlohmann::json root;
        try {
            root = nlohmann::json::parse(contents);
        } catch (const nlohmann::json::parse_error &e) {
            throw Error(path, "malformed JSON at byte " + std::to_string(e.byte));
        }
        if (!root.is_object() || !root.contains("template") || !root["template"].is_string())
            throw Error(path, "expected an object with a \"template\" string");
        try {
            t.body = root["template"].get<std::string>();
            t.name = root.value("name", std::filesystem::path(path).stem().string());
            t.useChatTemplate = root.value("chat", false);
            t.description = root.value("description", std::string());
        } catch (const nlohmann::json::type_error &) {
            throw Error(path, "\"name\" and \"description\" must be strings, \"chat\" a boolean");
        }
    } else {
        t.name = std::filesystem::path(path).stem().string();
        t.body = contents;
        // A text editor's final newline is not part of the prompt.
        while (!t.body.empty() && (t.body.back() == '\n' || t.body.back() == '\r'))
            t.body.pop_back();
        t.description = "custom template from " + path;
    }
    if (t.body.empty())
        throw Error(path, "the template is empty");
    validate(t, path);
    return t;
}

std::string mathInstruction(const std::string &language)
{
    return instructionOrEnglish(kMathInstructions, language);
}

std::string directAnswerInstruction(const std::string &language)
{
    return instructionOrEnglish(kDirectAnswerInstructions, language);
}

bool hasLocalisedMathInstruction(const std::string &language)
{
    return findInstruction(kMathInstructions, language) != nullptr;
}

bool hasLocalisedDirectAnswerInstruction(const std::string &language)
{
    return findInstruction(kDirectAnswerInstructions, language) != nullptr;
}

} // namespace moescope

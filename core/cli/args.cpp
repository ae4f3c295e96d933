#include "core/cli/args.h"

#include <charconv>
#include <cstdio>
#include <sstream>

namespace moescope::cli {

ArgParser::ArgParser(std::string command, std::string synopsis, std::string description)
    : m_command(std::move(command)), m_synopsis(std::move(synopsis)),
      m_description(std::move(description))
{
    flag("help", "show this help and exit");
    flag("verbose", "log debug output to stderr");
    flag("quiet", "print only errors; no progress");
}

ArgParser &ArgParser::option(const std::string &name, const std::string &valueName,
                             const std::string &help, const std::string &defaultValue)
{
    m_specs.push_back({name, valueName, help, defaultValue, false, false});
    return *this;
}

ArgParser &ArgParser::multiOption(const std::string &name, const std::string &valueName,
                                  const std::string &help)
{
    m_specs.push_back({name, valueName, help, {}, false, true});
    return *this;
}

ArgParser &ArgParser::flag(const std::string &name, const std::string &help)
{
    m_specs.push_back({name, {}, help, {}, true, false});
    return *this;
}

ArgParser &ArgParser::positional(const std::string &name, const std::string &help, int minCount,
                                 int maxCount)
{
    m_positionalSpecs.push_back({name, help, minCount, maxCount});
    return *this;
}

const ArgParser::Spec *ArgParser::find(const std::string &name) const
{
    for (const auto &s : m_specs)
        if (s.name == name)
            return &s;
    return nullptr;
}

bool ArgParser::parse(const std::vector<std::string> &args)
{
    m_values.clear();
    m_positionalValues.clear();
    bool onlyPositionals = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string &a = args[i];
        if (!onlyPositionals && a == "--") {
            onlyPositionals = true;
            continue;
        }
        if (!onlyPositionals && a.size() > 2 && a.rfind("--", 0) == 0) {
            std::string name = a.substr(2);
            std::optional<std::string> value;
            if (auto eq = name.find('='); eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
            }
            const Spec *spec = find(name);
            if (!spec)
                throw UsageError("unknown option --" + name + " (see moescope " + m_command
                                 + " --help)");
            if (spec->isFlag) {
                if (value)
                    throw UsageError("option --" + name + " takes no value");
                m_values[name].push_back("1");
                continue;
            }
            if (!value) {
                if (i + 1 >= args.size())
                    throw UsageError("option --" + name + " needs a value (" + spec->valueName
                                     + ")");
                value = args[++i];
            }
            if (!spec->multi && m_values.count(name))
                throw UsageError("option --" + name + " given more than once");
            m_values[name].push_back(*value);
            continue;
        }
        m_positionalValues.push_back(a);
    }
    if (flagSet("help")) {
        std::fputs(help().c_str(), stdout);
        return false;
    }
    int minTotal = 0, maxTotal = 0;
    bool unbounded = false;
    for (const auto &p : m_positionalSpecs) {
        minTotal += p.minCount;
        if (p.maxCount < 0)
            unbounded = true;
        else
            maxTotal += p.maxCount;
    }
    const int n = static_cast<int>(m_positionalValues.size());
    if (n < minTotal) {
        std::string names;
        for (const auto &p : m_positionalSpecs)
            if (p.minCount > 0)
                names += (names.empty() ? "" : " ") + p.name;
        throw UsageError("missing argument " + names + " (see moescope " + m_command + " --help)");
    }
    if (!unbounded && n > maxTotal)
        throw UsageError("unexpected argument '" + m_positionalValues[maxTotal] + "'");
    return true;
}

std::string ArgParser::help() const
{
    std::ostringstream out;
    out << "usage: moescope " << m_command << " " << m_synopsis << "\n";
    if (!m_description.empty())
        out << "\n" << m_description << "\n";
    if (!m_positionalSpecs.empty()) {
        out << "\narguments:\n";
        for (const auto &p : m_positionalSpecs)
            out << "  " << p.name << std::string(p.name.size() < 26 ? 26 - p.name.size() : 1, ' ')
                << p.help << "\n";
    }
    out << "\noptions:\n";
    for (const auto &s : m_specs) {
        std::string left = "--" + s.name + (s.valueName.empty() ? "" : " " + s.valueName);
        out << "  " << left << std::string(left.size() < 26 ? 26 - left.size() : 1, ' ') << s.help;
        if (!s.defaultValue.empty())
            out << " (default: " << s.defaultValue << ")";
        out << "\n";
    }
    return out.str();
}

bool ArgParser::has(const std::string &name) const
{
    return m_values.count(name) > 0;
}

std::string ArgParser::get(const std::string &name) const
{
    if (auto it = m_values.find(name); it != m_values.end())
        return it->second.back();
    if (const Spec *s = find(name))
        return s->defaultValue;
    return {};
}

std::vector<std::string> ArgParser::getAll(const std::string &name) const
{
    if (auto it = m_values.find(name); it != m_values.end())
        return it->second;
    return {};
}

bool ArgParser::flagSet(const std::string &name) const
{
    return m_values.count(name) > 0;
}

int ArgParser::getInt(const std::string &name) const
{
    const std::string v = get(name);
    int out = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || ptr != v.data() + v.size())
        throw UsageError("option --" + name + " expects an integer, got '" + v + "'");
    return out;
}

double ArgParser::getDouble(const std::string &name) const
{
    const std::string v = get(name);
    try {
        std::size_t pos = 0;
        double d = std::stod(v, &pos);
        if (pos == v.size())
            return d;
    } catch (const std::exception &) {
    }
    throw UsageError("option --" + name + " expects a number, got '" + v + "'");
}

std::vector<std::string> splitList(const std::string &text, char sep)
{
    std::vector<std::string> out;
    std::string cur;
    for (char c : text) {
        if (c == sep) {
            if (!cur.empty())
                out.push_back(cur);
            cur.clear();
        } else if (c != ' ') {
            cur += c;
        }
    }
    if (!cur.empty())
        out.push_back(cur);
    return out;
}

std::vector<std::pair<int, int>> parseRanges(const std::string &text, const std::string &what)
{
    std::vector<std::pair<int, int>> out;
    for (const auto &part : splitList(text)) {
        auto parseInt = [&](const std::string &s) {
            int v = 0;
            auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec != std::errc() || ptr != s.data() + s.size() || v < 0)
                throw UsageError(what + ": '" + part + "' is not a number or range like 0-4");
            return v;
        };
        auto dash = part.find('-');
        if (dash == std::string::npos) {
            int v = parseInt(part);
            out.emplace_back(v, v);
        } else {
            int a = parseInt(part.substr(0, dash)), b = parseInt(part.substr(dash + 1));
            if (b < a)
                throw UsageError(what + ": range '" + part + "' ends before it starts");
            out.emplace_back(a, b);
        }
    }
    return out;
}

} // namespace moescope::cli

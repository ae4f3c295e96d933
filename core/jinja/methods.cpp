#include "core/jinja/renderer.h"

#include "core/common/error.h"
#include "core/common/utf8.h"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <ctime>
#include <functional>
#include <limits>
#include <map>
#include <optional>

namespace moescope::jinja::detail {

Value Renderer::callBuiltin(const Value &f, const Args &args, int line)
{
    const auto &name = f.function;
    if (name == "raise_exception")
        fail(line, "the template raised: " + str(args.get(0, "message")));
    if (name == "namespace" || name == "dict") {
        Value v;
        if (name == "namespace") {
            v.kind = Value::Kind::Namespace;
            v.fields = std::make_shared<ValueMap>();
            for (const auto &[k, x] : args.named)
                (*v.fields)[k] = x;
            return v;
        }
        Json o = Json::object();
        for (const auto &[k, x] : args.named)
            o[k] = toJsonAt(x, line);
        return Value::of(o);
    }
    if (name == "range") {
        std::int64_t start = 0, stop = 0, step = 1;
        for (const auto &a : args.positional)
            if (!isInt(a))
                fail(line, "range() takes integers");
        if (args.positional.size() == 1)
            stop = intOf(args.positional[0]);
        else if (args.positional.size() >= 2) {
            start = intOf(args.positional[0]);
            stop = intOf(args.positional[1]);
            if (args.positional.size() == 3)
                step = intOf(args.positional[2]);
        } else
            fail(line, "range() takes 1 to 3 arguments");
        if (step == 0)
            fail(line, "range() step must not be zero");
        Json out = Json::array();
        for (auto i = start; step > 0 ? i < stop : i > stop; i += step)
            out.push_back(i);
        return Value::of(out);
    }
    if (name == "strftime_now") {
        const auto fmt = stringArg(args.get(0, "format"), line, "strftime_now's format");
        const std::time_t now = std::time(nullptr);
        std::tm tm {};
        localtime_r(&now, &tm);
        char buf[256];
        const auto n = std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
        return Value::of(std::string(buf, n));
    }
    if (name.rfind("dict.", 0) == 0)
        return dictMethod(name.substr(5), f.self->data, args, line);
    if (name.rfind("str.", 0) == 0)
        return stringMethod(name.substr(4), f.self->data.get<std::string>(), args, line);
    fail(line, "unknown function '" + name + "'");
}

Value Renderer::dictMethod(const std::string &m, const Json &d, const Args &args, int line)
{
    if (m == "get") {
        const auto key = args.get(0, "key");
        if (key.isString() && d.contains(key.data.get<std::string>()))
            return Value::of(d[key.data.get<std::string>()]);
        const auto deflt = args.get(1, "default");
        return deflt.isUndefined() ? Value::of(nullptr) : deflt;
    }
    Json out = Json::array();
    for (auto it = d.begin(); it != d.end(); ++it) {
        if (m == "items")
            out.push_back(Json::array({it.key(), it.value()}));
        else if (m == "keys")
            out.push_back(it.key());
        else
            out.push_back(it.value());
    }
    (void)line;
    return Value::of(out);
}

std::vector<std::string> Renderer::pySplit(const std::string &s, const Value &sepV, std::int64_t maxSplit, int line)
{
    std::vector<std::string> parts;
    if (sepV.isUndefined() || sepV.isNone()) {
        // Runs of whitespace separate; leading/trailing whitespace yields nothing.
        const auto u = toU32(s);
        std::size_t i = 0;
        while (i < u.size()) {
            while (i < u.size() && isPySpace(u[i]))
                ++i;
            if (i >= u.size())
                break;
            if (maxSplit >= 0 && static_cast<std::int64_t>(parts.size()) == maxSplit) {
                auto rest = u.substr(i);
                while (!rest.empty() && isPySpace(rest.back()))
                    rest.pop_back();
                parts.push_back(toU8(rest));
                break;
            }
            auto b = i;
            while (i < u.size() && !isPySpace(u[i]))
                ++i;
            parts.push_back(toU8(u.substr(b, i - b)));
        }
        return parts;
    }
    const auto sep = stringArg(sepV, line, "the separator");
    if (sep.empty())
        fail(line, "empty separator");
    std::size_t pos = 0;
    while (true) {
        const auto at = s.find(sep, pos);
        if (at == std::string::npos || (maxSplit >= 0 && static_cast<std::int64_t>(parts.size()) == maxSplit)) {
            parts.push_back(s.substr(pos));
            break;
        }
        parts.push_back(s.substr(pos, at - pos));
        pos = at + sep.size();
    }
    return parts;
}

Value Renderer::stringMethod(const std::string &m, const std::string &s, const Args &args, int line)
{
    const auto optChars = [&](std::size_t i) -> std::optional<std::string> {
        const auto v = args.get(i, "chars");
        if (v.isUndefined() || v.isNone())
            return std::nullopt;
        return stringArg(v, line, "the characters to strip");
    };
    if (m == "strip") return Value::of(pyStrip(s, optChars(0), true, true));
    if (m == "lstrip") return Value::of(pyStrip(s, optChars(0), true, false));
    if (m == "rstrip") return Value::of(pyStrip(s, optChars(0), false, true));
    if (m == "startswith" || m == "endswith") {
        const auto v = args.get(0, "prefix");
        std::vector<std::string> options;
        if (v.isData() && v.data.is_array())
            for (const auto &x : v.data)
                options.push_back(stringArg(Value::of(x), line, m + "'s argument"));
        else
            options.push_back(stringArg(v, line, m + "'s argument"));
        for (const auto &o : options) {
            const bool hit = m == "startswith" ? s.compare(0, o.size(), o) == 0
                                               : s.size() >= o.size() && s.compare(s.size() - o.size(), o.size(), o) == 0;
            if (hit)
                return Value::of(true);
        }
        return Value::of(false);
    }
    if (m == "split" || m == "rsplit") {
        const auto maxV = args.get(1, "maxsplit");
        const std::int64_t maxSplit = isInt(maxV) ? intOf(maxV) : -1;
        std::vector<std::string> parts;
        if (m == "rsplit" && maxSplit >= 0) {
            // Split from the right: reverse, split, reverse back.
            const auto sepV = args.get(0, "sep");
            const auto rev = [](std::string x) {
                auto u = toU32(x);
                std::reverse(u.begin(), u.end());
                return toU8(u);
            };
            Value revSep = sepV.isString() ? Value::of(rev(sepV.data.get<std::string>())) : sepV;
            parts = pySplit(rev(s), revSep, maxSplit, line);
            for (auto &p : parts)
                p = rev(p);
            std::reverse(parts.begin(), parts.end());
        } else {
            parts = pySplit(s, args.get(0, "sep"), maxSplit, line);
        }
        Json out = Json::array();
        for (auto &p : parts)
            out.push_back(p);
        return Value::of(out);
    }
    if (m == "splitlines") {
        Json out = Json::array();
        std::size_t pos = 0;
        while (pos < s.size()) {
            auto at = s.find('\n', pos);
            if (at == std::string::npos)
                at = s.size();
            out.push_back(s.substr(pos, at - pos));
            pos = at + 1;
        }
        return Value::of(out);
    }
    if (m == "upper" || m == "lower") {
        std::string out = s;
        for (auto &c : out)
            c = static_cast<char>(m == "upper" ? std::toupper(static_cast<unsigned char>(c))
                                               : std::tolower(static_cast<unsigned char>(c)));
        return Value::of(out);
    }
    if (m == "title" || m == "capitalize")
        return Value::of(capitalise(s, m == "title"));
    if (m == "replace") {
        const auto from = stringArg(args.get(0, "old"), line, "replace's first argument");
        const auto to = stringArg(args.get(1, "new"), line, "replace's second argument");
        const auto countV = args.get(2, "count");
        return Value::of(replaceAll(s, from, to, isInt(countV) ? intOf(countV) : -1));
    }
    if (m == "removeprefix" || m == "removesuffix") {
        const auto a = stringArg(args.get(0, "prefix"), line, m + "'s argument");
        if (m == "removeprefix" && s.compare(0, a.size(), a) == 0)
            return Value::of(s.substr(a.size()));
        if (m == "removesuffix" && !a.empty() && s.size() >= a.size() && s.compare(s.size() - a.size(), a.size(), a) == 0)
            return Value::of(s.substr(0, s.size() - a.size()));
        return Value::of(s);
    }
    if (m == "find" || m == "rfind" || m == "index" || m == "count") {
        const auto a = stringArg(args.get(0, "sub"), line, m + "'s argument");
        if (m == "count") {
            std::int64_t n = 0;
            if (a.empty())
                return Value::of(static_cast<std::int64_t>(toU32(s).size()) + 1);
            for (auto at = s.find(a); at != std::string::npos; at = s.find(a, at + a.size()))
                ++n;
            return Value::of(n);
        }
        const auto at = m == "rfind" ? s.rfind(a) : s.find(a);
        if (at == std::string::npos) {
            if (m == "index")
                fail(line, "substring not found");
            return Value::of(static_cast<std::int64_t>(-1));
        }
        return Value::of(static_cast<std::int64_t>(toU32(s.substr(0, at)).size()));
    }
    if (m == "join") {
        const auto items = iterate(args.get(0, "iterable"), line);
        std::string out;
        for (std::size_t i = 0; i < items.size(); ++i)
            out += (i ? s : "") + stringArg(items[i], line, "join's items");
        return Value::of(out);
    }
    if (m.rfind("is", 0) == 0) {
        const auto u = toU32(s);
        if (u.empty())
            return Value::of(false);
        bool ok = true, cased = false;
        for (const char32_t c : u) {
            const bool ascii = c < 0x80;
            const int ch = static_cast<int>(c);
            if (m == "isdigit") ok &= ascii && std::isdigit(ch);
            else if (m == "isalpha") ok &= !ascii || std::isalpha(ch);
            else if (m == "isalnum") ok &= !ascii || std::isalnum(ch);
            else if (m == "isspace") ok &= isPySpace(c);
            else if (m == "isupper") { ok &= !(ascii && std::islower(ch)); cased |= ascii && std::isupper(ch); }
            else if (m == "islower") { ok &= !(ascii && std::isupper(ch)); cased |= ascii && std::islower(ch); }
        }
        if (m == "isupper" || m == "islower")
            ok &= cased;
        return Value::of(ok);
    }
    fail(line, "str." + m + "() is not supported");
}

std::string Renderer::replaceAll(const std::string &s, const std::string &from, const std::string &to, std::int64_t count)
{
    if (from.empty())
        return s;
    std::string out;
    std::size_t pos = 0;
    std::int64_t done = 0;
    while (count < 0 || done < count) {
        const auto at = s.find(from, pos);
        if (at == std::string::npos)
            break;
        out += s.substr(pos, at - pos) + to;
        pos = at + from.size();
        ++done;
    }
    return out + s.substr(pos);
}

std::string Renderer::capitalise(const std::string &s, bool everyWord)
{
    std::string out = s;
    bool start = true;
    for (auto &c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) {
            start = false;
            continue;
        }
        if (std::isalpha(u)) {
            c = static_cast<char>(start ? std::toupper(u) : std::tolower(u));
            start = false;
        } else if (everyWord) {
            start = true;
        }
    }
    return out;
}

Value Renderer::attributeOrItem(const Value &v, const std::string &path, int line)
{
    Value cur = v;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        const auto dot = path.find('.', pos);
        const auto part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
        const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
        cur = numeric ? item(cur, Value::of(std::stoll(part)), line) : item(cur, Value::of(part), line);
        if (dot == std::string::npos)
            break;
        pos = dot + 1;
    }
    return cur;
}

} // namespace moescope::jinja::detail

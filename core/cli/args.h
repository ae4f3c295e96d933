#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace moescope::cli {

// Bad command-line arguments; the CLI exits with code 2.
class UsageError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

// A small declarative argument parser: options are declared with their help
// text so --help is generated from the same list that validates the input.
class ArgParser
{
public:
    ArgParser(std::string command, std::string synopsis, std::string description = {});

    // --name VALUE (or --name=VALUE). An empty defaultValue means "not set".
    ArgParser &option(const std::string &name, const std::string &valueName,
                      const std::string &help, const std::string &defaultValue = {});
    // Like option() but may be given several times; values accumulate.
    ArgParser &multiOption(const std::string &name, const std::string &valueName,
                           const std::string &help);
    ArgParser &flag(const std::string &name, const std::string &help);
    ArgParser &positional(const std::string &name, const std::string &help,
                          int minCount = 1, int maxCount = 1); // maxCount -1: unbounded

    // Throws cli::UsageError on bad arguments. Returns false if --help was
    // given (help text already printed to stdout).
    bool parse(const std::vector<std::string> &args);

    std::string help() const;

    bool has(const std::string &name) const;
    std::string get(const std::string &name) const; // option value or default
    std::vector<std::string> getAll(const std::string &name) const;
    bool flagSet(const std::string &name) const;
    const std::vector<std::string> &positionals() const { return m_positionalValues; }

    // Typed accessors; they throw UsageError naming the option on bad values.
    int getInt(const std::string &name) const;
    double getDouble(const std::string &name) const;

private:
    struct Spec
    {
        std::string name, valueName, help, defaultValue;
        bool isFlag = false, multi = false;
    };
    struct PositionalSpec
    {
        std::string name, help;
        int minCount, maxCount;
    };
    const Spec *find(const std::string &name) const;

    std::string m_command, m_synopsis, m_description;
    std::vector<Spec> m_specs;
    std::vector<PositionalSpec> m_positionalSpecs;
    std::map<std::string, std::vector<std::string>> m_values;
    std::vector<std::string> m_positionalValues;
};

// Parses "0-4,22-26,43" style lists into inclusive ranges.
std::vector<std::pair<int, int>> parseRanges(const std::string &text, const std::string &what);
std::vector<std::string> splitList(const std::string &text, char sep = ',');

} // namespace moescope::cli

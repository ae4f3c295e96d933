#include "core/common/error.h"
#include "core/routing/intervention_plan.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace moescope;
using namespace moescope::routing;

namespace {

std::string errorOf(const std::string &json, const PlanTarget *target = nullptr)
{
    try {
        const auto plan = parsePlan(json, "plan.json");
        if (target)
            validatePlan(plan, *target, "plan.json");
    } catch (const Error &e) {
        EXPECT_EQ(e.file(), "plan.json");
        return e.reason();
    }
    return "(no error)";
}

const PlanTarget kTarget{24, 60, {1, 2, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23}};

} // namespace

TEST(InterventionPlan, ParsesMaskAndSteerEntries)
{
    const auto plan = parsePlan(R"({
        "mask":  [{"layers": [0, 4], "experts": [3, 7]}],
        "steer": [{"layers": [10, 12], "experts": [1, 2], "scale": 0.25},
                  {"layers": [5, 5], "experts": [4, 6], "scales": [0.5, -1.0]}]})",
                                "p");
    ASSERT_EQ(plan.mask.size(), 1u);
    EXPECT_EQ(plan.mask[0].layers.first, 0);
    EXPECT_EQ(plan.mask[0].layers.last, 4);
    EXPECT_TRUE(plan.mask[0].layers.contains(4));
    EXPECT_FALSE(plan.mask[0].layers.contains(5));
    EXPECT_EQ(plan.mask[0].experts, (std::vector<int>{3, 7}));
    ASSERT_EQ(plan.steer.size(), 2u);
    EXPECT_EQ(plan.steer[0].scales, (std::vector<double>{0.25, 0.25}));
    EXPECT_FALSE(plan.steer[0].perExpertScales);
    EXPECT_EQ(plan.steer[1].scales, (std::vector<double>{0.5, -1.0}));
    EXPECT_TRUE(plan.steer[1].perExpertScales);
    EXPECT_NO_THROW(validatePlan(plan, kTarget, "p"));
}

TEST(InterventionPlan, RoundTripsThroughJsonAndFile)
{
    InterventionPlan plan;
    plan.mask.push_back({{2, 3}, {0, 5}});
    plan.steer.push_back({{1, 7}, {4}, {0.75}, false});
    plan.steer.push_back({{0, 0}, {1, 2}, {0.1, 0.2}, true});
    const auto again = parsePlan(planToJson(plan), "again");
    EXPECT_EQ(planToJson(again), planToJson(plan));
    EXPECT_EQ(again.steer[1].scales, (std::vector<double>{0.1, 0.2}));

    const auto path = (std::filesystem::temp_directory_path() / "moescope-test-plan.json").string();
    savePlan(plan, path);
    EXPECT_EQ(planToJson(loadPlan(path)), planToJson(plan));
    std::filesystem::remove(path);
    EXPECT_TRUE(parsePlan("{}", "empty").empty());
}

TEST(InterventionPlan, MalformedPlansNameThePlanFileAndEntry)
{
    EXPECT_NE(errorOf("[1, 2]").find("JSON object"), std::string::npos);
    EXPECT_NE(errorOf("{").find("not valid JSON"), std::string::npos);
    EXPECT_NE(errorOf(R"({"masks": []})").find("unknown plan key"), std::string::npos);
    EXPECT_NE(errorOf(R"({"mask": [{"experts": [1]}]})").find("mask[0]"), std::string::npos);
    EXPECT_NE(errorOf(R"({"mask": [{"layers": [3, 1], "experts": [1]}]})").find("reversed"), std::string::npos);
    EXPECT_NE(errorOf(R"({"mask": [{"layers": [1], "experts": [1]}]})").find("[first, last]"), std::string::npos);
    EXPECT_NE(errorOf(R"({"steer": [{"layers": [1, 1], "experts": [1]}]})").find("scale"), std::string::npos);
    EXPECT_NE(errorOf(R"({"steer": [{"layers": [1, 1], "experts": [1, 2], "scales": [0.1]}]})").find("steer[0]"),
              std::string::npos);
}

TEST(InterventionPlan, ValidationRejectsWhatTheModelDoesNotHave)
{
    EXPECT_NE(errorOf(R"({"mask": [{"layers": [20, 24], "experts": [1]}]})", &kTarget).find("outside the model's 0-23"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"mask": [{"layers": [1, 2], "experts": [60]}]})", &kTarget).find("expert 60"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"steer": [{"layers": [4, 4], "experts": [1], "scale": 1}]})", &kTarget).find("no MoE layer"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"mask": [{"layers": [1, 1], "experts": []}]})", &kTarget).find("no experts"),
              std::string::npos);
    EXPECT_EQ(errorOf(R"({"mask": [{"layers": [0, 23], "experts": [0, 59]}]})", &kTarget), "(no error)");
}

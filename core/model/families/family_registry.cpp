// model_type -> family description. Adding a family: write
// families/<model_type>.cpp (a describe function over describeCommonDecoder),
// declare it in config_reader.h and list it here (docs/engine.md).
#include "core/model/families/config_reader.h"

namespace moescope::model {

const std::vector<FamilyEntry> &familyRegistry()
{
    static const std::vector<FamilyEntry> registry = {
        { "mixtral", &describeMixtral },
        { "qwen2_moe", &describeQwen2Moe },
        { "qwen3_moe", &describeQwen3Moe },
        { "olmoe", &describeOlmoe },
        { "granitemoe", &describeGranitemoe },
        { "phimoe", &describePhimoe },
        { "deepseek_v3", &describeDeepseekV3 },
        { "gpt_oss", &describeGptOss },
        { "deepseek_v2", &describeDeepseekV2 },
        { "ernie4_5_moe", &describeErnie45Moe },
        { "glm4_moe", &describeGlm4Moe },
        { "qwen3_next", &describeQwen3Next },
    };
    return registry;
}

} // namespace moescope::model

#include "resources/bundled_resources.h"

#include <QtGlobal>

#include <mutex>

// Q_INIT_RESOURCE declares the rcc initialiser in the enclosing namespace, so
// it has to be expanded at global scope.
static void initMoescopeResources()
{
    Q_INIT_RESOURCE(study_data);
    Q_INIT_RESOURCE(icons);
}

namespace moescope::resources {

void registerBundledResources()
{
    static std::once_flag once;
    std::call_once(once, initMoescopeResources);
}

} // namespace moescope::resources

#include "core/common/error.h"

namespace moescope {

Error::Error(std::string reason)
    : std::runtime_error(reason), m_reason(std::move(reason))
{
}

Error::Error(std::string file, std::string reason)
    : std::runtime_error(file.empty() ? reason : file + ": " + reason),
      m_file(std::move(file)), m_reason(std::move(reason))
{
}

} // namespace moescope

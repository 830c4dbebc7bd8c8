// docs/openapi.yaml, compiled into the binary (server/CMakeLists.txt).
#pragma once

#include <string_view>

namespace server {
std::string_view OpenApiYaml();
}

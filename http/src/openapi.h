// docs/openapi.yaml, compiled into the binary (http/CMakeLists.txt).
#pragma once

#include <string_view>

namespace http {
std::string_view OpenApiYaml();
}

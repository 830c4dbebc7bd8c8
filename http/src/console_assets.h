// The web console's static files (web/public/), compiled into notaryd by http/CMakeLists.txt
// so that an installed binary needs no asset directory.
//
// Thread-safety: immutable data.
#pragma once

#include <span>
#include <string_view>

namespace http {

struct ConsoleAsset {
  std::string_view name;  // file name under web/public/, e.g. "app.js"
  std::string_view body;
};

// Every file of web/public/, sorted by name.
std::span<const ConsoleAsset> ConsoleAssets();

}  // namespace http

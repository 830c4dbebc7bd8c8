// Private helpers around GMime: one-time initialisation and owning pointers for the
// objects GMime hands over ("transfer full").
//
// Thread-safety: EnsureGMimeInitialized may be called from any thread; it runs
// g_mime_init() exactly once per process.
#pragma once

#include <gmime/gmime.h>

#include <memory>

#include "common/deleter.h"

namespace mime::internal {

using common::Deleter;

template <class T>
using GPtr = std::unique_ptr<T, Deleter<g_object_unref>>;
// A g_malloc'd C string returned "transfer full".
using GCharPtr = std::unique_ptr<char, Deleter<g_free>>;
using ParserOptionsPtr = std::unique_ptr<GMimeParserOptions, Deleter<g_mime_parser_options_free>>;
using FormatOptionsPtr = std::unique_ptr<GMimeFormatOptions, Deleter<g_mime_format_options_free>>;
using DateTimePtr = std::unique_ptr<GDateTime, Deleter<g_date_time_unref>>;

void EnsureGMimeInitialized();

}  // namespace mime::internal

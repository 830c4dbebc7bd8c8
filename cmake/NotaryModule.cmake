# notary_module(NAME PUBLIC_DEPS <targets...> PRIVATE_DEPS <targets...>)
# One library per folder: sources are src/*.cc, public headers include/<name>/*.h,
# private headers beside the sources. The folder's CMakeLists stays one call long, so that
# several people can add files to a module without editing the same build file.
function(notary_module name)
  cmake_parse_arguments(M "" "" "PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cc)
  list(FILTER _srcs EXCLUDE REGEX "_main\\.cc$")
  if(NOT _srcs)  # a module whose first sources are still being written
    file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/${name}_empty.cc "")
    set(_srcs ${CMAKE_CURRENT_BINARY_DIR}/${name}_empty.cc)
  endif()
  add_library(${name} STATIC ${_srcs})
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                     PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${M_PUBLIC_DEPS} PRIVATE ${M_PRIVATE_DEPS} warnings)
endfunction()

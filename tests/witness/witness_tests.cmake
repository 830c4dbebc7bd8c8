# notary-witness's tests (included by tests/CMakeLists.txt): the library's unit tests, the
# end-to-end test that runs the binary with curl, and the cross-implementation check of its
# cosignatures with Python's `cryptography` (tests/witness/cosignature_check.py).
notary_tests(witness LIBS witness log common)
if(TARGET witness_tests)
  add_dependencies(witness_tests notary-witness)
endif()
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME witness_cosignature_check_python
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/witness/cosignature_check.py
                   $<TARGET_FILE:notary-witness> ${CMAKE_BINARY_DIR}/tmp)
endif()
# The body parser under libFuzzer (clang; a -DNOTARY_FUZZ=ON tree such as scripts/fuzz's).
if(NOTARY_FUZZ)
  add_executable(witness_request_fuzz ${CMAKE_CURRENT_SOURCE_DIR}/witness/fuzz/witness_request_fuzz.cc
                 ${CMAKE_SOURCE_DIR}/witness/src/request.cc)
  target_include_directories(witness_request_fuzz PRIVATE ${CMAKE_SOURCE_DIR}/witness/include)
  target_compile_options(witness_request_fuzz PRIVATE -fsanitize=fuzzer,address,undefined
                         -fno-sanitize-recover=undefined)
  target_link_options(witness_request_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(witness_request_fuzz PRIVATE common warnings)
endif()

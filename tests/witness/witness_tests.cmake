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
# The body parser's libFuzzer target is in tests/fuzz/ (witness_request_fuzz, run by scripts/fuzz).

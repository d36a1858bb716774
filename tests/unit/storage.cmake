# Unit tests of storage/ (xc_store.h): one CUnit suite per area.
add_executable(test_storage ${CMAKE_CURRENT_LIST_DIR}/test_storage.c)
target_link_libraries(test_storage PRIVATE xc_storage PkgConfig::CUNIT)
add_test(NAME storage COMMAND test_storage)
# The suite takes a few seconds; the limit only catches a hung writer.
set_tests_properties(storage PROPERTIES TIMEOUT 120)

# Unit tests of the archive and the inspector pool (server/ARCHIVE.md):
# content storage (storage/xc_store_blob.c) and the conflict rule.
add_executable(test_archive ${CMAKE_CURRENT_LIST_DIR}/test_archive.c)
target_link_libraries(test_archive PRIVATE xc_server_core xc_storage PkgConfig::CUNIT)
add_test(NAME archive_unit COMMAND test_archive)
set_tests_properties(archive_unit PROPERTIES TIMEOUT 60)

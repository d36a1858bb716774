# Group commit and fibers (issue 6): correctness, not speed. Links the store
# and the server core (for xc_fiber).
add_executable(test_group_commit ${CMAKE_CURRENT_LIST_DIR}/test_group_commit.c)
target_link_libraries(test_group_commit PRIVATE xc_server_core xc_storage PkgConfig::CUNIT
                                                Threads::Threads)
add_test(NAME group_commit COMMAND test_group_commit)
set_tests_properties(group_commit PROPERTIES TIMEOUT 120)

# Unit tests of server/ (xc_server_core): record rules, validation, page
# tokens, the list planner and the handlers on a temporary store. No network.
add_executable(test_server ${CMAKE_CURRENT_LIST_DIR}/test_server.c)
target_link_libraries(test_server PRIVATE xc_server_core PkgConfig::CUNIT)
add_test(NAME server_unit COMMAND test_server)
set_tests_properties(server_unit PROPERTIES TIMEOUT 120)

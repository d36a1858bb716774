# Unit tests of the workflow state machines (server/xc_wf.c), the server's
# clock and the agency read rule. No network, no store.
add_executable(test_workflow ${CMAKE_CURRENT_LIST_DIR}/test_workflow.c)
target_link_libraries(test_workflow PRIVATE xc_server_core PkgConfig::CUNIT)
add_test(NAME workflow_unit COMMAND test_workflow)
set_tests_properties(workflow_unit PROPERTIES TIMEOUT 60)

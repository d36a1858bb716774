# Unit tests of server/ (xc_server_core): record rules, validation, page
# tokens, the list planner and the handlers on a temporary store. No network.
add_executable(test_server ${CMAKE_CURRENT_LIST_DIR}/test_server.c)
target_link_libraries(test_server PRIVATE xc_server_core PkgConfig::CUNIT)
add_test(NAME server_unit COMMAND test_server)
set_tests_properties(server_unit PROPERTIES TIMEOUT 120)

# Operations: config file, call counters, reflection lookups, GetStats.
add_executable(test_server_ops ${CMAKE_CURRENT_LIST_DIR}/test_server_ops.c)
target_link_libraries(test_server_ops PRIVATE xc_server_core PkgConfig::CUNIT)
add_test(NAME server_ops COMMAND test_server_ops)
set_tests_properties(server_ops PROPERTIES TIMEOUT 60)

# Reports (server/REPORTS.md): figures of a known data set worked out by hand,
# and the maintained counters against a full scan after random writes.
add_executable(test_reports ${CMAKE_CURRENT_LIST_DIR}/test_reports.c)
target_link_libraries(test_reports PRIVATE xc_server_core PkgConfig::CUNIT)
add_test(NAME reports_unit COMMAND test_reports)
set_tests_properties(reports_unit PROPERTIES TIMEOUT 300)
# The call audit (issue 7): queue, durable lead reads, signed checkpoints,
# tail cut caught by the checkpoint file, forged checkpoints, pruning.
add_executable(test_audit_server ${CMAKE_CURRENT_LIST_DIR}/test_audit_server.c)
target_link_libraries(test_audit_server PRIVATE xc_server_core PkgConfig::LMDB PkgConfig::CUNIT)
target_compile_definitions(test_audit_server PRIVATE
  XC_CERTS_TOOL="${CMAKE_SOURCE_DIR}/certs/xuncha-certs")
add_test(NAME server_audit COMMAND test_audit_server)
set_tests_properties(server_audit PROPERTIES TIMEOUT 60)

# The partial unpack of stored records for the read checks against the
# whole one (server/xc_rawrec.h): same decisions, same refusals.
add_executable(test_partial ${CMAKE_CURRENT_LIST_DIR}/test_partial.c)
target_link_libraries(test_partial PRIVATE xc_server_core PkgConfig::CUNIT)
add_test(NAME server_partial COMMAND test_partial)
set_tests_properties(server_partial PROPERTIES TIMEOUT 60)

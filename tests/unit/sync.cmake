# Federation without the network (server/SYNC.md): replicas, sync values,
# log pruning and raw walks in the store; the homes map; and exactly-once
# apply, pull selection, snapshots and digests between stores in one process.
add_executable(test_sync ${CMAKE_CURRENT_LIST_DIR}/test_sync.c)
target_link_libraries(test_sync PRIVATE xc_server_core PkgConfig::CUNIT)
add_test(NAME sync_unit COMMAND test_sync)
set_tests_properties(sync_unit PROPERTIES TIMEOUT 120)

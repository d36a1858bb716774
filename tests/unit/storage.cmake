# Unit tests of storage/ (xc_store.h): one CUnit suite per area.
add_executable(test_storage ${CMAKE_CURRENT_LIST_DIR}/test_storage.c)
target_link_libraries(test_storage PRIVATE xc_storage PkgConfig::CUNIT)
add_test(NAME storage COMMAND test_storage)
# The suite takes a few seconds; the limit only catches a hung writer.
set_tests_properties(storage PROPERTIES TIMEOUT 120)

# Upgrades: an older store is migrated at open; a newer one is refused.
add_executable(test_migrate ${CMAKE_CURRENT_LIST_DIR}/test_migrate.c)
target_link_libraries(test_migrate PRIVATE xc_storage PkgConfig::CUNIT)
add_test(NAME storage_migrate COMMAND test_migrate)
set_tests_properties(storage_migrate PROPERTIES TIMEOUT 60)

# Hot backup (xc_store_backup): refusals, a copy under writes, a suspended caller.
add_executable(test_backup ${CMAKE_CURRENT_LIST_DIR}/test_backup.c)
target_link_libraries(test_backup PRIVATE xc_storage PkgConfig::CUNIT Threads::Threads)
add_test(NAME storage_backup COMMAND test_backup)
set_tests_properties(storage_backup PROPERTIES TIMEOUT 120)
# The audit log (issue 7): hash chain, tamper detection, pruning.
add_executable(test_audit ${CMAKE_CURRENT_LIST_DIR}/test_audit.c)
target_link_libraries(test_audit PRIVATE xc_storage PkgConfig::CUNIT)
add_test(NAME storage_audit COMMAND test_audit)
set_tests_properties(storage_audit PROPERTIES TIMEOUT 60)

# The writer's batch work: report counters summed per batch (a recount from
# the records after batches with updates, a failing job and a replay after
# map growth) and the data file's headroom.
add_executable(test_store_writer ${CMAKE_CURRENT_LIST_DIR}/test_store_writer.c)
target_link_libraries(test_store_writer PRIVATE xc_storage PkgConfig::CUNIT Threads::Threads)
add_test(NAME storage_writer COMMAND test_store_writer)
set_tests_properties(storage_writer PROPERTIES TIMEOUT 120)

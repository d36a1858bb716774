# Group commit and fibers (issue 6): correctness, not speed. Links the store
# and the server core (for xc_fiber).
add_executable(test_group_commit ${CMAKE_CURRENT_LIST_DIR}/test_group_commit.c)
target_link_libraries(test_group_commit PRIVATE xc_server_core xc_storage PkgConfig::CUNIT
                                                Threads::Threads)
add_test(NAME group_commit COMMAND test_group_commit)
set_tests_properties(group_commit PROPERTIES TIMEOUT 120)

# Nothing acknowledged is lost when xunchad stops with writes in flight
# (tests/e2e/perf_shutdown.sh drives it with xuncha-bench).
if(TARGET xunchad AND TARGET xuncha-bench)
  add_test(NAME perf_shutdown
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/../e2e/perf_shutdown.sh $<TARGET_FILE:xunchad>
                   $<TARGET_FILE:xuncha-bench> ${CMAKE_SOURCE_DIR}/certs/xuncha-certs)
  set_tests_properties(perf_shutdown PROPERTIES TIMEOUT 120 LABELS e2e)
endif()

# xuncha-bench transport and fsync and bench/cpu-per-call.sh, briefly: their
# rows, JSON and usage errors.
if(TARGET xunchad AND TARGET xuncha-bench)
  add_test(NAME bench_tools
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/../e2e/bench_tools_test.py
                   $<TARGET_FILE:xuncha-bench> ${CMAKE_SOURCE_DIR}/certs/xuncha-certs
                   ${CMAKE_SOURCE_DIR}/bench/cpu-per-call.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(bench_tools PROPERTIES TIMEOUT 120 LABELS e2e)
endif()

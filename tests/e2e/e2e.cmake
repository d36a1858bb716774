# End-to-end tests: a real xunchad over mutual TLS on 127.0.0.1, driven
# through libxuncha (xc_e2e, CUnit), the xuncha CLI, and Python grpcio
# (interop_test.py). Each ctest e2e_<suite> starts its own server in its own
# temporary directory and stops it at the end.
#
# Included from tests/CMakeLists.txt, so paths are taken from this file's
# directory, not the current source directory.

set(XC_E2E_DIR ${CMAKE_CURRENT_LIST_DIR})
set(XC_E2E_PYTHON /usr/bin/python3 CACHE FILEPATH
    "Python with grpcio and protobuf for the e2e interop test (Debian's python3)")
find_program(XC_E2E_PROTOC protoc)

add_executable(xc_e2e
  ${XC_E2E_DIR}/e2e_main.c
  ${XC_E2E_DIR}/xc_harness.c
  ${XC_E2E_DIR}/e2e_records.c
  ${XC_E2E_DIR}/test_crud.c
  ${XC_E2E_DIR}/test_paging.c
  ${XC_E2E_DIR}/test_access.c
  ${XC_E2E_DIR}/test_tls.c
  ${XC_E2E_DIR}/test_limits.c
  ${XC_E2E_DIR}/test_cli.c
  ${XC_E2E_DIR}/test_workflow.c
  ${XC_E2E_DIR}/test_archive.c)
target_include_directories(xc_e2e PRIVATE ${XC_E2E_DIR})
# LMDB: the archive suite damages a stored chunk while the server is down.
target_link_libraries(xc_e2e PRIVATE xuncha_static xc_proto xc_common PkgConfig::CUNIT PkgConfig::LMDB
                                     PkgConfig::JANSSON ${CSV_LIBRARY} OpenSSL::Crypto
                                     Threads::Threads)

# The programs under test. The CLI's target is xuncha_cli (xuncha is the
# shared library); a missing target leaves the variable empty and the suites
# that need it fail saying so, rather than breaking the whole configure.
set(XC_E2E_ENV
    XC_E2E_CERTS=${CMAKE_SOURCE_DIR}/certs/xuncha-certs
    XC_E2E_SRCDIR=${XC_E2E_DIR}
    XC_E2E_PYTHON=${XC_E2E_PYTHON})
set(XC_E2E_SERVER "")
if(TARGET xunchad)
  set(XC_E2E_SERVER $<TARGET_FILE:xunchad>)
  add_dependencies(xc_e2e xunchad)
else()
  message(WARNING "e2e: no xunchad target; the e2e tests will fail")
endif()
list(APPEND XC_E2E_ENV XC_E2E_XUNCHAD=${XC_E2E_SERVER})
if(TARGET xuncha_cli)
  list(APPEND XC_E2E_ENV XC_E2E_XUNCHA=$<TARGET_FILE:xuncha_cli>)
  add_dependencies(xc_e2e xuncha_cli)
else()
  message(WARNING "e2e: no xuncha_cli target; e2e_cli will fail")
endif()

foreach(suite crud paging access tls limits cli workflow archive)
  add_test(NAME e2e_${suite} COMMAND xc_e2e ${suite})
  set_tests_properties(e2e_${suite} PROPERTIES
    ENVIRONMENT "${XC_E2E_ENV}"
    TIMEOUT 180
    LABELS e2e)
endforeach()

add_test(NAME e2e_interop
         COMMAND ${XC_E2E_PYTHON} ${XC_E2E_DIR}/interop_test.py
                 --xunchad "${XC_E2E_SERVER}"
                 --certs ${CMAKE_SOURCE_DIR}/certs/xuncha-certs
                 --proto-dir ${CMAKE_SOURCE_DIR}/proto
                 --protoc "${XC_E2E_PROTOC}")
set_tests_properties(e2e_interop PROPERTIES TIMEOUT 120 LABELS e2e)

# Operations (server/OPERATIONS.md): config errors, logs, SIGHUP, server
# reflection, Admin/GetStats, Health/Watch, the CLI for operators, and an
# upgrade from a store in an older format (made by xc_oldstore).
add_executable(xc_oldstore ${XC_E2E_DIR}/xc_oldstore.c)
target_link_libraries(xc_oldstore PRIVATE PkgConfig::LMDB)
add_test(NAME e2e_ops
         COMMAND ${XC_E2E_PYTHON} ${XC_E2E_DIR}/ops_test.py
                 --xunchad "${XC_E2E_SERVER}"
                 --certs ${CMAKE_SOURCE_DIR}/certs/xuncha-certs
                 --proto-dir ${CMAKE_SOURCE_DIR}/proto
                 --protoc "${XC_E2E_PROTOC}"
                 --xuncha "$<$<TARGET_EXISTS:xuncha_cli>:$<TARGET_FILE:xuncha_cli>>"
                 --oldstore $<TARGET_FILE:xc_oldstore>)
set_tests_properties(e2e_ops PROPERTIES TIMEOUT 180 LABELS e2e)

# cmake --install into a temporary prefix; the installed binaries, man
# pages, unit and a program built with only `pkg-config xuncha`.
add_test(NAME e2e_install
         COMMAND /bin/bash ${XC_E2E_DIR}/install_test.sh ${CMAKE_BINARY_DIR}
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(e2e_install PROPERTIES TIMEOUT 300 LABELS e2e)

# xuncha-certs csr / sign-csr: an operator's key never leaves their machine.
add_test(NAME e2e_certs_csr
         COMMAND /bin/bash ${XC_E2E_DIR}/certs_csr_test.sh ${CMAKE_SOURCE_DIR}/certs/xuncha-certs)
set_tests_properties(e2e_certs_csr PROPERTIES TIMEOUT 120 LABELS e2e)

# Durability (issue 7): SIGKILL under 64-way writes (seeded: XC_CRASH_SEED),
# a full disk (tmpfs, or RLIMIT_FSIZE), and a hot backup under load restored.
add_executable(xc_durable ${XC_E2E_DIR}/test_durable.c ${XC_E2E_DIR}/xc_harness.c)
target_include_directories(xc_durable PRIVATE ${XC_E2E_DIR})
target_link_libraries(xc_durable PRIVATE xuncha_static xc_storage xc_proto xc_common
                                         PkgConfig::CUNIT OpenSSL::Crypto Threads::Threads)
if(TARGET xunchad)
  add_dependencies(xc_durable xunchad)
endif()
if(TARGET xuncha_cli)
  add_dependencies(xc_durable xuncha_cli)
endif()
foreach(suite crash diskfull backup)
  add_test(NAME e2e_${suite} COMMAND xc_durable ${suite})
  set_tests_properties(e2e_${suite} PROPERTIES
    ENVIRONMENT "${XC_E2E_ENV};XC_CRASH_SEED=20261126"
    TIMEOUT 300
    LABELS "e2e;durability")
endforeach()

# Hostile requests as raw bytes (issue 7): oversize, truncated and garbage
# protobuf, unknown enums, invalid UTF-8, over-long strings, page sizes and
# page tokens, other offices' ids, missing fields; exact status, a message
# naming the problem, and nothing written.
add_test(NAME e2e_hostile
         COMMAND ${XC_E2E_PYTHON} ${XC_E2E_DIR}/hostile_test.py
                 --xunchad "${XC_E2E_SERVER}"
                 --certs ${CMAKE_SOURCE_DIR}/certs/xuncha-certs
                 --proto-dir ${CMAKE_SOURCE_DIR}/proto
                 --protoc "${XC_E2E_PROTOC}")
set_tests_properties(e2e_hostile PROPERTIES TIMEOUT 120 LABELS e2e)
# Reports and data exchange (server/REPORTS.md): the speech's sentence word
# for word, import (bad rows, GB18030, re-import) and export, via the CLI.
add_test(NAME e2e_reports
         COMMAND ${XC_E2E_PYTHON} ${XC_E2E_DIR}/reports_test.py
                 --xunchad "${XC_E2E_SERVER}"
                 --xuncha "$<$<TARGET_EXISTS:xuncha_cli>:$<TARGET_FILE:xuncha_cli>>"
                 --certs ${CMAKE_SOURCE_DIR}/certs/xuncha-certs)
set_tests_properties(e2e_reports PROPERTIES TIMEOUT 180 LABELS e2e)
# Issue 7: refused certificates (revoked, expired, not yet valid, wrong CA,
# wrong key usage, none) with the reason; SIGHUP rotation under load; the
# auditor role and the audit log through the CLI.
add_test(NAME e2e_identity
         COMMAND ${XC_E2E_PYTHON} ${XC_E2E_DIR}/identity_test.py
                 --xunchad "${XC_E2E_SERVER}"
                 --certs ${CMAKE_SOURCE_DIR}/certs/xuncha-certs
                 --xuncha "$<$<TARGET_EXISTS:xuncha_cli>:$<TARGET_FILE:xuncha_cli>>")
set_tests_properties(e2e_identity PROPERTIES TIMEOUT 180 LABELS e2e)
# Federation (issue 5, server/SYNC.md): a city, a county and a township
# server syncing through one another; kill -9 and cut links mid-sync
# (seeded: XC_SYNC_FAULT_SEED) with every record checked on both sides.
foreach(suite sync sync_faults)
  add_test(NAME e2e_${suite}
           COMMAND ${XC_E2E_PYTHON} ${XC_E2E_DIR}/${suite}_test.py
                   --xunchad "${XC_E2E_SERVER}"
                   --xuncha "$<$<TARGET_EXISTS:xuncha_cli>:$<TARGET_FILE:xuncha_cli>>"
                   --certs ${CMAKE_SOURCE_DIR}/certs/xuncha-certs
                   --proto-dir ${CMAKE_SOURCE_DIR}/proto
                   --protoc "${XC_E2E_PROTOC}")
endforeach()
set_tests_properties(e2e_sync PROPERTIES TIMEOUT 180 LABELS e2e)
set_tests_properties(e2e_sync_faults PROPERTIES TIMEOUT 300 LABELS "e2e;federation")

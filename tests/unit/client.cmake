# Unit tests of libxuncha and the xuncha CLI (client/). The network tests use
# 127.0.0.1 only: a closed port and an in-process TLS server.
add_executable(test_client ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_client.c)
target_link_libraries(test_client PRIVATE xc_cli_core xuncha_static PkgConfig::CUNIT
                                          PkgConfig::JANSSON OpenSSL::Crypto xc_grpc
                                          Threads::Threads)
add_test(NAME client_unit COMMAND test_client)
set_tests_properties(client_unit PROPERTIES TIMEOUT 120)

# The CLI for operators: --lang, the guide, examples, admin stats parsing.
add_executable(test_cli_ops ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_cli_ops.c)
target_link_libraries(test_cli_ops PRIVATE xc_cli_core xuncha_static PkgConfig::CUNIT
                                           PkgConfig::JANSSON xc_grpc Threads::Threads)
add_test(NAME client_cli_ops COMMAND test_cli_ops)
set_tests_properties(client_cli_ops PROPERTIES TIMEOUT 60)

# Reports and ledgers in the CLI: encodings, CSV rows with errors in words,
# the speech's sentence (client/cli/xc_cli_rep.c).
add_executable(test_cli_rep ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_cli_rep.c)
target_link_libraries(test_cli_rep PRIVATE xc_cli_core xuncha_static PkgConfig::CUNIT
                                           PkgConfig::JANSSON xc_grpc Threads::Threads)
add_test(NAME client_cli_rep COMMAND test_cli_rep)
set_tests_properties(client_cli_rep PROPERTIES TIMEOUT 60)

# `xuncha sync` (client/cli/xc_cli_sync.c): the end of a watched run, the
# progress bar, durations and times in words, the command line's refusals.
add_executable(test_cli_sync ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_cli_sync.c)
target_link_libraries(test_cli_sync PRIVATE xc_cli_core xuncha_static PkgConfig::CUNIT
                                            PkgConfig::JANSSON xc_grpc Threads::Threads)
add_test(NAME client_cli_sync COMMAND test_cli_sync)
set_tests_properties(client_cli_sync PROPERTIES TIMEOUT 60)

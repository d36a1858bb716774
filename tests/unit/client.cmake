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

# Unit tests of libxuncha and the xuncha CLI (client/). The network tests use
# 127.0.0.1 only: a closed port and an in-process TLS server.
add_executable(test_client ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_client.c)
target_link_libraries(test_client PRIVATE xc_cli_core xuncha_static PkgConfig::CUNIT
                                          PkgConfig::JANSSON OpenSSL::Crypto xc_grpc
                                          Threads::Threads)
add_test(NAME client_unit COMMAND test_client)
set_tests_properties(client_unit PROPERTIES TIMEOUT 120)

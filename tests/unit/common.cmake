add_executable(test_common ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_common.c)
target_link_libraries(test_common PRIVATE xc_proto xc_common PkgConfig::CUNIT)
add_test(NAME common_unit COMMAND test_common)

# The house bans unbounded string calls; this check keeps them out of the tree.
add_test(NAME banned_functions
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/unit/check-banned.sh ${CMAKE_SOURCE_DIR})

# Turns a binary file into a C source file holding it as an array, so the
# file is compiled into xunchad (no xxd needed).
#
#   cmake -DIN=file.bin -DOUT=file.c -DNAME=symbol -P xc_embed.cmake
#
# Defines `const unsigned char NAME[]` and `const size_t NAME_len`.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
# 32 bytes (64 hex digits) per line keeps the file readable by editors.
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){32})" "\\1\n" body "${body}")
file(WRITE "${OUT}"
  "/* Generated from ${IN} by xc_embed.cmake; do not edit. */\n"
  "#include <stddef.h>\n"
  "extern const unsigned char ${NAME}[];\n"
  "extern const size_t ${NAME}_len;\n"
  "const unsigned char ${NAME}[] = {\n${body}0x00};\n"
  "const size_t ${NAME}_len = ${bytes};\n")

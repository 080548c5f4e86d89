# Turns a binary file into a C++ source defining a byte array (used to embed the scenario
# descriptor set, with comments, into the binaries that print the schema reference).
#   cmake -DINPUT=a.desc -DOUTPUT=a.cc -DSYMBOL=kName -P embed.cmake
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}" "// Generated from ${INPUT} by cmake/embed.cmake. Do not edit.\n#include <cstddef>\n\nextern const unsigned char ${SYMBOL}[] = {${bytes}};\nextern const std::size_t ${SYMBOL}Size = ${size};\n")

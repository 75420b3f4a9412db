#!/bin/sh
# Prints ycbg.pc for a tree whose lib/ and include/ are under $1.
prefix=$1
version=$2
cat <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: ycbg
Description: Yandex Cloud AI Studio background text generation (C ABI)
Version: $version
Libs: -L\${libdir} -lycbg
Cflags: -I\${includedir}
PC

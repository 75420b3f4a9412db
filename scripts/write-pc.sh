#!/bin/sh
# Prints ycbg.pc for a tree whose lib/ and include/ are under $1.
# Requires.private: the oldest libcurl and Jansson the library works with
# (checked by #error in Sources/CYCShim/shim.c and at run time by yc_client_new).
prefix=$1
version=$2
cat <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: ycbg
Description: Yandex Cloud AI Studio background text generation (C ABI)
Version: $version
Requires.private: libcurl >= 7.85.0, jansson >= 2.13
Libs: -L\${libdir} -lycbg
Cflags: -I\${includedir}
PC

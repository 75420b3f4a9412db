#!/usr/bin/env bash
# `make install` honours PREFIX and DESTDIR, and an installed ycbg builds a
# program with `cc prog.c $(pkg-config --cflags --libs ycbg)`.
#
# Installs only into temporary folders and never runs ldconfig (a stand-in
# first on PATH records any call, and the check fails on one): the programs
# find the installed library through LD_LIBRARY_PATH.
set -uo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
check() { if eval "$2"; then passed=$((passed + 1)); else echo "FAIL: $1"; failed=$((failed + 1)); fi; }

mkdir -p "$tmp/bin"
cat >"$tmp/bin/ldconfig" <<SH
#!/bin/sh
echo "ldconfig \$*" >> "$tmp/ldconfig-calls"
SH
chmod +x "$tmp/bin/ldconfig"
export PATH="$tmp/bin:$PATH"
unset LD_LIBRARY_PATH

cat >"$tmp/prog.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <ycbg.h>
int main(void) {
    char *err = NULL;
    yc_client *c = yc_client_new("{\"unknown\": 1}", &err);
    int ok = c == NULL && err && strstr(err, "\"config\"") != NULL;
    printf("ycbg %s %s\n", yc_version(), ok ? "ok" : "broken");
    yc_free(err);
    return ok ? 0 : 1;
}
C

# PREFIX only (as a user installing under $HOME would), with ldconfig off.
make -s install PREFIX="$tmp/prefix" LDCONFIG= >/dev/null
check "library installed" '[ -f "$tmp/prefix/lib/libycbg.so.0" ] && [ -L "$tmp/prefix/lib/libycbg.so" ]'
check "header installed" 'cmp -s include/ycbg.h "$tmp/prefix/include/ycbg.h"'
check "pc names the prefix" 'grep -qx "prefix=$tmp/prefix" "$tmp/prefix/lib/pkgconfig/ycbg.pc"'
check "pkg-config builds a program" \
  'PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" cc "$tmp/prog.c" $(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --cflags --libs ycbg) -o "$tmp/prog"'
# No rpath is baked in: the loader finds the library where it was installed
# (here through LD_LIBRARY_PATH, since this prefix is not a system one).
check "no rpath in the program" '! readelf -d "$tmp/prog" | grep -E "RPATH|RUNPATH" >/dev/null'
check "the program runs against the installed library" 'LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/prog" | grep "ycbg .* ok" >/dev/null'
check "it loaded the installed copy" 'LD_LIBRARY_PATH="$tmp/prefix/lib" ldd "$tmp/prog" | grep "$tmp/prefix/lib/libycbg.so.0" >/dev/null'

# DESTDIR staging, with the default LDCONFIG: a staged install never runs it.
make -s install DESTDIR="$tmp/stage" PREFIX=/opt/ycbg >/dev/null
check "DESTDIR staging" '[ -f "$tmp/stage/opt/ycbg/lib/libycbg.so.0" ] && [ -f "$tmp/stage/opt/ycbg/include/ycbg.h" ]'
check "staged pc names the final prefix" 'grep -qx "prefix=/opt/ycbg" "$tmp/stage/opt/ycbg/lib/pkgconfig/ycbg.pc"'
check "nothing installed outside DESTDIR" '[ ! -e /opt/ycbg ]'
# The ycbg tool: static Swift runtime, over the Swift core (not libycbg.so),
# so it runs from the staged tree with nothing else installed.
version=$(sed -n 's/^#define YCBG_VERSION_[A-Z]* *\([0-9]*\).*/\1/p' include/ycbg.h | paste -sd.)
check "ycbg tool staged under DESTDIR, runs --version ($version)" \
  '[ -x "$tmp/stage/opt/ycbg/bin/ycbg" ] && [ "$(env -i "$tmp/stage/opt/ycbg/bin/ycbg" --version)" = "$version" ]'
check "the ycbg tool needs no Swift runtime nor libycbg.so" \
  '! ldd "$tmp/stage/opt/ycbg/bin/ycbg" | grep -E "libswift|libycbg" >/dev/null'
check "the staged tree builds and runs a program (PKG_CONFIG_SYSROOT_DIR, LD_LIBRARY_PATH)" \
  'cc "$tmp/prog.c" $(PKG_CONFIG_SYSROOT_DIR="$tmp/stage" PKG_CONFIG_PATH="$tmp/stage/opt/ycbg/lib/pkgconfig" pkg-config --cflags --libs ycbg) -o "$tmp/prog3" &&
   LD_LIBRARY_PATH="$tmp/stage/opt/ycbg/lib" "$tmp/prog3" | grep "ycbg .* ok" >/dev/null'
check "in-tree pc works" \
  'cc "$tmp/prog.c" $(PKG_CONFIG_PATH=build/lib/pkgconfig pkg-config --cflags --libs ycbg) -o "$tmp/prog2" && LD_LIBRARY_PATH=build/lib "$tmp/prog2" >/dev/null'

check "pc declares the minimum libcurl and Jansson" \
  'req=$(PKG_CONFIG_PATH=build/lib/pkgconfig pkg-config --print-requires-private ycbg) && echo "$req" | grep -qx "libcurl >= 7.85.0" && echo "$req" | grep -qx "jansson >= 2.13"'

# The C shim refuses older headers: headers that report an older version
# (the real ones, with the version macro replaced) stop the build.
mkdir -p "$tmp/oldcurl/curl" "$tmp/oldjansson"
printf '#include_next <curl/curl.h>\n#undef LIBCURL_VERSION_NUM\n#define LIBCURL_VERSION_NUM 0x075400\n' >"$tmp/oldcurl/curl/curl.h"
printf '#include_next <jansson.h>\n#undef JANSSON_VERSION_HEX\n#define JANSSON_VERSION_HEX 0x020c00\n' >"$tmp/oldjansson/jansson.h"
check "the shim builds against the installed headers" \
  'cc -std=c11 -fsyntax-only -ISources/CYCShim/include Sources/CYCShim/shim.c'
check "libcurl 7.84 headers stop the build, naming 7.85.0" \
  '! cc -std=c11 -fsyntax-only -I"$tmp/oldcurl" -ISources/CYCShim/include Sources/CYCShim/shim.c 2>"$tmp/err1" && grep -q "libcurl 7.85.0" "$tmp/err1"'
check "Jansson 2.12 headers stop the build, naming 2.13" \
  '! cc -std=c11 -fsyntax-only -I"$tmp/oldjansson" -ISources/CYCShim/include Sources/CYCShim/shim.c 2>"$tmp/err2" && grep -q "Jansson 2.13" "$tmp/err2"'
check "ldconfig was never run" '[ ! -e "$tmp/ldconfig-calls" ] || { cat "$tmp/ldconfig-calls"; false; }'

echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

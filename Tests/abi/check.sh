#!/usr/bin/env bash
# Tests/abi/check.sh — the shipped library matches the header and the ABI
# the project keeps in this folder.
#
#   exported dynamic symbols of build/lib/libycbg.so.0
#     == functions declared in include/ycbg.h
#     == Tests/abi/functions.txt (one name per line)
#   enum values in the header == Tests/abi/enums.txt (text and compiled);
#   SONAME libycbg.so.0; no NEEDED Swift runtime library; RUNPATH $ORIGIN;
#   the .so loads and runs from a clean environment (env -i) next to a tiny
#   C program.
#
# Reads nothing outside the repository.  Environment: YCBG_LIB (the .so),
# YCBG_HEADER, YCBG_ABI_FUNCTIONS, YCBG_ABI_ENUMS (the lists), YCBG_LIB_DIR
# (the folder with the libycbg.so symlink; default: the .so's folder), CC.
# Prints "N passed, N failed"; exits non-zero if any check failed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LIB=${YCBG_LIB:-$REPO/build/lib/libycbg.so.0}
LIB_DIR=${YCBG_LIB_DIR:-$(dirname "$LIB")}
HEADER=${YCBG_HEADER:-$REPO/include/ycbg.h}
FUNCTIONS=${YCBG_ABI_FUNCTIONS:-$HERE/functions.txt}
ENUMS=${YCBG_ABI_ENUMS:-$HERE/enums.txt}
CC=${CC:-cc}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; shift; for line in "$@"; do echo "     $line"; done; }
# compare NAME FILE_A FILE_B LABEL_A LABEL_B
compare() {
  if diff -q "$2" "$3" >/dev/null; then
    ok "$1 ($(wc -l < "$2" | tr -d ' ') entries)"
  else
    fail "$1" "only in $4: $(comm -23 "$2" "$3" | tr '\n' ' ')" "only in $5: $(comm -13 "$2" "$3" | tr '\n' ' ')"
  fi
}
# The entries of a project list: no comments, no blank lines, sorted.
entries() { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$1" | grep -v '^$' | sort; }

for f in "$LIB" "$HEADER" "$FUNCTIONS" "$ENUMS"; do
  if [ ! -r "$f" ]; then
    fail "input $f is readable"
    echo "$passed passed, $failed failed"
    exit 1
  fi
done

# --- function names --------------------------------------------------------
nm -D --defined-only "$LIB" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u > "$TMP/exported"
# Declarations in the header, after the preprocessor removed the comments.
"$CC" -E -P -x c "$HEADER" 2>/dev/null | tr '\n' ' ' | grep -oE '\byc_[a-z_0-9]+[[:space:]]*\(' |
  sed 's/[[:space:]]*($//' | sort -u > "$TMP/header"
entries "$FUNCTIONS" > "$TMP/list"
dups=$(uniq -d "$TMP/list" | tr '\n' ' ')
if [ -z "$dups" ]; then ok "functions.txt names each function once"; else fail "functions.txt names each function once" "twice: $dups"; fi
sort -u -o "$TMP/list" "$TMP/list"
bad=$(grep -vE '^yc_[a-z_0-9]+$' "$TMP/list" | tr '\n' ' ')
if [ -z "$bad" ]; then ok "functions.txt holds only yc_* names"; else fail "functions.txt holds only yc_* names" "$bad"; fi

compare "exported symbols == header declarations" "$TMP/exported" "$TMP/header" "the .so" "the header"
compare "header declarations == Tests/abi/functions.txt" "$TMP/header" "$TMP/list" "the header" "functions.txt"
compare "exported symbols == Tests/abi/functions.txt" "$TMP/exported" "$TMP/list" "the .so" "functions.txt"
others=$(grep -v '^yc_' "$TMP/exported" | tr '\n' ' ')
if [ -z "$others" ]; then ok "only yc_* symbols are exported"; else fail "only yc_* symbols are exported" "also: $others"; fi

# Each exported yc_* symbol is a function (type T), not data.
nontext=$(nm -D --defined-only "$LIB" | awk '$3 ~ /^yc_/ && $2 != "T" { print $3 "(" $2 ")" }' | tr '\n' ' ')
if [ -z "$nontext" ]; then ok "every exported symbol is a function"; else fail "every exported symbol is a function" "$nontext"; fi

# --- enum values ----------------------------------------------------------
sed 's:/\*.*\*/::g' "$HEADER" | grep -oE 'YC_STATUS_[A-Z_]+[[:space:]]*=[[:space:]]*-?[0-9]+' | tr -d ' ' | sort -u > "$TMP/enum_header"
entries "$ENUMS" | sort -u > "$TMP/enum_list"
if [ -s "$TMP/enum_header" ]; then
  compare "enum yc_status values: header == Tests/abi/enums.txt" "$TMP/enum_header" "$TMP/enum_list" "the header" "enums.txt"
else
  fail "enum yc_status values found in the header"
fi
# The compiler agrees with the list.
{
  echo '#include <stdio.h>'
  echo "#include \"$HEADER\""
  echo 'int main(void) {'
  sed 's/=.*//' "$TMP/enum_list" | while read -r name; do
    echo "  printf(\"%s=%d\\n\", \"$name\", (int)$name);"
  done
  echo '  return 0; }'
} > "$TMP/enum.c"
if "$CC" -std=c11 -Wall -Wextra -Werror -o "$TMP/enum" "$TMP/enum.c" 2> "$TMP/enum.err" &&
   "$TMP/enum" | sort -u > "$TMP/enum_compiled"; then
  compare "enum yc_status values as compiled == Tests/abi/enums.txt" "$TMP/enum_compiled" "$TMP/enum_list" "the compiler" "enums.txt"
else
  fail "the listed enum names compile against the header" "$(head -5 "$TMP/enum.err")"
fi

# --- the header itself ---------------------------------------------------
includes=$(grep -E '^[[:space:]]*#[[:space:]]*include' "$HEADER" | grep -vE '<(stddef|stdint)\.h>' | tr '\n' ' ')
if [ -z "$includes" ]; then ok "the header includes only <stddef.h> and <stdint.h>"
else fail "the header includes only <stddef.h> and <stdint.h>" "$includes"; fi
if echo '#include "ycbg.h"' | "$CC" -std=c89 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$(dirname "$HEADER")" -x c - 2> "$TMP/c89.err"; then
  ok "the header compiles as C89 -pedantic"
else
  fail "the header compiles as C89 -pedantic" "$(head -3 "$TMP/c89.err")"
fi
if command -v c++ >/dev/null 2>&1; then
  if echo '#include "ycbg.h"
int main() { return yc_version() ? 0 : 1; }' | c++ -Wall -Wextra -Werror -fsyntax-only -I"$(dirname "$HEADER")" -x c++ - 2> "$TMP/cxx.err"; then
    ok "the header compiles as C++ (extern \"C\")"
  else
    fail "the header compiles as C++" "$(head -3 "$TMP/cxx.err")"
  fi
fi
if [ -r "$REPO/build/include/ycbg.h" ]; then
  if cmp -s "$HEADER" "$REPO/build/include/ycbg.h"; then ok "build/include/ycbg.h is include/ycbg.h"
  else fail "build/include/ycbg.h is include/ycbg.h" "they differ: run make header"; fi
fi

# --- dynamic section ------------------------------------------------------
readelf -d "$LIB" > "$TMP/dynamic"
soname=$(sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p' "$TMP/dynamic")
if [ "$soname" = "libycbg.so.0" ]; then ok "SONAME is libycbg.so.0"; else fail "SONAME is libycbg.so.0" "got '$soname'"; fi
needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p' "$TMP/dynamic" | tr '\n' ' ')
swift_needed=$(echo "$needed" | tr ' ' '\n' | grep -E '^lib(swift|Foundation|dispatch|BlocksRuntime)' | tr '\n' ' ')
if [ -z "$swift_needed" ]; then ok "no NEEDED Swift library (NEEDED: $needed)"
else fail "no NEEDED Swift library" "NEEDED: $swift_needed"; fi
runpath=$(sed -n 's/.*(RUNPATH).*\[\(.*\)\].*/\1/p' "$TMP/dynamic")
rpath=$(sed -n 's/.*(RPATH).*\[\(.*\)\].*/\1/p' "$TMP/dynamic")
if [ "$runpath" = '$ORIGIN' ] && [ -z "$rpath" ]; then ok 'RUNPATH is $ORIGIN'
else fail 'RUNPATH is $ORIGIN' "RUNPATH='$runpath' RPATH='$rpath'"; fi
if [ -L "$LIB_DIR/libycbg.so" ] && [ "$(readlink "$LIB_DIR/libycbg.so")" = "libycbg.so.0" ]; then
  ok "libycbg.so -> libycbg.so.0 beside the library"
else
  fail "libycbg.so -> libycbg.so.0 beside the library" "$(ls -l "$LIB_DIR/libycbg.so" 2>&1)"
fi

# --- loads from a clean environment --------------------------------------
mkdir -p "$TMP/ship"
cp "$LIB" "$TMP/ship/libycbg.so.0"
ln -s libycbg.so.0 "$TMP/ship/libycbg.so"
cp "$HEADER" "$TMP/ship/ycbg.h"
cat > "$TMP/ship/smoke.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include "ycbg.h"
int main(void) {
    char *err = NULL;
    /* No environment: no credentials, so a config error (and no request). */
    yc_client *c = yc_client_new(NULL, &err);
    int ok = c == NULL && err != NULL && strstr(err, "\"config\"") != NULL;
    yc_client_free(c);
    yc_free(err);
    c = yc_client_new("{\"api_key\": \"k\", \"base_url\": \"http://127.0.0.1:9/v1\"}", &err);
    ok = ok && c != NULL && err == NULL;
    yc_client_free(c);
    ok = ok && strcmp(yc_status_name(YC_STATUS_COMPLETED), "completed") == 0;
    printf("ycbg %s %s\n", yc_version(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
EOF
if "$CC" -std=c11 -Wall -Wextra -Werror -I"$TMP/ship" -o "$TMP/ship/smoke" "$TMP/ship/smoke.c" -L"$TMP/ship" -lycbg \
     -Wl,-rpath,'$ORIGIN' 2> "$TMP/smoke.err"; then
  out=$(cd / && env -i "$TMP/ship/smoke" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then ok "the .so loads and runs with env -i next to its program ($out)"
  else fail "the .so loads and runs with env -i" "exit $rc: $out" "$(env -i ldd "$TMP/ship/smoke" 2>&1 | grep -i 'not found')"; fi
  notfound=$(env -i ldd "$TMP/ship/smoke" 2>&1 | grep -i 'not found' | tr '\n' ' ')
  if [ -z "$notfound" ]; then ok "ldd finds every dependency without LD_LIBRARY_PATH"
  else fail "ldd finds every dependency" "$notfound"; fi
else
  fail "a tiny C program links against the .so" "$(head -5 "$TMP/smoke.err")"
fi
# dlopen by SONAME-less path with RTLD_NOW resolves every symbol.
cat > "$TMP/dl.c" <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
    (void)argc;
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) { printf("%s\n", dlerror()); return 1; }
    const char *(*version)(void) = (const char *(*)(void))dlsym(h, "yc_version");
    if (!version) { printf("no yc_version\n"); return 1; }
    printf("%s\n", version());
    return dlclose(h) == 0 ? 0 : 1;
}
EOF
if "$CC" -std=c11 -o "$TMP/dl" "$TMP/dl.c" -ldl 2> "$TMP/dl.err"; then
  out=$(env -i "$TMP/dl" "$TMP/ship/libycbg.so.0" 2>&1)
  if [ $? -eq 0 ]; then ok "dlopen(RTLD_NOW) + dlclose in a clean environment ($out)"
  else fail "dlopen(RTLD_NOW) in a clean environment" "$out"; fi
else
  fail "dlopen test builds" "$(head -3 "$TMP/dl.err")"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

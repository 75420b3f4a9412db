#!/usr/bin/env bash
# Tests/tls/run.sh — the library's TLS behaviour against the emulator serving
# HTTPS (yc-emulator --tls-cert/--tls-key), all on 127.0.0.1.
#
# Makes, with openssl, in a temporary folder removed at exit:
#   ca.pem/ca.key            a throw-away CA (in no trust store)
#   server.pem/server.key    signed by it, subjectAltName IP:127.0.0.1, DNS:localhost
#   wrong.pem/wrong.key      signed by it, subjectAltName DNS:wrong.example only
#   expired.pem/expired.key  signed by it, right names, expired a day ago
#   not-a-cert.pem           a readable file that is not PEM
# then builds Tests/tls/test_tls.c with Tests/c/harness.c into build/tests/
# and runs it.  The last line is "N passed, N failed".
#
# Needs build/lib/libycbg.so.0 and build/include/ycbg.h (make lib header) and
# the emulator: YC_EMULATOR, else build/bin/yc-emulator (make emulator).
# Arguments are passed on (test names).  YCBG_TEST_TIMEOUT: seconds per test.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=$REPO/build/tests
LOG_DIR=$OUT/logs

fail() {
  echo "run.sh: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}

[ -e "$REPO/build/lib/libycbg.so.0" ] && [ -e "$REPO/build/include/ycbg.h" ] ||
  fail "build/lib/libycbg.so.0 or build/include/ycbg.h is missing; run 'make lib header' first"
YC_EMULATOR=${YC_EMULATOR:-$REPO/build/bin/yc-emulator}
[ -x "$YC_EMULATOR" ] || fail "no emulator at $YC_EMULATOR (set YC_EMULATOR or run 'make emulator')"
command -v openssl >/dev/null 2>&1 || fail "openssl is not installed (apt-get install openssl)"
export YC_EMULATOR YCBG_REPO="$REPO"
export YCBG_TEST_TIMEOUT=${YCBG_TEST_TIMEOUT:-60}
# 127.0.0.1 only: no proxy, no credentials from the caller's environment.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset YC_API_KEY YC_IAM_TOKEN YC_FOLDER_ID YC_BASE_URL
# Only the system store (or ca_file) decides what libcurl trusts.
unset CURL_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR

TLS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ycbg-tls.XXXXXX") || fail "mktemp failed"
trap 'rm -rf "$TLS_DIR"' EXIT
export YCBG_TLS_DIR=$TLS_DIR

echo "== certificates (openssl, in $TLS_DIR)"
make_certs() {
  cd "$TLS_DIR" || return 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj "/CN=ycbg test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" || return 1
  # name|subjectAltName|days (-1: notAfter is a day before notBefore, i.e. expired)
  local spec
  for spec in "server|IP:127.0.0.1,DNS:localhost|2" "wrong|DNS:wrong.example|2" \
              "expired|IP:127.0.0.1,DNS:localhost|-1"; do
    local name=${spec%%|*} rest=${spec#*|}
    local san=${rest%%|*} days=${rest#*|}
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" "subjectAltName=$san" > "$name.ext"
    openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=ycbg test $name" || return 1
    openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" \
      -extfile "$name.ext" -out "$name.pem" || return 1
  done
  echo "this is not a PEM certificate" > not-a-cert.pem
  openssl verify -CAfile ca.pem server.pem wrong.pem || return 1
}
if ! (make_certs) > "$TLS_DIR/openssl.log" 2>&1; then
  cat "$TLS_DIR/openssl.log"
  fail "openssl could not make the certificates"
fi
for name in server wrong expired; do
  echo "$name.pem: $(openssl x509 -in "$TLS_DIR/$name.pem" -noout -ext subjectAltName 2>/dev/null | tail -1 | sed 's/^ *//')"
done

echo "== building test_tls"
mkdir -p "$OUT" "$LOG_DIR"
CC=${CC:-cc}
if ! $CC -std=c11 -Wall -Wextra -Werror -g -I"$REPO/build/include" -I"$REPO/Tests/c" -DYCBG_REPO="\"$REPO\"" \
    -o "$OUT/test_tls" "$HERE/test_tls.c" "$REPO/Tests/c/harness.c" \
    -L"$REPO/build/lib" -lycbg -Wl,-rpath,"$REPO/build/lib" -lcurl -ljansson -lpthread; then
  fail "test_tls does not build"
fi

echo "== test_tls (emulator: $YC_EMULATOR)"
"$OUT/test_tls" "$@" < /dev/null 2>&1 | tee "$LOG_DIR/tls.log"
rc=${PIPESTATUS[0]}
# The program prints the summary line; a crash without one counts as a failure.
if ! grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$LOG_DIR/tls.log"; then
  echo "test_tls exited with status $rc and no summary"
  echo "0 passed, 1 failed"
  exit 1
fi
exit "$rc"

# ycbg — build, demo, test, install.  Every target that builds first
# installs what is missing (scripts/install-deps.sh; it stops at once, naming
# the command to run, when it cannot install).
#
# One SwiftPM scratch folder per configuration, so nothing is built twice:
#   .build-lib   release, static Swift runtime: libycbg.so  (make lib)
#   .build-emu   release: the emulator, HTTP and HTTPS      (make emulator)
#   .build-test  debug: the core unit tests only, no SwiftNIO (make test)
#   .build-asan  release + AddressSanitizer: build/lib-asan  (make lib-asan)
#   .build-fuzz  debug + libFuzzer/ASan: yc-fuzz             (fuzz/run.sh)
#   .build-cli   release, static Swift runtime: the ycbg tool (make cli)

PREFIX  ?= /usr/local
DESTDIR ?=
# Run after an install without DESTDIR (empty: not run).
LDCONFIG ?= ldconfig
# The version is written once: the YCBG_VERSION_* macros of include/ycbg.h.
VERSION := $(shell sed -n 's/^\#define YCBG_VERSION_[A-Z]* *\([0-9]*\).*/\1/p' include/ycbg.h | paste -sd.)
ROOT    := $(CURDIR)
BUILD   := $(ROOT)/build
LIBDIR  := $(BUILD)/lib
CC      ?= cc

# The .so: release, Swift runtime linked in, yc_* exports only, SONAME.
SWIFT_LIB_FLAGS := -c release --product ycbg --scratch-path .build-lib \
	-Xswiftc -static-stdlib -Xswiftc -use-ld=lld \
	-Xlinker --version-script=$(ROOT)/Sources/YCBG/exports.map \
	-Xlinker -soname=libycbg.so.0

# The instrumented variant (Tests/c/run.sh asan): the Swift code with
# -sanitize=address, the C shim with -fsanitize=address,undefined; same
# exports, same static Swift runtime (its prebuilt code is not instrumented).
# Not stripped.  Swift has no -sanitize=undefined on Linux: UBSan covers the
# C shim only.  No ThreadSanitizer variant: see Tests/c/run.sh, tsan.
SWIFT_ASAN_FLAGS := -c release --product ycbg --scratch-path .build-asan \
	-Xswiftc -sanitize=address -Xcc -fsanitize=address,undefined -Xcc -fno-omit-frame-pointer \
	-Xswiftc -static-stdlib -Xswiftc -use-ld=lld \
	-Xlinker --version-script=$(ROOT)/Sources/YCBG/exports.map \
	-Xlinker -soname=libycbg.so.0

.PHONY: all lib cli lib-asan emulator header pkgconfig deps deps-demo deps-test demo demo-clients test test-build python-test-deps \
        install uninstall clean fuzz wheel bench

all: lib header pkgconfig emulator cli

deps:
	@scripts/install-deps.sh build

deps-demo:
	@scripts/install-deps.sh demo

deps-test:
	@scripts/install-deps.sh test

lib: deps
	swift build $(SWIFT_LIB_FLAGS)
	@mkdir -p $(LIBDIR)
	cp .build-lib/release/libycbg.so $(LIBDIR)/libycbg.so.0.tmp
	strip --strip-unneeded $(LIBDIR)/libycbg.so.0.tmp
	@# Replaced only when it changed: an unchanged library keeps its time, so
	@# what links against it (the C test programs) is not rebuilt, and a suite
	@# running meanwhile (make install in the install check) changes nothing.
	@if cmp -s $(LIBDIR)/libycbg.so.0.tmp $(LIBDIR)/libycbg.so.0; then rm -f $(LIBDIR)/libycbg.so.0.tmp; \
	 else mv -f $(LIBDIR)/libycbg.so.0.tmp $(LIBDIR)/libycbg.so.0; fi
	@[ "$$(readlink $(LIBDIR)/libycbg.so)" = libycbg.so.0 ] || ln -sfn libycbg.so.0 $(LIBDIR)/libycbg.so

header:
	@mkdir -p $(BUILD)/include
	@# (An unchanged header keeps its time, as the library does.)
	@cmp -s include/ycbg.h $(BUILD)/include/ycbg.h || cp include/ycbg.h $(BUILD)/include/ycbg.h

pkgconfig:
	@mkdir -p $(LIBDIR)/pkgconfig
	scripts/write-pc.sh $(BUILD) $(VERSION) > $(LIBDIR)/pkgconfig/ycbg.pc

lib-asan: deps
	swift build $(SWIFT_ASAN_FLAGS)
	@mkdir -p $(BUILD)/lib-asan
	cp .build-asan/release/libycbg.so $(BUILD)/lib-asan/libycbg.so.0
	ln -sf libycbg.so.0 $(BUILD)/lib-asan/libycbg.so

# The command-line tool, build/bin/ycbg: the Swift core and swift-argument-parser, with the Swift
# runtime linked in (it runs where libycbg.so does).
cli: deps
	swift build -c release --product ycbg-cli --static-swift-stdlib --scratch-path .build-cli
	@mkdir -p $(BUILD)/bin
	cp .build-cli/release/ycbg-cli $(BUILD)/bin/ycbg.tmp
	strip --strip-unneeded $(BUILD)/bin/ycbg.tmp
	mv -f $(BUILD)/bin/ycbg.tmp $(BUILD)/bin/ycbg

emulator: deps
	swift build -c release --product yc-emulator --scratch-path .build-emu
	@mkdir -p $(BUILD)/bin
	cp .build-emu/release/yc-emulator $(BUILD)/bin/yc-emulator.tmp
	mv -f $(BUILD)/bin/yc-emulator.tmp $(BUILD)/bin/yc-emulator

# ---------------------------------------------------------------- demo

# Not `all`: the demo needs neither the command-line tool nor its build time.
demo: deps-demo
	$(MAKE) -j2 --output-sync=target emulator demo-clients
	scripts/demo.sh

# The demo's programs in each language, built beside the emulator (the longest
# build): they need only the library.
demo-clients: lib header pkgconfig
	@mkdir -p $(BUILD)/bin
	$(CC) -std=c11 -Wall -Wextra -O2 examples/c/workflow.c -I$(BUILD)/include -L$(LIBDIR) -lycbg \
		-Wl,-rpath,$(LIBDIR) -o $(BUILD)/bin/ycbg-example-c
	scripts/python-env.sh
	cd examples/rust && YCBG_LIB_DIR=$(LIBDIR) cargo build --offline --quiet
	cd examples/go && PKG_CONFIG_PATH=$(LIBDIR)/pkgconfig GOFLAGS=-mod=mod GOPROXY=off \
		GOCACHE=$${GOCACHE:-$(BUILD)/gocache} go build -o $(BUILD)/bin/ycbg-example-go .

# ---------------------------------------------------------------- tests

# Everything the suites run, built (and downloaded) before they start: the
# suites themselves run with no proxy settings (scripts/run-tests.sh).
test-build: lib-asan
	swift build --product ycbgPackageTests --scratch-path .build-test

# One emulator build serves the demo and every suite (HTTPS too, over the
# system's OpenSSL).  Two SwiftPM builds at a time (each scratch folder is its
# own): a build leaves a core idle for long stretches (one module's
# whole-module compile, linking).  The emulator first: it is the longest
# (SwiftNIO); the others follow one after another beside it.  The suites run
# side by side (YCBG_TEST_JOBS at a time; scripts/run-tests.sh).  The test
# suites' PyPI packages download beside the emulator's build (the network, not
# the CPU); the binding is installed once the library exists.
test: deps-test
	$(MAKE) -j2 --output-sync=target emulator python-test-deps lib header pkgconfig cli test-build
	scripts/run-tests.sh

python-test-deps:
	scripts/python-env.sh test-deps

# Longer fuzzing than `make test` does: 10 minutes per target.
fuzz:
	fuzz/run.sh 600

# ---------------------------------------------------------------- bench

# The benchmark (bench/README.md), not part of `make test`: ycbg from C and Python, a raw
# libcurl multi loop and the openai SDK against the emulator over HTTPS with a 20 ms round trip.
# Writes bench/results.md and bench/results.png.  Arguments: BENCH_ARGS, e.g.
# `make bench BENCH_ARGS=--quick` or `make bench BENCH_ARGS="--sizes 100,1000"`.
BENCH_ARGS ?=
bench: lib header emulator
	bench/run.sh $(BENCH_ARGS)

# ---------------------------------------------------------------- wheel

# A manylinux wheel of the Python binding with libycbg and its libraries inside.
wheel: lib
	scripts/build-wheel.sh

# ---------------------------------------------------------------- install

install: lib header cli
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/bin/ycbg $(DESTDIR)$(PREFIX)/bin/ycbg
	install -m 755 $(LIBDIR)/libycbg.so.0 $(DESTDIR)$(PREFIX)/lib/libycbg.so.0
	ln -sf libycbg.so.0 $(DESTDIR)$(PREFIX)/lib/libycbg.so
	install -m 644 include/ycbg.h $(DESTDIR)$(PREFIX)/include/ycbg.h
	scripts/write-pc.sh $(PREFIX) $(VERSION) > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ycbg.pc
	@if [ -z "$(DESTDIR)" ] && [ -n "$(LDCONFIG)" ] && command -v "$(LDCONFIG)" >/dev/null; then "$(LDCONFIG)" || true; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/ycbg $(DESTDIR)$(PREFIX)/lib/libycbg.so.0 $(DESTDIR)$(PREFIX)/lib/libycbg.so \
	      $(DESTDIR)$(PREFIX)/include/ycbg.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/ycbg.pc

clean:
	rm -rf build .build .build-lib .build-emu .build-emu-tls .build-fuzz .build-test .build-asan .build-cli

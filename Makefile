# mlfs - plain Makefile. `make`, `make check`, `make asan-check`,
# `make tsan-check`, `make demo`, `make install PREFIX=/usr/local DESTDIR=`.

CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=
# Objects of different compilers never mix: clang builds go to build-clang.
BUILD ?= build$(if $(findstring clang,$(notdir $(CC))),-clang,)
PKGS := fuse3 libzstd libxxhash sqlite3 libcurl

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wstrict-prototypes \
	-Wmissing-prototypes -Wimplicit-fallthrough -Wundef
OPT ?= -O2 -g
SAN ?=
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) $(OPT) \
	$(SAN) -Iinclude $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN) $(LDFLAGS)
LIBS = $(PKG_LIBS) -lpthread -lm

LIB_SRC := $(sort $(wildcard src/lib/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
FUSE_SRC := $(sort $(wildcard src/fuse/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o) $(FUSE_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# POSIX conformance checks and fsx (tests/posix/README.md): plain C, no
# libmlfs, run by tests/posix/run.sh on any directory.
POSIX_BIN := $(BUILD)/tests/fstest $(BUILD)/tests/fsx
# The S3 client's test driver (tests/s3_client.sh), not an mlfs command.
S3PROBE := $(BUILD)/tests/s3probe
LIBMLFS := $(BUILD)/libmlfs.a
MLFS := $(BUILD)/mlfs
# Decode speed of a store's chunks (tools/bench/codec.sh), built with the
# rest so it keeps compiling.
BENCH_CODEC := $(BUILD)/bench-codec-decode

.PHONY: all check unit-check integration-check asan-check demo install \
	deps clean bench fuzz fuzz-check fuzz-seeds tsan-check

all: $(MLFS) $(UNIT_BIN) $(POSIX_BIN) $(S3PROBE) $(BENCH_CODEC)

$(BUILD)/%.o: %.c $(wildcard include/mlfs/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc/lib -Isrc/fuse -Isrc/cli -c -o $@ $<

$(LIBMLFS): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(MLFS): $(CLI_OBJ) $(LIBMLFS)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIBMLFS) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBMLFS) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc/lib -o $@ $< $(LIBMLFS) $(ALL_LDFLAGS) \
		$(LIBS) -lcmocka

# The mount's job table and listings are compiled into their tests (they
# are not in libmlfs).
$(BUILD)/tests/test_fuse_lineage: src/fuse/lineage.c src/fuse/lineage.h
$(BUILD)/tests/test_fuse_listing: src/fuse/listing.c src/fuse/listing.h

$(BUILD)/tests/fstest: $(wildcard tests/posix/fstest*.c) tests/posix/fstest.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) $(ALL_LDFLAGS)

$(S3PROBE): tests/s3/s3probe.c $(LIBMLFS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBMLFS) $(ALL_LDFLAGS) $(LIBS)

$(BENCH_CODEC): tools/bench/codec_decode.c $(LIBMLFS)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBMLFS) $(ALL_LDFLAGS) $(LIBS)

$(BUILD)/tests/fsx: tests/posix/fsx.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS)

# libFuzzer harnesses (tests/fuzz/README.md): every tests/fuzz/fuzz_*.c,
# against the library built by clang with fuzzer coverage, ASan and UBSan
# in build-fuzz/ (never mixed with the objects of build/).
FUZZ_CC ?= clang
FUZZ_BUILD := build-fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) \
	-O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) -Iinclude $(PKG_CFLAGS)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_LIB := $(FUZZ_BUILD)/libmlfs.a
# Runs per harness in fuzz-check, on top of its seed corpus.
FUZZ_RUNS ?= 20000

$(FUZZ_BUILD)/%.o: %.c $(wildcard include/mlfs/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -Isrc/lib \
		-c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Isrc/lib -o $@ $< \
		$(FUZZ_LIB) $(LIBS)

$(FUZZ_BUILD)/gen_seeds: tests/fuzz/gen_seeds.c $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Isrc/lib -o $@ $< $(FUZZ_LIB) $(LIBS)

fuzz: $(FUZZ_BIN)

# Rewrite the generated seeds of tests/fuzz/corpus/ (checked in).
fuzz-seeds: $(FUZZ_BUILD)/gen_seeds
	$(FUZZ_BUILD)/gen_seeds tests/fuzz/corpus

fuzz-check: fuzz
	@bash tests/fuzz/check.sh $(FUZZ_BUILD) $(FUZZ_RUNS) $(FUZZ_BIN)

deps:
	@bash tools/install-deps.sh

unit-check: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do echo "== $$t"; $$t || fail=1; done; \
	exit $$fail

integration-check: $(MLFS)
	MLFS=$(abspath $(MLFS)) bash tests/run.sh

check: deps
	$(MAKE) all
	$(MAKE) unit-check
	$(MAKE) fuzz-check
	$(MAKE) integration-check

asan-check: deps
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MAKE) BUILD=build-asan unit-check integration-check \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		OPT="-O1 -g -fno-omit-frame-pointer"

# ThreadSanitizer, not part of check (minutes; the daemon's threads are
# what it is for): mlfs built with -fsanitize=thread in build-tsan/, then
# the mount, import and remote tests (remote: the S3 read-ahead and
# upload threads, against the real gateway). Every process, the forked daemon and those
# run as nobody too, writes its report to build-tsan/tsan/report.PID;
# any report fails the target and is printed.
TSAN_DIR := build-tsan
TSAN_LOGS := $(TSAN_DIR)/tsan
tsan-check:
	$(MAKE) BUILD=$(TSAN_DIR) OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN=-fsanitize=thread $(TSAN_DIR)/mlfs $(TSAN_DIR)/tests/s3probe
	@rm -rf $(TSAN_LOGS) && mkdir -p $(TSAN_LOGS) && chmod 1777 $(TSAN_LOGS)
	@fail=0; for t in mount roundtrip remote filecache import_race; do \
		TSAN_OPTIONS="log_path=$(abspath $(TSAN_LOGS))/report \
		second_deadlock_stack=1" MLFS=$(abspath $(TSAN_DIR)/mlfs) \
		bash tests/run.sh $$t || fail=1; \
	done; \
	if ls $(TSAN_LOGS)/report.* >/dev/null 2>&1; then \
		echo "ThreadSanitizer reports:"; cat $(TSAN_LOGS)/report.*; \
		fail=1; \
	fi; exit $$fail

demo: deps
	$(MAKE) $(MLFS)
	MLFS=$(abspath $(MLFS)) bash tools/demo.sh

bench: $(MLFS)
	MLFS=$(abspath $(MLFS)) bash tools/bench/ingest.sh

install: $(MLFS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(MLFS) $(DESTDIR)$(PREFIX)/bin/mlfs
	install -m 0644 docs/mlfs.1 $(DESTDIR)$(PREFIX)/share/man/man1/mlfs.1

clean:
	rm -rf build build-asan build-fuzz build-tsan

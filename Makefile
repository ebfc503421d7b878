# SPDX-License-Identifier: MIT
# greentrack: one non-recursive GNU Makefile.
#   make            install missing Debian -dev packages, build everything
#   make run        build, then start the server on SQLite (./greentrack.db)
#   make test       unit + integration tests; ends with "N passed, N failed"
#   make asan       the same tests under ASan+UBSan
#   make tsan       server tests under ThreadSanitizer
#   make bench      benchmarks (tests/bench), figures as ratios to baselines
#   make fuzz       libFuzzer targets, FUZZ_SECONDS (60) each
#   make lint       clang-format check, cppcheck, banned functions
#   make format     rewrite sources with clang-format

CONFIG ?= release
BUILD  := build/$(CONFIG)
PREFIX ?= /usr/local

CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif

PKGS_SRV := libmicrohttpd libcjson sqlite3
PKGS_CLI := libcurl libcjson
DEB_PKGS := libmicrohttpd-dev libcjson-dev libsqlite3-dev libcurl4-openssl-dev \
            pkg-config
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wwrite-strings -Wformat=2 -Wpointer-arith -Wundef -Wvla -Wcast-align
WERROR ?= 1
ifeq ($(WERROR),1)
WARN += -Werror
endif

OPT ?= -O2
CFLAGS_BASE := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g $(OPT) \
               -MMD -MP -pthread $(WARN)
SAN_FLAGS :=
ifeq ($(CONFIG),asan)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer
OPT := -O1
endif
ifeq ($(CONFIG),tsan)
SAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
OPT := -O1
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS_SRV) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS_SRV) 2>/dev/null)
ALL_CFLAGS = $(CFLAGS_BASE) $(SAN_FLAGS) $(PKG_CFLAGS) -Iserver -I$(BUILD)/gen \
             $(CFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) -pthread $(LDFLAGS)
LIBS = $(PKG_LIBS) -lm

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

SRV_SRCS := $(sort $(wildcard server/*.c server/handlers/*.c))
SRV_LIB_SRCS := $(filter-out server/main.c,$(SRV_SRCS))
SRV_LIB_OBJS := $(SRV_LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/schema.o \
                $(BUILD)/obj/gen/carbon_tables.o
DATA_TABLES := $(sort $(wildcard data/*.csv))
SCHEMAS := $(sort $(wildcard schema/*.sql))

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/tests/replay_%)
BENCH_SRCS := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

SERVER_BIN := $(BUILD)/bin/greentrack-server

.PHONY: all deps run test test-unit test-integration test-bins asan tsan \
        bench bench-smoke fuzz fuzz-smoke lint format format-check clean \
        compdb install

all: deps-check $(SERVER_BIN) web-assets

# ---- dependencies ---------------------------------------------------------
# Installs what pkg-config cannot find (a fresh Debian machine has none).
.PHONY: deps-check
deps-check:
	@missing=""; \
	command -v pkg-config >/dev/null || missing="pkg-config"; \
	for p in $(PKGS_SRV) $(PKGS_CLI); do \
	  pkg-config --exists $$p 2>/dev/null || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages for:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    $(DEB_PKGS) >/dev/null || exit 1; \
	fi

deps: deps-check

# ---- server ----------------------------------------------------------------
$(BUILD)/gen/schema.c: $(SCHEMAS) tools/embed_schema.sh
	@mkdir -p $(dir $@)
	sh tools/embed_schema.sh $(SCHEMAS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/carbon_tables.c: $(DATA_TABLES) tools/embed_tables.sh
	@mkdir -p $(dir $@)
	sh tools/embed_tables.sh data > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/carbon_tables.o: $(BUILD)/gen/carbon_tables.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/gen/version.h: VERSION
	@mkdir -p $(dir $@)
	printf '#define GREENTRACK_VERSION "%s"\n' "$(VERSION)" > $@

$(BUILD)/obj/gen/schema.o: $(BUILD)/gen/schema.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(BUILD)/gen/version.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libserver.a: $(SRV_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(SERVER_BIN): $(BUILD)/obj/server/main.o $(BUILD)/libserver.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# The web UI's built files live next to the binary (share/greentrack/web).
web-assets: $(SERVER_BIN)
	@mkdir -p $(BUILD)/share/greentrack/web
	@if [ -d web ]; then cp -r web/. $(BUILD)/share/greentrack/web/; fi

run: all
	$(SERVER_BIN) $(RUN_ARGS)

# ---- tests -----------------------------------------------------------------
$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libserver.a tests/unit/test.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libserver.a \
	  $(ALL_LDFLAGS) $(LIBS)

$(BUILD)/tests/replay_%: tests/fuzz/%.c tests/fuzz/replay_main.c $(BUILD)/libserver.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay_main.c $(BUILD)/libserver.a \
	  $(ALL_LDFLAGS) $(LIBS)

$(BUILD)/bench/bench_%: tests/bench/bench_%.c $(BUILD)/libserver.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/bench -o $@ $< $(BUILD)/libserver.a \
	  $(ALL_LDFLAGS) $(LIBS)

test-bins: all $(UNIT_BINS) $(FUZZ_REPLAY_BINS) $(BENCH_BINS)

test: test-bins
	@sh tests/run_all.sh $(BUILD)

test-unit: test-bins
	@TESTS=unit sh tests/run_all.sh $(BUILD)

test-integration: test-bins
	@TESTS=integration sh tests/run_all.sh $(BUILD)

asan:
	@$(MAKE) --no-print-directory CONFIG=asan test

tsan:
	@$(MAKE) --no-print-directory CONFIG=tsan test-bins
	@TESTS=integration sh tests/run_all.sh build/tsan

# ---- benchmarks ------------------------------------------------------------
bench: test-bins
	@sh tests/bench/run.sh $(BUILD)

bench-smoke: test-bins
	@BENCH_SMOKE=1 sh tests/bench/run.sh $(BUILD)

# ---- fuzzing (clang libFuzzer) ---------------------------------------------
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build/fuzz
FUZZ_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               $(PKG_CFLAGS) -Iserver -I$(FUZZ_BUILD)/gen -I$(BUILD)/gen
fuzz:
	@$(MAKE) --no-print-directory all
	@mkdir -p $(FUZZ_BUILD)/gen
	@sh tools/embed_schema.sh $(SCHEMAS) > $(FUZZ_BUILD)/gen/schema.c
	@sh tools/embed_tables.sh data > $(FUZZ_BUILD)/gen/carbon_tables.c
	@cp $(BUILD)/gen/version.h $(FUZZ_BUILD)/gen/
	@set -e; for src in $(FUZZ_SRCS); do \
	  name=$$(basename $$src .c); \
	  clang $(FUZZ_CFLAGS) -o $(FUZZ_BUILD)/$$name $$src $(SRV_LIB_SRCS) \
	    $(FUZZ_BUILD)/gen/schema.c $(FUZZ_BUILD)/gen/carbon_tables.c \
	    $(PKG_LIBS) -lm -pthread; \
	  mkdir -p tests/fuzz/corpus/$$name $(FUZZ_BUILD)/corpus-$$name; \
	  echo "fuzzing $$name for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/$$name -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=$(FUZZ_BUILD)/$$name- \
	    $(FUZZ_BUILD)/corpus-$$name tests/fuzz/corpus/$$name \
	    >$(FUZZ_BUILD)/$$name.log 2>&1 || \
	    { tail -40 $(FUZZ_BUILD)/$$name.log; exit 1; }; \
	  tail -1 $(FUZZ_BUILD)/$$name.log; \
	done

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=30

# ---- style -----------------------------------------------------------------
C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
BANNED := strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atof|atol|sscanf|strerror|localtime|gmtime|asctime|ctime

format:
	clang-format -i $(C_FILES)

format-check:
	clang-format --dry-run -Werror $(C_FILES)

lint: format-check
	@if grep -nE '(^|[^_a-zA-Z0-9])($(BANNED))[[:space:]]*\(' $(C_FILES); then \
	  echo "lint: banned function used (see STYLE.md 3.8)"; exit 1; fi
	cppcheck --enable=warning,style,performance,portability --std=c11 \
	  --inline-suppr --error-exitcode=1 --suppress=missingIncludeSystem \
	  --quiet -Iserver -I$(BUILD)/gen $(filter %.c,$(C_FILES))

compdb:
	bear --output build/compile_commands.json -- $(MAKE) -B all test-bins

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- container image (docker/) ---------------------------------------------
# Builds docker/Dockerfile with rootful podman (installed if missing), runs the
# image and the compose file for real; needs root or sudo.
.PHONY: docker-test
docker-test:
	@bash tests/docker/test_docker.sh

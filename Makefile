# SPDX-License-Identifier: MIT
# greentrack: one non-recursive GNU Makefile.
#   make            install what is missing (tools/deps.sh), build everything
#   make run        build, then start the server on SQLite (./greentrack.db)
#   make test       install what the suites need, then unit, integration and
#                   browser tests; ends with "N passed, N failed"
#   make asan       the same tests under ASan+UBSan
#   make tsan       server tests under ThreadSanitizer
#   make bench      benchmarks (tests/bench), figures as ratios to baselines
#   make bench-scale  issue 12's scale benchmark (10^6 runs, 10^8 points; long)
#   make bench-pg   issue 16's PostgreSQL benchmark (private cluster; minutes)
#   make bench-soak SOAK_MINUTES (30) of 64 clients with and without a
#                   hostile one: RSS, errors, p99 (not in CI)
#   make fuzz       libFuzzer targets, FUZZ_SECONDS (60) each
#   make lint       clang-format check, cppcheck, banned functions
#   make format     rewrite sources with clang-format
#   make docker-test  build docker/Dockerfile with podman, run image + compose
#   make fresh-test   README's two commands in a clean Debian 12 container

CONFIG ?= release
BUILD  := build/$(CONFIG)
PREFIX ?= /usr/local

CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif

PKGS_SRV := libmicrohttpd libcjson sqlite3 libcurl libsodium gnutls libpq
PKGS_CLI := libcurl libcjson

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
# libcurl: headers only; the server dlopens it at its first provider fetch
PKG_LIBS   = $(shell pkg-config --libs $(filter-out libcurl,$(PKGS_SRV)) \
               2>/dev/null)
ALL_CFLAGS = $(CFLAGS_BASE) $(SAN_FLAGS) $(PKG_CFLAGS) -Iserver -I$(BUILD)/gen \
             $(CFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) -pthread $(LDFLAGS)
LIBS = $(PKG_LIBS) -lm

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

SRV_SRCS := $(sort $(wildcard server/*.c server/store/*.c server/handlers/*.c \
              server/handlers/*/*.c))
SRV_LIB_SRCS := $(filter-out server/main.c,$(SRV_SRCS))
SRV_LIB_OBJS := $(SRV_LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/schema.o \
                $(BUILD)/obj/gen/carbon_tables.o
# MLflow's naming rules: one object, in libgreentrack and the server both
NAMES_SRC := client/src/mlflow_names.c
SRV_LIB_OBJS += $(BUILD)/obj/client/src/mlflow_names.o
DATA_TABLES := $(sort $(wildcard data/*.csv))
SCHEMAS := $(sort $(wildcard schema/sqlite/*.sql))
SCHEMAS_PG := $(sort $(wildcard schema/postgres/*.sql))

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/tests/replay_%)
BENCH_SRCS := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

SERVER_BIN := $(BUILD)/bin/greentrack-server

.PHONY: all deps run test test-unit test-integration test-pg test-bins asan tsan \
        bench bench-smoke fuzz fuzz-smoke lint format format-check clean \
        compdb install

all: $(SERVER_BIN) web-assets libgreentrack

# ---- the one install step --------------------------------------------------
# tools/deps.sh names every Debian and npm package the project needs and
# installs what is missing (apt-get, with sudo when not root; npm ci). Make
# runs it before anything else: the stamp below is an included makefile, so
# make brings it up to date (running deps.sh) before it builds any target,
# and -j never starts a compile ahead of its libraries. The profile follows
# the goals: build for make/run, test for the test goals, fuzz, lint.
# NO_DEPS=1 skips it (the Docker build installs its packages in its own layers).
NODEPS_GOALS := clean uninstall docker-test fresh-test compdb
DEPS_GOALS := $(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all))
DEPS_PROFILE := build
ifneq ($(filter test test-% asan tsan bench-soak,$(DEPS_GOALS)),)
DEPS_PROFILE := test
endif
ifneq ($(filter bench bench-smoke,$(DEPS_GOALS)),)
DEPS_PROFILE := bench
endif
ifneq ($(filter fuzz fuzz-smoke,$(DEPS_GOALS)),)
DEPS_PROFILE := fuzz
endif
ifneq ($(filter lint format format-check,$(DEPS_GOALS)),)
DEPS_PROFILE := lint
endif
ifeq ($(NO_DEPS)$(MAKE_RESTARTS),)
ifneq ($(DEPS_GOALS),)
DEPS_STAMP := build/.deps-$(DEPS_PROFILE)
include $(DEPS_STAMP)
# Runs every time (cheap when nothing is missing); the stamp is written once,
# so make restarts at most once.
$(DEPS_STAMP): FORCE
	@sh tools/deps.sh $(DEPS_PROFILE)
	@[ -f $@ ] || { mkdir -p $(dir $@) && : > $@; }
endif
endif
.PHONY: FORCE deps
FORCE:
deps:
	@sh tools/deps.sh test

# ---- server ----------------------------------------------------------------
$(BUILD)/gen/schema.c: $(SCHEMAS) $(SCHEMAS_PG) tools/embed_schema.sh
	@mkdir -p $(dir $@)
	{ sh tools/embed_schema.sh schema $(SCHEMAS) && \
	  sh tools/embed_schema.sh schema_pg $(SCHEMAS_PG); } > $@.tmp && \
	  mv $@.tmp $@

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

# The web UI's built files live next to the binary (share/greentrack/web):
# web/ without its package files, plus uPlot (web/package.json, installed by
# tools/deps.sh with npm ci) under vendor/. Nothing is fetched from
# outside the server at page load.
WEB_OUT := $(BUILD)/share/greentrack/web
UPLOT_DIST := web/node_modules/uplot/dist
.PHONY: web-assets
web-assets: $(SERVER_BIN)
	@mkdir -p $(WEB_OUT)/vendor
	@[ -f $(UPLOT_DIST)/uPlot.esm.js ] || { echo "web-assets: $(UPLOT_DIST) is missing (run make without NO_DEPS=1: tools/deps.sh installs it)"; exit 1; }
	@tar -C web --exclude=./node_modules --exclude=./package.json \
	  --exclude=./package-lock.json -cf - . | tar -C $(WEB_OUT) -xf -
	@cp $(UPLOT_DIST)/uPlot.esm.js $(UPLOT_DIST)/uPlot.min.css $(WEB_OUT)/vendor/

# ---- libgreentrack (client/src): the C client library -------------------
# Objects are position-independent with hidden visibility; only GT_API
# symbols are exported from the .so (check with nm -D).
LIBGT_VERSION := 0.1.0
LIBGT_SONAME := libgreentrack.so.0
LIBGT_SRCS := $(sort $(wildcard client/src/*.c) $(wildcard client/src/probes/*.c))
LIBGT_OBJS := $(LIBGT_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/cpu_tdp_table.o
LIBGT_A := $(BUILD)/lib/libgreentrack.a
LIBGT_SO := $(BUILD)/lib/libgreentrack.so.$(LIBGT_VERSION)
LIBGT_CFLAGS = $(CFLAGS_BASE) $(SAN_FLAGS) \
               $(shell pkg-config --cflags $(PKGS_CLI) 2>/dev/null) -fPIC \
               -fvisibility=hidden -DGT_BUILDING_LIBRARY -Iclient/include \
               $(CFLAGS)
LIBGT_LIBS = $(shell pkg-config --libs $(PKGS_CLI) 2>/dev/null) -lpthread -ldl
ITEST_SRCS := $(sort $(wildcard tests/integration/itest_*.c))
ITEST_BINS := $(ITEST_SRCS:tests/integration/%.c=$(BUILD)/tests/%)

.PHONY: libgreentrack
libgreentrack: $(LIBGT_A) $(LIBGT_SO)

$(BUILD)/obj/client/src/%.o: client/src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(LIBGT_CFLAGS) -c $< -o $@

# the CPU TDP table of the energy probes' estimate (client/src/probes/tdp.c)
$(BUILD)/gen/cpu_tdp_table.c: data/cpu_tdp.csv tools/embed_cpu_tdp.sh
	@mkdir -p $(dir $@)
	sh tools/embed_cpu_tdp.sh data/cpu_tdp.csv > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/cpu_tdp_table.o: $(BUILD)/gen/cpu_tdp_table.c \
  client/src/probes/probes_int.h
	@mkdir -p $(dir $@)
	$(CC) $(LIBGT_CFLAGS) -Iclient/src/probes -c $< -o $@

$(LIBGT_A): $(LIBGT_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(LIBGT_SO): $(LIBGT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,$(LIBGT_SONAME) $(ALL_LDFLAGS) -o $@ $^ \
	  $(LIBGT_LIBS)
	ln -sf libgreentrack.so.$(LIBGT_VERSION) $(BUILD)/lib/$(LIBGT_SONAME)
	ln -sf $(LIBGT_SONAME) $(BUILD)/lib/libgreentrack.so

run: all
	$(SERVER_BIN) $(RUN_ARGS)

# ---- the greentrack CLI, the C example, install ---------------------------
# The CLI and the example link libgreentrack.so as any user program does:
# the public header and the exported API only (the CLI adds cJSON to read
# gt_request's answers). Both find the library by an rpath relative to
# themselves ($ORIGIN/../lib), in the build tree and once installed.
CLI_SRCS := $(sort $(wildcard client/cli/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_BIN := $(BUILD)/bin/greentrack
EXAMPLE_BIN := $(BUILD)/bin/train-example
APP_CFLAGS = $(CFLAGS_BASE) $(SAN_FLAGS) -Iclient/include -I$(BUILD)/gen \
             $(shell pkg-config --cflags libcjson 2>/dev/null) $(CFLAGS)
APP_LDFLAGS = $(ALL_LDFLAGS) -L$(BUILD)/lib -Wl,-rpath,'$$ORIGIN/../lib'

all: $(CLI_BIN) $(EXAMPLE_BIN)

$(BUILD)/obj/client/cli/%.o: client/cli/%.c $(BUILD)/gen/version.h
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -c $< -o $@

$(BUILD)/obj/client/examples/%.o: client/examples/%.c
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -c $< -o $@

$(CLI_BIN): $(CLI_OBJS) $(LIBGT_SO)
	@mkdir -p $(dir $@)
	$(CC) $(APP_LDFLAGS) -o $@ $(CLI_OBJS) -lgreentrack \
	  $(shell pkg-config --libs libcjson 2>/dev/null)

$(EXAMPLE_BIN): $(BUILD)/obj/client/examples/train.o $(LIBGT_SO)
	@mkdir -p $(dir $@)
	$(CC) $(APP_LDFLAGS) -o $@ $< -lgreentrack -lm

# make install PREFIX=/usr/local DESTDIR= (DESTDIR stages a package tree).
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
PC_FILE := $(BUILD)/greentrack.pc
# greentrack.pc's paths, written relative to ${prefix} where they can be.
pc_path = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

.PHONY: uninstall
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
	  $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(DATADIR)/greentrack/web \
	  $(DESTDIR)$(DATADIR)/greentrack/python
	install -m 644 client/include/greentrack.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(BUILD)/lib/libgreentrack.a $(DESTDIR)$(LIBDIR)/
	cd $(BUILD)/lib && for f in libgreentrack.so*; do \
	  rm -f "$(DESTDIR)$(LIBDIR)/$$f" && cp -P "$$f" "$(DESTDIR)$(LIBDIR)/" \
	  || exit 1; done
	install -m 755 $(SERVER_BIN) $(CLI_BIN) $(DESTDIR)$(BINDIR)/
	cp -R $(BUILD)/share/greentrack/web/. $(DESTDIR)$(DATADIR)/greentrack/web/
	install -m 644 client/python/greentrack.py \
	  $(DESTDIR)$(DATADIR)/greentrack/python/
	printf '%s\n' 'prefix=$(PREFIX)' \
	  'libdir=$(call pc_path,$(LIBDIR))' \
	  'includedir=$(call pc_path,$(INCLUDEDIR))' '' \
	  'Name: greentrack' \
	  'Description: C client of the greentrack (MLflow-compatible) tracking server' \
	  'Version: $(VERSION)' \
	  'Requires.private: libcurl libcjson' \
	  'Libs: -L$${libdir} -lgreentrack' \
	  'Libs.private: -lpthread -ldl' \
	  'Cflags: -I$${includedir}' > $(PC_FILE)
	install -m 644 $(PC_FILE) $(DESTDIR)$(LIBDIR)/pkgconfig/
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && \
	  command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/greentrack.h \
	  $(DESTDIR)$(LIBDIR)/libgreentrack.a $(DESTDIR)$(LIBDIR)/libgreentrack.so* \
	  $(DESTDIR)$(LIBDIR)/pkgconfig/greentrack.pc \
	  $(DESTDIR)$(BINDIR)/greentrack $(DESTDIR)$(BINDIR)/greentrack-server
	rm -rf $(DESTDIR)$(DATADIR)/greentrack

# ---- tests -----------------------------------------------------------------
$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libserver.a tests/unit/test.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libserver.a \
	  $(ALL_LDFLAGS) $(LIBS)

# CLI unit tests (test_cli_X.c) compile the one client/cli/X.c they test
$(BUILD)/tests/test_cli_%: tests/unit/test_cli_%.c client/cli/%.c \
  tests/unit/test.h
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -Itests/unit -Iclient/cli -o $@ $< client/cli/$*.c \
	  $(ALL_LDFLAGS) -lm

# client unit tests see the library's internals through the static archive
$(BUILD)/tests/test_client_%: tests/unit/test_client_%.c $(LIBGT_A) \
  tests/unit/test.h
	@mkdir -p $(dir $@)
	$(CC) $(LIBGT_CFLAGS) -Itests/unit -Iclient/src -o $@ $< $(LIBGT_A) \
	  $(ALL_LDFLAGS) $(LIBGT_LIBS) -lm

# a fake NVML for the probes' tests (dlopen'ed from the tests' own dir)
FAKE_NVML := $(BUILD)/tests/libfake_nvml.so
$(FAKE_NVML): tests/fakes/fake_nvml.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -fPIC -shared -o $@ $<

$(BUILD)/tests/test_client_probes: $(FAKE_NVML)
$(BUILD)/bench/bench_sampler: $(FAKE_NVML)

# the probes against a real NVIDIA GPU (tests/device/run_nvml_check.sh, run
# by hand on a GPU machine; not CI): built with the tests so it keeps
# building. It links the probes' objects alone, so it needs only libc there.
NVML_CHECK := $(BUILD)/tests/nvml_check
PROBE_OBJS := $(filter $(BUILD)/obj/client/src/probes/%,$(LIBGT_OBJS)) \
              $(BUILD)/obj/gen/cpu_tdp_table.o
$(NVML_CHECK): tests/device/nvml_check.c $(PROBE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LIBGT_CFLAGS) -Iclient/src/probes -o $@ $< $(PROBE_OBJS) \
	  $(ALL_LDFLAGS) -ldl -lm

$(BUILD)/tests/itest_%: tests/integration/itest_%.c $(LIBGT_A) \
  tests/integration/itest.h
	@mkdir -p $(dir $@)
	$(CC) $(LIBGT_CFLAGS) -Itests/integration -o $@ $< $(LIBGT_A) \
	  $(ALL_LDFLAGS) $(LIBGT_LIBS) -lm

$(BUILD)/tests/replay_%: tests/fuzz/%.c tests/fuzz/replay_main.c $(BUILD)/libserver.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay_main.c $(BUILD)/libserver.a \
	  $(ALL_LDFLAGS) $(LIBS)

# fuzz targets of libgreentrack's code link its static archive (and see
# its internals); the other targets fuzz the server's
FUZZ_LIBGT_SRCS := tests/fuzz/fuzz_spool.c
$(FUZZ_LIBGT_SRCS:tests/fuzz/%.c=$(BUILD)/tests/replay_%): \
  $(BUILD)/tests/replay_%: tests/fuzz/%.c tests/fuzz/replay_main.c $(LIBGT_A)
	@mkdir -p $(dir $@)
	$(CC) $(LIBGT_CFLAGS) -Iclient/src -o $@ $< tests/fuzz/replay_main.c \
	  $(LIBGT_A) $(ALL_LDFLAGS) $(LIBGT_LIBS) -lm

$(BUILD)/bench/bench_%: tests/bench/bench_%.c $(BUILD)/libserver.a $(LIBGT_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/bench -Iclient/include -o $@ $< \
	  $(BUILD)/libserver.a $(LIBGT_A) $(ALL_LDFLAGS) $(LIBS) $(LIBGT_LIBS)

test-bins: all $(UNIT_BINS) $(FUZZ_REPLAY_BINS) $(BENCH_BINS) $(ITEST_BINS) \
  $(FAKE_NVML) $(NVML_CHECK)

test: test-bins
	@sh tests/run_all.sh $(BUILD)

test-unit: test-bins
	@TESTS=unit sh tests/run_all.sh $(BUILD)

test-integration: test-bins
	@TESTS=integration sh tests/run_all.sh $(BUILD)

# The integration suites' PostgreSQL pass alone (make test runs it after,
# and beside, the SQLite pass).
test-pg: test-bins
	@GREENTRACK_TEST_PG_PASS=only TESTS=integration sh tests/run_all.sh $(BUILD)

# ASan+UBSan: every suite once, on SQLite; PostgreSQL's engine code runs
# under the sanitizers in the suites that use it in every pass (run_all.sh).
asan:
	@GREENTRACK_TEST_PG_PASS=0 $(MAKE) --no-print-directory CONFIG=asan test

tsan:
	@$(MAKE) --no-print-directory CONFIG=tsan test-bins
	@TESTS=integration sh tests/run_all.sh build/tsan
	@TESTS=client-unit sh tests/run_all.sh build/tsan

# ---- benchmarks ------------------------------------------------------------
bench: test-bins
	@sh tests/bench/run.sh $(BUILD)

bench-smoke: test-bins
	@BENCH_SMOKE=1 sh tests/bench/run.sh $(BUILD)

# Issue 16's PostgreSQL benchmark: a private PostgreSQL 15 (fsync=on), raw
# libpq baselines against the server, two servers against one, reads at
# 100,000 runs against SQLite (tests/bench/bench_pg.py; a few minutes).
# bench-smoke runs it tiny. PG_BENCH_ARGS="--fsync off --trials 5".
.PHONY: bench-pg
bench-pg: test-bins
	@python3 tests/bench/bench_pg.py $(BUILD) $(PG_BENCH_ARGS)

# Issue 12's scale benchmark: seeds 10^4, 10^5, 10^6 runs (10^6..10^8
# points) under /tmp and measures each stage (tests/bench/bench_scale.py).
# Long (an hour or more on 2 cores) and several GB of disk: not in CI;
# bench-smoke runs it at 1,000 runs. SCALE_ARGS="--stages 10000,100000".
SCALE_ARGS ?=
.PHONY: bench-scale
bench-scale: test-bins
	@python3 tests/bench/bench_scale.py $(BUILD) $(SCALE_ARGS)

# Issue 17's soak: a baseline phase, then the same load with a hostile
# client cycling the attacks (tests/bench/bench_soak.py). Long: not in CI.
SOAK_MINUTES ?= 30
.PHONY: bench-soak
bench-soak: all
	@SOAK_MINUTES=$(SOAK_MINUTES) python3 tests/bench/bench_soak.py $(BUILD)

# ---- fuzzing (clang libFuzzer) ---------------------------------------------
# FUZZ_ONLY=fuzz_spool (names, space-separated) fuzzes only those targets.
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build/fuzz
FUZZ_RUN := $(if $(FUZZ_ONLY),$(FUZZ_ONLY:%=tests/fuzz/%.c),$(FUZZ_SRCS))
FUZZ_SAN := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 \
            -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := $(FUZZ_SAN) $(PKG_CFLAGS) -Iserver -I$(FUZZ_BUILD)/gen \
               -I$(BUILD)/gen
FUZZ_LIBGT_CFLAGS = $(FUZZ_SAN) \
                    $(shell pkg-config --cflags $(PKGS_CLI) 2>/dev/null) \
                    -Iclient/include -Iclient/src -Iclient/src/probes
fuzz:
	@$(MAKE) --no-print-directory all
	@mkdir -p $(FUZZ_BUILD)/gen
	@{ sh tools/embed_schema.sh schema $(SCHEMAS) && \
	  sh tools/embed_schema.sh schema_pg $(SCHEMAS_PG); } \
	  > $(FUZZ_BUILD)/gen/schema.c
	@sh tools/embed_tables.sh data > $(FUZZ_BUILD)/gen/carbon_tables.c
	@cp $(BUILD)/gen/version.h $(FUZZ_BUILD)/gen/
	@set -e; for src in $(FUZZ_RUN); do \
	  name=$$(basename $$src .c); \
	  case " $(FUZZ_LIBGT_SRCS) " in \
	  *" $$src "*) \
	    clang $(FUZZ_LIBGT_CFLAGS) -o $(FUZZ_BUILD)/$$name $$src \
	      $(LIBGT_SRCS) $(BUILD)/gen/cpu_tdp_table.c $(LIBGT_LIBS) -lm;; \
	  *) \
	    clang $(FUZZ_CFLAGS) -o $(FUZZ_BUILD)/$$name $$src $(SRV_LIB_SRCS) \
	      $(NAMES_SRC) $(FUZZ_BUILD)/gen/schema.c \
	      $(FUZZ_BUILD)/gen/carbon_tables.c $(PKG_LIBS) -lm -pthread;; \
	  esac; \
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
	  --quiet -Iserver -Iclient/include -I$(BUILD)/gen \
	  $(filter %.c,$(C_FILES))

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

# A clean Debian 12 container (rootful podman, the debootstrapped base image
# of docker-test) clones the committed checkout, installs only
# build-essential, git and ca-certificates, then runs `make run` until
# /health answers and `make test` once: both must pass on the first try.
.PHONY: fresh-test
fresh-test:
	@bash tests/docker/test_fresh.sh

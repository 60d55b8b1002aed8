# Berth: the one entry point.
#
#   make            build everything missing: out/berth.img, out/berth.qcow2, out/host/
#   make run        ... and boot out/berth.img in QEMU on this terminal
#   make check      ... and run every test (unit, lint, QEMU)
#   make image CONFIG=dir   build the image with dir as its CONFIG partition
#   make deps       install the Debian packages the build needs
#   make clean      remove out/ (the download and build cache stays)
#
# Downloads and slow builds (kernel, third-party packages) are cached in
# $(BERTH_CACHE), outside the checkout, keyed by their inputs.

BERTH_CACHE ?= /var/cache/berth
PYTHON := /usr/bin/python3
OUT := $(CURDIR)/out
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 1700000000)
BERTH_VERSION := $(shell cat VERSION)$(shell git rev-parse --short HEAD >/dev/null 2>&1 && echo "+g$$(git rev-parse --short HEAD)")
# An update bundle's build id: the commit it was built from.
BERTH_BUILD := $(or $(shell git rev-parse HEAD 2>/dev/null),unknown)
export BERTH_CACHE SOURCE_DATE_EPOCH
export BERTH_OUT := $(OUT)
export BERTH_TOP := $(CURDIR)

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: check-faults all deps run check check-clean-room check-updates unit lint qemu-test image clean format bench binaries fuzz \
	fuzz-build kernel-sizes bundle conformance engine check-fleet fleet-stamp FORCE

DEPS_STAMP := $(OUT)/.deps-$(shell cat rootfs/build-deps | sha256sum | cut -c1-12)
$(DEPS_STAMP): rootfs/build-deps
	rootfs/build-deps
	@mkdir -p $(OUT) && touch $@
deps: $(DEPS_STAMP)

# ---- C code: lib/ (shared), init/ -------------------------------------------

WARN := -Wall -Wextra -Werror -Wformat=2 -Wvla -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# Includes are paths from a program's source root ("lib/berr.h",
# "init/console.h", "oci/config.h"), resolved through a view per folder:
# $(OUT)/inc/VIEW holds a link for each folder that VIEW may depend on, and
# nothing else, so that an include against the dependency arrows of
# runtime/README.md fails to build instead of being caught in review.
VIEW_lib := lib
VIEW_init := lib init
VIEW_oci := lib oci
VIEW_image := lib image
VIEW_net := lib net
VIEW_proto := lib proto
VIEW_cinit := lib cinit
VIEW_compose := lib compose oci image net
VIEW_monitor := lib monitor proto oci
VIEW_osupdate := lib osupdate
VIEW_cli := lib cli proto compose image registry osupdate oci
VIEW_daemon := lib daemon proto compose oci net image monitor cinit registry
VIEW_main := lib cli daemon oci monitor cinit
# registry/: the registry client (pulls into image/'s store).
VIEW_registry := lib registry image
VIEW_all := lib init oci image net proto cinit compose monitor cli daemon registry osupdate
VIEWS := lib init oci image net proto cinit compose monitor cli daemon main registry osupdate all
folder_path = $(if $(filter lib init,$1),$1,runtime/$1)
# view FILE: the view a source file compiles in (tests see everything; the
# test and bench tools only lib/).
view = $(strip $(if $(filter runtime/main.c,$1),main,$(if $(filter runtime/%,$1),$(word 2,$(subst /, ,$1)),\
	$(if $(filter lib/% init/%,$1),$(firstword $(subst /, ,$1)),$(if $(filter tests/tools/% bench/tools/% image-build/%,$1),lib,all)))))
VIEW_STAMPS := $(VIEWS:%=$(OUT)/inc/%/.stamp)
$(OUT)/inc/%/.stamp: Makefile
	@rm -rf $(dir $@) && mkdir -p $(dir $@)
	$(Q)$(foreach d,$(VIEW_$*),ln -s $(CURDIR)/$(call folder_path,$(d)) $(dir $@)$(d) &&) true
	@touch $@
CSTD := -std=gnu11 -D_GNU_SOURCE \
	-I$(OUT)/pkg/libyaml/include -I$(OUT)/pkg/json-c/include -I$(OUT)/pkg/libseccomp/include \
	-I$(OUT)/pkg/zlib/include -I$(OUT)/pkg/zstd/include -I$(OUT)/pkg/curl/include -I$(OUT)/pkg/libsodium/include
TARGET_CC := $(OUT)/toolchain/cc
TARGET_CFLAGS := $(CSTD) $(WARN) -Os -fPIE -fstack-protector-strong -fstack-clash-protection \
	-fcf-protection -ffunction-sections -fdata-sections -include lib/fortify.h \
	-DBERTH_VERSION='"$(BERTH_VERSION)"' -MMD -MP
TARGET_LDFLAGS := -static-pie -Wl,-z,relro,-z,now -Wl,--gc-sections -Wl,--build-id=none -s
HOST_CC := gcc
HOST_CFLAGS := $(CSTD) $(WARN) -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all -DBERTH_VERSION='"$(BERTH_VERSION)"' -MMD -MP

LIB_SRC := $(wildcard lib/*.c)
# init/ builds two programs: PID 1, and hostlog (the host log's writer and reader).
INIT_SRC := $(filter-out init/hostlog.c,$(wildcard init/*.c))
INIT_LIBS := $(OUT)/target/libberth.a $(OUT)/pkg/libyaml/musl/libyaml.a $(OUT)/pkg/json-c/musl/libjson-c.a

LIBYAML := $(OUT)/pkg/libyaml/include/yaml.h
THIRD_PARTY_HEADERS := $(LIBYAML) $(OUT)/pkg/json-c/musl/libjson-c.a $(OUT)/pkg/libseccomp/musl/libseccomp.a \
	$(OUT)/pkg/zlib/musl/libz.a $(OUT)/pkg/zstd/musl/libzstd.a $(OUT)/pkg/curl/musl/libcurl.a \
	$(OUT)/pkg/libsodium/musl/libsodium.a

# No correct clock is earlier than the build: init's floor for the time
# when the machine has no usable RTC (init/clock.h).
$(OUT)/target/init/clock.o $(OUT)/hostasan/init/clock.o: CSTD += -DBERTH_BUILD_EPOCH=$(SOURCE_DATE_EPOCH)

# V=1 shows the compiler command lines.
Q := $(if $(V),,@)

$(OUT)/target/%.o: %.c $(TARGET_CC) | $(THIRD_PARTY_HEADERS) $(VIEW_STAMPS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(TARGET_CC) $(TARGET_CFLAGS) -I$(OUT)/inc/$(call view,$<) -c $< -o $@

$(OUT)/hostasan/%.o: %.c | $(THIRD_PARTY_HEADERS) $(VIEW_STAMPS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/asan $<")
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -I$(OUT)/inc/$(call view,$<) -c $< -o $@

$(OUT)/target/libberth.a: $(LIB_SRC:%.c=$(OUT)/target/%.o)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUT)/hostasan/libberth.a: $(LIB_SRC:%.c=$(OUT)/hostasan/%.o)
	$(Q)rm -f $@ && ar rcs $@ $^

# init reads the config drive's JSON with json-c, as the runtime does (it
# costs init 33 KB of its 260 KB, json-c and lib/configdrive.c together,
# measured against a stub; see docs/install.md).
$(OUT)/target/bin/init: $(INIT_SRC:%.c=$(OUT)/target/%.o) $(INIT_LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(TARGET_CC) $(TARGET_LDFLAGS) -o $@ $^

# A test-only PID 1 that hangs once the watchdog is armed (init/watchdog.c):
# the root of the bundle that tests the watchdog and GRUB's tries.
$(OUT)/target-hang/init/watchdog.o: init/watchdog.c $(TARGET_CC) | $(THIRD_PARTY_HEADERS) $(VIEW_STAMPS)
	@mkdir -p $(dir $@)
	$(Q)$(TARGET_CC) $(TARGET_CFLAGS) -DBERTH_TEST_HANG -I$(OUT)/inc/init -c $< -o $@
$(OUT)/test/init-hang: $(filter-out $(OUT)/target/init/watchdog.o,$(INIT_SRC:%.c=$(OUT)/target/%.o)) \
		$(OUT)/target-hang/init/watchdog.o $(INIT_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(TARGET_CC) $(TARGET_LDFLAGS) -o $@ $^

$(OUT)/target/bin/hostlog: $(OUT)/target/init/hostlog.o $(OUT)/target/libberth.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(TARGET_CC) $(TARGET_LDFLAGS) -o $@ $^

# runtime/ builds one multi-call program: berth-oci (and later berthd, berth).
# Modules join the list once they build (helpers work on new ones in place).
RUNTIME_DIRS := runtime runtime/oci runtime/image runtime/net runtime/proto runtime/cinit runtime/compose \
	runtime/monitor runtime/daemon runtime/cli runtime/registry runtime/osupdate
RUNTIME_SRC := $(wildcard $(RUNTIME_DIRS:%=%/*.c))
RUNTIME_LIBS_TARGET := $(OUT)/pkg/libseccomp/musl/libseccomp.a $(OUT)/pkg/json-c/musl/libjson-c.a \
	$(OUT)/pkg/libyaml/musl/libyaml.a $(OUT)/pkg/zstd/musl/libzstd.a $(OUT)/pkg/zlib/musl/libz.a \
	$(OUT)/pkg/curl/musl/libcurl.a $(OUT)/pkg/wolfssl/musl/libwolfssl.a $(OUT)/pkg/libsodium/musl/libsodium.a
RUNTIME_LIBS_HOST := $(OUT)/pkg/libseccomp/asan/libseccomp.a $(OUT)/pkg/json-c/asan/libjson-c.a \
	$(OUT)/pkg/libyaml/asan/libyaml.a $(OUT)/pkg/zstd/asan/libzstd.a $(OUT)/pkg/zlib/asan/libz.a \
	$(OUT)/pkg/curl/asan/libcurl.a $(OUT)/pkg/wolfssl/asan/libwolfssl.a $(OUT)/pkg/libsodium/asan/libsodium.a
$(OUT)/target/bin/berth: $(RUNTIME_SRC:%.c=$(OUT)/target/%.o) $(OUT)/target/libberth.a $(RUNTIME_LIBS_TARGET)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(TARGET_CC) $(TARGET_LDFLAGS) -o $@ $^

# Test tools: built like the image's programs, copied into test VMs only.
$(OUT)/target/tests/%: tests/tools/%.c $(OUT)/target/libberth.a | $(VIEW_STAMPS)
	@mkdir -p $(dir $@)
	$(Q)$(TARGET_CC) $(TARGET_CFLAGS) -I$(OUT)/inc/lib $(TARGET_LDFLAGS) -o $@ $^
$(OUT)/target/tests/%: bench/tools/%.c $(OUT)/target/libberth.a | $(VIEW_STAMPS)
	@mkdir -p $(dir $@)
	$(Q)$(TARGET_CC) $(TARGET_CFLAGS) -I$(OUT)/inc/lib $(TARGET_LDFLAGS) -o $@ $^
TEST_TOOLS := $(OUT)/target/tests/recvtty $(OUT)/target/tests/timeit $(OUT)/target/tests/netserve \
	$(OUT)/target/tests/escape

BINARIES := $(OUT)/target/bin/init $(OUT)/target/bin/hostlog $(OUT)/target/bin/berth
binaries: $(BINARIES)

-include $(shell find $(OUT)/target $(OUT)/target-hang $(OUT)/hostasan $(OUT)/fuzz -name '*.d' 2>/dev/null)

# ---- toolchain, kernel, third-party packages (cached) ------------------------

$(TARGET_CC): rootfs/toolchain/setup rootfs/toolchain/musl.specs.in rootfs/sources.pins | $(DEPS_STAMP)
	rootfs/toolchain/setup

$(OUT)/kernel/bzImage: kernel-config/berth.config kernel-config/build rootfs/sources.pins rootfs/lib.sh | $(DEPS_STAMP)
	kernel-config/build

PKG_COMMON := rootfs/sources.pins rootfs/lib.sh rootfs/fetch $(TARGET_CC)
$(OUT)/pkg/busybox/busybox: rootfs/pkg/busybox/build rootfs/pkg/busybox/busybox.config $(PKG_COMMON)
	rootfs/pkg/busybox/build
$(OUT)/pkg/dropbear/dropbearmulti: rootfs/pkg/dropbear/build rootfs/pkg/dropbear/localoptions.h $(PKG_COMMON)
	rootfs/pkg/dropbear/build
$(OUT)/pkg/e2fsprogs/e2fsck: rootfs/pkg/e2fsprogs/build $(PKG_COMMON)
	rootfs/pkg/e2fsprogs/build

$(OUT)/pkg/libyaml/include/yaml.h $(OUT)/pkg/libyaml/musl/libyaml.a $(OUT)/pkg/libyaml/asan/libyaml.a &: rootfs/pkg/libyaml/build $(PKG_COMMON)
	rootfs/pkg/libyaml/build
$(OUT)/pkg/json-c/musl/libjson-c.a $(OUT)/pkg/json-c/asan/libjson-c.a &: rootfs/pkg/json-c/build $(PKG_COMMON)
	rootfs/pkg/json-c/build
$(OUT)/pkg/libseccomp/musl/libseccomp.a $(OUT)/pkg/libseccomp/asan/libseccomp.a &: rootfs/pkg/libseccomp/build $(PKG_COMMON)
	rootfs/pkg/libseccomp/build
$(OUT)/pkg/zlib/musl/libz.a $(OUT)/pkg/zlib/asan/libz.a &: rootfs/pkg/zlib/build $(PKG_COMMON)
	rootfs/pkg/zlib/build
$(OUT)/pkg/zstd/musl/libzstd.a $(OUT)/pkg/zstd/asan/libzstd.a &: rootfs/pkg/zstd/build $(PKG_COMMON)
	rootfs/pkg/zstd/build
# HTTP and TLS for the registry client: libcurl over wolfSSL, and Debian's CA bundle.
$(OUT)/pkg/curl/musl/libcurl.a $(OUT)/pkg/curl/asan/libcurl.a $(OUT)/pkg/wolfssl/musl/libwolfssl.a \
		$(OUT)/pkg/wolfssl/asan/libwolfssl.a &: rootfs/pkg/curl/build rootfs/pkg/wolfssl/build \
		rootfs/pkg/wolfssl/user_settings.h $(PKG_COMMON)
	rootfs/pkg/curl/build
$(OUT)/pkg/ca-certificates/ca-certificates.crt: rootfs/pkg/ca-certificates/build rootfs/sources.pins rootfs/fetch
	rootfs/pkg/ca-certificates/build
$(OUT)/pkg/libsodium/musl/libsodium.a $(OUT)/pkg/libsodium/asan/libsodium.a &: rootfs/pkg/libsodium/build $(PKG_COMMON)
	rootfs/pkg/libsodium/build

PKGS := $(OUT)/pkg/busybox/busybox $(OUT)/pkg/dropbear/dropbearmulti $(OUT)/pkg/e2fsprogs/e2fsck \
	$(OUT)/pkg/ca-certificates/ca-certificates.crt

# ---- root filesystem, disk image, host tools ---------------------------------

# The version the root filesystem says it is (/etc/os-release, which the
# updater compares): rewritten only when it changes.
VERSION_STAMP := $(OUT)/version
$(VERSION_STAMP): FORCE
	@mkdir -p $(OUT) && echo '$(BERTH_VERSION)' | cmp -s - $@ || echo '$(BERTH_VERSION)' >$@
# The objects that embed it are built again when it changes (berthd said
# an older version than its image's os-release after a commit).
VERSIONED_SRC := $(shell grep -l BERTH_VERSION $(INIT_SRC) $(RUNTIME_SRC))
$(VERSIONED_SRC:%.c=$(OUT)/target/%.o) $(VERSIONED_SRC:%.c=$(OUT)/hostasan/%.o): $(VERSION_STAMP)

# ---- update signing keys ---------------------------------------------------------
# Bundles are signed with BERTH_SIGNING_KEY, or else with a development key
# made at the first build and kept outside out/ ($(BERTH_KEY_DIR)): `make
# clean` must not take away the key that the hosts flashed from this tree
# trust. The image trusts that key's public half, and BERTH_TRUSTED_KEYS
# (more public key files, for key rotation: docs/updates.md).
BERTH_KEY_DIR ?= $(or $(XDG_CONFIG_HOME),$(HOME)/.config)/berth
SIGNING_KEY := $(or $(BERTH_SIGNING_KEY),$(BERTH_KEY_DIR)/update-signing.key)
SIGNING_PUB := $(OUT)/update-keys/signing.pub
BERTH_TRUSTED_KEYS ?=

$(OUT)/host/berth-sign: image-build/berth-sign.c $(OUT)/target/libberth.a $(OUT)/pkg/libsodium/musl/libsodium.a \
		| $(VIEW_STAMPS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(TARGET_CC) $(TARGET_CFLAGS) -I$(OUT)/inc/lib $(TARGET_LDFLAGS) -o $@ $^

$(SIGNING_KEY): | $(OUT)/host/berth-sign
	@if [ -n "$(BERTH_SIGNING_KEY)" ]; then echo "BERTH_SIGNING_KEY=$@ does not exist"; exit 1; fi
	@mkdir -p $(dir $@) && chmod 0700 $(dir $@)
	$(OUT)/host/berth-sign keygen $@ $@.pub "berth development key ($$(hostname))"

$(SIGNING_PUB): $(SIGNING_KEY) | $(OUT)/host/berth-sign
	@mkdir -p $(dir $@)
	$(OUT)/host/berth-sign public $< >$@.tmp && mv $@.tmp $@

# ---- root filesystem, disk image, update bundle, host tools --------------------------

SKEL := $(shell find rootfs/skel -type f)
$(OUT)/rootfs.erofs: rootfs/mkrootfs $(SKEL) $(PKGS) $(BINARIES) $(VERSION_STAMP) $(SIGNING_PUB) $(BERTH_TRUSTED_KEYS)
	BERTH_UPDATE_KEYS="$(SIGNING_PUB) $(BERTH_TRUSTED_KEYS)" rootfs/mkrootfs $@ $(BERTH_VERSION)

# The root image's dm-verity hash tree and its parameters.
$(OUT)/rootfs.erofs.verity $(OUT)/rootfs.erofs.verity.env &: $(OUT)/rootfs.erofs image-build/mkverity | $(DEPS_STAMP)
	image-build/mkverity $<

IMAGE_INPUTS := $(OUT)/rootfs.erofs $(OUT)/rootfs.erofs.verity $(OUT)/rootfs.erofs.verity.env $(OUT)/kernel/bzImage \
	$(filter-out image-build/berth-sign.c,$(wildcard image-build/*)) $(OUT)/host/mke2fs
IMAGE_ENV := BERTH_VERSION=$(BERTH_VERSION) BERTH_BUILD=$(BERTH_BUILD)
$(OUT)/berth.img: $(IMAGE_INPUTS)
	$(IMAGE_ENV) image-build/mkimage $@

# The update bundle of this build (docs/updates.md); out/berth.bundle
# names the newest.
BUNDLE := $(OUT)/berth-$(BERTH_VERSION).bundle
$(BUNDLE): $(OUT)/kernel/bzImage $(OUT)/rootfs.erofs $(OUT)/rootfs.erofs.verity $(OUT)/rootfs.erofs.verity.env \
		image-build/mkbundle image-build/bootfiles.py image-build/cmdline $(SIGNING_KEY) | $(OUT)/host/berth-sign
	$(IMAGE_ENV) image-build/mkbundle $@ --kernel $(OUT)/kernel/bzImage --root $(OUT)/rootfs.erofs --key $(SIGNING_KEY)
	ln -sfn $(notdir $@) $(OUT)/berth.bundle
bundle: $(BUNDLE)

$(OUT)/berth.qcow2: $(OUT)/berth.img
	qemu-img convert -c -O qcow2 $< $@.tmp && mv $@.tmp $@

$(OUT)/host/mke2fs: $(OUT)/pkg/e2fsprogs/e2fsck
	@mkdir -p $(dir $@)
	cp $(OUT)/pkg/e2fsprogs/mke2fs $@
$(OUT)/host/berth-image: image-build/berth-image
	@mkdir -p $(dir $@)
	cp $< $@
# `berth machine` runs it (VMs of out/berth.img under QEMU, on this machine).
$(OUT)/host/berth-machine: image-build/berth-machine
	@mkdir -p $(dir $@)
	cp $< $@

# The image's own static berth runs on the build machine too: `out/host/berth
# config check DIR` checks a config with the code the host runs.
$(OUT)/host/berth: $(OUT)/target/bin/berth
	@mkdir -p $(dir $@)
	cp $< $@

HOST_TOOLS := $(OUT)/host/mke2fs $(OUT)/host/berth-image $(OUT)/host/berth $(OUT)/host/berth-sign \
	$(OUT)/host/berth-machine

all: $(OUT)/berth.img $(OUT)/berth.qcow2 $(BUNDLE) $(HOST_TOOLS)

# `make image CONFIG=dir`: always rebuilt, since dir's content is an input.
image: $(IMAGE_INPUTS) $(HOST_TOOLS)
	$(IMAGE_ENV) image-build/mkimage $(OUT)/berth.img $(if $(CONFIG),--config $(CONFIG))
	qemu-img convert -c -O qcow2 $(OUT)/berth.img $(OUT)/berth.qcow2.tmp && mv $(OUT)/berth.qcow2.tmp $(OUT)/berth.qcow2

run: all
	qemu-tests/run-vm $(OUT)/berth.img

# ---- tests --------------------------------------------------------------------

# Tests of modules still being written join once their module does.
TEST_WIP :=
TEST_SRC := $(filter-out $(TEST_WIP),$(wildcard tests/test_*.c))
TEST_BINS := $(TEST_SRC:tests/%.c=$(OUT)/hostasan/tests/%)
INIT_TESTABLE := $(filter-out init/main.c,$(INIT_SRC))
RUNTIME_TESTABLE := $(filter-out runtime/main.c,$(RUNTIME_SRC))

# Every unit test links init's and the runtime's modules (minus their main).
$(OUT)/hostasan/tests/%: tests/%.c tests/check.h $(INIT_TESTABLE:%.c=$(OUT)/hostasan/%.o) \
		$(RUNTIME_TESTABLE:%.c=$(OUT)/hostasan/%.o) $(OUT)/hostasan/libberth.a $(RUNTIME_LIBS_HOST)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD/asan $@")
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -I$(OUT)/inc/all -Itests -o $@ $(filter %.c %.o %.a,$^)

# test_store builds its image fixtures from the static BusyBox.
unit: $(TEST_BINS) $(OUT)/pkg/busybox/busybox | $(DEPS_STAMP)
	@set -e; for t in $(TEST_BINS); do echo "== $$t"; $$t; done

# ---- fuzzing (libFuzzer) --------------------------------------------------------
# Each tests/fuzz/fuzz_NAME.c feeds one parser of untrusted input; its seeds
# and every crash found so far live in tests/fuzz/corpus/fuzz_NAME/. `make check`
# replays the corpus and fuzzes each target for FUZZ_TIME seconds from a fixed
# seed, so that a CI run explores the same inputs each time and a red check
# is reproducible; `make fuzz FUZZ_TIME=3600 FUZZ_SEED=0` is the long run, on
# a random seed. New inputs go to out/fuzz/, never into the checkout.
FUZZ_CC := clang-14
FUZZ_TIME ?= 15
FUZZ_SEED ?= 1
FUZZ_CFLAGS := $(CSTD) $(WARN) -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all -DBERTH_VERSION='"$(BERTH_VERSION)"' -MMD -MP
FUZZ_WIP :=
FUZZ_SRC := $(filter-out $(FUZZ_WIP),$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(OUT)/fuzz/%)
FUZZ_OBJS := $(LIB_SRC:%.c=$(OUT)/fuzz/%.o) $(RUNTIME_TESTABLE:%.c=$(OUT)/fuzz/%.o)

$(OUT)/fuzz/%.o: %.c | $(THIRD_PARTY_HEADERS) $(VIEW_STAMPS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/fuzz $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -I$(OUT)/inc/$(call view,$<) -c $< -o $@

$(OUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS) $(RUNTIME_LIBS_HOST)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD/fuzz $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -I$(OUT)/inc/all -fsanitize=fuzzer -o $@ $(filter %.c %.o %.a,$^)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS) | $(DEPS_STAMP)
	@set -e; for f in $(FUZZ_BINS); do \
		name=$${f##*/}; seeds=tests/fuzz/corpus/$$name; work=$(OUT)/fuzz/corpus-$$name; \
		mkdir -p $$work $$seeds; echo "== fuzz $$name: corpus $$(ls $$seeds | wc -l) inputs, $(FUZZ_TIME) s"; \
		$$f -runs=0 $$seeds >$(OUT)/fuzz/$$name.replay.log 2>&1 || { tail -40 $(OUT)/fuzz/$$name.replay.log; exit 1; }; \
		$$f -seed=$(FUZZ_SEED) -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 -artifact_prefix=$(OUT)/fuzz/$$name- \
			$$work $$seeds >$(OUT)/fuzz/$$name.log 2>&1 || { tail -40 $(OUT)/fuzz/$$name.log; \
			echo "fuzz $$name: crash; the input is in $(OUT)/fuzz/$$name-*; add it to $$seeds"; exit 1; }; \
		grep -o 'Done [0-9]* runs in [0-9]* second' $(OUT)/fuzz/$$name.log || true; \
	done

CLANG_FORMAT_FILES = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null || \
	find lib init runtime tests -name '*.[ch]')
lint: | $(DEPS_STAMP)
	clang-format --dry-run --Werror $(CLANG_FORMAT_FILES)
	@bad=$$(grep -rnE '^#include "[^/"]+"' lib init runtime bench/tools tests/tools); if [ -n "$$bad" ]; then \
		echo "lint: a local include names its folder (\"lib/berr.h\", \"oci/config.h\"):"; echo "$$bad"; exit 1; fi
	sh -n .ci/run .ci/clean-room rootfs/fetch rootfs/lib.sh rootfs/mkrootfs rootfs/build-deps kernel-config/build image-build/berth-image image-build/berth-machine image-build/mkverity image-build/engine/mkengine image-build/engine/engine image-build/engine/swarm-member \
		rootfs/skel/usr/share/udhcpc/default.script rootfs/skel/usr/libexec/berth/sshd tests/conformance/mkdisk tests/conformance/oci-runtime

format:
	clang-format -i $(CLANG_FORMAT_FILES)

# TESTS=qemu-tests/test_oci.py runs one module (or several); PYTEST_ARGS adds
# pytest options (-x, -k NAME).
TESTS ?= qemu-tests
# HEAVY=1 also runs the tests marked heavy (make check-updates).
qemu-test: all $(TEST_TOOLS) $(OUT)/test/init-hang
	BERTH_SIGNING_KEY=$(SIGNING_KEY) $(PYTHON) -m pytest -c qemu-tests/pytest.ini $(TESTS) \
		$(if $(HEAVY),,-m "not heavy") $(PYTEST_ARGS)

check: lint unit fuzz qemu-test

# The long fault tests: power cuts during OS updates (22 points, about 25
# minutes under TCG) and during heavy volume writes and log rotation (10 cuts
# each, 5 minutes), berthd SIGKILLed mid-operation (5 points, 5 minutes): too
# long for `make check`; CI runs them after check (.ci/run).
check-updates:
	$(MAKE) qemu-test TESTS=qemu-tests/test_update_powercut.py HEAVY=1
	$(MAKE) qemu-test TESTS=qemu-tests/test_powercut_data.py HEAVY=1 PYTEST_ARGS="-m heavy"
	$(MAKE) qemu-test TESTS=qemu-tests/test_berthd_kill.py HEAVY=1 PYTEST_ARGS='-m "not delay"'

# Every timed kill point of berthd SIGKILLed mid-operation
# (test_berthd_kill.py; check-updates runs the moments that found leaks and
# one import delay): 15 more, about 15 minutes; and power cut at every phase
# of `berth config apply` (make check cuts at 3 of 11): about 5 minutes.
# Not in CI.
check-faults:
	$(MAKE) qemu-test TESTS=qemu-tests/test_berthd_kill.py HEAVY=1 PYTEST_ARGS="-m delay"
	$(MAKE) qemu-test TESTS=qemu-tests/test_config_apply.py HEAVY=1

# `make check` in a fresh debootstrapped Debian 12 root with an empty build
# cache: proves that rootfs/build-deps lists every package (see .ci/clean-room).
# CLEAN_ROOM_ARGS="bench QUICK=1" checks the benchmarks' packages the same way.
CLEAN_ROOM_ARGS ?= check
check-clean-room:
	.ci/clean-room $(CLEAN_ROOM_ARGS)

# ---- benchmarks -------------------------------------------------------------------
# `make bench` writes bench/results/REPORT.md, results.json and the boot timeline
# (and README.md's figures); QUICK=1 runs a reduced set in a few minutes.
BENCH_TOOLS := $(OUT)/target/tests/timeit $(OUT)/target/tests/ocilife $(OUT)/target/tests/netbench \
	$(OUT)/target/tests/tcpproxy $(OUT)/target/tests/netserve
$(OUT)/bench/bench.ext4: bench/mkbenchdisk bench/bench.pins rootfs/fetch rootfs/lib.sh | $(DEPS_STAMP)
	bench/mkbenchdisk $@
# What each driver group of kernel-config/berth.config costs (one kernel build
# per group; cached).
kernel-sizes: | $(DEPS_STAMP)
	kernel-config/build sizes

bench: all $(BENCH_TOOLS) $(OUT)/bench/bench.ext4 $(OUT)/pkg/busybox/busybox
	bench/bench-deps
	$(PYTHON) bench/run.py $(if $(filter 1,$(QUICK)),--quick) $(if $(ONLY),--only $(ONLY))

# ---- the fleet: Docker's engine as a system container (docs/fleet.md) -------------
# `make engine` writes the engine image, out/engine/berth-engine.tar, for a
# host's CONFIG images/ (never part of Berth's root). `make check-fleet` boots
# Berth VMs that run it (qemu-tests/test_engine.py, test_swarm.py: about 10
# minutes); CI runs it when the files it tests changed since its last pass
# (.ci/run).
ENGINE := $(OUT)/engine/berth-engine.tar
$(ENGINE): image-build/engine/mkengine image-build/engine/ocitar.py image-build/engine/engine.pins \
		image-build/engine/daemon.json image-build/engine/engine image-build/engine/swarm-member rootfs/fetch rootfs/lib.sh \
		$(OUT)/target/bin/berth $(OUT)/pkg/busybox/busybox | $(DEPS_STAMP)
	image-build/engine/mkengine $@ $(OUT)/target/bin/berth $(OUT)/pkg/busybox/busybox $(OUT)/pkg/busybox/applets
engine: $(ENGINE)
# bench/engine.py: docker run with berth-oci and with runc under one dockerd.
bench: $(ENGINE)

check-fleet: all $(ENGINE) $(TEST_TOOLS)
	BERTH_ENGINE=$(ENGINE) $(MAKE) qemu-test TESTS="qemu-tests/test_engine.py qemu-tests/test_swarm.py" HEAVY=1 PYTEST_ARGS="-s $(PYTEST_ARGS)"
	@if [ -z "$$(git status --porcelain -- $(FLEET_FILES))" ]; then \
		stamp=$$($(MAKE) -s fleet-stamp) && mkdir -p "$$(dirname "$$stamp")" && touch "$$stamp"; fi

# What check-fleet tests; CI runs it once per change to these (.ci/run).
FLEET_FILES := image-build/engine docs/examples/swarm kernel-config/berth.config runtime/oci runtime/cli/dockerdial.c \
	rootfs/mkrootfs qemu-tests/test_engine.py qemu-tests/test_swarm.py qemu-tests/sshhost.py qemu-tests/berthvm.py \
	qemu-tests/conftest.py qemu-tests/imagegen.py
fleet-stamp:
	@echo $(BERTH_CACHE)/ci/fleet-passed-$$(git ls-files -s -- $(FLEET_FILES) | sha256sum | cut -c1-16)

# ---- conformance --------------------------------------------------------------------
# `make conformance` runs crun's own OCI runtime test suite (from crun's
# pinned Debian source) against berth-oci, Debian's crun and Debian's runc in
# a Berth VM, and writes out/conformance/results.md (docs/security.md). Not
# part of make check: it measures, and fails only when it cannot run.
CONFORMANCE_DISK := $(OUT)/conformance/conformance.ext4
$(CONFORMANCE_DISK): tests/conformance/mkdisk tests/conformance/conformance.pins tests/conformance/oci-runtime tests/conformance/libmount.py \
		bench/mkbenchdisk bench/bench.pins rootfs/fetch rootfs/lib.sh $(TARGET_CC) $(OUT)/pkg/libseccomp/musl/libseccomp.a \
		$(OUT)/target/tests/newroot | $(DEPS_STAMP)
	tests/conformance/mkdisk $@

conformance: all $(CONFORMANCE_DISK)
	$(PYTHON) tests/conformance/run.py $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf $(OUT)

# containerfs - build, install, test.
#   make                 build/containerfs, build/containerfs-supervisor
#   make SAN=1           the same with ASan+UBSan into build-san/
#   make check           C unit tests + the end-to-end suite (against the SAN build)
#                        + each fuzz target briefly (FUZZ_CHECK_TIME s, default 10)
#                        + the include layering, the exported names (check-exports)
#                        and the C layout (format-check)
#   make format-check    every C file git tracks laid out as .clang-format says;
#                        with FORMAT_BASE=REV also the lines changed since REV
#   make fuzz            each libFuzzer target (tests/fuzz/) for FUZZ_TIME s (default 60)
#                        under ASan+UBSan, seeded from tests/fuzz/corpus/
#                        + check-v2: the engine on a cgroup-v2-only kernel under qemu
#   make install         PREFIX (/usr/local) and DESTDIR honoured; make uninstall
#   make deb             the Debian package: build/deb/containerfs_VERSION_ARCH.deb

CC ?= gcc
PREFIX ?= /usr/local
DESTDIR ?=
PYTEST ?= /usr/bin/python3 -m pytest

ifeq ($(FUZZ),1)
# libFuzzer targets (tests/fuzz/): the engine built by clang with ASan+UBSan and the
# fuzzer's coverage instrumentation
B := build-fuzz
CC := clang
SANFLAGS := -fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SAN),1)
B := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B := build
SANFLAGS :=
endif

PKGS_ENGINE := libnl-3.0 libnl-route-3.0 libcap libseccomp
PKGS_FUSE := fuse3 liburing
WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wstrict-prototypes
CFLAGS ?= -O2 -g
# gcc warns about snprintf truncation we rely on; clang has no such option
WARN += $(shell $(CC) -Werror -Wno-format-truncation -E -x c /dev/null >/dev/null 2>&1 && echo -Wno-format-truncation)
BASEFLAGS := -std=gnu11 -D_GNU_SOURCE -Iinclude $(WARN) $(SANFLAGS) -MMD -MP
ENGINE_CFLAGS := $(BASEFLAGS) -Iengine $(shell pkg-config --cflags $(PKGS_ENGINE))
FUSE_CFLAGS := $(BASEFLAGS) $(shell pkg-config --cflags $(PKGS_FUSE))
ENGINE_LIBS := $(shell pkg-config --libs $(PKGS_ENGINE)) -lpthread -lm
FUSE_LIBS := $(shell pkg-config --libs $(PKGS_FUSE))

# engine/ is in rooms: the core (registry, store, files, errors) at its top, and
# cgroup/, config/, net/ and run/ beneath it. The supervisor is its own program.
ENGINE_SRC := $(wildcard engine/*.c engine/*/*.c)
FUSE_SRC := $(wildcard fusefs/*.c)
ENGINE_OBJ := $(patsubst %.c,$(B)/%.o,$(ENGINE_SRC))
FUSE_OBJ := $(patsubst %.c,$(B)/%.o,$(FUSE_SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/unit/%,$(UNIT_SRC))
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BIN := $(patsubst tests/helpers/%.c,$(B)/helpers/%,$(HELPER_SRC))

SUPERVISOR := $(B)/containerfs-supervisor
TOOLS := $(B)/cfs-attach $(B)/cfs-console

all: $(B)/containerfs $(SUPERVISOR) $(TOOLS) $(HELPER_BIN)

$(B)/engine/%.o: engine/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ENGINE_CFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/fusefs/%.o: fusefs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(FUSE_CFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/libcfsengine.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/containerfs: $(FUSE_OBJ) $(B)/libcfsengine.a
	$(CC) $(SANFLAGS) $(CFLAGS) -o $@ $(FUSE_OBJ) $(B)/libcfsengine.a $(FUSE_LIBS) $(ENGINE_LIBS)

# The supervisor stays tiny: one runs per container, so its memory counts. No
# sanitizer, no engine library, only libc, linked statically against musl where
# musl-gcc is installed (a 40 kB program instead of glibc's 800 kB).
SUPERVISOR_CC ?= $(shell command -v musl-gcc >/dev/null 2>&1 && echo musl-gcc || echo $(CC))
$(B)/containerfs-supervisor: supervisor/supervisor.c include/monotime.h include/sigsafe.h
	@mkdir -p $(dir $@)
	$(SUPERVISOR_CC) -std=gnu11 -D_GNU_SOURCE -Iinclude $(WARN) -Os -static -o $@ $<

# The user's tools (lxc-attach and lxc-console): plain libc programs.
TOOL_CFLAGS := $(BASEFLAGS) -Itools
$(B)/cfs-attach: tools/cfs-attach.c tools/attach_seccomp.c tools/attach_seccomp.h include/readfile.h \
		include/sigsafe.h
	@mkdir -p $(dir $@)
	$(CC) $(TOOL_CFLAGS) $(CFLAGS) -o $@ tools/cfs-attach.c tools/attach_seccomp.c

$(B)/cfs-console: tools/cfs-console.c include/monotime.h include/readfile.h include/sigsafe.h
	@mkdir -p $(dir $@)
	$(CC) $(TOOL_CFLAGS) $(CFLAGS) -o $@ $<

$(B)/unit/%: tests/unit/%.c $(B)/libcfsengine.a
	@mkdir -p $(dir $@)
	$(CC) $(ENGINE_CFLAGS) $(CFLAGS) -o $@ $< $(B)/libcfsengine.a $(ENGINE_LIBS)

# What scripts/bench runs beside containerfs: a FUSE filesystem that does nothing
# (the floor of a FUSE file's cost on the machine)
bench-bins: $(B)/bench/fusefloor

$(B)/bench/fusefloor: tests/bench/fusefloor.c $(B)/fusefs/uring.o $(B)/engine/log.o
	@mkdir -p $(dir $@)
	$(CC) $(FUSE_CFLAGS) -Ifusefs $(CFLAGS) -o $@ $(filter %.c %.o,$^) $(FUSE_LIBS) -lpthread

$(B)/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) -O2 -static -o $@ $<

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

layering:
	CC="$(CC)" HDR_CFLAGS="$(WARN)" scripts/check-layering

exports: all
	scripts/check-exports $(B)

format-check:
	scripts/format-check
	$(if $(FORMAT_BASE),scripts/format-check $(FORMAT_BASE))

# Fuzzing: tests/fuzz/fuzz_NAME.c with its seed corpus tests/fuzz/corpus/NAME; new
# inputs it finds go to build-fuzz/corpus/NAME, a crash to build-fuzz/crash-*.
FUZZ_TIME ?= 60
FUZZ_CHECK_TIME ?= 10
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(B)/libcfsengine.a
	@mkdir -p $(dir $@)
	$(CC) $(ENGINE_CFLAGS) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(B)/libcfsengine.a $(ENGINE_LIBS)

fuzz-bins: $(patsubst %,$(B)/fuzz/fuzz_%,$(FUZZ_NAMES))

fuzz:
	$(MAKE) FUZZ=1 fuzz-bins
	@set -e; for f in $(FUZZ_NAMES); do \
		echo "== fuzz_$$f ($(FUZZ_TIME) s)"; \
		mkdir -p build-fuzz/corpus/$$f; \
		build-fuzz/fuzz/fuzz_$$f -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=1024 \
			-print_final_stats=1 -artifact_prefix=build-fuzz/ \
			build-fuzz/corpus/$$f tests/fuzz/corpus/$$f >build-fuzz/fuzz_$$f.log 2>&1 || \
			{ tail -40 build-fuzz/fuzz_$$f.log; exit 1; }; \
		grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units)" build-fuzz/fuzz_$$f.log || true; \
	done

fuzz-check:
	$(MAKE) fuzz FUZZ_TIME=$(FUZZ_CHECK_TIME)

check:
	$(MAKE) SAN=1 all unit
	$(MAKE) layering
	$(MAKE) SAN=1 exports
	$(MAKE) format-check
	$(MAKE) fuzz-check
	$(MAKE) SAN=1 e2e
	$(MAKE) SAN=1 e2e-uring
	$(MAKE) SAN=1 check-v2

# The engine on a real cgroup-v2-only kernel: Debian's kernel under qemu (scripts/qemu-v2),
# with the build of this make (SAN=1: the sanitized one).
check-v2: all
	scripts/qemu-v2 $(CURDIR)/$(B)

# The suite runs twice where the kernel can hand FUSE requests over io_uring (its fuse
# module's enable_uring): once with requests from /dev/fuse, once over io_uring.
URING_PARAM := /sys/module/fuse/parameters/enable_uring
e2e: all
	CFS_FUSE_URING=off CFS_BUILD=$(CURDIR)/$(B) scripts/run-tests $(PYTEST) -q tests $(PYTEST_ARGS)

e2e-uring: all
	@if [ -e $(URING_PARAM) ]; then \
		echo "CFS_FUSE_URING=on scripts/run-tests $(PYTEST) -q tests $(PYTEST_ARGS)"; \
		CFS_FUSE_URING=on CFS_BUILD=$(CURDIR)/$(B) scripts/run-tests $(PYTEST) -q tests $(PYTEST_ARGS); \
	else \
		echo "e2e-uring: skipped, this kernel's fuse module has no enable_uring parameter"; \
	fi

# Installed layout. The daemon finds the supervisor at ../libexec/containerfs beside its
# own binary, so LIBEXECDIR follows SBINDIR. Units go where systemd looks for them:
# /lib/systemd/system on Debian (PREFIX=/usr), PREFIX/lib/systemd/system otherwise.
SBINDIR := $(PREFIX)/sbin
BINDIR := $(PREFIX)/bin
LIBEXECDIR := $(PREFIX)/libexec/containerfs
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
MAN_PAGES := man/containerfs.8 man/containerfs.5 man/cfs-attach.1 man/cfs-console.1 \
	man/cfs-mkimage.1
# installed name <- source, for the helper programs
INSTALL_BIN := cfs-attach:$(B)/cfs-attach cfs-console:$(B)/cfs-console \
	cfs-mkimage:scripts/mkimage

install: $(B)/containerfs $(B)/containerfs-supervisor $(TOOLS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(B)/containerfs $(DESTDIR)$(SBINDIR)/containerfs
	install -m 0755 $(B)/containerfs-supervisor $(DESTDIR)$(LIBEXECDIR)/
	@set -e; for p in $(INSTALL_BIN); do \
		echo install -m 0755 $${p#*:} $(DESTDIR)$(BINDIR)/$${p%%:*}; \
		install -m 0755 $${p#*:} $(DESTDIR)$(BINDIR)/$${p%%:*}; done
	sed 's|@SBINDIR@|$(SBINDIR)|g' systemd/containerfs.service.in \
		>$(DESTDIR)$(UNITDIR)/containerfs.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/containerfs.service
	@set -e; for m in $(MAN_PAGES); do \
		echo install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done

# Removes what install laid out (and the directories it made, when they are empty).
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/containerfs $(DESTDIR)$(LIBEXECDIR)/containerfs-supervisor
	rm -f $(foreach p,$(INSTALL_BIN),$(DESTDIR)$(BINDIR)/$(firstword $(subst :, ,$(p))))
	rm -f $(DESTDIR)$(UNITDIR)/containerfs.service
	rm -f $(foreach m,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))
	-rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null

# The Debian package (debian/), built from a copy of the sources in build/deb/ so that
# nothing is written beside the tree: build/deb/containerfs_VERSION_ARCH.deb.
DEBDIR := build/deb
deb:
	rm -rf $(DEBDIR)
	mkdir -p $(DEBDIR)/src
	tar -cf - --exclude=./build --exclude=./build-san --exclude=./build-fuzz --exclude=./.git \
		--exclude=./.pytest_cache . | tar -xf - -C $(DEBDIR)/src
	cd $(DEBDIR)/src && env -u SAN -u FUZZ -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		dpkg-buildpackage -b -us -uc -j2 >../build.log 2>&1 || \
		{ tail -40 ../build.log; exit 1; }
	@ls $(DEBDIR)/*.deb

clean:
	rm -rf build build-san build-fuzz

.PHONY: all bench-bins unit check check-v2 e2e install uninstall deb clean e2e-uring layering exports format-check fuzz fuzz-bins \
	fuzz-check

-include $(wildcard $(B)/*/*.d $(B)/*/*/*.d $(B)/fuzz/*.d)

# containerfs - build, install, test.
#   make                 build/containerfs, build/containerfs-supervisor
#   make SAN=1           the same with ASan+UBSan into build-san/
#   make check           C unit tests + the end-to-end suite (against the SAN build)
#                        + check-v2: the engine on a cgroup-v2-only kernel under qemu
#   make install         PREFIX (/usr/local) and DESTDIR honoured

CC ?= gcc
PREFIX ?= /usr/local
DESTDIR ?=
PYTEST ?= /usr/bin/python3 -m pytest

ifeq ($(SAN),1)
B := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B := build
SANFLAGS :=
endif

PKGS_ENGINE := libnl-3.0 libnl-route-3.0 libcap
PKGS_FUSE := fuse3
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
$(B)/containerfs-supervisor: supervisor/supervisor.c
	@mkdir -p $(dir $@)
	$(SUPERVISOR_CC) -std=gnu11 -D_GNU_SOURCE -Iinclude $(WARN) -Os -static -o $@ $<

# The user's tools (lxc-attach and lxc-console): plain libc programs.
TOOL_CFLAGS := $(BASEFLAGS) -Itools
$(B)/cfs-attach: tools/cfs-attach.c tools/attach_seccomp.c tools/attach_seccomp.h
	@mkdir -p $(dir $@)
	$(CC) $(TOOL_CFLAGS) $(CFLAGS) -o $@ tools/cfs-attach.c tools/attach_seccomp.c

$(B)/cfs-console: tools/cfs-console.c
	@mkdir -p $(dir $@)
	$(CC) $(TOOL_CFLAGS) $(CFLAGS) -o $@ $<

$(B)/unit/%: tests/unit/%.c $(B)/libcfsengine.a
	@mkdir -p $(dir $@)
	$(CC) $(ENGINE_CFLAGS) $(CFLAGS) -o $@ $< $(B)/libcfsengine.a $(ENGINE_LIBS)

$(B)/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) -O2 -static -o $@ $<

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

layering:
	scripts/check-layering

check:
	$(MAKE) SAN=1 all unit
	$(MAKE) layering
	$(MAKE) SAN=1 e2e
	$(MAKE) SAN=1 check-v2

# The engine on a real cgroup-v2-only kernel: Debian's kernel under qemu (scripts/qemu-v2),
# with the build of this make (SAN=1: the sanitized one).
check-v2: all
	scripts/qemu-v2 $(CURDIR)/$(B)

e2e: all
	CFS_BUILD=$(CURDIR)/$(B) scripts/run-tests $(PYTEST) -q tests $(PYTEST_ARGS)

install: $(B)/containerfs $(B)/containerfs-supervisor $(TOOLS)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/containerfs
	install -m 0755 $(B)/containerfs $(DESTDIR)$(PREFIX)/sbin/containerfs
	install -m 0755 $(B)/containerfs-supervisor $(DESTDIR)$(PREFIX)/libexec/containerfs/
	install -m 0755 $(B)/cfs-attach $(DESTDIR)$(PREFIX)/bin/cfs-attach
	install -m 0755 $(B)/cfs-console $(DESTDIR)$(PREFIX)/bin/cfs-console
	install -m 0755 scripts/mkimage $(DESTDIR)$(PREFIX)/bin/cfs-mkimage

clean:
	rm -rf build build-san

.PHONY: all unit check check-v2 e2e install clean layering

-include $(wildcard $(B)/*/*.d $(B)/*/*/*.d)

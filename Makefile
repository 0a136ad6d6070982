# virtrigaud - plain GNU Makefile.
#
#   make                      build everything into build/
#   make check                build, then run every test (tests/run.sh)
#   make SANITIZER=address,undefined check
#   make install PREFIX=/usr/local [DESTDIR=...]
#
# Layout it knows about:
#   core/**/*.c          -> build/lib/libvrtcore.a  (linked into binaries)
#   tools/NAME/*.c       -> build/bin/NAME
#   plugins/NAME/*.c     -> build/plugins/NAME.so   (only the entry exported)
#   tests/unit/test_*.c  -> build/tests/test_*      (cmocka)
#   tests/plugins/*.c    -> build/tests/plugins/*.so (deliberately broken)
# A tools/NAME/module.mk or plugins/NAME/module.mk may set NAME_PKGS
# (pkg-config names) and NAME_LIBS.

.DEFAULT_GOAL := all

BUILD     ?= build
PREFIX    ?= /usr/local
CC        ?= cc
PKG_CONFIG ?= pkg-config
SANITIZER ?=
WERROR    ?=

CSTD     := -std=c11 -D_GNU_SOURCE
# snprintf truncation is how we bound messages, so gcc's guesses about it
# (-Wformat-truncation) are noise, not findings.
WARNINGS := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter -Wno-format-truncation
ifneq ($(WERROR),)
WARNINGS += -Werror
endif
OPT      ?= -O2 -g
ifneq ($(SANITIZER),)
SANFLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
# ASan intercepts the XDR functions glibc no longer has; libtirpc arrives
# only with a plugin's libvirt.so, too late, and the first remote libvirt
# call then jumps to address 0.  Link it into every binary up front.
ifneq ($(findstring address,$(SANITIZER)),)
SANLIBS := -Wl,--push-state,--no-as-needed -l:libtirpc.so.3 -Wl,--pop-state
endif
else
HARDEN   := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
endif
BASE_CFLAGS := $(CSTD) $(OPT) $(WARNINGS) $(HARDEN) $(SANFLAGS) -MMD -MP \
               -Iabi -Iinclude $(CFLAGS)
BASE_LDFLAGS := $(SANFLAGS) $(LDFLAGS)

pc_cflags = $(if $(1),$(shell $(PKG_CONFIG) --cflags $(1)))
pc_libs   = $(if $(1),$(shell $(PKG_CONFIG) --libs $(1)))

-include $(wildcard tools/*/module.mk plugins/*/module.mk tests/*/module.mk)

CORE_PKGS ?= libcjson yaml-0.1 sqlite3 libmicrohttpd gnutls openssl libcurl zlib libssh
CORE_SRC  := $(shell find core -name '*.c' 2>/dev/null | sort)
CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/crds_embed.o
CORE_LIB  := $(BUILD)/lib/libvrtcore.a
CORE_LIBS := $(call pc_libs,$(CORE_PKGS)) -ldl -lpthread -lm $(SANLIBS)

TOOLS     := $(notdir $(patsubst %/,%,$(dir $(wildcard tools/*/*.c))))
TOOLS     := $(sort $(TOOLS))
TOOL_BINS := $(TOOLS:%=$(BUILD)/bin/%)

PLUGINS     := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/*.c)))))
PLUGIN_SOS  := $(PLUGINS:%=$(BUILD)/plugins/%.so)

UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TESTPLUG_SRC := $(wildcard tests/plugins/*.c)
TESTPLUG_SOS := $(TESTPLUG_SRC:tests/plugins/%.c=$(BUILD)/tests/plugins/%.so)

PLUGIN_CFLAGS := -fPIC -fvisibility=hidden
PLUGIN_LDFLAGS := -shared -Wl,--no-undefined -Wl,-z,defs

.PHONY: all check install clean headers-check man
all: $(CORE_LIB) $(TOOL_BINS) $(PLUGIN_SOS) $(UNIT_BINS) $(TESTPLUG_SOS)

# Man pages, made from each binary's --help (tools/gen-man.sh).
man: $(TOOL_BINS)
	sh tools/gen-man.sh $(BUILD)/bin $(BUILD)/man

# --- core --------------------------------------------------------------
$(BUILD)/obj/core/%.o: core/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(call pc_cflags,$(CORE_PKGS)) -c $< -o $@

# CRDs are compiled in, so the manager needs no files beside it.
$(BUILD)/gen/crds_embed.c: $(wildcard crds/*.yaml) tools/embed-crds.sh
	@mkdir -p $(@D)
	sh tools/embed-crds.sh crds $@

$(BUILD)/obj/gen/crds_embed.o: $(BUILD)/gen/crds_embed.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(OPT) $(SANFLAGS) -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# --- tools: one directory, one binary ------------------------------------
define tool_rule
$(1)_SRC := $$(wildcard tools/$(1)/*.c)
$(1)_OBJ := $$($(1)_SRC:%.c=$(BUILD)/obj/%.o)
$(BUILD)/obj/tools/$(1)/%.o: tools/$(1)/%.c
	@mkdir -p $$(@D)
	$$(CC) $$(BASE_CFLAGS) $$(call pc_cflags,$$($(1)_PKGS) $$(CORE_PKGS)) -c $$< -o $$@
$(BUILD)/bin/$(1): $$($(1)_OBJ) $(CORE_LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(BASE_LDFLAGS) -o $$@ $$($(1)_OBJ) $(CORE_LIB) $$($(1)_LIBS) $$(call pc_libs,$$($(1)_PKGS)) $$(CORE_LIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# --- plugins: one directory, one .so --------------------------------------
define plugin_rule
$(1)_PSRC := $$(wildcard plugins/$(1)/*.c)
$(1)_POBJ := $$($(1)_PSRC:%.c=$(BUILD)/obj/%.o)
$(BUILD)/obj/plugins/$(1)/%.o: plugins/$(1)/%.c
	@mkdir -p $$(@D)
	$$(CC) $$(BASE_CFLAGS) $(PLUGIN_CFLAGS) $$(call pc_cflags,$$($(1)_PKGS)) -c $$< -o $$@
$(BUILD)/plugins/$(1).so: $$($(1)_POBJ)
	@mkdir -p $$(@D)
	$$(CC) $$(BASE_LDFLAGS) $(PLUGIN_LDFLAGS) -o $$@ $$($(1)_POBJ) $$($(1)_LIBS) $$(call pc_libs,$$($(1)_PKGS))
endef
$(foreach p,$(PLUGINS),$(eval $(call plugin_rule,$(p))))

# --- tests ---------------------------------------------------------------
# A test may need more packages than the core: TEST_<name>_PKGS, set in a
# module.mk (e.g. TEST_libvirt_xml_PKGS := libxml-2.0).
$(BUILD)/obj/tests/unit/test_%.o: tests/unit/test_%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Icore $(call pc_cflags,cmocka $(CORE_PKGS) $(TEST_$*_PKGS)) -c $< -o $@

$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(BASE_LDFLAGS) -rdynamic -o $@ $< $(CORE_LIB) $(call pc_libs,cmocka $(TEST_$*_PKGS)) $(CORE_LIBS)

# Broken plugins are built like real ones; some leave symbols undefined on
# purpose, so no -z defs here.
$(BUILD)/tests/plugins/%.so: tests/plugins/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(PLUGIN_CFLAGS) $(BASE_LDFLAGS) -shared -o $@ $<

check: all
	BUILD=$(BUILD) SANITIZER=$(SANITIZER) sh tests/run.sh

# The public headers stand alone, in C11 pedantic and in C++.
headers-check:
	@for h in abi/virtrigaud/*.h; do \
	  printf '#include <virtrigaud/%s>\n' $$(basename $$h) | \
	    $(CC) -std=c11 -pedantic -Wall -Wextra -Werror -Iabi -x c -c - -o /dev/null && \
	  printf '#include <virtrigaud/%s>\n' $$(basename $$h) | \
	    c++ -std=c++11 -pedantic -Wall -Wextra -Werror -Iabi -x c++ -c - -o /dev/null || exit 1; \
	done; echo "headers: standalone C11 and C++ OK"

install: all man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include/virtrigaud \
	  $(DESTDIR)$(PREFIX)/lib/virtrigaud/plugins $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 $(BUILD)/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0755 $(TOOL_BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 abi/virtrigaud/*.h $(DESTDIR)$(PREFIX)/include/virtrigaud/
	install -m 0755 $(PLUGIN_SOS) $(DESTDIR)$(PREFIX)/lib/virtrigaud/plugins/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/tests/plugins -name '*.d' 2>/dev/null)

# tests/fuzz/module.mk - libFuzzer targets for the parsers of untrusted
# input (tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/corpus/NAME/).
#
#   make fuzz-build            build every target into $(BUILD)/fuzz/
#   make fuzz                  build, then run each for FUZZ_SECONDS (600)
#   make fuzz FUZZ_SECONDS=60 FUZZ_TARGETS=cron
#
# The targets need clang: the core is compiled again with clang and
# -fsanitize=fuzzer-no-link,address,undefined into $(BUILD)/fuzz/ (the
# normal build's objects are gcc's and carry no coverage).  Plugin code is
# hidden inside its .so, so a target names the plugin files it needs in
# FUZZ_NAME_SRCS (compiled into the target) and their libraries in
# FUZZ_NAME_PKGS.  New findings land in $(BUILD)/fuzz/findings/NAME/.

FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 600
FUZZ_DIR      := $(BUILD)/fuzz
FUZZ_ALL      := $(sort $(patsubst tests/fuzz/fuzz_%.c,%,\
                   $(wildcard tests/fuzz/fuzz_*.c)))
# A target whose parser is not in this tree (yet) is left out.
FUZZ_NEEDS_vsphere_vmdk := plugins/vsphere/vs_vmdk.c
FUZZ_NEEDS_remote_wire := core/plugin/remote_wire.c \
    core/plugin/remote_codec.c core/plugin/remote_tls.c include/vrt/remote.h
FUZZ_ALL      := $(foreach t,$(FUZZ_ALL),$(if $(filter-out \
                   $(wildcard $(FUZZ_NEEDS_$(t))),$(FUZZ_NEEDS_$(t))),,$(t)))
FUZZ_TARGETS  ?= $(FUZZ_ALL)
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all \
                 -fno-omit-frame-pointer
FUZZ_WARN     := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
                 -Wmissing-prototypes -Wno-unused-parameter
FUZZ_CFLAGS   := -std=c11 -D_GNU_SOURCE -g -O1 $(FUZZ_WARN) $(FUZZ_SAN) \
                 -Iabi -Iinclude
FUZZ_CORE_PKGS := libcjson yaml-0.1 sqlite3 libmicrohttpd openssl libcurl zlib
# Only the parts of the core the targets link (the rest is not compiled,
# so work in progress elsewhere in core/ cannot break the fuzz build).
FUZZ_CORE_SRC := $(sort $(wildcard core/util/*.c core/pipeline/*.c \
                 core/apiserver/schema*.c) core/apiserver/patch.c \
                 core/apiserver/selector.c core/apiserver/protobuf.c \
                 core/apiserver/route.c core/apiserver/resource.c \
                 core/apiserver/event_view.c \
                 core/kube/config.c \
                 core/plugin/error.c core/controller/spec.c)
FUZZ_CORE_OBJ := $(FUZZ_CORE_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_CORE_LIB := $(FUZZ_DIR)/libvrtcore-fuzz.a

# Plugin sources and libraries per target.
FUZZ_libvirt_xml_SRCS := plugins/libvirt/lv_domain_xml.c \
    plugins/libvirt/lv_facts.c plugins/libvirt/lv_plan.c \
    plugins/libvirt/lv_res_xml.c plugins/libvirt/lv_spec.c \
    plugins/libvirt/lv_util.c plugins/libvirt/lv_xml.c
FUZZ_libvirt_xml_PKGS := libxml-2.0 libcrypto
FUZZ_libvirt_xml_DEPS := $(wildcard plugins/libvirt/*.h)
FUZZ_vsphere_soap_PKGS := libxml-2.0 libcurl openssl
# fuzz_vsphere_soap.c includes the plugin files whose static readers it
# calls; the rest of the plugin is compiled beside it.
FUZZ_vsphere_soap_INCL := $(addprefix plugins/vsphere/,vs_describe.c \
    vs_hosts.c vs_ops.c vs_pc.c vs_soap.c vs_task.c vs_vm.c)
FUZZ_vsphere_soap_SRCS := $(filter-out $(FUZZ_vsphere_soap_INCL),\
    $(wildcard plugins/vsphere/*.c))
FUZZ_vsphere_soap_DEPS := $(FUZZ_vsphere_soap_INCL) \
    $(wildcard plugins/vsphere/*.h)
FUZZ_vsphere_vmdk_SRCS := $(wildcard plugins/vsphere/*.c)
FUZZ_vsphere_vmdk_PKGS := libxml-2.0 libcurl openssl
FUZZ_vsphere_vmdk_DEPS := $(wildcard plugins/vsphere/*.h)
FUZZ_remote_wire_SRCS := core/plugin/remote_wire.c \
    core/plugin/remote_codec.c core/plugin/remote_tls.c core/plugin/host.c
FUZZ_proxmox_json_SRCS := $(filter-out plugins/proxmox/pve_http.c,\
    $(wildcard plugins/proxmox/*.c))
FUZZ_proxmox_json_PKGS := libcurl openssl
FUZZ_proxmox_json_DEPS := $(wildcard plugins/proxmox/*.h)
FUZZ_remote_wire_DEPS := $(wildcard include/vrt/remote.h \
    core/plugin/remote_internal.h)

.PHONY: fuzz fuzz-build fuzz-list
fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

fuzz-list:
	@echo $(FUZZ_ALL)

# Each target: a fresh working corpus seeded from the committed one, then
# libFuzzer's final statistics (execs/s, cov:, ft:) on one line.
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_DIR)/work/$$t $(FUZZ_DIR)/findings/$$t; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	    $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	        -max_len=65536 -timeout=30 -rss_limit_mb=2048 \
	        -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_DIR)/findings/$$t/ \
	        $(FUZZ_DIR)/work/$$t tests/fuzz/corpus/$$t \
	        > $(FUZZ_DIR)/fuzz_$$t.log 2>&1; \
	    rc=$$?; \
	    awk -v t=$$t -v rc=$$rc ' \
	        /^#[0-9]+[[:space:]]+(DONE|INITED)/ { \
	            for (i = 1; i <= NF; i++) { \
	                if ($$i == "cov:") cov = $$(i + 1); \
	                if ($$i == "ft:") ft = $$(i + 1); } } \
	        /^stat::number_of_executed_units:/ { runs = $$2 } \
	        /^stat::average_exec_per_sec:/ { eps = $$2 } \
	        END { printf "fuzz: %s exit %d: %s runs, %s execs/s, " \
	              "cov: %s ft: %s\n", t, rc, runs, eps, cov, ft }' \
	        $(FUZZ_DIR)/fuzz_$$t.log; \
	    if [ $$rc -ne 0 ]; then \
	        tail -n 40 $(FUZZ_DIR)/fuzz_$$t.log; fail=1; \
	    fi; \
	done; exit $${fail:-0}

$(FUZZ_DIR)/obj/core/%.o: core/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -fsanitize=fuzzer-no-link \
	    $(call pc_cflags,$(FUZZ_CORE_PKGS)) -c $< -o $@

$(FUZZ_CORE_LIB): $(FUZZ_CORE_OBJ)
	@rm -f $@ && ar rcs $@ $^

define fuzz_rule
$(FUZZ_DIR)/fuzz_$(1): tests/fuzz/fuzz_$(1).c $$(FUZZ_$(1)_SRCS) \
                       $$(FUZZ_$(1)_DEPS) $(FUZZ_CORE_LIB)
	@mkdir -p $$(@D)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -fsanitize=fuzzer \
	    $$(call pc_cflags,$$(FUZZ_$(1)_PKGS) $$(FUZZ_CORE_PKGS)) \
	    -o $$@ tests/fuzz/fuzz_$(1).c $$(FUZZ_$(1)_SRCS) \
	    $(FUZZ_CORE_LIB) \
	    $$(call pc_libs,$$(FUZZ_$(1)_PKGS) $$(FUZZ_CORE_PKGS)) \
	    -ldl -lpthread -lm
endef
$(foreach t,$(FUZZ_ALL),$(eval $(call fuzz_rule,$(t))))

-include $(FUZZ_CORE_OBJ:.o=.d)

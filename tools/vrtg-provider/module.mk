# vrtg-provider: scaffolds and verifies out-of-tree provider plugins.  The
# files `init` writes live in tools/vrtg-provider/templates/*.in and are
# compiled in (embed-templates.sh), so the binary needs nothing beside it.
VRTG_PROVIDER_TPL := $(wildcard tools/vrtg-provider/templates/*.in)
VRTG_PROVIDER_GEN := $(BUILD)/gen/vrtg_provider_templates.c
VRTG_PROVIDER_GEN_OBJ := $(BUILD)/obj/gen/vrtg_provider_templates.o
vrtg-provider_LIBS := $(VRTG_PROVIDER_GEN_OBJ)

$(VRTG_PROVIDER_GEN): $(VRTG_PROVIDER_TPL) tools/vrtg-provider/embed-templates.sh
	@mkdir -p $(@D)
	sh tools/vrtg-provider/embed-templates.sh tools/vrtg-provider/templates $@

$(VRTG_PROVIDER_GEN_OBJ): $(VRTG_PROVIDER_GEN) tools/vrtg-provider/templates.h
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(OPT) $(SANFLAGS) -Itools/vrtg-provider -c $< -o $@

$(BUILD)/bin/vrtg-provider: $(VRTG_PROVIDER_GEN_OBJ)

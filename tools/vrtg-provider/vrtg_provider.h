/*
 * vrtg_provider.h - shared declarations of the vrtg-provider tool:
 * `init` scaffolds an out-of-tree provider plugin, `verify` runs vcts on a
 * plugin and prints a report by capability.
 *
 * Exit codes, for scripts: 0 success, 1 the check failed (a vcts test
 * failed, or init refused the name or directory), 2 usage error or a
 * plugin that would not load.
 */
#ifndef VRTG_PROVIDER_H
#define VRTG_PROVIDER_H

#include <stddef.h>

#define VRTG_PROVIDER_VERSION "0.1.0"

#define VRTG_EXIT_OK 0
#define VRTG_EXIT_FAILED 1
#define VRTG_EXIT_USAGE 2

/* The longest provider name the ABI allows ([a-z0-9_-]{1,31}). */
#define VRTG_NAME_MAX 31

int vrtg_init_main(int argc, char **argv);
int vrtg_verify_main(int argc, char **argv);

/* Checks a plugin name for init: lowercase letters, digits, '-' and '_',
 * starting with a letter, at most VRTG_NAME_MAX long.  Returns 0 when it
 * is fine, else -1 with a whole sentence in `why`. */
int vrtg_name_check(char *why, size_t why_size, const char *name);

/* Writes into `out` the directory that holds this executable, or "" when
 * it cannot be found. */
void vrtg_self_dir(char *out, size_t size);

#endif

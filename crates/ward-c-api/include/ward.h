// ward's extensions to the standard WebAssembly C API (wasm.h): WASI with preopened directories,
// fuel, epoch interruption, resource limits and error messages. Include this instead of wasm.h; link with -lward.

#ifndef WARD_H
#define WARD_H

#include "wasm.h"

#ifdef __cplusplus
extern "C" {
#endif

// Configuration

// Meter execution with fuel (each store starts with 0; see ward_store_set_fuel). Running out traps.
void ward_config_consume_fuel(wasm_config_t*, bool enable);
// Check the store's epoch deadline at function entries and loop headers.
void ward_config_epoch_interruption(wasm_config_t*, bool enable);

// Advances the engine's epoch by one; callable from any thread.
void ward_engine_increment_epoch(wasm_engine_t*);

// Fuel and epochs

// Sets the fuel left; false if the engine does not consume fuel.
bool ward_store_set_fuel(wasm_store_t*, uint64_t fuel);
// Writes the fuel left to *out; false if the engine does not consume fuel.
bool ward_store_get_fuel(const wasm_store_t*, uint64_t* out);
// Running code traps once the engine's epoch is `ticks` past the current one.
void ward_store_set_epoch_deadline(wasm_store_t*, uint64_t ticks);

// Limits

// Sets the store's resource limits, best before it holds memories or tables: most bytes any one
// memory may grow to, most elements any one table may have, and most instances, tables and
// memories in the store (ward counts these when instantiating). SIZE_MAX means no limit. A refused memory.grow returns -1 in Wasm (and
// wasm_memory_grow returns false).
void ward_store_set_limits(wasm_store_t*, size_t memory_size, size_t table_elements,
  size_t instances, size_t tables, size_t memories);

// Modules with error messages

// As wasm_module_new, but on failure returns null and writes the reason (NUL-terminated, owned by
// the caller) to *error_out if it is not null.
wasm_module_t* ward_module_new(
  wasm_store_t*, const wasm_byte_vec_t* binary, wasm_message_t* error_out);

// WASI (preview1: wasi_snapshot_preview1, and wasi_unstable)

typedef struct ward_wasi_config_t ward_wasi_config_t;

// A configuration granting nothing: no arguments, environment, stdio or directories.
ward_wasi_config_t* ward_wasi_config_new(void);
void ward_wasi_config_delete(ward_wasi_config_t*);
// Appends an argument (argv[0] first). False if it is not valid UTF-8 or holds a NUL.
bool ward_wasi_config_arg(ward_wasi_config_t*, const char* arg);
// Sets an environment variable. False if invalid.
bool ward_wasi_config_env(ward_wasi_config_t*, const char* key, const char* value);
// Connects the guest's stdin, stdout and stderr to the host process's.
void ward_wasi_config_inherit_stdio(ward_wasi_config_t*);
// Grants the host directory `host_path` to the guest as `guest_path` (e.g. "/data" or "."),
// read-write or read-only (every change refused). False if the directory cannot be opened.
bool ward_wasi_config_preopen_dir(
  ward_wasi_config_t*, const char* host_path, const char* guest_path, bool read_only);

// Gives the store a WASI context made from `config`, which is consumed.
void ward_store_set_wasi(wasm_store_t*, ward_wasi_config_t* config);

// Writes to *out (owned by the caller) an imports vector for `module` in its import order: WASI
// functions (bound to the store's WASI context) for its WASI imports and null for the others, for
// the host to fill in before wasm_instance_new. Returns the number of null entries.
size_t ward_wasi_imports(wasm_store_t*, const wasm_module_t*, wasm_extern_vec_t* out);

// Whether the trap is a WASI proc_exit; if so writes the exit status to *status.
bool ward_trap_exit_status(const wasm_trap_t*, int* status);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // WARD_H

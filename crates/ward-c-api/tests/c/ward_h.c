// ward.h: runs a WASI module with a read-write and a read-only preopened directory, a non-WASI
// import filled in by the host, and proc_exit; then module error messages, fuel, epochs and
// limits. Run by tests/examples.rs as `ward_h RW_DIR RO_DIR` from a directory holding wasi.wasm
// and spin.wasm.
// Prints what it observes, one line per step, for the test to compare.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward.h"

static wasm_byte_vec_t read_file(const char* name) {
  wasm_byte_vec_t binary;
  FILE* file = fopen(name, "rb");
  if (!file) {
    printf("cannot open %s\n", name);
    exit(2);
  }
  fseek(file, 0L, SEEK_END);
  size_t size = ftell(file);
  fseek(file, 0L, SEEK_SET);
  wasm_byte_vec_new_uninitialized(&binary, size);
  if (fread(binary.data, size, 1, file) != 1) exit(2);
  fclose(file);
  return binary;
}

// host.report(errno): prints what the guest's file write returned.
static wasm_trap_t* report(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  printf("guest write: %s\n", args->data[0].of.i32 == 0 ? "ok" : "refused");
  return NULL;
}

int main(int argc, const char* argv[]) {
  if (argc != 3) return 2;
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);

  ward_wasi_config_t* wasi = ward_wasi_config_new();
  ward_wasi_config_arg(wasi, "wasi");
  if (!ward_wasi_config_preopen_dir(wasi, argv[1], "/rw", false) ||
      !ward_wasi_config_preopen_dir(wasi, argv[2], "/ro", true)) {
    printf("preopen failed\n");
    return 1;
  }
  printf("preopen missing dir: %s\n",
    ward_wasi_config_preopen_dir(wasi, "/nonexistent/ward", "/x", false) ? "granted" : "refused");
  ward_store_set_wasi(store, wasi);

  wasm_byte_vec_t binary = read_file("wasi.wasm");
  wasm_module_t* module = ward_module_new(store, &binary, NULL);
  wasm_byte_vec_delete(&binary);

  wasm_extern_vec_t imports;
  size_t missing = ward_wasi_imports(store, module, &imports);
  printf("imports: %zu, to fill in: %zu\n", imports.size, missing);
  wasm_functype_t* report_type = wasm_functype_new_1_0(wasm_valtype_new_i32());
  wasm_func_t* report_func = wasm_func_new(store, report_type, report);
  wasm_functype_delete(report_type);
  for (size_t i = 0; i < imports.size; ++i) {
    if (!imports.data[i]) imports.data[i] = wasm_func_as_extern(report_func);
  }

  wasm_trap_t* trap = NULL;
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, &trap);
  if (!instance) {
    printf("instantiation failed\n");
    return 1;
  }
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_func_t* start = NULL;
  for (size_t i = 0; i < exports.size; ++i) {
    if (wasm_extern_kind(exports.data[i]) == WASM_EXTERN_FUNC) start = wasm_extern_as_func(exports.data[i]);
  }
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  trap = wasm_func_call(start, &none, &none);
  int status = -1;
  bool exited = trap && ward_trap_exit_status(trap, &status);
  printf("exit: %s %d\n", exited ? "proc_exit" : "no", status);
  if (trap) wasm_trap_delete(trap);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  // The slots filled with report_func are handles the vector now owns too; delete the vector's
  // WASI functions and our own handle separately.
  for (size_t i = 0; i < imports.size; ++i) {
    if (imports.data[i] == wasm_func_as_extern(report_func)) imports.data[i] = NULL;
  }
  wasm_extern_vec_delete(&imports);
  wasm_func_delete(report_func);
  wasm_module_delete(module);

  // Error messages.
  wasm_byte_vec_t junk;
  wasm_byte_vec_new(&junk, 8, "\0asm\x02\0\0\0");
  wasm_message_t error;
  wasm_module_t* bad = ward_module_new(store, &junk, &error);
  printf("bad module: %s, message: %s\n", bad ? "accepted" : "refused",
    error.size > 1 && error.data[error.size - 1] == '\0' ? "yes" : "no");
  wasm_byte_vec_delete(&error);
  wasm_byte_vec_delete(&junk);
  wasm_store_delete(store);

  // Fuel: an infinite loop stops when the fuel runs out.
  uint64_t fuel = 1;
  printf("fuel without consume_fuel: %s\n", ward_store_set_fuel(store = wasm_store_new(engine), 10) ? "set" : "refused");
  wasm_store_delete(store);
  wasm_config_t* config = wasm_config_new();
  ward_config_consume_fuel(config, true);
  wasm_engine_t* fuel_engine = wasm_engine_new_with_config(config);
  wasm_store_t* fuel_store = wasm_store_new(fuel_engine);
  printf("set fuel: %s\n", ward_store_set_fuel(fuel_store, 10000) ? "ok" : "refused");
  binary = read_file("spin.wasm");
  wasm_module_t* spin_module = wasm_module_new(fuel_store, &binary);
  wasm_byte_vec_delete(&binary);
  wasm_extern_vec_t no_imports = WASM_EMPTY_VEC;
  wasm_instance_t* spin_instance = wasm_instance_new(fuel_store, spin_module, &no_imports, NULL);
  wasm_instance_exports(spin_instance, &exports);
  trap = wasm_func_call(wasm_extern_as_func(exports.data[0]), &none, &none);
  wasm_message_t message;
  wasm_trap_message(trap, &message);
  printf("spin: %s\n", message.data);
  ward_store_get_fuel(fuel_store, &fuel);
  printf("fuel left: %llu\n", (unsigned long long)fuel);
  wasm_name_delete(&message);
  wasm_trap_delete(trap);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(spin_instance);
  wasm_module_delete(spin_module);
  wasm_store_delete(fuel_store);
  wasm_engine_delete(fuel_engine);

  // Epochs: with the deadline one tick away and the epoch advanced, the loop is interrupted.
  config = wasm_config_new();
  ward_config_epoch_interruption(config, true);
  wasm_engine_t* epoch_engine = wasm_engine_new_with_config(config);
  wasm_store_t* epoch_store = wasm_store_new(epoch_engine);
  ward_store_set_epoch_deadline(epoch_store, 1);
  ward_engine_increment_epoch(epoch_engine);
  binary = read_file("spin.wasm");
  spin_module = wasm_module_new(epoch_store, &binary);
  wasm_byte_vec_delete(&binary);
  spin_instance = wasm_instance_new(epoch_store, spin_module, &no_imports, NULL);
  wasm_instance_exports(spin_instance, &exports);
  trap = wasm_func_call(wasm_extern_as_func(exports.data[0]), &none, &none);
  wasm_trap_message(trap, &message);
  printf("epoch: %s\n", message.data);
  wasm_name_delete(&message);
  wasm_trap_delete(trap);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(spin_instance);
  wasm_module_delete(spin_module);
  wasm_store_delete(epoch_store);
  wasm_engine_delete(epoch_engine);

  // Limits: a memory may grow to two pages and no further.
  wasm_store_t* limited = wasm_store_new(engine);
  ward_store_set_limits(limited, 2 * 65536, SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX);
  wasm_limits_t memory_limits = {1, 10};
  wasm_memorytype_t* memory_type = wasm_memorytype_new(&memory_limits);
  wasm_memory_t* memory = wasm_memory_new(limited, memory_type);
  bool grew_to_2 = wasm_memory_grow(memory, 1);
  bool grew_to_3 = wasm_memory_grow(memory, 1);
  printf("limits: grow to 2 pages %s, to 3 %s\n", grew_to_2 ? "ok" : "refused",
    grew_to_3 ? "ok" : "refused");
  wasm_memorytype_delete(memory_type);
  wasm_memory_delete(memory);
  wasm_store_delete(limited);
  wasm_engine_delete(engine);
  printf("done\n");
  return 0;
}

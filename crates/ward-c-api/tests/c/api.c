// Checks of wasm.h behaviour the upstream examples do not cover: callbacks re-entering the API,
// host references round-tripping through Wasm, host info and its finalizers, wasm_*_same,
// function references, cross-store and type errors, null arguments, and sharing a module with
// another thread. Run by tests/examples.rs from a directory holding api.wasm and seven.wasm
// (written from the text in that file). Prints one line per failed check and exits 1 if any did.

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm.h"

static int failures = 0;

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      printf("FAILED line %d: %s\n", __LINE__, #cond);                \
      failures++;                                                     \
    }                                                                 \
  } while (0)

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

static int finalized[8];
static void count_finalize(void* data) { finalized[(intptr_t)data]++; }
static void count_finalize_env(void* env) { finalized[5]++; }

// Exports of api.wasm, in order.
enum { G, MEM, TAB, DOUBLE, CALL_REENTER, CALL_FAIL, ID, STORE_BYTE, CALL_TABLE, GET_FUNCREF, N_EXPORTS };

typedef struct {
  wasm_extern_vec_t exports;
} reenter_env;

// host.reenter(x): calls the export `double` (re-entering the store), reads and sets the global,
// writes the result into memory, and returns double(x) + old global.
static wasm_trap_t* reenter(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  reenter_env* e = env;
  wasm_val_t as[1] = {WASM_I32_VAL(args->data[0].of.i32)};
  wasm_val_t rs[1] = {WASM_INIT_VAL};
  wasm_val_vec_t a = WASM_ARRAY_VEC(as), r = WASM_ARRAY_VEC(rs);
  wasm_trap_t* trap = wasm_func_call(wasm_extern_as_func(e->exports.data[DOUBLE]), &a, &r);
  if (trap) return trap;
  wasm_global_t* g = wasm_extern_as_global(e->exports.data[G]);
  wasm_val_t old;
  wasm_global_get(g, &old);
  wasm_global_set(g, &rs[0]);
  wasm_memory_data(wasm_extern_as_memory(e->exports.data[MEM]))[0] = (char)rs[0].of.i32;
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = rs[0].of.i32 + old.of.i32;
  return NULL;
}

static wasm_trap_t* fail(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  wasm_name_t message;
  wasm_name_new_from_string_nt(&message, "host failure");
  wasm_trap_t* trap = wasm_trap_new((wasm_store_t*)env, &message);
  wasm_name_delete(&message);
  return trap;
}

static wasm_trap_t* neg(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = -args->data[0].of.i32;
  return NULL;
}

static int32_t call_i32(const wasm_func_t* f, wasm_val_t* args, size_t n, wasm_trap_t** trap) {
  wasm_val_t rs[1] = {WASM_INIT_VAL};
  wasm_val_vec_t a = {n, args}, r = WASM_ARRAY_VEC(rs);
  *trap = wasm_func_call(f, &a, &r);
  return rs[0].of.i32;
}

static bool message_is(wasm_trap_t* trap, const char* expected) {
  wasm_message_t message;
  wasm_trap_message(trap, &message);
  bool same = message.size == strlen(expected) + 1 && memcmp(message.data, expected, message.size) == 0;
  wasm_name_delete(&message);
  return same;
}

static wasm_engine_t* engine;
static wasm_shared_module_t* shared_seven;

static void* run_seven_on_thread(void* unused) {
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = wasm_module_obtain(store, shared_seven);
  intptr_t result = -1;
  if (module) {
    wasm_extern_vec_t imports = WASM_EMPTY_VEC;
    wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    wasm_trap_t* trap;
    result = call_i32(wasm_extern_as_func(exports.data[0]), NULL, 0, &trap);
    if (trap) result = -2;
    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
    wasm_module_delete(module);
  }
  wasm_store_delete(store);
  return (void*)result;
}

int main(void) {
  engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_byte_vec_t binary = read_file("api.wasm");

  // Invalid modules are rejected without crashing.
  wasm_byte_vec_t garbage;
  wasm_byte_vec_new(&garbage, 4, "\0asX");
  CHECK(!wasm_module_validate(store, &garbage));
  CHECK(wasm_module_new(store, &garbage) == NULL);
  wasm_byte_vec_delete(&garbage);
  CHECK(wasm_module_validate(store, &binary));

  wasm_module_t* module = wasm_module_new(store, &binary);
  CHECK(module != NULL);

  // Import and export types.
  wasm_importtype_vec_t import_types;
  wasm_module_imports(module, &import_types);
  CHECK(import_types.size == 2);
  const wasm_name_t* import_name = wasm_importtype_name(import_types.data[0]);
  CHECK(import_name->size == 7 && memcmp(import_name->data, "reenter", 7) == 0);
  CHECK(wasm_externtype_kind(wasm_importtype_type(import_types.data[1])) == WASM_EXTERN_FUNC);
  wasm_importtype_vec_delete(&import_types);
  wasm_exporttype_vec_t export_types;
  wasm_module_exports(module, &export_types);
  CHECK(export_types.size == N_EXPORTS);
  CHECK(wasm_externtype_kind(wasm_exporttype_type(export_types.data[TAB])) == WASM_EXTERN_TABLE);
  wasm_exporttype_vec_delete(&export_types);

  // Missing imports: no instance, and a trap saying why.
  wasm_extern_vec_t no_imports = WASM_EMPTY_VEC;
  wasm_trap_t* link_trap = NULL;
  CHECK(wasm_instance_new(store, module, &no_imports, &link_trap) == NULL);
  CHECK(link_trap != NULL);
  wasm_trap_delete(link_trap);

  // Host functions: `reenter` (its environment is filled in below) and `fail`.
  reenter_env env;
  wasm_functype_t* reenter_type = wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
  wasm_func_t* reenter_func = wasm_func_new_with_env(store, reenter_type, reenter, &env, count_finalize_env);
  wasm_functype_t* fail_type = wasm_functype_new_0_0();
  wasm_func_t* fail_func = wasm_func_new_with_env(store, fail_type, fail, store, NULL);
  CHECK(wasm_func_param_arity(reenter_func) == 1 && wasm_func_result_arity(reenter_func) == 1);

  wasm_extern_t* imports_array[] = {wasm_func_as_extern(reenter_func), wasm_func_as_extern(fail_func)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(imports_array);
  wasm_trap_t* trap = (wasm_trap_t*)1;
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, &trap);
  CHECK(instance != NULL);
  CHECK(trap == NULL);
  wasm_instance_exports(instance, &env.exports);
  CHECK(env.exports.size == N_EXPORTS);
  wasm_extern_t** ex = env.exports.data;

  // A callback re-entering the store: call_reenter(10) = double(10) + 5; the global is now 20,
  // and so is the first byte of memory.
  int32_t r = call_i32(wasm_extern_as_func(ex[CALL_REENTER]), (wasm_val_t[]){WASM_I32_VAL(10)}, 1, &trap);
  CHECK(trap == NULL && r == 25);
  wasm_val_t g;
  wasm_global_get(wasm_extern_as_global(ex[G]), &g);
  CHECK(g.kind == WASM_I32 && g.of.i32 == 20);
  CHECK(wasm_memory_data(wasm_extern_as_memory(ex[MEM]))[0] == 20);

  // A trap from a callback comes out of the call with its message.
  call_i32(wasm_extern_as_func(ex[CALL_FAIL]), NULL, 0, &trap);
  CHECK(trap != NULL && message_is(trap, "host failure"));
  wasm_trap_delete(trap);

  // Calls with the wrong argument count or kind trap instead of misbehaving; so does a null func.
  call_i32(wasm_extern_as_func(ex[DOUBLE]), NULL, 0, &trap);
  CHECK(trap != NULL);
  wasm_trap_delete(trap);
  call_i32(wasm_extern_as_func(ex[DOUBLE]), (wasm_val_t[]){WASM_F64_VAL(1.0)}, 1, &trap);
  CHECK(trap != NULL);
  wasm_trap_delete(trap);
  call_i32(NULL, NULL, 0, &trap);
  CHECK(trap != NULL);
  wasm_trap_delete(trap);

  // A wasm trap carries a frame in the called function's module.
  call_i32(wasm_extern_as_func(ex[STORE_BYTE]), (wasm_val_t[]){WASM_I32_VAL(0x10000), WASM_I32_VAL(1)}, 2, &trap);
  CHECK(trap != NULL && message_is(trap, "wasm trap: out of bounds memory access"));
  wasm_frame_t* origin = wasm_trap_origin(trap);
  CHECK(origin != NULL && wasm_frame_func_index(origin) == 6);
  CHECK(origin != NULL && wasm_instance_same(wasm_frame_instance(origin), instance));
  wasm_frame_delete(origin);
  wasm_trap_delete(trap);

  // Foreign objects round-trip through Wasm as the same object, with their host info.
  wasm_foreign_t* foreign = wasm_foreign_new(store);
  wasm_foreign_set_host_info_with_finalizer(foreign, (void*)1, count_finalize);
  wasm_val_t id_args[1] = {WASM_REF_VAL(wasm_foreign_as_ref(foreign))};
  wasm_val_t id_results[1] = {WASM_INIT_VAL};
  wasm_val_vec_t ia = WASM_ARRAY_VEC(id_args), ir = WASM_ARRAY_VEC(id_results);
  CHECK(wasm_func_call(wasm_extern_as_func(ex[ID]), &ia, &ir) == NULL);
  CHECK(id_results[0].kind == WASM_EXTERNREF && id_results[0].of.ref != NULL);
  CHECK(wasm_ref_same(id_results[0].of.ref, wasm_foreign_as_ref(foreign)));
  CHECK(wasm_ref_get_host_info(id_results[0].of.ref) == (void*)1);
  CHECK(wasm_ref_as_foreign(id_results[0].of.ref) != NULL);
  wasm_val_delete(&id_results[0]);
  wasm_foreign_delete(foreign);
  // Wasm may still hold the reference, so the store keeps the object until it goes.
  CHECK(finalized[1] == 0);

  // Function references: from Wasm, callable; into a table, from this store only.
  wasm_val_t fr[1] = {WASM_INIT_VAL};
  wasm_val_vec_t no_args = WASM_EMPTY_VEC, fr_vec = WASM_ARRAY_VEC(fr);
  CHECK(wasm_func_call(wasm_extern_as_func(ex[GET_FUNCREF]), &no_args, &fr_vec) == NULL);
  CHECK(fr[0].kind == WASM_FUNCREF && fr[0].of.ref != NULL);
  wasm_func_t* doubled = wasm_ref_as_func(fr[0].of.ref);
  CHECK(doubled != NULL && wasm_func_same(doubled, wasm_extern_as_func(ex[DOUBLE])));
  CHECK(call_i32(doubled, (wasm_val_t[]){WASM_I32_VAL(21)}, 1, &trap) == 42 && trap == NULL);
  wasm_val_delete(&fr[0]);

  wasm_table_t* table = wasm_extern_as_table(ex[TAB]);
  wasm_functype_t* neg_type = wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
  wasm_func_t* neg_func = wasm_func_new(store, neg_type, neg);
  CHECK(wasm_table_set(table, 0, wasm_func_as_ref(neg_func)));
  CHECK(call_i32(wasm_extern_as_func(ex[CALL_TABLE]), (wasm_val_t[]){WASM_I32_VAL(7), WASM_I32_VAL(0)}, 2, &trap) == -7);
  CHECK(trap == NULL);
  wasm_store_t* other_store = wasm_store_new(engine);
  wasm_func_t* foreign_func = wasm_func_new(other_store, neg_type, neg);
  CHECK(!wasm_table_set(table, 1, wasm_func_as_ref(foreign_func)));
  wasm_func_delete(foreign_func);
  wasm_store_delete(other_store);
  wasm_functype_delete(neg_type);
  wasm_func_delete(neg_func);

  // Host info belongs to the object: another handle sees it; it is finalized with the store.
  wasm_extern_vec_t again;
  wasm_instance_exports(instance, &again);
  CHECK(wasm_func_same(wasm_extern_as_func(again.data[DOUBLE]), wasm_extern_as_func(ex[DOUBLE])));
  CHECK(!wasm_func_same(wasm_extern_as_func(again.data[DOUBLE]), wasm_extern_as_func(ex[CALL_FAIL])));
  wasm_func_set_host_info_with_finalizer(wasm_extern_as_func(ex[DOUBLE]), (void*)2, count_finalize);
  CHECK(wasm_func_get_host_info(wasm_extern_as_func(again.data[DOUBLE])) == (void*)2);
  CHECK(wasm_extern_get_host_info(again.data[DOUBLE]) == (void*)2);
  wasm_extern_vec_delete(&again);

  // Traps and modules are finalized with their last handle.
  wasm_name_t message;
  wasm_name_new_from_string(&message, "no terminator");
  wasm_trap_t* t1 = wasm_trap_new(store, &message);
  wasm_name_delete(&message);
  CHECK(message_is(t1, "no terminator"));
  wasm_trap_set_host_info_with_finalizer(t1, (void*)3, count_finalize);
  wasm_trap_t* t2 = wasm_trap_copy(t1);
  CHECK(wasm_trap_same(t1, t2));
  wasm_trap_delete(t1);
  CHECK(finalized[3] == 0);
  wasm_trap_delete(t2);
  CHECK(finalized[3] == 1);

  wasm_module_t* unused = wasm_module_new(store, &binary);
  wasm_module_set_host_info_with_finalizer(unused, (void*)4, count_finalize);
  CHECK(!wasm_module_same(unused, module));
  wasm_module_delete(unused);
  CHECK(finalized[4] == 1);

  // Deleting null handles and empty vectors is harmless.
  wasm_func_delete(NULL);
  wasm_val_vec_t empty = WASM_EMPTY_VEC;
  wasm_val_vec_delete(&empty);

  // A module shared with another thread runs in that thread's store.
  wasm_byte_vec_t seven_binary = read_file("seven.wasm");
  wasm_module_t* seven = wasm_module_new(store, &seven_binary);
  wasm_byte_vec_delete(&seven_binary);
  shared_seven = wasm_module_share(seven);
  wasm_module_delete(seven);
  pthread_t thread;
  void* thread_result;
  pthread_create(&thread, NULL, run_seven_on_thread, NULL);
  pthread_join(thread, &thread_result);
  CHECK((intptr_t)thread_result == 7);
  wasm_shared_module_delete(shared_seven);

  wasm_extern_vec_delete(&env.exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_func_delete(reenter_func);
  wasm_func_delete(fail_func);
  wasm_functype_delete(reenter_type);
  wasm_functype_delete(fail_type);
  wasm_byte_vec_delete(&binary);

  CHECK(finalized[1] == 0 && finalized[2] == 0 && finalized[5] == 0);
  wasm_store_delete(store);
  // The foreign object, the function's host info and the callback environment go with the store.
  CHECK(finalized[1] == 1);
  CHECK(finalized[2] == 1);
  CHECK(finalized[5] == 1);
  wasm_engine_delete(engine);

  if (failures) return 1;
  printf("api: all checks passed\n");
  return 0;
}

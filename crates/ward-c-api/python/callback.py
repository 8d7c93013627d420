"""Runs the wasm.h `callback` example module from Python through ctypes and libward.

Usage: python3 callback.py PATH/TO/libward.so [PATH/TO/callback.wasm]

Only the standard wasm.h names are used. The module imports two host functions: `print`
(i32 -> i32, echoes its argument) and `closure` (-> i32, returns 42 from its environment), and
exports `run(x, y) = print(x + y) + closure()`.
"""

import ctypes
import sys
from ctypes import (CFUNCTYPE, POINTER, Structure, Union, c_char, c_double, c_float, c_int32,
                    c_int64, c_size_t, c_uint8, c_void_p)


class wasm_byte_vec_t(Structure):
    _fields_ = [("size", c_size_t), ("data", POINTER(c_char))]


class wasm_ptr_vec_t(Structure):
    """A vector of object pointers (wasm_valtype_vec_t, wasm_extern_vec_t, ...)."""
    _fields_ = [("size", c_size_t), ("data", POINTER(c_void_p))]


class wasm_val_union(Union):
    _fields_ = [("i32", c_int32), ("i64", c_int64), ("f32", c_float), ("f64", c_double),
                ("ref", c_void_p)]


class wasm_val_t(Structure):
    _fields_ = [("kind", c_uint8), ("of", wasm_val_union)]


class wasm_val_vec_t(Structure):
    _fields_ = [("size", c_size_t), ("data", POINTER(wasm_val_t))]


WASM_I32 = 0
CALLBACK = CFUNCTYPE(c_void_p, POINTER(wasm_val_vec_t), POINTER(wasm_val_vec_t))
CALLBACK_WITH_ENV = CFUNCTYPE(c_void_p, c_void_p, POINTER(wasm_val_vec_t),
                              POINTER(wasm_val_vec_t))


def load(path):
    lib = ctypes.CDLL(path)
    signatures = {
        "wasm_engine_new": ([], c_void_p),
        "wasm_engine_delete": ([c_void_p], None),
        "wasm_store_new": ([c_void_p], c_void_p),
        "wasm_store_delete": ([c_void_p], None),
        "wasm_byte_vec_new": ([POINTER(wasm_byte_vec_t), c_size_t, ctypes.c_char_p], None),
        "wasm_byte_vec_delete": ([POINTER(wasm_byte_vec_t)], None),
        "wasm_module_new": ([c_void_p, POINTER(wasm_byte_vec_t)], c_void_p),
        "wasm_module_delete": ([c_void_p], None),
        "wasm_valtype_new": ([c_uint8], c_void_p),
        "wasm_valtype_vec_new": ([POINTER(wasm_ptr_vec_t), c_size_t, POINTER(c_void_p)], None),
        "wasm_valtype_vec_new_empty": ([POINTER(wasm_ptr_vec_t)], None),
        "wasm_functype_new": ([POINTER(wasm_ptr_vec_t), POINTER(wasm_ptr_vec_t)], c_void_p),
        "wasm_functype_delete": ([c_void_p], None),
        "wasm_func_new": ([c_void_p, c_void_p, CALLBACK], c_void_p),
        "wasm_func_new_with_env": ([c_void_p, c_void_p, CALLBACK_WITH_ENV, c_void_p, c_void_p],
                                   c_void_p),
        "wasm_func_delete": ([c_void_p], None),
        "wasm_func_as_extern": ([c_void_p], c_void_p),
        "wasm_extern_as_func": ([c_void_p], c_void_p),
        "wasm_instance_new": ([c_void_p, c_void_p, POINTER(wasm_ptr_vec_t), POINTER(c_void_p)],
                              c_void_p),
        "wasm_instance_delete": ([c_void_p], None),
        "wasm_instance_exports": ([c_void_p, POINTER(wasm_ptr_vec_t)], None),
        "wasm_extern_vec_delete": ([POINTER(wasm_ptr_vec_t)], None),
        "wasm_func_call": ([c_void_p, POINTER(wasm_val_vec_t), POINTER(wasm_val_vec_t)],
                           c_void_p),
        "wasm_trap_message": ([c_void_p, POINTER(wasm_byte_vec_t)], None),
        "wasm_trap_delete": ([c_void_p], None),
    }
    for name, (args, result) in signatures.items():
        function = getattr(lib, name)
        function.argtypes = args
        function.restype = result
    return lib


def functype(lib, params, results):
    def valtypes(kinds):
        vec = wasm_ptr_vec_t()
        if kinds:
            items = (c_void_p * len(kinds))(*[lib.wasm_valtype_new(k) for k in kinds])
            lib.wasm_valtype_vec_new(ctypes.byref(vec), len(kinds), items)
        else:
            lib.wasm_valtype_vec_new_empty(ctypes.byref(vec))
        return vec
    p, r = valtypes(params), valtypes(results)
    return lib.wasm_functype_new(ctypes.byref(p), ctypes.byref(r))


def main():
    lib = load(sys.argv[1])
    wasm_path = sys.argv[2] if len(sys.argv) > 2 else "callback.wasm"
    engine = lib.wasm_engine_new()
    store = lib.wasm_store_new(engine)

    with open(wasm_path, "rb") as f:
        data = f.read()
    binary = wasm_byte_vec_t()
    lib.wasm_byte_vec_new(ctypes.byref(binary), len(data), data)
    module = lib.wasm_module_new(store, ctypes.byref(binary))
    lib.wasm_byte_vec_delete(ctypes.byref(binary))
    if not module:
        print("> Error compiling module!")
        return 1

    @CALLBACK
    def print_callback(args, results):
        value = args.contents.data[0].of.i32
        print(f"Calling back...\n> {value}")
        results.contents.data[0].kind = WASM_I32
        results.contents.data[0].of.i32 = value
        return None

    answer = c_int32(42)

    @CALLBACK_WITH_ENV
    def closure_callback(env, args, results):
        value = ctypes.cast(env, POINTER(c_int32)).contents.value
        print(f"Calling back closure...\n> {value}")
        results.contents.data[0].kind = WASM_I32
        results.contents.data[0].of.i32 = value
        return None

    print_type = functype(lib, [WASM_I32], [WASM_I32])
    closure_type = functype(lib, [], [WASM_I32])
    print_func = lib.wasm_func_new(store, print_type, print_callback)
    closure_func = lib.wasm_func_new_with_env(store, closure_type, closure_callback,
                                              ctypes.addressof(answer), None)
    lib.wasm_functype_delete(print_type)
    lib.wasm_functype_delete(closure_type)

    externs = (c_void_p * 2)(lib.wasm_func_as_extern(print_func),
                             lib.wasm_func_as_extern(closure_func))
    imports = wasm_ptr_vec_t(2, externs)
    trap = c_void_p()
    instance = lib.wasm_instance_new(store, module, ctypes.byref(imports), ctypes.byref(trap))
    if not instance:
        print("> Error instantiating module!")
        return 1

    exports = wasm_ptr_vec_t()
    lib.wasm_instance_exports(instance, ctypes.byref(exports))
    run = lib.wasm_extern_as_func(exports.data[0])
    args = (wasm_val_t * 2)(wasm_val_t(WASM_I32, wasm_val_union(i32=3)),
                            wasm_val_t(WASM_I32, wasm_val_union(i32=4)))
    results = (wasm_val_t * 1)()
    args_vec = wasm_val_vec_t(2, args)
    results_vec = wasm_val_vec_t(1, results)
    trap = lib.wasm_func_call(run, ctypes.byref(args_vec), ctypes.byref(results_vec))
    if trap:
        message = wasm_byte_vec_t()
        lib.wasm_trap_message(trap, ctypes.byref(message))
        print("> Trap:", ctypes.string_at(message.data).decode())
        lib.wasm_byte_vec_delete(ctypes.byref(message))
        lib.wasm_trap_delete(trap)
        return 1
    print(f"Printing result...\n> {results[0].of.i32}")

    lib.wasm_extern_vec_delete(ctypes.byref(exports))
    lib.wasm_instance_delete(instance)
    lib.wasm_func_delete(print_func)
    lib.wasm_func_delete(closure_func)
    lib.wasm_module_delete(module)
    lib.wasm_store_delete(store)
    lib.wasm_engine_delete(engine)
    print("Done.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

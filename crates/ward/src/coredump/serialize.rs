//! [`WasmCoreDump::serialize`]: the dump written in the core dump format of the WebAssembly tool
//! conventions. Kept apart from the dump itself (`coredump`), which `Func::call` makes and which
//! therefore must not depend on the API files that this writer reads the store through.

use wasm_encoder::{
    ConstExpr, CoreDumpInstancesSection, CoreDumpModulesSection, CoreDumpSection,
    CoreDumpStackSection, DataSection, GlobalSection, MemorySection,
};

use super::WasmCoreDump;
use crate::store::AsContextMut;
use crate::types::{GlobalType, HeapType, ValType};
use crate::{Memory, Val};

impl WasmCoreDump {
    /// The dump as a Wasm module in the core dump format: the store's memories as memories with
    /// their non-zero bytes as active data segments, its globals as constant globals (references
    /// as nulls of their hierarchy's top type: the dump cannot hold heap objects), and the custom
    /// sections `core` (with `name`, the program's name), `coremodules`, `coreinstances` and
    /// `corestack` (one thread, `main`; frames have function-relative code offsets and no local
    /// or operand values, which ward's bytecode does not keep by Wasm local).
    pub fn serialize(&self, mut store: impl AsContextMut, name: &str) -> Vec<u8> {
        let store = store.as_context_mut();
        let mut module = wasm_encoder::Module::new();
        module.section(&CoreDumpSection::new(name));

        let mut memories = MemorySection::new();
        let mut data = DataSection::new();
        for (index, memory) in self.memories.iter().enumerate() {
            let ty = memory.ty(&*store);
            memories.memory(wasm_encoder::MemoryType {
                minimum: memory.size(&*store),
                maximum: None,
                memory64: ty.memory64,
                shared: false,
                page_size_log2: (ty.page_size_log2 != 16).then_some(ty.page_size_log2),
            });
            let bytes = memory_bytes(memory, &*store);
            for (at, run) in nonzero_runs(&bytes) {
                let offset = if ty.memory64 {
                    ConstExpr::i64_const(at as i64)
                } else {
                    ConstExpr::i32_const(at as u32 as i32)
                };
                data.active(index as u32, &offset, run.iter().copied());
            }
        }
        module.section(&memories);

        let mut globals = GlobalSection::new();
        for global in &self.globals {
            let (val_type, init) = constant(global.ty(&*store), global.get(&*store));
            let ty = wasm_encoder::GlobalType {
                val_type,
                mutable: false,
                shared: false,
            };
            globals.global(ty, &init);
        }
        module.section(&globals);
        module.section(&data);

        let mut modules = CoreDumpModulesSection::new();
        for m in &self.modules {
            modules.module(m.name().unwrap_or("<module>"));
        }
        module.section(&modules);

        let mut instances = CoreDumpInstancesSection::new();
        for (instance, module_index) in self.instances.iter().zip(&self.instance_modules) {
            let entity = &store.inner.instances[instance.index as usize];
            instances.instance(
                *module_index,
                entity.memories.iter().copied(),
                entity.globals.iter().copied(),
            );
        }
        module.section(&instances);

        let mut stack = CoreDumpStackSection::new("main");
        for frame in &self.frames {
            let offset = frame.func_offset().unwrap_or(0);
            stack.frame(
                frame.instance.unwrap_or(0),
                frame.func_index(),
                u32::try_from(offset).unwrap_or(u32::MAX),
                [],
                [],
            );
        }
        module.section(&stack);
        module.finish()
    }
}

/// A copy of a memory's bytes (shared memories are read through their atomic accessors).
fn memory_bytes<T>(memory: &Memory, store: &crate::Store<T>) -> Vec<u8> {
    let mut bytes = vec![0; memory.data_size(store)];
    // The buffer has the memory's size, so the read is in bounds.
    let _ = memory.read(store, 0, &mut bytes);
    bytes
}

/// The runs of non-zero bytes, joined across gaps of fewer than 16 zero bytes (a segment costs
/// about that much).
fn nonzero_runs(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    const GAP: usize = 16;
    let mut runs = Vec::new();
    let mut at = 0;
    while let Some(start) = bytes[at..].iter().position(|b| *b != 0).map(|p| p + at) {
        let mut end = start;
        let mut zeros = 0;
        for (i, b) in bytes[start..].iter().enumerate() {
            if *b == 0 {
                zeros += 1;
                if zeros == GAP {
                    break;
                }
            } else {
                zeros = 0;
                end = start + i + 1;
            }
        }
        runs.push((start, &bytes[start..end]));
        at = end;
    }
    runs
}

/// A global's type and value as a constant global of the dump.
fn constant(ty: GlobalType, value: Val) -> (wasm_encoder::ValType, ConstExpr) {
    use wasm_encoder::{AbstractHeapType as A, HeapType as H, RefType as R, ValType as V};
    match (ty.content, value) {
        (_, Val::I32(v)) => (V::I32, ConstExpr::i32_const(v)),
        (_, Val::I64(v)) => (V::I64, ConstExpr::i64_const(v)),
        (_, Val::F32(bits)) => (V::F32, ConstExpr::f32_const(f32::from_bits(bits).into())),
        (_, Val::F64(bits)) => (V::F64, ConstExpr::f64_const(f64::from_bits(bits).into())),
        (_, Val::V128(bits)) => (V::V128, ConstExpr::v128_const(bits as i128)),
        (ValType::Ref(r), _) => {
            let top = match r.heap {
                HeapType::Func | HeapType::NoFunc => A::Func,
                HeapType::Extern | HeapType::NoExtern => A::Extern,
                HeapType::Exn | HeapType::NoExn => A::Exn,
                HeapType::Concrete(_) if matches!(value, Val::FuncRef(_)) => A::Func,
                _ => A::Any,
            };
            let heap = H::Abstract {
                shared: false,
                ty: top,
            };
            let ty = R {
                nullable: true,
                heap_type: heap,
            };
            (V::Ref(ty), ConstExpr::ref_null(heap))
        }
        // A numeric global always holds a value of its type.
        (_, _) => (V::I32, ConstExpr::i32_const(0)),
    }
}

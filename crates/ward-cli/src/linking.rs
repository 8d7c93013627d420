//! What `ward run` links the main module against besides WASI: `--preload` instances, the functions
//! `-W unknown-imports-trap` defines, the shared memories a wasi-threads program imports. Called by
//! `main.rs`.

use anyhow::{Context, Result, anyhow};
use ward::{Error, ExternType, Linker, Module, SharedMemory, Store};

use crate::limits::Limits;
use crate::{Host, Outcome, report_trap};

/// Instantiates the `--preload` module `name` and defines its exports under `name`, running its
/// `_initialize` first if it has one (a WASI reactor). Returns how the run ends if that traps or
/// exits.
pub fn instantiate_preload(
    store: &mut Store<Host>,
    linker: &mut Linker<Host>,
    name: &str,
    module: &Module,
    limits: &Limits,
) -> Result<Option<Outcome>> {
    let context = format!("failed to instantiate preload `{name}`");
    let ended = |error: Error| -> Result<Option<Outcome>> {
        match error {
            Error::Trap(trap) => {
                report_trap(&context, &trap, limits);
                Ok(Some(Outcome::Trap))
            }
            Error::Exit(code) => Ok(Some(Outcome::Exit(code))),
            Error::Exception(exn) => {
                eprintln!("error: {context}: {exn}");
                Ok(Some(Outcome::Trap))
            }
            other => Err(anyhow!(other).context(context.clone())),
        }
    };
    let instance = match linker.instantiate(&mut *store, module) {
        Ok(instance) => instance,
        Err(error) => return ended(error),
    };
    if let Some(initialize) = instance.get_func(&*store, "_initialize")
        && let Err(error) = initialize.call(&mut *store, &[], &mut [])
    {
        return ended(error);
    }
    linker
        .instance(&mut *store, name, instance)
        .with_context(|| format!("--preload {name}"))?;
    Ok(None)
}

/// `-W unknown-imports-trap=y`: defines every function import of `module` that nothing defines as a
/// function of the right type that fails when called, naming the import (as Wasmtime does, the
/// failure is an error, exit 1, not a trap). Memories, tables, globals and tags nothing defines stay
/// a link error.
pub fn define_unknown_imports_as_failing(
    store: &mut Store<Host>,
    linker: &mut Linker<Host>,
    module: &Module,
) -> Result<()> {
    let imports: Vec<_> = module
        .imports()
        .map(|i| (i.module().to_string(), i.name().to_string(), i.ty()))
        .collect();
    for (import_module, name, ty) in imports {
        let ExternType::Func(func_ty) = ty else {
            continue;
        };
        if linker.get(&mut *store, &import_module, &name).is_some() {
            continue;
        }
        let message = format!(
            "unknown import `{import_module}::{name}` was called: nothing defines it \
             (-W unknown-imports-trap=y)"
        );
        linker.func_new(&import_module, &name, func_ty, move |_, _, _| {
            Err(Error::msg(&message))
        })?;
    }
    Ok(())
}

/// Defines every shared memory the module imports (a wasi-threads program imports its memory):
/// one memory of the imported type, which every thread's instance then shares.
pub fn define_shared_memories(
    store: &Store<Host>,
    module: &Module,
    linker: &mut Linker<Host>,
) -> Result<()> {
    for import in module.imports() {
        let (import_module, name) = (import.module(), import.name());
        if let ExternType::Memory(ty) = import.ty()
            && ty.shared
        {
            let memory = SharedMemory::new(store.engine(), ty).with_context(|| {
                format!("failed to create shared memory `{import_module}::{name}`")
            })?;
            linker.define(store, import_module, name, memory)?;
        }
    }
    Ok(())
}

/// Whether the module imports `wasi::thread-spawn`.
pub fn imports_thread_spawn(module: &Module) -> bool {
    module
        .imports()
        .any(|i| i.module() == "wasi" && i.name() == "thread-spawn")
}

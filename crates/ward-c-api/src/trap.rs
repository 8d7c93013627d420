//! Traps (`wasm_trap_t`) and frames (`wasm_frame_t`).
//!
//! A trap is a message and the Wasm frames live when it happened (innermost first, as ward's
//! [`ward::WasmBacktrace`] keeps them: a very deep stack loses its middle frames). A trap a host
//! callback returns travels through ward as an [`Error::Host`] carrying a [`HostTrap`] id and comes
//! out of the outermost `wasm_func_call` as the same trap object.
//!
//! ward's frames give the function index and the module offset but not the instance or module; a
//! frame is attributed to the module of the call that trapped (the instantiated module, or the
//! module that exported the called function) when the offset lies in that function's body there,
//! and then also gets its instance and offset within the function. Other frames report a null
//! instance and a function offset of 0.

use std::cell::RefCell;
use std::fmt;
use std::ptr;
use std::rc::Rc;

use ward::Error;

use crate::entry;
use crate::module::ModuleObj;
use crate::object::{HostInfo, Obj, fresh_id, wasm_instance_t, wasm_ref_t};
use crate::store::{StoreCtx, wasm_store_t};
use crate::vec::{CVec, wasm_frame_vec_t, wasm_name_t};

/// A trap object.
pub struct TrapObj {
    pub(crate) id: u64,
    /// The message, NUL-terminated as `wasm_message_t` is.
    message: Vec<u8>,
    frames: Vec<wasm_frame_t>,
    /// The status of a WASI `proc_exit` this trap stands for.
    pub(crate) exit_status: Option<i32>,
    pub(crate) host_info: RefCell<Option<HostInfo>>,
}

/// A trap handle (a [`wasm_ref_t`]).
pub type wasm_trap_t = wasm_ref_t;

/// A frame of a trap's trace.
#[derive(Clone)]
pub struct wasm_frame_t {
    instance: Option<Box<wasm_instance_t>>,
    func_index: u32,
    func_offset: usize,
    module_offset: usize,
}

impl TrapObj {
    pub(crate) fn new(message: &[u8], frames: Vec<wasm_frame_t>) -> Rc<TrapObj> {
        let mut message = message.to_vec();
        if message.last() != Some(&0) {
            message.push(0);
        }
        Rc::new(TrapObj {
            id: fresh_id(),
            message,
            frames,
            exit_status: None,
            host_info: RefCell::new(None),
        })
    }

    /// The message without its terminating NUL.
    pub(crate) fn text(&self) -> String {
        let bytes = self.message.strip_suffix(&[0]).unwrap_or(&self.message);
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// The error a host callback's trap travels through ward as; the trap waits in
/// `StoreCtx::pending_traps` under `id`.
#[derive(Debug)]
pub(crate) struct HostTrap {
    pub id: u64,
    pub message: String,
}

impl fmt::Display for HostTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostTrap {}

/// The call a trap came out of, for attributing frames (see the module docs).
pub(crate) struct TrapSite<'a> {
    pub module: &'a ModuleObj,
    pub instance: Option<ward::Instance>,
}

/// The trap for an error a call or instantiation returned.
pub(crate) fn trap_from_error(
    ctx: &Rc<StoreCtx>,
    error: Error,
    site: Option<TrapSite<'_>>,
) -> Rc<TrapObj> {
    match &error {
        Error::Host(inner) => {
            if let Some(host) = inner.downcast_ref::<HostTrap>() {
                let pending = ctx.pending_traps.borrow_mut().remove(&host.id);
                return pending.unwrap_or_else(|| TrapObj::new(host.message.as_bytes(), vec![]));
            }
        }
        Error::Trap(trap) => {
            let frames = trap
                .backtrace()
                .frames
                .iter()
                .map(|frame| {
                    let offset = frame.module_offset.unwrap_or(0);
                    let attributed = site.as_ref().and_then(|site| {
                        let body = site.module.body_range(frame.func_index)?;
                        body.contains(&offset)
                            .then(|| (site.instance, offset - body.start))
                    });
                    let (instance, func_offset) = attributed.unwrap_or((None, 0));
                    wasm_frame_t {
                        instance: instance.map(|i| {
                            Box::new(wasm_ref_t {
                                store: Some(ctx.clone()),
                                obj: Obj::Instance(i),
                            })
                        }),
                        func_index: frame.func_index,
                        func_offset,
                        module_offset: offset,
                    }
                })
                .collect();
            let message = format!("wasm trap: {}", trap.kind());
            return TrapObj::new(message.as_bytes(), frames);
        }
        Error::Exit(status) => {
            let mut trap = TrapObj::new(error.to_string().as_bytes(), vec![]);
            if let Some(t) = Rc::get_mut(&mut trap) {
                t.exit_status = Some(*status);
            }
            return trap;
        }
        _ => {}
    }
    TrapObj::new(error.to_string().as_bytes(), vec![])
}

/// A new owned trap handle.
pub(crate) fn trap_handle(trap: Rc<TrapObj>) -> *mut wasm_trap_t {
    wasm_ref_t::boxed_unstored(Obj::Trap(trap))
}

/// The trap object of a trap handle.
///
/// # Safety
/// `p` is null or a live handle.
unsafe fn trap_obj<'a>(p: *const wasm_trap_t) -> Option<&'a TrapObj> {
    // SAFETY: the caller's contract.
    match unsafe { crate::object::handle(p) }.map(|h| &h.obj) {
        Some(Obj::Trap(t)) => Some(t),
        _ => None,
    }
}

entry! {
    /// A trap with `message` (conventionally NUL-terminated; a NUL is added if missing).
    fn wasm_trap_new(store: *mut wasm_store_t, message: *const wasm_name_t) -> *mut wasm_trap_t
        = ptr::null_mut(); {
        // Traps need no store; `store` only has to be valid if given.
        let _ = store;
        // SAFETY: `message` is null or a valid byte vector.
        let bytes = unsafe { message.as_ref().map(|m| m.as_slice()) }.unwrap_or(&[]);
        trap_handle(TrapObj::new(bytes, vec![]))
    }
}

entry! {
    /// Writes the trap's NUL-terminated message to `out` (owned by the caller).
    fn wasm_trap_message(trap: *const wasm_trap_t, out: *mut wasm_name_t) = (); {
        if out.is_null() {
            return;
        }
        // SAFETY: `trap` is null or live.
        let message = unsafe { trap_obj(trap) }.map_or_else(|| vec![0], |t| t.message.clone());
        // SAFETY: `out` is writable vector storage.
        unsafe { out.write(CVec::from_vec(message)) };
    }
}

entry! {
    /// The innermost frame, or null if the trap has no Wasm frames.
    fn wasm_trap_origin(trap: *const wasm_trap_t) -> *mut wasm_frame_t = ptr::null_mut(); {
        // SAFETY: `trap` is null or live.
        unsafe { trap_obj(trap) }
            .and_then(|t| t.frames.first())
            .map_or(ptr::null_mut(), |f| Box::into_raw(Box::new(f.clone())))
    }
}

entry! {
    /// Writes the trap's frames, innermost first, to `out` (owned by the caller).
    fn wasm_trap_trace(trap: *const wasm_trap_t, out: *mut wasm_frame_vec_t) = (); {
        if out.is_null() {
            return;
        }
        // SAFETY: `trap` is null or live.
        let frames = unsafe { trap_obj(trap) }.map_or_else(Vec::new, |t| {
            t.frames.iter().map(|f| Box::into_raw(Box::new(f.clone()))).collect()
        });
        // SAFETY: `out` is writable vector storage.
        unsafe { out.write(CVec::from_vec(frames)) };
    }
}

entry! {
    /// Deletes a frame.
    fn wasm_frame_delete(frame: *mut wasm_frame_t) = (); {
        // SAFETY: `frame` is null or owned.
        drop(unsafe { crate::types::take_box(frame) });
    }
}

entry! {
    /// A copy of a frame.
    fn wasm_frame_copy(frame: *const wasm_frame_t) -> *mut wasm_frame_t = ptr::null_mut(); {
        // SAFETY: `frame` is null or live.
        unsafe { frame.as_ref() }.map_or(ptr::null_mut(), |f| Box::into_raw(Box::new(f.clone())))
    }
}

entry! {
    /// The frame's instance (owned by the frame), or null if it could not be determined.
    fn wasm_frame_instance(frame: *const wasm_frame_t) -> *mut wasm_instance_t = ptr::null_mut(); {
        // SAFETY: `frame` is null or live.
        match unsafe { frame.as_ref() }.and_then(|f| f.instance.as_deref()) {
            Some(i) => ptr::from_ref(i).cast_mut(),
            None => ptr::null_mut(),
        }
    }
}

entry! {
    /// The index of the frame's function in its module.
    fn wasm_frame_func_index(frame: *const wasm_frame_t) -> u32 = 0; {
        // SAFETY: `frame` is null or live.
        unsafe { frame.as_ref() }.map_or(0, |f| f.func_index)
    }
}

entry! {
    /// The offset of the frame's instruction from the start of its function's body (0 if unknown).
    fn wasm_frame_func_offset(frame: *const wasm_frame_t) -> usize = 0; {
        // SAFETY: `frame` is null or live.
        unsafe { frame.as_ref() }.map_or(0, |f| f.func_offset)
    }
}

entry! {
    /// The offset of the frame's instruction in the module binary.
    fn wasm_frame_module_offset(frame: *const wasm_frame_t) -> usize = 0; {
        // SAFETY: `frame` is null or live.
        unsafe { frame.as_ref() }.map_or(0, |f| f.module_offset)
    }
}

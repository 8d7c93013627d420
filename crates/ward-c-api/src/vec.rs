//! The `wasm_*_vec_t` vectors: `{size, data}` pairs whose arrays this library allocates and frees.
//!
//! [`CVec`] is the C layout; [`CElem`] says how one element is copied (`wasm_*_vec_copy` copies
//! deeply) and deleted (`wasm_*_vec_delete` deletes the elements, which the vector owns). An array
//! is allocated as a `Box<[T]>` of exactly `size` elements and freed as one; an empty vector has a
//! null `data`, as `WASM_EMPTY_VEC` does.

use std::ptr;

use crate::entry;
use crate::object::wasm_ref_t;
use crate::trap::wasm_frame_t;
use crate::types::{wasm_exporttype_t, wasm_externtype_t, wasm_importtype_t, wasm_valtype_t};
use crate::val::wasm_val_t;

/// A `wasm.h` vector: `size` elements at `data` (null when empty).
#[repr(C)]
pub struct CVec<T> {
    /// Number of elements.
    pub size: usize,
    /// The elements.
    pub data: *mut T,
}

/// An element type of a vector (an implementation detail of the vector functions).
#[doc(hidden)]
pub trait CElem: Sized {
    /// The value `wasm_*_vec_new_uninitialized` fills with (safe to delete).
    fn blank() -> Self;
    /// A deep copy.
    ///
    /// # Safety
    /// `self` is a valid element (for pointers: null or made by this library).
    unsafe fn copy_elem(&self) -> Self;
    /// Releases what the element owns.
    ///
    /// # Safety
    /// As for `copy_elem`; the element is not used afterwards.
    unsafe fn delete_elem(self);
}

impl CElem for u8 {
    fn blank() -> Self {
        0
    }
    unsafe fn copy_elem(&self) -> Self {
        *self
    }
    unsafe fn delete_elem(self) {}
}

/// Objects handed out as `own T*`: boxed, copied with `Clone`, deleted by dropping the box.
impl<T: Clone> CElem for *mut T {
    fn blank() -> Self {
        ptr::null_mut()
    }
    unsafe fn copy_elem(&self) -> Self {
        if self.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: a non-null element is a live object of this library (the caller's contract).
        let object = unsafe { &**self };
        Box::into_raw(Box::new(object.clone()))
    }
    unsafe fn delete_elem(self) {
        if !self.is_null() {
            // SAFETY: non-null elements were made by `Box::into_raw` in this library and are owned
            // by the vector being deleted.
            drop(unsafe { Box::from_raw(self) });
        }
    }
}

impl<T: CElem> CVec<T> {
    /// The empty vector.
    pub(crate) fn empty() -> Self {
        CVec {
            size: 0,
            data: ptr::null_mut(),
        }
    }

    /// A vector owning `elements`.
    pub(crate) fn from_vec(elements: Vec<T>) -> Self {
        if elements.is_empty() {
            return CVec::empty();
        }
        let boxed = elements.into_boxed_slice();
        let size = boxed.len();
        CVec {
            size,
            data: Box::into_raw(boxed).cast::<T>(),
        }
    }

    /// The elements.
    ///
    /// # Safety
    /// `data` points to `size` initialized elements (or is null), alive for `'a`.
    pub(crate) unsafe fn as_slice<'a>(&self) -> &'a [T] {
        if self.data.is_null() || self.size == 0 {
            &[]
        } else {
            // SAFETY: the caller's contract.
            unsafe { std::slice::from_raw_parts(self.data, self.size) }
        }
    }

    /// The elements, writable.
    ///
    /// # Safety
    /// As for [`CVec::as_slice`], and nothing else accesses them meanwhile.
    pub(crate) unsafe fn as_mut_slice<'a>(&mut self) -> &'a mut [T] {
        if self.data.is_null() || self.size == 0 {
            &mut []
        } else {
            // SAFETY: the caller's contract.
            unsafe { std::slice::from_raw_parts_mut(self.data, self.size) }
        }
    }

    /// Takes the elements out of a vector this library allocated, leaving it empty.
    ///
    /// # Safety
    /// The array was allocated by [`CVec::from_vec`] (or is null) and is owned by the caller.
    pub(crate) unsafe fn take(&mut self) -> Vec<T> {
        let (size, data) = (self.size, self.data);
        *self = CVec::empty();
        if data.is_null() || size == 0 {
            return Vec::new();
        }
        // SAFETY: `from_vec` allocated exactly `size` elements as a boxed slice (the caller's
        // contract), so this rebuilds that box.
        unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(data, size)) }.into_vec()
    }

    /// Deletes the elements and the array.
    ///
    /// # Safety
    /// As for [`CVec::take`], and the elements are valid.
    pub(crate) unsafe fn delete(&mut self) {
        // SAFETY: the caller's contract.
        for element in unsafe { self.take() } {
            // SAFETY: each element is valid and owned by the vector.
            unsafe { element.delete_elem() };
        }
    }

    /// A deep copy.
    ///
    /// # Safety
    /// As for [`CVec::as_slice`], and the elements are valid.
    pub(crate) unsafe fn deep_copy(&self) -> Self {
        // SAFETY: the caller's contract.
        let elements = unsafe { self.as_slice() };
        // SAFETY: each element is valid.
        CVec::from_vec(elements.iter().map(|e| unsafe { e.copy_elem() }).collect())
    }
}

/// A vector owned by a Rust object (a function type's parameters, a name): deleted with it.
#[repr(transparent)]
pub(crate) struct OwnedVec<T: CElem>(pub CVec<T>);

impl<T: CElem> OwnedVec<T> {
    pub(crate) fn new(elements: Vec<T>) -> Self {
        OwnedVec(CVec::from_vec(elements))
    }
}

impl<T: CElem> Clone for OwnedVec<T> {
    fn clone(&self) -> Self {
        // SAFETY: `self` owns a vector made by `from_vec` whose elements are valid.
        OwnedVec(unsafe { self.0.deep_copy() })
    }
}

impl<T: CElem> Drop for OwnedVec<T> {
    fn drop(&mut self) {
        // SAFETY: `self` owns a vector made by `from_vec` whose elements are valid.
        unsafe { self.0.delete() }
    }
}

/// Defines the five `wasm.h` functions of one vector type.
macro_rules! vec_api {
    ($vec:ident = $elem:ty; $new_empty:ident, $new_uninit:ident, $new:ident, $copy:ident, $delete:ident) => {
        #[doc = concat!("A `wasm.h` vector of `", stringify!($elem), "`.")]
        pub type $vec = CVec<$elem>;

        entry! {
            /// Makes `out` an empty vector.
            fn $new_empty(out: *mut $vec) = (); {
                if !out.is_null() {
                    // SAFETY: `out` points to writable vector storage (`wasm.h` contract).
                    unsafe { out.write(CVec::empty()) };
                }
            }
        }

        entry! {
            /// Makes `out` a vector of `size` blank elements.
            fn $new_uninit(out: *mut $vec, size: usize) = (); {
                if !out.is_null() {
                    let elements = (0..size).map(|_| <$elem as CElem>::blank()).collect();
                    // SAFETY: `out` points to writable vector storage.
                    unsafe { out.write(CVec::from_vec(elements)) };
                }
            }
        }

        entry! {
            /// Makes `out` a vector of the `size` elements at `data`, taking ownership of them.
            fn $new(out: *mut $vec, size: usize, data: *const $elem) = (); {
                if out.is_null() {
                    return;
                }
                let elements = if data.is_null() {
                    Vec::new()
                } else {
                    // SAFETY: `data` points to `size` elements whose ownership moves into the
                    // vector, so a bitwise read (move) of each is right.
                    (0..size).map(|i| unsafe { data.add(i).read() }).collect()
                };
                // SAFETY: `out` points to writable vector storage.
                unsafe { out.write(CVec::from_vec(elements)) };
            }
        }

        entry! {
            /// Makes `out` a deep copy of `src`.
            fn $copy(out: *mut $vec, src: *const $vec) = (); {
                if out.is_null() {
                    return;
                }
                let copy = if src.is_null() {
                    CVec::empty()
                } else {
                    // SAFETY: `src` is a valid vector with valid elements.
                    unsafe { (*src).deep_copy() }
                };
                // SAFETY: `out` points to writable vector storage.
                unsafe { out.write(copy) };
            }
        }

        entry! {
            /// Deletes the vector's elements and array, leaving it empty.
            fn $delete(vec: *mut $vec) = (); {
                if !vec.is_null() {
                    // SAFETY: an owned vector made by this library (`wasm.h` contract).
                    unsafe { (*vec).delete() };
                }
            }
        }
    };
}

vec_api!(wasm_byte_vec_t = u8; wasm_byte_vec_new_empty, wasm_byte_vec_new_uninitialized,
    wasm_byte_vec_new, wasm_byte_vec_copy, wasm_byte_vec_delete);
vec_api!(wasm_valtype_vec_t = *mut wasm_valtype_t; wasm_valtype_vec_new_empty,
    wasm_valtype_vec_new_uninitialized, wasm_valtype_vec_new, wasm_valtype_vec_copy,
    wasm_valtype_vec_delete);
vec_api!(wasm_functype_vec_t = *mut wasm_externtype_t; wasm_functype_vec_new_empty,
    wasm_functype_vec_new_uninitialized, wasm_functype_vec_new, wasm_functype_vec_copy,
    wasm_functype_vec_delete);
vec_api!(wasm_globaltype_vec_t = *mut wasm_externtype_t; wasm_globaltype_vec_new_empty,
    wasm_globaltype_vec_new_uninitialized, wasm_globaltype_vec_new, wasm_globaltype_vec_copy,
    wasm_globaltype_vec_delete);
vec_api!(wasm_tabletype_vec_t = *mut wasm_externtype_t; wasm_tabletype_vec_new_empty,
    wasm_tabletype_vec_new_uninitialized, wasm_tabletype_vec_new, wasm_tabletype_vec_copy,
    wasm_tabletype_vec_delete);
vec_api!(wasm_memorytype_vec_t = *mut wasm_externtype_t; wasm_memorytype_vec_new_empty,
    wasm_memorytype_vec_new_uninitialized, wasm_memorytype_vec_new, wasm_memorytype_vec_copy,
    wasm_memorytype_vec_delete);
vec_api!(wasm_externtype_vec_t = *mut wasm_externtype_t; wasm_externtype_vec_new_empty,
    wasm_externtype_vec_new_uninitialized, wasm_externtype_vec_new, wasm_externtype_vec_copy,
    wasm_externtype_vec_delete);
vec_api!(wasm_importtype_vec_t = *mut wasm_importtype_t; wasm_importtype_vec_new_empty,
    wasm_importtype_vec_new_uninitialized, wasm_importtype_vec_new, wasm_importtype_vec_copy,
    wasm_importtype_vec_delete);
vec_api!(wasm_exporttype_vec_t = *mut wasm_exporttype_t; wasm_exporttype_vec_new_empty,
    wasm_exporttype_vec_new_uninitialized, wasm_exporttype_vec_new, wasm_exporttype_vec_copy,
    wasm_exporttype_vec_delete);
vec_api!(wasm_val_vec_t = wasm_val_t; wasm_val_vec_new_empty, wasm_val_vec_new_uninitialized,
    wasm_val_vec_new, wasm_val_vec_copy, wasm_val_vec_delete);
vec_api!(wasm_frame_vec_t = *mut wasm_frame_t; wasm_frame_vec_new_empty,
    wasm_frame_vec_new_uninitialized, wasm_frame_vec_new, wasm_frame_vec_copy,
    wasm_frame_vec_delete);
vec_api!(wasm_extern_vec_t = *mut wasm_ref_t; wasm_extern_vec_new_empty,
    wasm_extern_vec_new_uninitialized, wasm_extern_vec_new, wasm_extern_vec_copy,
    wasm_extern_vec_delete);

/// `wasm_name_t`: a byte vector.
pub type wasm_name_t = wasm_byte_vec_t;

/// A byte vector holding `text` (no terminating NUL).
pub(crate) fn name_from(text: &str) -> OwnedVec<u8> {
    OwnedVec::new(text.as_bytes().to_vec())
}

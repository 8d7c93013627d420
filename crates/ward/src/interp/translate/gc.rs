//! Translation of the GC operators (structs, arrays, `i31`, casts, `any`/`extern` conversions) into
//! `Instr::Gc` and the cast instructions, with their immediates in the function's side tables
//! (`GcSite`, cast types). Part of the translator (`super`), split out to keep the core operator
//! translation readable.

use wasmparser::Operator;
use wasmparser::types::CoreTypeId;

use super::Translator;
use crate::Result;
use crate::interp::bytecode::{BranchOffset, CastIndex, GcOp, GcSite, GcSiteIndex, Instr, Slot};

impl Translator<'_, '_> {
    /// The module-local id and layout of struct or array type `type_index`.
    fn gc_layout(&self, type_index: u32) -> (CoreTypeId, crate::gc_repr::Layout) {
        let id = self.env.type_ids[type_index as usize];
        let layout =
            crate::gc_repr::Layout::from_composite(&self.env.types.types[id].composite_type.inner)
                .expect("validated: a struct or array type");
        (id, layout)
    }

    fn gc_site(
        &mut self,
        ty: CoreTypeId,
        field: u32,
        signed: bool,
        segment: u32,
        count: u32,
    ) -> GcSiteIndex {
        let inner = &self.env.types.types[ty].composite_type.inner;
        let layout =
            crate::gc_repr::Layout::from_composite(inner).expect("validated: struct or array");
        let (storage, offset, words, trace) = match &layout {
            crate::gc_repr::Layout::Struct {
                fields,
                offsets,
                words,
                trace,
                ..
            } => {
                let f = (field as usize).min(fields.len().saturating_sub(1));
                (
                    fields
                        .get(f)
                        .copied()
                        .unwrap_or(crate::gc_repr::Storage::I64),
                    offsets.get(f).copied().unwrap_or(0),
                    *words,
                    *trace,
                )
            }
            crate::gc_repr::Layout::Array(storage) => (*storage, 0, 0, 0),
        };
        self.env.side_tables.gc_sites.push(GcSite {
            ty: self.env.types.id(ty),
            field,
            signed,
            segment,
            count,
            storage,
            offset,
            words,
            trace,
            layout: 0,
        });
        GcSiteIndex((self.env.side_tables.gc_sites.len() - 1) as u32)
    }

    fn cast(&mut self, nullable: bool, heap: wasmparser::HeapType) -> Result<CastIndex> {
        let r = wasmparser::RefType::new(nullable, heap)
            .ok_or_else(|| self.unsupported("reference type with a type index this large"))?;
        let r = self.env.types.ref_type(r);
        self.env.side_tables.casts.push(r);
        Ok(CastIndex((self.env.side_tables.casts.len() - 1) as u32))
    }

    fn struct_get(&mut self, type_index: u32, field: u32, signed: bool) {
        let (ty, layout) = self.gc_layout(type_index);
        let wide = matches!(&layout, crate::gc_repr::Layout::Struct { fields, .. }
            if fields[field as usize] == crate::gc_repr::Storage::V128);
        let site = self.gc_site(ty, field, signed, 0, 0);
        let obj = self.pop_slot();
        let dst = if wide {
            self.push_temp_wide()
        } else {
            self.push_temp()
        };
        self.emit_result(Instr::Gc {
            op: GcOp::StructGet,
            dst,
            base: obj,
            site,
        });
    }

    fn array_get(&mut self, type_index: u32, signed: bool) {
        let (ty, layout) = self.gc_layout(type_index);
        let wide = matches!(
            layout,
            crate::gc_repr::Layout::Array(crate::gc_repr::Storage::V128)
        );
        let site = self.gc_site(ty, 0, signed, 0, 0);
        let base = self.pop_span(2);
        let dst = if wide {
            self.push_temp_wide()
        } else {
            self.push_temp()
        };
        self.emit_result(Instr::Gc {
            op: GcOp::ArrayGet,
            dst,
            base,
            site,
        });
    }

    /// `br_on_cast` (`on_fail == false`) and `br_on_cast_fail`: the operand stays on the stack on
    /// both paths.
    fn translate_br_on_cast(
        &mut self,
        depth: u32,
        to: wasmparser::RefType,
        on_fail: bool,
    ) -> Result<()> {
        let cast = self.cast(to.is_nullable(), to.heap_type())?;
        self.prepare_wide_branch(depth, 0);
        let position = self.height() - 1;
        self.materialize(position);
        let src = self.canonical(position);
        let (taken, skipped) = if on_fail {
            (
                Instr::BrOnCastFail {
                    src,
                    cast,
                    target: BranchOffset(0),
                },
                Instr::BrOnCast {
                    src,
                    cast,
                    target: BranchOffset(0),
                },
            )
        } else {
            (
                Instr::BrOnCast {
                    src,
                    cast,
                    target: BranchOffset(0),
                },
                Instr::BrOnCastFail {
                    src,
                    cast,
                    target: BranchOffset(0),
                },
            )
        };
        if self.branch_is_direct(depth) {
            self.emit_conditional_jump(depth, taken);
        } else {
            let skip = self.emit(skipped);
            self.emit_branch(depth);
            let pc = self.pc();
            self.patch(skip, pc);
            self.bind_label();
        }
        Ok(())
    }

    /// GC operators (structs, arrays, `i31`, casts, conversions); anything else goes on to SIMD.
    pub(super) fn translate_gc(&mut self, op: &Operator<'_>) -> Result<()> {
        use Operator as O;
        match op {
            O::StructNew { struct_type_index } => {
                let (ty, layout) = self.gc_layout(*struct_type_index);
                let crate::gc_repr::Layout::Struct { fields, .. } = &layout else {
                    unreachable!("validated: struct.new names a struct type")
                };
                let count = fields.len() as u32;
                let site = self.gc_site(ty, 0, false, 0, layout.slots() as u32);
                let tables = &mut self.env.side_tables;
                tables.gc_sites[site.index()].layout = tables.layouts.len() as u32;
                tables.layouts.push(layout);
                let base = self.pop_span(count);
                let dst = self.push_temp();
                self.emit_result(Instr::Gc {
                    op: GcOp::StructNew,
                    dst,
                    base,
                    site,
                });
            }
            O::StructNewDefault { struct_type_index } => {
                let (ty, _) = self.gc_layout(*struct_type_index);
                let site = self.gc_site(ty, 0, false, 0, 0);
                let dst = self.push_temp();
                self.emit_result(Instr::Gc {
                    op: GcOp::StructNewDefault,
                    dst,
                    base: Slot(0),
                    site,
                });
            }
            O::StructGet {
                struct_type_index,
                field_index,
            }
            | O::StructGetU {
                struct_type_index,
                field_index,
            } => self.struct_get(*struct_type_index, *field_index, false),
            O::StructGetS {
                struct_type_index,
                field_index,
            } => self.struct_get(*struct_type_index, *field_index, true),
            O::StructSet {
                struct_type_index,
                field_index,
            } => {
                let (ty, _) = self.gc_layout(*struct_type_index);
                let site = self.gc_site(ty, *field_index, false, 0, 0);
                let base = self.pop_span(2);
                self.emit(Instr::Gc {
                    op: GcOp::StructSet,
                    dst: Slot(0),
                    base,
                    site,
                });
            }
            O::ArrayNew { array_type_index } => {
                let (ty, _) = self.gc_layout(*array_type_index);
                let site = self.gc_site(ty, 0, false, 0, 0);
                let base = self.pop_span(2);
                let dst = self.push_temp();
                self.emit_result(Instr::Gc {
                    op: GcOp::ArrayNew,
                    dst,
                    base,
                    site,
                });
            }
            O::ArrayNewDefault { array_type_index } => {
                let (ty, _) = self.gc_layout(*array_type_index);
                let site = self.gc_site(ty, 0, false, 0, 0);
                let len = self.pop_slot();
                let dst = self.push_temp();
                self.emit_result(Instr::Gc {
                    op: GcOp::ArrayNewDefault,
                    dst,
                    base: len,
                    site,
                });
            }
            O::ArrayNewFixed {
                array_type_index,
                array_size,
            } => {
                let (ty, _) = self.gc_layout(*array_type_index);
                let site = self.gc_site(ty, 0, false, 0, *array_size);
                let base = self.pop_span(*array_size);
                let dst = self.push_temp();
                self.emit_result(Instr::Gc {
                    op: GcOp::ArrayNewFixed,
                    dst,
                    base,
                    site,
                });
            }
            O::ArrayNewData {
                array_type_index,
                array_data_index,
            } => {
                let (ty, _) = self.gc_layout(*array_type_index);
                let site = self.gc_site(ty, 0, false, *array_data_index, 0);
                let base = self.pop_span(2);
                let dst = self.push_temp();
                self.emit_result(Instr::Gc {
                    op: GcOp::ArrayNewData,
                    dst,
                    base,
                    site,
                });
            }
            O::ArrayNewElem {
                array_type_index,
                array_elem_index,
            } => {
                let (ty, _) = self.gc_layout(*array_type_index);
                let site = self.gc_site(ty, 0, false, *array_elem_index, 0);
                let base = self.pop_span(2);
                let dst = self.push_temp();
                self.emit_result(Instr::Gc {
                    op: GcOp::ArrayNewElem,
                    dst,
                    base,
                    site,
                });
            }
            O::ArrayGet { array_type_index } | O::ArrayGetU { array_type_index } => {
                self.array_get(*array_type_index, false)
            }
            O::ArrayGetS { array_type_index } => self.array_get(*array_type_index, true),
            O::ArraySet { array_type_index } => {
                let (ty, _) = self.gc_layout(*array_type_index);
                let site = self.gc_site(ty, 0, false, 0, 0);
                let base = self.pop_span(3);
                self.emit(Instr::Gc {
                    op: GcOp::ArraySet,
                    dst: Slot(0),
                    base,
                    site,
                });
            }
            O::ArrayFill { array_type_index } => {
                let (ty, _) = self.gc_layout(*array_type_index);
                let site = self.gc_site(ty, 0, false, 0, 0);
                let base = self.pop_span(4);
                self.emit(Instr::Gc {
                    op: GcOp::ArrayFill,
                    dst: Slot(0),
                    base,
                    site,
                });
            }
            O::ArrayCopy {
                array_type_index_dst,
                ..
            } => {
                let (ty, _) = self.gc_layout(*array_type_index_dst);
                let site = self.gc_site(ty, 0, false, 0, 0);
                let base = self.pop_span(5);
                self.emit(Instr::Gc {
                    op: GcOp::ArrayCopy,
                    dst: Slot(0),
                    base,
                    site,
                });
            }
            O::ArrayInitData {
                array_type_index,
                array_data_index,
            } => {
                let (ty, _) = self.gc_layout(*array_type_index);
                let site = self.gc_site(ty, 0, false, *array_data_index, 0);
                let base = self.pop_span(4);
                self.emit(Instr::Gc {
                    op: GcOp::ArrayInitData,
                    dst: Slot(0),
                    base,
                    site,
                });
            }
            O::ArrayInitElem {
                array_type_index,
                array_elem_index,
            } => {
                let (ty, _) = self.gc_layout(*array_type_index);
                let site = self.gc_site(ty, 0, false, *array_elem_index, 0);
                let base = self.pop_span(4);
                self.emit(Instr::Gc {
                    op: GcOp::ArrayInitElem,
                    dst: Slot(0),
                    base,
                    site,
                });
            }
            O::RefTestNonNull { hty } | O::RefTestNullable { hty } => {
                let cast = self.cast(matches!(op, O::RefTestNullable { .. }), *hty)?;
                let src = self.pop_slot();
                let dst = self.push_temp();
                self.emit_result(Instr::RefTest { dst, src, cast });
            }
            O::RefCastNonNull { hty } | O::RefCastNullable { hty } => {
                let cast = self.cast(matches!(op, O::RefCastNullable { .. }), *hty)?;
                let position = self.height() - 1;
                self.materialize(position);
                let src = self.canonical(position);
                self.emit(Instr::RefCast { src, cast });
            }
            O::BrOnCast {
                relative_depth,
                to_ref_type,
                ..
            } => self.translate_br_on_cast(*relative_depth, *to_ref_type, false)?,
            O::BrOnCastFail {
                relative_depth,
                to_ref_type,
                ..
            } => self.translate_br_on_cast(*relative_depth, *to_ref_type, true)?,
            other => return self.translate_simd(other),
        }
        Ok(())
    }
}

//! WAVE (the WebAssembly Value Encoding, crate `wasm-wave`) for ward's dynamic component values:
//! [`WaveType`] and [`WaveVal`] wrap `ward::component::{Type, Val}` so that `wasm-wave` can parse
//! `--invoke 'name(args)'` into typed values and print results. Every conversion that could fail
//! returns an error (the invoke string is untrusted): none of `wasm-wave`'s panicking trait
//! defaults is left in place. Used by `run_component.rs`.

use std::borrow::Cow;

use ward::component::{Type, Val};
use wasm_wave::wasm::{WasmType, WasmTypeKind, WasmValue, WasmValueError};

/// A component value type, as `wasm-wave` sees it.
#[derive(Clone, Debug)]
pub(crate) struct WaveType(pub(crate) Type);

/// A component value, as `wasm-wave` sees it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct WaveVal(pub(crate) Val);

fn boxed<'a, T: 'a>(iter: impl Iterator<Item = T> + 'a) -> Box<dyn Iterator<Item = T> + 'a> {
    Box::new(iter)
}

impl WasmType for WaveType {
    fn kind(&self) -> WasmTypeKind {
        match &self.0 {
            Type::Bool => WasmTypeKind::Bool,
            Type::S8 => WasmTypeKind::S8,
            Type::U8 => WasmTypeKind::U8,
            Type::S16 => WasmTypeKind::S16,
            Type::U16 => WasmTypeKind::U16,
            Type::S32 => WasmTypeKind::S32,
            Type::U32 => WasmTypeKind::U32,
            Type::S64 => WasmTypeKind::S64,
            Type::U64 => WasmTypeKind::U64,
            Type::Float32 => WasmTypeKind::F32,
            Type::Float64 => WasmTypeKind::F64,
            Type::Char => WasmTypeKind::Char,
            Type::String => WasmTypeKind::String,
            Type::List(_) => WasmTypeKind::List,
            Type::Map(_) => WasmTypeKind::Map,
            Type::Record(_) => WasmTypeKind::Record,
            Type::Tuple(_) => WasmTypeKind::Tuple,
            Type::Variant(_) => WasmTypeKind::Variant,
            Type::Enum(_) => WasmTypeKind::Enum,
            Type::Option(_) => WasmTypeKind::Option,
            Type::Result { .. } => WasmTypeKind::Result,
            Type::Flags(_) => WasmTypeKind::Flags,
            // Resources have no WAVE syntax.
            _ => WasmTypeKind::Unsupported,
        }
    }

    fn list_element_type(&self) -> Option<Self> {
        match &self.0 {
            Type::List(element) => Some(WaveType((**element).clone())),
            _ => None,
        }
    }

    fn record_fields(&self) -> Box<dyn Iterator<Item = (Cow<'_, str>, Self)> + '_> {
        match &self.0 {
            Type::Record(fields) => boxed(
                fields
                    .iter()
                    .map(|(name, ty)| (Cow::Borrowed(name.as_str()), WaveType(ty.clone()))),
            ),
            _ => boxed(std::iter::empty()),
        }
    }

    fn tuple_element_types(&self) -> Box<dyn Iterator<Item = Self> + '_> {
        match &self.0 {
            Type::Tuple(types) => boxed(types.iter().map(|t| WaveType(t.clone()))),
            _ => boxed(std::iter::empty()),
        }
    }

    fn variant_cases(&self) -> Box<dyn Iterator<Item = (Cow<'_, str>, Option<Self>)> + '_> {
        match &self.0 {
            Type::Variant(cases) => boxed(cases.iter().map(|(name, ty)| {
                (
                    Cow::Borrowed(name.as_str()),
                    ty.as_ref().map(|t| WaveType(t.clone())),
                )
            })),
            _ => boxed(std::iter::empty()),
        }
    }

    fn enum_cases(&self) -> Box<dyn Iterator<Item = Cow<'_, str>> + '_> {
        match &self.0 {
            Type::Enum(cases) => boxed(cases.iter().map(|c| Cow::Borrowed(c.as_str()))),
            _ => boxed(std::iter::empty()),
        }
    }

    fn option_some_type(&self) -> Option<Self> {
        match &self.0 {
            Type::Option(some) => Some(WaveType((**some).clone())),
            _ => None,
        }
    }

    fn result_types(&self) -> Option<(Option<Self>, Option<Self>)> {
        match &self.0 {
            Type::Result { ok, err } => Some((
                ok.as_ref().map(|t| WaveType((**t).clone())),
                err.as_ref().map(|t| WaveType((**t).clone())),
            )),
            _ => None,
        }
    }

    fn flags_names(&self) -> Box<dyn Iterator<Item = Cow<'_, str>> + '_> {
        match &self.0 {
            Type::Flags(names) => boxed(names.iter().map(|n| Cow::Borrowed(n.as_str()))),
            _ => boxed(std::iter::empty()),
        }
    }

    fn map_key_value_types(&self) -> Option<(Self, Self)> {
        match &self.0 {
            Type::Map(kv) => Some((WaveType(kv.0.clone()), WaveType(kv.1.clone()))),
            _ => None,
        }
    }
}

fn wrong_kind(ty: &WaveType, kind: WasmTypeKind) -> WasmValueError {
    WasmValueError::WrongTypeKind {
        kind,
        ty: ty.0.to_string(),
    }
}

/// The payload of a variant or result case: present exactly when the case has a type, and then
/// of that type.
fn payload(
    case: &str,
    ty: Option<&Type>,
    value: Option<WaveVal>,
) -> Result<Option<Box<Val>>, WasmValueError> {
    match (ty, value) {
        (None, None) => Ok(None),
        (Some(ty), Some(value)) => {
            check(ty, &value)?;
            Ok(Some(Box::new(value.0)))
        }
        (Some(_), None) => Err(WasmValueError::MissingPayload(case.to_string())),
        (None, Some(_)) => Err(WasmValueError::UnexpectedPayload(case.to_string())),
    }
}

fn check(ty: &Type, value: &WaveVal) -> Result<(), WasmValueError> {
    value
        .0
        .check(ty)
        .map_err(|_| WasmValueError::WrongValueType {
            ty: ty.to_string(),
            val: wasm_wave::to_string(value).unwrap_or_else(|_| "a resource".to_string()),
        })
}

impl WasmValue for WaveVal {
    type Type = WaveType;

    fn kind(&self) -> WasmTypeKind {
        match &self.0 {
            Val::Bool(_) => WasmTypeKind::Bool,
            Val::S8(_) => WasmTypeKind::S8,
            Val::U8(_) => WasmTypeKind::U8,
            Val::S16(_) => WasmTypeKind::S16,
            Val::U16(_) => WasmTypeKind::U16,
            Val::S32(_) => WasmTypeKind::S32,
            Val::U32(_) => WasmTypeKind::U32,
            Val::S64(_) => WasmTypeKind::S64,
            Val::U64(_) => WasmTypeKind::U64,
            Val::Float32(_) => WasmTypeKind::F32,
            Val::Float64(_) => WasmTypeKind::F64,
            Val::Char(_) => WasmTypeKind::Char,
            Val::String(_) => WasmTypeKind::String,
            Val::List(_) => WasmTypeKind::List,
            Val::Map(_) => WasmTypeKind::Map,
            Val::Record(_) => WasmTypeKind::Record,
            Val::Tuple(_) => WasmTypeKind::Tuple,
            Val::Variant(..) => WasmTypeKind::Variant,
            Val::Enum(_) => WasmTypeKind::Enum,
            Val::Option(_) => WasmTypeKind::Option,
            Val::Result(_) => WasmTypeKind::Result,
            Val::Flags(_) => WasmTypeKind::Flags,
            _ => WasmTypeKind::Unsupported,
        }
    }

    fn make_bool(val: bool) -> Self {
        WaveVal(Val::Bool(val))
    }
    fn make_s8(val: i8) -> Self {
        WaveVal(Val::S8(val))
    }
    fn make_s16(val: i16) -> Self {
        WaveVal(Val::S16(val))
    }
    fn make_s32(val: i32) -> Self {
        WaveVal(Val::S32(val))
    }
    fn make_s64(val: i64) -> Self {
        WaveVal(Val::S64(val))
    }
    fn make_u8(val: u8) -> Self {
        WaveVal(Val::U8(val))
    }
    fn make_u16(val: u16) -> Self {
        WaveVal(Val::U16(val))
    }
    fn make_u32(val: u32) -> Self {
        WaveVal(Val::U32(val))
    }
    fn make_u64(val: u64) -> Self {
        WaveVal(Val::U64(val))
    }
    fn make_f32(val: f32) -> Self {
        WaveVal(Val::Float32(val))
    }
    fn make_f64(val: f64) -> Self {
        WaveVal(Val::Float64(val))
    }
    fn make_char(val: char) -> Self {
        WaveVal(Val::Char(val))
    }
    fn make_string(val: Cow<str>) -> Self {
        WaveVal(Val::String(val.into_owned()))
    }

    fn make_list(
        ty: &Self::Type,
        vals: impl IntoIterator<Item = Self>,
    ) -> Result<Self, WasmValueError> {
        let Type::List(element) = &ty.0 else {
            return Err(wrong_kind(ty, WasmTypeKind::List));
        };
        let items = vals
            .into_iter()
            .map(|v| check(element, &v).map(|()| v.0))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WaveVal(Val::List(items)))
    }

    fn make_record<'a>(
        ty: &Self::Type,
        fields: impl IntoIterator<Item = (&'a str, Self)>,
    ) -> Result<Self, WasmValueError> {
        let Type::Record(types) = &ty.0 else {
            return Err(wrong_kind(ty, WasmTypeKind::Record));
        };
        let mut given: Vec<(&str, Option<WaveVal>)> =
            fields.into_iter().map(|(n, v)| (n, Some(v))).collect();
        if let Some((unknown, _)) = given
            .iter()
            .find(|(n, _)| !types.iter().any(|(field, _)| field == n))
        {
            return Err(WasmValueError::UnknownField(unknown.to_string()));
        }
        // In the type's order.
        let mut values = Vec::with_capacity(types.len());
        for (field, field_ty) in types.iter() {
            let value = given
                .iter_mut()
                .find(|(n, _)| n == field)
                .and_then(|(_, v)| v.take())
                .ok_or_else(|| WasmValueError::MissingField(field.clone()))?;
            check(field_ty, &value)?;
            values.push((field.clone(), value.0));
        }
        Ok(WaveVal(Val::Record(values)))
    }

    fn make_tuple(
        ty: &Self::Type,
        vals: impl IntoIterator<Item = Self>,
    ) -> Result<Self, WasmValueError> {
        let Type::Tuple(types) = &ty.0 else {
            return Err(wrong_kind(ty, WasmTypeKind::Tuple));
        };
        let vals: Vec<WaveVal> = vals.into_iter().collect();
        if vals.len() != types.len() {
            return Err(WasmValueError::WrongNumberOfTupleValues {
                want: types.len(),
                got: vals.len(),
            });
        }
        let values = vals
            .into_iter()
            .zip(types.iter())
            .map(|(v, t)| check(t, &v).map(|()| v.0))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WaveVal(Val::Tuple(values)))
    }

    fn make_variant(
        ty: &Self::Type,
        case: &str,
        val: Option<Self>,
    ) -> Result<Self, WasmValueError> {
        let Type::Variant(cases) = &ty.0 else {
            return Err(wrong_kind(ty, WasmTypeKind::Variant));
        };
        let Some((_, case_ty)) = cases.iter().find(|(n, _)| n == case) else {
            return Err(WasmValueError::UnknownCase(case.to_string()));
        };
        let payload = payload(case, case_ty.as_ref(), val)?;
        Ok(WaveVal(Val::Variant(case.to_string(), payload)))
    }

    fn make_enum(ty: &Self::Type, case: &str) -> Result<Self, WasmValueError> {
        let Type::Enum(cases) = &ty.0 else {
            return Err(wrong_kind(ty, WasmTypeKind::Enum));
        };
        if !cases.iter().any(|c| c == case) {
            return Err(WasmValueError::UnknownCase(case.to_string()));
        }
        Ok(WaveVal(Val::Enum(case.to_string())))
    }

    fn make_option(ty: &Self::Type, val: Option<Self>) -> Result<Self, WasmValueError> {
        let Type::Option(some) = &ty.0 else {
            return Err(wrong_kind(ty, WasmTypeKind::Option));
        };
        let value = match val {
            None => None,
            Some(v) => {
                check(some, &v)?;
                Some(Box::new(v.0))
            }
        };
        Ok(WaveVal(Val::Option(value)))
    }

    fn make_result(
        ty: &Self::Type,
        val: Result<Option<Self>, Option<Self>>,
    ) -> Result<Self, WasmValueError> {
        let Type::Result { ok, err } = &ty.0 else {
            return Err(wrong_kind(ty, WasmTypeKind::Result));
        };
        let value = match val {
            Ok(v) => Ok(payload("ok", ok.as_deref(), v)?),
            Err(v) => Err(payload("err", err.as_deref(), v)?),
        };
        Ok(WaveVal(Val::Result(value)))
    }

    fn make_flags<'a>(
        ty: &Self::Type,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, WasmValueError> {
        let Type::Flags(all) = &ty.0 else {
            return Err(wrong_kind(ty, WasmTypeKind::Flags));
        };
        let names: Vec<&str> = names.into_iter().collect();
        if let Some(unknown) = names.iter().find(|n| !all.iter().any(|f| f == *n)) {
            return Err(WasmValueError::UnknownCase(unknown.to_string()));
        }
        // In the type's order.
        let set = all
            .iter()
            .filter(|f| names.contains(&f.as_str()))
            .cloned()
            .collect();
        Ok(WaveVal(Val::Flags(set)))
    }

    fn make_map(
        ty: &Self::Type,
        entries: impl IntoIterator<Item = (Self, Self)>,
    ) -> Result<Self, WasmValueError> {
        let Type::Map(kv) = &ty.0 else {
            return Err(wrong_kind(ty, WasmTypeKind::Map));
        };
        let pairs = entries
            .into_iter()
            .map(|(k, v)| {
                check(&kv.0, &k)?;
                check(&kv.1, &v)?;
                Ok((k.0, v.0))
            })
            .collect::<Result<Vec<_>, WasmValueError>>()?;
        Ok(WaveVal(Val::Map(pairs)))
    }

    // The writer calls `unwrap_*` only for the kind `kind` reports, so the fallbacks below are
    // never reached; they return a neutral value rather than panic.
    fn unwrap_bool(&self) -> bool {
        matches!(self.0, Val::Bool(true))
    }
    fn unwrap_s8(&self) -> i8 {
        if let Val::S8(v) = self.0 { v } else { 0 }
    }
    fn unwrap_s16(&self) -> i16 {
        if let Val::S16(v) = self.0 { v } else { 0 }
    }
    fn unwrap_s32(&self) -> i32 {
        if let Val::S32(v) = self.0 { v } else { 0 }
    }
    fn unwrap_s64(&self) -> i64 {
        if let Val::S64(v) = self.0 { v } else { 0 }
    }
    fn unwrap_u8(&self) -> u8 {
        if let Val::U8(v) = self.0 { v } else { 0 }
    }
    fn unwrap_u16(&self) -> u16 {
        if let Val::U16(v) = self.0 { v } else { 0 }
    }
    fn unwrap_u32(&self) -> u32 {
        if let Val::U32(v) = self.0 { v } else { 0 }
    }
    fn unwrap_u64(&self) -> u64 {
        if let Val::U64(v) = self.0 { v } else { 0 }
    }
    fn unwrap_f32(&self) -> f32 {
        if let Val::Float32(v) = self.0 { v } else { 0.0 }
    }
    fn unwrap_f64(&self) -> f64 {
        if let Val::Float64(v) = self.0 { v } else { 0.0 }
    }
    fn unwrap_char(&self) -> char {
        if let Val::Char(v) = self.0 { v } else { '\0' }
    }
    fn unwrap_string(&self) -> Cow<'_, str> {
        match &self.0 {
            Val::String(s) => Cow::Borrowed(s),
            _ => Cow::Borrowed(""),
        }
    }
    fn unwrap_list(&self) -> Box<dyn Iterator<Item = Cow<'_, Self>> + '_> {
        match &self.0 {
            Val::List(items) => boxed(items.iter().map(owned)),
            _ => boxed(std::iter::empty()),
        }
    }
    fn unwrap_record(&self) -> Box<dyn Iterator<Item = (Cow<'_, str>, Cow<'_, Self>)> + '_> {
        match &self.0 {
            Val::Record(fields) => boxed(
                fields
                    .iter()
                    .map(|(n, v)| (Cow::Borrowed(n.as_str()), owned(v))),
            ),
            _ => boxed(std::iter::empty()),
        }
    }
    fn unwrap_tuple(&self) -> Box<dyn Iterator<Item = Cow<'_, Self>> + '_> {
        match &self.0 {
            Val::Tuple(items) => boxed(items.iter().map(owned)),
            _ => boxed(std::iter::empty()),
        }
    }
    fn unwrap_variant(&self) -> (Cow<'_, str>, Option<Cow<'_, Self>>) {
        match &self.0 {
            Val::Variant(case, payload) => (Cow::Borrowed(case), payload.as_deref().map(owned)),
            _ => (Cow::Borrowed(""), None),
        }
    }
    fn unwrap_enum(&self) -> Cow<'_, str> {
        match &self.0 {
            Val::Enum(case) => Cow::Borrowed(case),
            _ => Cow::Borrowed(""),
        }
    }
    fn unwrap_option(&self) -> Option<Cow<'_, Self>> {
        match &self.0 {
            Val::Option(value) => value.as_deref().map(owned),
            _ => None,
        }
    }
    fn unwrap_result(&self) -> Result<Option<Cow<'_, Self>>, Option<Cow<'_, Self>>> {
        match &self.0 {
            Val::Result(Ok(v)) => Ok(v.as_deref().map(owned)),
            Val::Result(Err(v)) => Err(v.as_deref().map(owned)),
            _ => Ok(None),
        }
    }
    fn unwrap_flags(&self) -> Box<dyn Iterator<Item = Cow<'_, str>> + '_> {
        match &self.0 {
            Val::Flags(names) => boxed(names.iter().map(|n| Cow::Borrowed(n.as_str()))),
            _ => boxed(std::iter::empty()),
        }
    }
    fn unwrap_map(&self) -> Box<dyn Iterator<Item = (Cow<'_, Self>, Cow<'_, Self>)> + '_> {
        match &self.0 {
            Val::Map(pairs) => boxed(pairs.iter().map(|(k, v)| (owned(k), owned(v)))),
            _ => boxed(std::iter::empty()),
        }
    }
}

fn owned(value: &Val) -> Cow<'_, WaveVal> {
    Cow::Owned(WaveVal(value.clone()))
}

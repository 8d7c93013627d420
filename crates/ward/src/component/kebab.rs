//! Hyphens in component names, which the pinned wasmparser ignores when it checks that names are
//! unique.
//!
//! The component model says that two names in one scope (the imports and exports of a component
//! or of a component or instance type, the arguments of an instantiation, the fields of a record,
//! the cases of a variant, the flags, the enum tags, the parameters of a function) must differ by
//! more than ASCII case: `a` and `A` clash, `a1` and `a-1` do not. wasmparser 0.263, the newest
//! release and the one ward pins, drops the hyphens before it compares, so it rejects a valid
//! component that has both `a1` and `a-1` ("conflicts with previous name"). Its validator has no
//! switch for that comparison.
//!
//! ward therefore looks twice, and only when the first look fails that way (components without
//! such an error never reach this file):
//!
//! 1. [`conflict`] reads the two names from wasmparser's message, and [`really_equal`] decides
//!    whether they clash even when hyphens count. If they do, the error stands as wasmparser wrote
//!    it.
//! 2. Otherwise [`rename_labels`] makes a copy of the component in which every component-level
//!    name is replaced by its [`encode`]d form, and `parse` validates and walks that copy instead.
//!    The encoding makes each hyphen visible to wasmparser's comparison (see [`encode`]), so the
//!    copy is valid exactly when the component is valid with hyphens counted. The names ward
//!    records for instantiation and linking are decoded back ([`Names::restore`]): the copy
//!    exists only for wasmparser, and every import, export, field and case keeps its original
//!    name. If the copy is invalid, its message is reported with its names decoded
//!    ([`restore_message`]); its offset is then one in the copy, which is longer than the original
//!    by the inserted characters.
//!
//! Core-level names (core module imports and exports, core instance exports) are compared exactly
//! by wasmparser and are left alone, as are nested core modules (copied byte for byte), versions
//! (`@1.2.3`), `external-id`s and the `component-name` custom section.
//!
//! This file can go when wasmparser compares names the way the component model does; the test
//! `validation/kebab.wast` of the vendored component-model scripts then passes without it.
//! Depends on nothing else of ward.

use std::borrow::Cow;
use std::convert::Infallible;

use wasm_encoder::reencode::{
    Error as ReencodeError, Reencode, ReencodeComponent, component_utils,
};
use wasm_encoder::{
    Alias, ComponentAliasSection, ComponentExportSection, ComponentImportSection,
    ComponentInstanceSection, ComponentSectionId, ComponentValType, RawSection,
};
use wasmparser::names::ComponentName;
use wasmparser::{ComponentAlias, WasmFeatures};

/// Whether the names a parse sees are the component's own or [`encode`]d ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Names {
    /// The component as written: names are used as they are.
    #[default]
    AsWritten,
    /// The copy [`rename_labels`] made: names are decoded before ward keeps them.
    Encoded,
}

impl Names {
    /// The name ward keeps for `name` as the parse saw it.
    pub(crate) fn restore(self, name: &str) -> String {
        match self {
            Names::AsWritten => name.to_string(),
            Names::Encoded => decode(name).unwrap_or_else(|| name.to_string()),
        }
    }
}

/// The part of a name that [`encode`] rewrites, and the version it leaves alone: an interface
/// name's version starts at its first `@` (no label contains one).
fn split_version(name: &str) -> (&str, &str) {
    name.split_at(name.find('@').unwrap_or(name.len()))
}

/// The name wasmparser is shown instead of `name`: before any `@`, each hyphen becomes `-z0-`,
/// each `z` becomes `z1` and each `Z` becomes `Z1`; every other character stays.
///
/// Why this is sound:
///
/// - **Nothing else changes.** The characters that give a name its structure (`[`, `]`, `.`, `:`,
///   `/`, `@`) and the annotations (`[method]`, `[static]`, `[constructor]`, `[get]`, `[set]`) hold
///   no hyphen and no `z`, so they stay where they were; each label between them is encoded on
///   its own.
/// - **Kebab case is kept both ways.** A label is words joined by single hyphens; a word starts
///   with a letter (a digit is allowed except in the first word) and its letters are all lower or
///   all upper case. Encoding turns each word `w` into `w` with a `1` after every `z` or `Z` (a
///   digit after a letter is allowed in any word, and the case of the letters is unchanged) and
///   puts a new word `z0` between neighbours. So empty words, leading, trailing or doubled hyphens
///   and mixed-case words survive encoding, and the encoded label is kebab exactly when the
///   original is. Lower-case-only parts (package namespaces) stay lower case, as only `z`, `0`
///   and `1` are added.
/// - **Different stays different.** Each character maps to a code (`-z0-`, `z1`, `Z1`, or itself)
///   and no code is the start of another, so the encoding is one-to-one ([`decode`] undoes it).
/// - **Hyphens become visible.** wasmparser compares a label by removing its hyphens and lowering
///   its ASCII letters. Applied to an encoded label that leaves the original, lowered, with each
///   hyphen written `z0` and each `z` written `z1`; that again is one-to-one. So two encoded labels
///   compare equal in wasmparser exactly when the original labels are equal up to ASCII case, the
///   component model's rule.
pub(crate) fn encode(name: &str) -> String {
    let (labels, version) = split_version(name);
    let mut out = String::with_capacity(name.len() + 8);
    for c in labels.chars() {
        match c {
            '-' => out.push_str("-z0-"),
            'z' => out.push_str("z1"),
            'Z' => out.push_str("Z1"),
            c => out.push(c),
        }
    }
    out.push_str(version);
    out
}

/// The name that [`encode`] turned into `name`, or `None` if no name encodes to it.
pub(crate) fn decode(name: &str) -> Option<String> {
    let (labels, version) = split_version(name);
    let mut out = String::with_capacity(name.len());
    let mut rest = labels;
    while let Some(c) = rest.chars().next() {
        let (original, used) = match c {
            '-' if rest.starts_with("-z0-") => ('-', 4),
            'z' | 'Z' if rest[1..].starts_with('1') => (c, 2),
            '-' | 'z' | 'Z' => return None,
            c => (c, c.len_utf8()),
        };
        out.push(original);
        rest = &rest[used..];
    }
    out.push_str(version);
    Some(out)
}

/// The two names of a wasmparser uniqueness error ("import name `a-1` conflicts with previous
/// name `a1`", "record field name `x` conflicts with previous field name `X`", …): the new one
/// and the earlier one, or `None` for any other message.
pub(crate) fn conflict(message: &str) -> Option<(&str, &str)> {
    if !message.contains(" conflicts with previous ") {
        return None;
    }
    let mut quoted = message.split('`').skip(1).step_by(2);
    Some((quoted.next()?, quoted.next()?))
}

/// Whether two names that wasmparser found to clash also clash when hyphens count: wasmparser's
/// own comparison (its rules for annotations such as `[method]r.r` included) applied to the
/// [`encode`]d names, which differ wherever the hyphens differ. Names wasmparser cannot read as
/// extern names are compared as labels: equal up to ASCII case.
pub(crate) fn really_equal(a: &str, b: &str) -> bool {
    let (ea, eb) = (encode(a), encode(b));
    let features = WasmFeatures::all();
    match (
        ComponentName::new_with_features(&ea, 0, features),
        ComponentName::new_with_features(&eb, 0, features),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// `message` with every name between backquotes that [`encode`] produced decoded.
pub(crate) fn restore_message(message: &str) -> String {
    message
        .split('`')
        .enumerate()
        .map(|(i, part)| match i % 2 {
            1 => decode(part).map_or(Cow::Borrowed(part), Cow::Owned),
            _ => Cow::Borrowed(part),
        })
        .collect::<Vec<_>>()
        .join("`")
}

/// A copy of the component `bytes` with every component-level name [`encode`]d, or `None` if the
/// binary cannot be read to its end (the caller then keeps wasmparser's first error).
pub(crate) fn rename_labels(bytes: &[u8]) -> Option<Vec<u8>> {
    // wasm-encoder's re-encoder slices nested modules and components by the sizes their
    // sections declare, and panics when one runs past the end; a full parse first rules that
    // out (a mutated binary can reach here, since its first error may be a name clash).
    if wasmparser::Parser::new(0)
        .parse_all(bytes)
        .any(|payload| payload.is_err())
    {
        return None;
    }
    let mut component = wasm_encoder::Component::new();
    Renamer
        .parse_component(&mut component, wasmparser::Parser::new(0), bytes)
        .ok()?;
    Some(component.finish())
}

/// The re-encoder behind [`rename_labels`]: wasm-encoder's round trip, with the name of every
/// place that holds a component-level name encoded.
struct Renamer;

type Reencoded = Result<(), ReencodeError<Infallible>>;

/// An import or export name with its label parts (`name` and `implements`) encoded.
fn extern_name(name: wasmparser::ComponentExternName<'_>) -> wasm_encoder::ComponentExternName<'_> {
    let mut out = wasm_encoder::ComponentExternName::from(name);
    out.name = Cow::Owned(encode(name.name));
    out.implements = name.implements.map(|i| Cow::Owned(encode(i)));
    out
}

/// A type's labels (fields, cases, flags, tags, parameters), encoded.
fn labels<'a, T>(items: impl IntoIterator<Item = (&'a str, T)>) -> Vec<(String, T)> {
    items.into_iter().map(|(n, t)| (encode(n), t)).collect()
}

impl Reencode for Renamer {
    type Error = Infallible;
}

impl ReencodeComponent for Renamer {
    fn parse_component_submodule(
        &mut self,
        component: &mut wasm_encoder::Component,
        _parser: wasmparser::Parser,
        module: &[u8],
    ) -> Reencoded {
        component.section(&RawSection {
            id: ComponentSectionId::CoreModule.into(),
            data: module,
        });
        Ok(())
    }

    fn parse_component_import_section(
        &mut self,
        imports: &mut ComponentImportSection,
        section: wasmparser::ComponentImportSectionReader<'_>,
    ) -> Reencoded {
        for import in section {
            let import = import?;
            let ty = self.component_type_ref(import.ty)?;
            imports.import(extern_name(import.name), ty);
        }
        Ok(())
    }

    fn parse_component_export(
        &mut self,
        exports: &mut ComponentExportSection,
        export: wasmparser::ComponentExport<'_>,
    ) -> Reencoded {
        let ty = export.ty.map(|t| self.component_type_ref(t)).transpose()?;
        let index = self.component_external_index(export.kind, export.index);
        exports.export(extern_name(export.name), export.kind.into(), index, ty);
        Ok(())
    }

    fn parse_component_instance(
        &mut self,
        instances: &mut ComponentInstanceSection,
        instance: wasmparser::ComponentInstance<'_>,
    ) -> Reencoded {
        match instance {
            wasmparser::ComponentInstance::Instantiate {
                component_index,
                args,
            } => {
                let args: Vec<_> = args
                    .iter()
                    .map(|a| {
                        let index = self.component_external_index(a.kind, a.index);
                        (encode(a.name), a.kind.into(), index)
                    })
                    .collect();
                instances.instantiate(self.component_index(component_index), args);
            }
            wasmparser::ComponentInstance::FromExports(exports) => {
                let exports: Vec<_> = exports
                    .iter()
                    .map(|e| {
                        let index = self.component_external_index(e.kind, e.index);
                        (extern_name(e.name), e.kind.into(), index)
                    })
                    .collect();
                instances.export_items(exports);
            }
        }
        Ok(())
    }

    fn parse_component_alias_section(
        &mut self,
        aliases: &mut ComponentAliasSection,
        section: wasmparser::ComponentAliasSectionReader<'_>,
    ) -> Reencoded {
        for alias in section {
            let alias = alias?;
            with_alias(self, alias, |a| {
                aliases.alias(a);
            })?;
        }
        Ok(())
    }

    fn parse_component_instance_type_declaration(
        &mut self,
        instance: &mut wasm_encoder::InstanceType,
        decl: wasmparser::InstanceTypeDeclaration<'_>,
    ) -> Reencoded {
        match decl {
            wasmparser::InstanceTypeDeclaration::Export { name, ty } => {
                let ty = self.component_type_ref(ty)?;
                instance.export(extern_name(name), ty);
                Ok(())
            }
            wasmparser::InstanceTypeDeclaration::Alias(alias) => with_alias(self, alias, |a| {
                instance.alias(a);
            }),
            decl => {
                component_utils::parse_component_instance_type_declaration(self, instance, decl)
            }
        }
    }

    fn parse_component_type_declaration(
        &mut self,
        component: &mut wasm_encoder::ComponentType,
        decl: wasmparser::ComponentTypeDeclaration<'_>,
    ) -> Reencoded {
        match decl {
            wasmparser::ComponentTypeDeclaration::Export { name, ty } => {
                let ty = self.component_type_ref(ty)?;
                component.export(extern_name(name), ty);
                Ok(())
            }
            wasmparser::ComponentTypeDeclaration::Import(import) => {
                let ty = self.component_type_ref(import.ty)?;
                component.import(extern_name(import.name), ty);
                Ok(())
            }
            wasmparser::ComponentTypeDeclaration::Alias(alias) => with_alias(self, alias, |a| {
                component.alias(a);
            }),
            decl => component_utils::parse_component_type_declaration(self, component, decl),
        }
    }

    fn parse_component_func_type(
        &mut self,
        mut func: wasm_encoder::ComponentFuncTypeEncoder<'_>,
        ty: wasmparser::ComponentFuncType<'_>,
    ) -> Reencoded {
        func.async_(ty.async_);
        let params = labels(
            ty.params
                .iter()
                .map(|(name, t)| (*name, self.component_val_type(*t))),
        );
        func.params(params.iter().map(|(n, t)| (n.as_str(), *t)));
        func.result(ty.result.map(|t| self.component_val_type(t)));
        Ok(())
    }

    fn parse_component_defined_type(
        &mut self,
        defined: wasm_encoder::ComponentDefinedTypeEncoder<'_>,
        ty: wasmparser::ComponentDefinedType<'_>,
    ) -> Reencoded {
        match ty {
            wasmparser::ComponentDefinedType::Record(fields) => {
                let fields: Vec<(String, ComponentValType)> = labels(
                    fields
                        .iter()
                        .map(|(name, t)| (*name, self.component_val_type(*t))),
                );
                defined.record(fields.iter().map(|(n, t)| (n.as_str(), *t)));
            }
            wasmparser::ComponentDefinedType::Variant(cases) => {
                let cases: Vec<(String, Option<ComponentValType>)> = labels(
                    cases
                        .iter()
                        .map(|c| (c.name, c.ty.map(|t| self.component_val_type(t)))),
                );
                defined.variant(cases.iter().map(|(n, t)| (n.as_str(), *t)));
            }
            wasmparser::ComponentDefinedType::Flags(names) => {
                let names: Vec<String> = names.iter().map(|n| encode(n)).collect();
                defined.flags(names.iter().map(String::as_str));
            }
            wasmparser::ComponentDefinedType::Enum(tags) => {
                let tags: Vec<String> = tags.iter().map(|n| encode(n)).collect();
                defined.enum_type(tags.iter().map(String::as_str));
            }
            ty => component_utils::parse_component_defined_type(self, defined, ty)?,
        }
        Ok(())
    }
}

/// Hands `emit` the re-encoded `alias`, with the export name of a component instance encoded
/// (a core instance's export names are core names, left alone).
fn with_alias(
    renamer: &mut Renamer,
    alias: ComponentAlias<'_>,
    emit: impl FnOnce(Alias<'_>),
) -> Reencoded {
    match alias {
        ComponentAlias::InstanceExport {
            kind,
            instance_index,
            name,
        } => {
            let name = encode(name);
            emit(Alias::InstanceExport {
                instance: renamer.component_instance_index(instance_index),
                kind: kind.into(),
                name: &name,
            });
        }
        alias => emit(renamer.component_alias(alias)?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use wasmparser::names::KebabStr;

    /// Every string of up to `max` characters over `alphabet`.
    fn strings(alphabet: &[char], max: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..max {
            let next: Vec<String> = last
                .iter()
                .flat_map(|s| {
                    alphabet.iter().map(move |c| {
                        let mut s = s.clone();
                        s.push(*c);
                        s
                    })
                })
                .collect();
            all.extend(next.iter().cloned());
            last = next;
        }
        all
    }

    /// Generated names: every short string over letters (with `z`/`Z`), digits and hyphens, and
    /// longer names made of words.
    fn names() -> Vec<String> {
        let mut names = strings(&['a', 'z', 'Z', 'B', '0', '1', '-'], 4);
        let words = [
            "a", "z", "Z", "zz", "z0", "z1", "Z1", "b2", "12", "AB", "foo", "BAR",
        ];
        for a in words {
            for b in words {
                for sep in ["", "-"] {
                    names.push(format!("{a}{sep}{b}"));
                    names.push(format!("{a}{sep}{b}-{a}"));
                }
            }
        }
        names.extend(
            [
                "a11-B11-123-ABC-abc",
                "foo-BAR-baz",
                "FOO-bar-BAZ",
                "z0-z1",
                "z-0-z-1",
            ]
            .map(String::from),
        );
        names
    }

    #[test]
    fn encoding_is_one_to_one_and_decodes() {
        let names = names();
        let mut seen = HashMap::new();
        for name in &names {
            let encoded = encode(name);
            assert_eq!(decode(&encoded).as_deref(), Some(name.as_str()), "{name}");
            if let Some(other) = seen.insert(encoded.clone(), name.clone()) {
                assert_eq!(
                    &other, name,
                    "`{other}` and `{name}` both encode to `{encoded}`"
                );
            }
        }
        assert_eq!(decode("a-b"), None, "a bare hyphen is not an encoding");
        assert_eq!(decode("az"), None);
        assert_eq!(decode("a-z0-1"), Some("a-1".into()));
    }

    #[test]
    fn kebab_case_is_kept_both_ways() {
        let mut valid = 0;
        for name in names() {
            let before = KebabStr::new(&name).is_some();
            let after = KebabStr::new(&encode(&name)).is_some();
            assert_eq!(before, after, "`{name}` -> `{}`", encode(&name));
            valid += usize::from(before);
        }
        assert!(valid > 300, "only {valid} kebab names were generated");
    }

    #[test]
    fn encoded_names_clash_in_wasmparser_exactly_when_equal_up_to_case() {
        let kebab: Vec<String> = names()
            .into_iter()
            .filter(|n| KebabStr::new(n).is_some())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let encoded: Vec<String> = kebab.iter().map(|n| encode(n)).collect();
        let mut clashes_before = 0;
        for (i, a) in kebab.iter().enumerate() {
            for (j, b) in kebab.iter().enumerate() {
                let ea = KebabStr::new(&encoded[i]).unwrap();
                let eb = KebabStr::new(&encoded[j]).unwrap();
                assert_eq!(ea == eb, a.eq_ignore_ascii_case(b), "`{a}` and `{b}`");
                let before = KebabStr::new(a).unwrap() == KebabStr::new(b).unwrap();
                clashes_before += usize::from(before && !a.eq_ignore_ascii_case(b));
            }
        }
        assert!(
            clashes_before > 0,
            "the generated names include hyphen-only differences"
        );
    }

    #[test]
    fn extern_names_keep_their_structure_and_version() {
        assert_eq!(encode("a-1"), "a-z0-1");
        assert_eq!(
            encode("[method]my-res.get-z"),
            "[method]my-z0-res.get-z0-z1"
        );
        assert_eq!(
            encode("wasi:http-x/types-Z@0.2.0-rc-1"),
            "wasi:http-z0-x/types-z0-Z1@0.2.0-rc-1"
        );
        let features = WasmFeatures::all();
        for name in [
            "a-1",
            "[constructor]res-a",
            "[method]res-a.do-it",
            "[static]res-a.make-z",
            "[method][get]res.prop-1",
            "ns-1-a:b-1-c/D-2",
            "wasi:cli/environment@0.2.0-rc-2023",
            "[method]a-1",
            "ns:A/b",
            "a--b",
        ] {
            let before = ComponentName::new_with_features(name, 0, features).is_ok();
            let after = ComponentName::new_with_features(&encode(name), 0, features).is_ok();
            assert_eq!(before, after, "{name}");
        }
    }

    #[test]
    fn real_and_spurious_conflicts_are_told_apart() {
        assert!(really_equal("a", "A"));
        assert!(really_equal("foo-BAR-baz", "FOO-bar-BAZ"));
        assert!(really_equal("[method]a.a", "a"));
        assert!(really_equal("[static]r-1.m", "[method]R-1.M"));
        assert!(!really_equal("a1", "a-1"));
        assert!(!really_equal("B-1", "B1"));
        assert!(!really_equal("[method]r-1.m", "[method]r1.m"));
        assert!(!really_equal("ns:p/a-b", "ns:p/ab"));
        assert_eq!(
            conflict("import name `a-1` conflicts with previous name `a1`"),
            Some(("a-1", "a1"))
        );
        assert_eq!(
            conflict("record field name `x-y` conflicts with previous field name `xy`"),
            Some(("x-y", "xy"))
        );
        assert_eq!(conflict("`a` is not in kebab case"), None);
    }

    #[test]
    fn messages_get_their_names_back() {
        assert_eq!(
            restore_message("export name `a-z0-b` conflicts with previous name `A-z0-B`"),
            "export name `a-b` conflicts with previous name `A-B`"
        );
        assert_eq!(
            restore_message("type mismatch for `z`"),
            "type mismatch for `z`"
        );
    }
}

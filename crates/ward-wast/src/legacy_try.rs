//! Rewrites the folded form of legacy exception handling's `try` into the flat form, which is all
//! the `wast` crate still parses:
//!
//! ```text
//! (try $l (result i32) (do A) (catch $e B) (catch_all C))   =>   try $l (result i32) A catch $e B catch_all C end
//! (try (do A) (delegate 1))                                 =>   try A delegate 1
//! ```
//!
//! The spec's `legacy/*.wast` scripts are written in the folded form. Parentheses are replaced by
//! spaces (and the closing one of a `try` by ` end`), so line numbers stay those of the script.
//! Strings (quoted modules, names) and comments are left alone. Called by `lib.rs` before parsing.

/// What a `(` on the stack opened.
enum Open {
    /// A folded `try`; `delegated` once its `(delegate …)` clause was seen (no `end` then).
    Try { delegated: bool },
    /// A `(do …)`, `(catch …)`, `(catch_all …)` or `(delegate …)` clause of a folded `try`.
    Clause,
    /// Anything else.
    Other,
}

/// The script with every folded `try` unfolded, or `None` when it has none.
pub(crate) fn unfold(text: &str) -> Option<String> {
    if !text.contains("(try") {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 64);
    let mut stack: Vec<Open> = Vec::new();
    let mut changed = false;
    let mut i = 0;
    // Everything copied so far ends at `copied`; replacements are pushed in between.
    let mut copied = 0;
    let replace = |out: &mut String, copied: &mut usize, at: usize, len: usize, with: &str| {
        out.push_str(&text[*copied..at]);
        out.push_str(with);
        *copied = at + len;
    };
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // A string: skip to its closing quote, over escapes.
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b';' if bytes.get(i + 1) == Some(&b';') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' if bytes.get(i + 1) == Some(&b';') => {
                // A block comment; they nest.
                let mut depth = 0;
                while i < bytes.len() {
                    if bytes[i..].starts_with(b"(;") {
                        depth += 1;
                        i += 2;
                    } else if bytes[i..].starts_with(b";)") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'(' => {
                let keyword = keyword_at(&text[i + 1..]);
                let in_try = matches!(stack.last(), Some(Open::Try { .. }));
                let open = match keyword {
                    "try" => Open::Try { delegated: false },
                    "do" | "catch" | "catch_all" | "delegate" if in_try => {
                        if keyword == "delegate"
                            && let Some(Open::Try { delegated }) = stack.last_mut()
                        {
                            *delegated = true;
                        }
                        Open::Clause
                    }
                    _ => Open::Other,
                };
                if !matches!(open, Open::Other) {
                    // `do` is no instruction: it goes with its parenthesis.
                    let len = if keyword == "do" { 3 } else { 1 };
                    replace(&mut out, &mut copied, i, len, &" ".repeat(len));
                    changed = true;
                }
                stack.push(open);
                i += 1;
            }
            b')' => {
                match stack.pop() {
                    Some(Open::Try { delegated: false }) => {
                        replace(&mut out, &mut copied, i, 1, " end ")
                    }
                    Some(Open::Try { delegated: true } | Open::Clause) => {
                        replace(&mut out, &mut copied, i, 1, " ")
                    }
                    _ => {}
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied.min(text.len())..]);
    Some(out)
}

/// The keyword right after a `(`: up to whitespace, a parenthesis or a comment.
fn keyword_at(rest: &str) -> &str {
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ';')
        .unwrap_or(rest.len());
    &rest[..end]
}

#[cfg(test)]
mod tests {
    use super::unfold;

    #[test]
    fn folded_try_with_catches_becomes_flat_with_end() {
        let text = "(func (try (result i32) (do (i32.const 1)) (catch $e (i32.const 2)) (catch_all (i32.const 3))))";
        let flat = unfold(text).unwrap();
        let words: Vec<&str> = flat.split_whitespace().collect();
        assert_eq!(
            words.join(" "),
            "(func try (result i32) (i32.const 1) catch $e (i32.const 2) catch_all (i32.const 3) end )"
        );
    }

    #[test]
    fn delegate_ends_the_try_without_end() {
        let flat = unfold("(try $t (do (try (do (nop)) (delegate $t))) (catch_all))").unwrap();
        let words: Vec<&str> = flat.split_whitespace().collect();
        assert_eq!(
            words.join(" "),
            "try $t try (nop) delegate $t catch_all end"
        );
    }

    #[test]
    fn strings_comments_and_try_table_are_left_alone() {
        assert_eq!(
            unfold("(module quote \"(func (try (do)))\") ;; (try (do))"),
            None
        );
        assert_eq!(unfold("(try_table (catch_all 0))"), None);
        assert_eq!(unfold("(; (try (do)) ;)"), None);
    }

    #[test]
    fn lines_stay_where_they_were() {
        let text = "(try\n  (do (nop))\n  (catch_all))\n(assert_return)";
        let flat = unfold(text).unwrap();
        assert_eq!(flat.lines().count(), text.lines().count());
        assert_eq!(flat.lines().last(), Some("(assert_return)"));
    }
}

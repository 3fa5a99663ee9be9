//! What a one-line field of the YAML refuses, and the words for it: every
//! string but `user_data` is one line of visible text. Control characters
//! forge lines in logs and annotations or rewrite a terminal; bidirectional
//! controls and zero-width spaces make a value read differently than it is
//! ("Trojan Source"). The same rule judges live tag values.

/// Why a character has no place in a one-line field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    /// `\n`, `\r`, NEL, U+2028, U+2029.
    LineBreak,
    /// `\t`.
    Tab,
    /// Any other C0 control, DEL or C1 control (ESC, NUL, BEL…).
    Control,
    /// Bidirectional overrides and isolates, zero-width spaces: text that
    /// shows differently than it reads. Zero-width (non-)joiners stay
    /// allowed: scripts and emoji need them.
    Disguise,
}

/// Whether `c` may not be in a one-line field, and why.
pub fn forbidden(c: char) -> Option<Forbidden> {
    Some(match c {
        '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => Forbidden::LineBreak,
        '\t' => Forbidden::Tab,
        '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' => Forbidden::Control,
        '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200b}'
        | '\u{2060}'
        | '\u{feff}'
        | '\u{180e}' => Forbidden::Disguise,
        _ => return None,
    })
}

/// Message and hint for the first refused character of `s`, a value that
/// messages call `what`; `None` when `s` is one line of visible text.
pub fn refusal(s: &str, what: &str) -> Option<(String, String)> {
    let (c, kind) = s.chars().find_map(|c| forbidden(c).map(|k| (c, k)))?;
    let code = format!("U+{:04X}", c as u32);
    let (found, hint) = match kind {
        Forbidden::LineBreak => (
            format!("a line break ({code})"),
            format!(
                "{what} is one line: remove the line break (only `user_data` holds several lines)"
            ),
        ),
        Forbidden::Tab => (
            format!("a tab ({code})"),
            format!("{what} is one line of printable text: replace the tab with a space"),
        ),
        Forbidden::Control => (
            format!("the control character {code}"),
            "remove it: control characters (escape sequences, NUL) can change what a terminal or a log shows".to_string(),
        ),
        Forbidden::Disguise => (
            format!("the invisible or text-direction character {code}"),
            "remove it: one-line fields refuse bidirectional-text controls and zero-width characters, which can make text read differently than it is (\"Trojan Source\")".to_string(),
        ),
    };
    Some((format!("{what} contains {found}"), hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_and_allowed_characters() {
        for c in [
            '\n', '\r', '\t', '\0', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}', '\u{2028}', '\u{202e}',
            '\u{2067}', '\u{200b}', '\u{feff}',
        ] {
            assert!(forbidden(c).is_some(), "{c:?}");
        }
        for c in ['a', ' ', 'é', '€', '\u{200c}', '\u{200d}', '\u{a0}', '日'] {
            assert_eq!(forbidden(c), None, "{c:?}");
        }
    }

    #[test]
    fn the_first_refused_character_is_named() {
        assert_eq!(refusal("web-1 ops", "the name"), None);
        assert_eq!(
            refusal("a\tb\nc", "the name"),
            Some((
                "the name contains a tab (U+0009)".to_string(),
                "the name is one line of printable text: replace the tab with a space".to_string()
            ))
        );
    }
}

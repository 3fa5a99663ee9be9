//! The infra YAML (format version 1): parsing, validation, expansion.
//!
//! Pure code: the caller reads files. [`parse_stack`] turns one file's text
//! into a [`crate::model::Desired`], or into every problem found, each located
//! at `file:line:column` with a hint where one helps.

mod decode;
mod diagnostic;
mod fields;
mod files;
mod instance;
mod keys;
mod network;
mod one_line;
mod schema;
mod stack;
mod yaml;

pub use diagnostic::{Diagnostic, Source};
pub use files::{FileError, NotRegular, Scope};
/// Stack files above this size are refused unread.
pub use yaml::MAX_FILE_BYTES;

/// Parses and validates one stack file. `file` is the display path used in locations;
/// `read_user_data(path_relative_to_the_yaml_file_dir)` is how user_data_file is read (the caller does I/O,
/// and refuses files outside the repository).
pub fn parse_stack(
    source: &str,
    file: &str,
    read_user_data: &dyn Fn(&str) -> Result<String, FileError>,
) -> Result<crate::model::Desired, Vec<Diagnostic>> {
    let mut ctx = decode::Ctx::new(file, source);
    let parsed = match yaml::parse(source) {
        Ok(root) => root,
        Err(e) => {
            ctx.error_at(e.at, e.message, e.hint);
            return Err(ctx.diags);
        }
    };
    match stack::decode(&mut ctx, parsed.as_ref(), file, read_user_data) {
        Some(desired) if ctx.diags.is_empty() => Ok(desired),
        _ => {
            diagnostic::sort(&mut ctx.diags);
            Err(ctx.diags)
        }
    }
}

/// Whether `s` is a valid logical name (`web-1`): lowercase letters, digits
/// and `-`, at most 63 characters, as the YAML's names are.
pub fn is_name(s: &str) -> bool {
    (fields::NAME.check)(s)
}

/// Whether `s` holds nothing a one-line field of the YAML refuses (control,
/// invisible and text-direction characters): the same rule for live tags.
pub fn is_single_line(s: &str) -> bool {
    s.chars().all(|c| one_line::forbidden(c).is_none())
}

/// The JSON Schema of format v1 (what `ec2-gitops schema` prints).
pub fn json_schema() -> serde_json::Value {
    schema::json_schema()
}

#[cfg(test)]
mod tests;

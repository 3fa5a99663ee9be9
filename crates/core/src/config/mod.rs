//! The infra YAML (format version 1): parsing, validation, expansion.
//!
//! Pure code: the caller reads files. [`parse_stack`] turns one file's text
//! into a [`crate::model::Desired`], or into every problem found, each located
//! at `file:line:column` with a hint where one helps.

pub mod accounts;
pub mod after;
mod balancers;
mod decode;
mod diagnostic;
mod disk;
mod extends;
mod fields;
mod files;
mod image;
mod instance;
mod keys;
mod network;
mod one_line;
mod patterns;
mod resolve;
mod schema;
mod server;
mod stack;
mod yaml;

pub use diagnostic::{Diagnostic, Source};
pub use files::{FileError, NotRegular, Scope, normalize};
/// Stack files above this size are refused unread.
pub use yaml::MAX_FILE_BYTES;

/// How a stack file's other files are read: paths relative to the stack
/// file's folder (the caller does I/O, and refuses files outside the
/// repository).
pub struct Readers<'a> {
    /// A `user_data_file`.
    pub user_data: &'a dyn Fn(&str) -> Result<String, FileError>,
    /// A base file named by `extends`.
    pub base: &'a dyn Fn(&str) -> Result<String, FileError>,
}

/// Parses and validates one stack file. `file` is the display path used in
/// locations; a base it `extends` is shown next to it.
pub fn parse_stack(
    source: &str,
    file: &str,
    read: &Readers<'_>,
) -> Result<crate::model::Desired, Vec<Diagnostic>> {
    let (bases, parsed) = resolved(source, file, read)?;
    let mut ctx = decode::Ctx::new(file, source);
    for b in &bases {
        ctx.add_file(&b.shown, &b.text, &b.dir);
    }
    match stack::decode(&mut ctx, parsed.as_ref(), file, read.user_data) {
        Some(mut desired) if ctx.diags.is_empty() => {
            // A change to a base touches the stack.
            desired
                .sources
                .extend(bases.iter().map(|b| b.shown.clone()));
            Ok(desired)
        }
        _ => {
            diagnostic::sort(&mut ctx.diags);
            Err(ctx.diags)
        }
    }
}

/// The stack file with its bases merged in, as YAML with a `# from
/// FILE:LINE` comment after each value (what `ec2-gitops resolve` prints).
/// Not validated: [`parse_stack`] says what is wrong with it.
pub fn resolve_stack(
    source: &str,
    file: &str,
    read: &Readers<'_>,
) -> Result<String, Vec<Diagnostic>> {
    let (bases, parsed) = resolved(source, file, read)?;
    let names: Vec<&str> = std::iter::once(file)
        .chain(bases.iter().map(|b| b.shown.as_str()))
        .collect();
    let name = |i: u16| names.get(i as usize).unwrap_or(&file).to_string();
    let dirs: Vec<&str> = std::iter::once("")
        .chain(bases.iter().map(|b| b.dir.as_str()))
        .collect();
    Ok(parsed.map_or_else(String::new, |mut root| {
        resolve::paths_from_stack(&mut root, &dirs);
        resolve::emit(&root, &name)
    }))
}

/// The stack file's document with its bases merged under it (each node
/// stamped with its file), and the bases; or the problems of the chain.
fn resolved(
    source: &str,
    file: &str,
    read: &Readers<'_>,
) -> Result<(Vec<extends::Base>, Option<yaml::Node>), Vec<Diagnostic>> {
    let fail = |bases: &[extends::Base],
                problems: Vec<(yaml::Pos, yaml::Pos, String, Option<String>)>| {
        let mut ctx = decode::Ctx::new(file, source);
        for b in bases {
            ctx.add_file(&b.shown, &b.text, &b.dir);
        }
        for (start, end, message, hint) in problems {
            ctx.error_span(start, end, message, hint);
        }
        diagnostic::sort(&mut ctx.diags);
        ctx.diags
    };
    let root = yaml::parse(source).map_err(|e| {
        fail(
            &[],
            vec![(
                e.at,
                yaml::Pos {
                    col: e.at.col + 1,
                    ..e.at
                },
                e.message,
                e.hint,
            )],
        )
    })?;
    let (bases, problems) = extends::chain(file, root.as_ref(), read.base);
    if !problems.is_empty() {
        let problems = problems
            .into_iter()
            .map(|p| (p.start, p.end, p.message, p.hint))
            .collect();
        return Err(fail(&bases, problems));
    }
    let Some(mut merged) = root else {
        return Ok((bases, None));
    };
    if bases.is_empty() {
        return Ok((bases, Some(merged)));
    }
    extends::strip(&mut merged);
    // The deepest base first, each file on top of the one it extends.
    let mut under: Option<yaml::Node> = None;
    for (i, b) in bases.iter().enumerate().rev() {
        let Some(mut node) = b.root.clone() else {
            continue;
        };
        extends::stamp(&mut node, (i + 1) as u16);
        extends::strip(&mut node);
        under = Some(match under {
            Some(u) => extends::merge(u, node),
            None => node,
        });
    }
    let merged = match under {
        Some(u) => extends::merge(u, merged),
        None => merged,
    };
    Ok((bases, Some(merged)))
}

/// Whether a file is a base, not a stack: a YAML map without `stack:`,
/// there to be extended. Stack discovery skips it; the stacks that extend
/// it are planned instead.
pub fn is_base(source: &str) -> bool {
    match yaml::parse(source) {
        Ok(Some(root)) => match &root.kind {
            yaml::NodeKind::Map(items) => !items.iter().any(|(k, _)| k.text() == Some("stack")),
            _ => false,
        },
        _ => false,
    }
}

/// Whether `s` is a valid logical name (`web-1`): lowercase letters, digits
/// and `-`, at most 63 characters, as the YAML's names are.
pub fn is_name(s: &str) -> bool {
    (fields::NAME.check)(s)
}

/// Whether `s` is an AMI id (`ami-…`): what an SSM parameter for an image
/// must hold.
pub fn is_ami(s: &str) -> bool {
    (fields::AMI.check)(s)
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

//! Reading one stack file and the files it names (user data, bases): only
//! regular files inside the repository, UTF-8, under a size limit, through
//! an overlay when one holds them.

use std::io::Read;
use std::path::Path;

use super::Overlay;
use super::root::{Root, open_no_wait, regular};
use crate::config::{self, Diagnostic, FileError, MAX_FILE_BYTES};
use crate::model::{Desired, Location};

/// Reads and validates one stack file; `user_data_file` paths are read
/// relative to its directory, inside the repository that holds it (see
/// [`Root::discover`]).
pub fn load_stack(path: &Path) -> Result<Desired, Vec<Diagnostic>> {
    load(path, &Overlay::default()).1
}

/// The source (when it could be read) and the result.
pub(super) fn load(
    path: &Path,
    overlay: &Overlay,
) -> (Option<String>, Result<Desired, Vec<Diagnostic>>) {
    let sources = std::cell::RefCell::new(Vec::new());
    let read = with_readers(path, overlay, &sources, |source, file, readers| {
        config::parse_stack(source, file, readers)
    });
    match read {
        Err(d) => (None, Err(d)),
        Ok((source, result)) => {
            let result = result.map(|mut d| {
                // The bases (added by `parse_stack`) after the user data read.
                let bases = std::mem::take(&mut d.sources);
                d.sources = sources.take();
                d.sources.extend(bases);
                d
            });
            (Some(source), result)
        }
    }
}

/// The stack file at `path` with its bases merged in, as YAML with where
/// each value was written (`ec2-gitops resolve`).
pub fn resolve_stack_file(path: &Path) -> Result<String, Vec<Diagnostic>> {
    let sources = std::cell::RefCell::new(Vec::new());
    with_readers(path, &Overlay::default(), &sources, config::resolve_stack)?.1
}

/// Reads the stack file at `path` and runs `f` on its text with the
/// readers of its other files (user data, recorded in `sources`, and
/// bases), inside its repository.
fn with_readers<T>(
    path: &Path,
    overlay: &Overlay,
    sources: &std::cell::RefCell<Vec<String>>,
    f: impl FnOnce(&str, &str, &config::Readers<'_>) -> T,
) -> Result<(String, T), Vec<Diagnostic>> {
    let file = path.display().to_string();
    let root = overlay.root.clone().unwrap_or_else(|| Root::discover(path));
    let source = read_text(path, MAX_FILE_BYTES as u64, overlay, &root)
        .map_err(|e| vec![unreadable_stack_file(&file, e)])?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let read_user_data = |rel: &str| -> Result<String, FileError> {
        let target = dir.join(rel);
        sources.borrow_mut().push(target.display().to_string());
        // Anything far above EC2's limit is refused without reading it all;
        // the exact limit is checked by `config`.
        read_text(&target, 1024 * 1024, overlay, &root).map_err(ReadError::into_file_error)
    };
    let read_base = |rel: &str| -> Result<String, FileError> {
        read_text(&dir.join(rel), MAX_FILE_BYTES as u64, overlay, &root)
            .map_err(ReadError::into_file_error)
    };
    let readers = config::Readers {
        user_data: &read_user_data,
        base: &read_base,
    };
    let out = f(&source, &file, &readers);
    Ok((source, out))
}

/// Why the stack file itself could not be read.
fn unreadable_stack_file(file: &str, e: ReadError) -> Diagnostic {
    match e {
        ReadError::NotUtf8(bad) if !bad.utf16 => {
            let at = Location {
                file: file.to_string(),
                line: bad.line,
                column: bad.column,
            };
            let (message, hint) = FileError::NotUtf8 {
                line: bad.line,
                column: bad.column,
            }
            .stack_file();
            let d = Diagnostic::new(at, message).with_hint(hint);
            // Text before the bad byte shows where it is; a binary
            // file's first line shows nothing useful.
            if bad.column > 1 {
                d.with_source(&config::Source::new(&bad.text), 1)
            } else {
                d
            }
        }
        e => {
            let (message, hint) = e.into_file_error().stack_file();
            let at = Location {
                file: file.to_string(),
                line: 1,
                column: 1,
            };
            Diagnostic::new(at, message).with_hint(hint)
        }
    }
}

pub(super) enum ReadError {
    /// Not read: outside the root, not a regular file, or unreadable.
    Refused(FileError),
    TooLarge(u64),
    NotUtf8(NotUtf8),
}

impl ReadError {
    fn into_file_error(self) -> FileError {
        match self {
            ReadError::Refused(e) => e,
            ReadError::TooLarge(bytes) => FileError::TooLarge { bytes },
            ReadError::NotUtf8(bad) if bad.utf16 => FileError::Utf16,
            ReadError::NotUtf8(bad) => FileError::NotUtf8 {
                line: bad.line,
                column: bad.column,
            },
        }
    }
}

/// Where a file stops being UTF-8.
pub(super) struct NotUtf8 {
    line: usize,
    column: usize,
    /// The file up to the end of the bad line, bad bytes shown as U+FFFD:
    /// the context that decides whether the line may be quoted.
    text: String,
    /// The file starts with a UTF-16 byte-order mark.
    utf16: bool,
}

/// Reads a UTF-8 text file of at most `limit` bytes (a leading BOM
/// dropped), from the overlay when it holds the file. Only a regular file
/// inside `root`, links followed, is opened; anything else is refused
/// before it is.
fn read_text(path: &Path, limit: u64, overlay: &Overlay, root: &Root) -> Result<String, ReadError> {
    root.check_lexically(path).map_err(ReadError::Refused)?;
    if let Some(read) = overlay.read(path, limit) {
        return read;
    }
    let canonical = root.resolve(path).map_err(ReadError::Refused)?;
    let unreadable = |e: std::io::Error| ReadError::Refused(FileError::Unreadable(e.to_string()));
    let f = open_no_wait(&canonical).map_err(unreadable)?;
    // What was opened is what was checked: a file swapped since is refused.
    let meta = f.metadata().map_err(unreadable)?;
    regular(&meta.file_type()).map_err(ReadError::Refused)?;
    let len = meta.len();
    if len > limit {
        return Err(ReadError::TooLarge(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    decode(bytes)
}

pub(super) fn decode(bytes: Vec<u8>) -> Result<String, ReadError> {
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(s)),
        Err(e) => {
            let bytes = e.as_bytes();
            let valid_up_to = e.utf8_error().valid_up_to();
            let valid = String::from_utf8_lossy(&bytes[..valid_up_to]);
            let line = valid.matches('\n').count() + 1;
            let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let line_end = bytes[valid_up_to..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(bytes.len(), |i| valid_up_to + i);
            Err(ReadError::NotUtf8(NotUtf8 {
                line,
                column,
                text: String::from_utf8_lossy(&bytes[..line_end]).into_owned(),
                utf16: bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]),
            }))
        }
    }
}

//! Why a file a stack names (its `user_data_file`, or the stack file itself)
//! cannot be used, as a value the caller's file-system code returns, and the
//! words for it. Pure: the caller decides, this module only tells.

/// Where the files of a stack must be: what "inside" means for a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The repository: the Git work tree holding the stack file, or the
    /// directory the caller gave (the action's `GITHUB_WORKSPACE`).
    Repository,
    /// No Git work tree holds the stack file: only its own folder.
    StackFolder,
}

/// A file-system entry that is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRegular {
    /// A directory.
    Directory,
    /// A named pipe: opening one blocks until someone writes.
    Fifo,
    /// A character or block device (`/dev/zero`).
    Device,
    /// A Unix socket.
    Socket,
    /// Anything else.
    Other,
}

impl NotRegular {
    fn words(self) -> &'static str {
        match self {
            NotRegular::Directory => "a directory",
            NotRegular::Fifo => "a named pipe (FIFO)",
            NotRegular::Device => "a device",
            NotRegular::Socket => "a socket",
            NotRegular::Other => "not a regular file",
        }
    }
}

/// Why a file cannot be used. Never carries the file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// The path leaves the scope: written with `..` or absolute
    /// (`through_link: false`), or it resolves there through a symbolic link.
    Outside {
        /// What it must stay inside.
        scope: Scope,
        /// It is inside as written, outside once links are followed.
        through_link: bool,
    },
    /// Not a regular file (it was not opened).
    NotRegular(NotRegular),
    /// It could not be read: the system's words (`No such file or directory
    /// (os error 2)`).
    Unreadable(String),
    /// Larger than the caller reads.
    TooLarge {
        /// Its size in bytes.
        bytes: u64,
    },
    /// UTF-16 text.
    Utf16,
    /// Not UTF-8 from this line and column on.
    NotUtf8 {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
}

impl From<String> for FileError {
    fn from(why: String) -> Self {
        FileError::Unreadable(why)
    }
}

impl From<&str> for FileError {
    fn from(why: &str) -> Self {
        FileError::Unreadable(why.to_string())
    }
}

/// What to do about a file outside the scope.
fn outside_hint(scope: Scope, through_link: bool) -> &'static str {
    match (scope, through_link) {
        (Scope::Repository, false) => {
            "a stack reads only files inside its repository: `..` may leave the stack's folder, never the repository; copy the file into the repository"
        }
        (Scope::Repository, true) => {
            "a stack reads only files inside its repository, links followed: replace the link with the file itself"
        }
        (Scope::StackFolder, _) => {
            "no Git work tree holds this stack file, so it reads only files in its own folder: move the file there, or keep the stack in a Git repository (`git init`), where `..` may leave the stack's folder but not the repository"
        }
    }
}

fn scope_words(scope: Scope) -> &'static str {
    match scope {
        Scope::Repository => "the repository",
        Scope::StackFolder => "the stack file's folder",
    }
}

impl FileError {
    /// Message and hint for a `user_data_file` at `path` (as written).
    pub fn user_data(&self, path: &str) -> (String, String) {
        // Checked to be one line before it is read; escaped all the same
        // should another caller pass anything else.
        let path = if super::is_single_line(path) {
            path.to_string()
        } else {
            path.escape_debug().to_string()
        };
        match self {
            FileError::Outside {
                scope,
                through_link: false,
            } => (
                format!("user data file `{path}` is outside {}", scope_words(*scope)),
                outside_hint(*scope, false).into(),
            ),
            FileError::Outside {
                scope,
                through_link: true,
            } => (
                format!(
                    "user data file `{path}` is a symbolic link (or goes through one) to a file outside {}",
                    scope_words(*scope)
                ),
                outside_hint(*scope, true).into(),
            ),
            FileError::NotRegular(kind) => (
                format!(
                    "user data file `{path}` is {}, not a regular file",
                    kind.words()
                ),
                "user data is read from regular files only: name a file".into(),
            ),
            FileError::Unreadable(why) => (
                format!("cannot read user data file `{path}`: {why}"),
                "the path is relative to the directory of this YAML file".into(),
            ),
            FileError::TooLarge { bytes } => (
                format!(
                    "cannot read user data file `{path}`: the file is {bytes} bytes; EC2 accepts at most {}",
                    super::fields::MAX_USER_DATA
                ),
                super::fields::USER_DATA_TOO_LARGE.into(),
            ),
            FileError::Utf16 => (
                format!("cannot read user data file `{path}`: the file is UTF-16 text, not UTF-8"),
                "user data is text: save the file as UTF-8".into(),
            ),
            FileError::NotUtf8 { line, column } => (
                format!(
                    "cannot read user data file `{path}`: the file is not UTF-8 text (line {line}, column {column})"
                ),
                "user data is text: save the file as UTF-8".into(),
            ),
        }
    }

    /// Message and hint for the base file an `extends` names at `path` (as
    /// written).
    pub fn base_file(&self, path: &str) -> (String, String) {
        let path = if super::is_single_line(path) {
            path.to_string()
        } else {
            path.escape_debug().to_string()
        };
        match self {
            FileError::Outside {
                scope,
                through_link,
            } => (
                if *through_link {
                    format!(
                        "base file `{path}` is a symbolic link (or goes through one) to a file outside {}",
                        scope_words(*scope)
                    )
                } else {
                    format!("base file `{path}` is outside {}", scope_words(*scope))
                },
                outside_hint(*scope, *through_link).into(),
            ),
            FileError::NotRegular(kind) => (
                format!("base file `{path}` is {}, not a regular file", kind.words()),
                "`extends` names a regular YAML file".into(),
            ),
            FileError::Unreadable(why) => (
                format!("cannot read base file `{path}`: {why}"),
                "the path is relative to the directory of this YAML file".into(),
            ),
            FileError::TooLarge { bytes } => (
                format!(
                    "base file `{path}` is {bytes} bytes; stack files are limited to {} bytes (5 MB)",
                    super::MAX_FILE_BYTES
                ),
                "split the base into several files".into(),
            ),
            FileError::Utf16 => (
                format!("cannot read base file `{path}`: the file is UTF-16 text, not UTF-8"),
                "save the file as UTF-8".into(),
            ),
            FileError::NotUtf8 { line, column } => (
                format!(
                    "cannot read base file `{path}`: the file is not UTF-8 text (line {line}, column {column})"
                ),
                "save the file as UTF-8".into(),
            ),
        }
    }

    /// Message and hint for the stack file itself.
    pub fn stack_file(&self) -> (String, String) {
        match self {
            FileError::Outside {
                scope,
                through_link: false,
            } => (
                format!("the stack file is outside {}", scope_words(*scope)),
                "name a stack file inside the repository".into(),
            ),
            FileError::Outside {
                scope,
                through_link: true,
            } => (
                format!(
                    "the stack file is a symbolic link (or goes through one) to a file outside {}; it was not read",
                    scope_words(*scope)
                ),
                outside_hint(*scope, true).into(),
            ),
            FileError::NotRegular(kind) => (
                format!("the stack file is {}, not a regular file", kind.words()),
                "name a regular file".into(),
            ),
            FileError::Unreadable(why) => (
                format!("cannot read the file: {why}"),
                "check that the path names a readable file".into(),
            ),
            FileError::TooLarge { bytes } => (
                format!(
                    "the file is {bytes} bytes; stack files are limited to {} bytes (5 MB)",
                    super::MAX_FILE_BYTES
                ),
                "split the stack into several files".into(),
            ),
            FileError::Utf16 => (
                "the file is UTF-16 text; stack files are UTF-8".into(),
                "save it as UTF-8 (in PowerShell: `Out-File -Encoding utf8`)".into(),
            ),
            FileError::NotUtf8 { .. } => (
                "the file is not valid UTF-8 text".into(),
                "is it a binary file, or text saved in another encoding (Latin-1, Windows-1252)? stack files are UTF-8".into(),
            ),
        }
    }
}

/// A path with `.` and `..` resolved lexically and `/` separators, so a
/// stack's `infra/../cloud-init/web.yaml` matches the PR's `cloud-init/web.yaml`.
/// A `..` that climbs above the start stays (`infra/../../x` is `../x`): a
/// path that leaves the repository never looks like one inside it. An
/// absolute path stays absolute (`/..` is `/`).
pub fn normalize(path: &str) -> String {
    let absolute = path.starts_with(['/', '\\']);
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(".."),
            },
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_the_stack_folder_says_why_it_is_that_strict() {
        let (message, hint) = FileError::Outside {
            scope: Scope::StackFolder,
            through_link: false,
        }
        .user_data("../init.sh");
        assert_eq!(
            message,
            "user data file `../init.sh` is outside the stack file's folder"
        );
        assert!(
            hint.contains("no Git work tree holds this stack file"),
            "{hint}"
        );
    }

    #[test]
    fn a_path_is_shown_as_written_unless_it_holds_control_characters() {
        let (message, _) = FileError::NotRegular(NotRegular::Directory).user_data("it's here");
        assert_eq!(
            message,
            "user data file `it's here` is a directory, not a regular file"
        );
        let (message, _) = FileError::NotRegular(NotRegular::Fifo).user_data("a\u{1b}]8;;x\u{7}b");
        assert!(!message.chars().any(char::is_control), "{message:?}");
    }
}

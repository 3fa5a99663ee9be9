//! Comment commands (`/plan [stack…]`, `/apply [stack…]`, `/preview
//! [destroy] [stack…]`, `/help`): a small
//! pure parser. One command per line, anywhere in the comment; lines inside
//! fenced or indented code blocks and quotes are ignored.

/// A command found in a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Re-plan the PR's stacks (all, or the named ones).
    Plan(Vec<String>),
    /// Apply the reviewed plan (where the repository allows it).
    Apply(Vec<String>),
    /// Apply the pull request's version of the stacks that allow it as
    /// preview stacks (`/preview [stack…]`), or destroy them
    /// (`/preview destroy [stack…]`).
    Preview {
        /// `/preview destroy`.
        destroy: bool,
        /// Only these stacks (by name); empty: every stack with `preview:`.
        only: Vec<String>,
    },
    /// Explain the commands.
    Help,
    /// A word after the prefix that is not a command.
    Unknown(String),
}

/// At most this many commands are taken from one comment.
pub const MAX_COMMANDS: usize = 10;
/// An unknown command word is quoted back at most this long.
const MAX_WORD: usize = 40;

/// Parses the commands of a comment body, in order. A command repeated is
/// taken once, and only the first unknown word is kept: a comment gets one
/// answer per command, however many lines it has.
pub fn parse(body: &str, prefix: &str) -> Vec<Command> {
    let mut out = Vec::new();
    let mut fence: Option<String> = None;
    for raw in body.lines() {
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        let line = raw.trim();
        if let Some(f) = &fence {
            if line.starts_with(f.as_str()) {
                fence = None;
            }
            continue;
        }
        if line.starts_with("```") || line.starts_with("~~~") {
            fence = Some(line[..3].to_string());
            continue;
        }
        // Indented code blocks and quotes are not commands.
        if indent >= 4 || raw.starts_with('\t') || line.starts_with('>') {
            continue;
        }
        let Some(rest) = line.strip_prefix(prefix) else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let Some(word) = words.next() else {
            continue;
        };
        // `/usr/bin` or `/5` are not commands.
        if !word.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            || !word.starts_with(|c: char| c.is_ascii_alphabetic())
            || !rest.starts_with(word)
        {
            continue;
        }
        let args: Vec<String> = words.map(str::to_string).collect();
        let command = match word.to_ascii_lowercase().as_str() {
            "plan" => Command::Plan(args),
            "apply" => Command::Apply(args),
            "help" => Command::Help,
            "preview" => match args.split_first() {
                Some((first, rest)) if first == "destroy" => Command::Preview {
                    destroy: true,
                    only: rest.to_vec(),
                },
                _ => Command::Preview {
                    destroy: false,
                    only: args,
                },
            },
            other => Command::Unknown(shorten(other)),
        };
        let seen = out.iter().any(|c| {
            *c == command || matches!((c, &command), (Command::Unknown(_), Command::Unknown(_)))
        });
        if !seen {
            out.push(command);
        }
        if out.len() == MAX_COMMANDS {
            break;
        }
    }
    out
}

/// A word cut to [`MAX_WORD`] characters, for quoting it back.
fn shorten(word: &str) -> String {
    if word.chars().count() <= MAX_WORD {
        return word.to_string();
    }
    let head: String = word.chars().take(MAX_WORD).collect();
    format!("{head}…")
}

/// Which command named a stack it cannot act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    /// `/plan NAME`: the pull request changes no stack NAME.
    Plan,
    /// `/apply NAME`: the plan comment shows no stack NAME.
    Apply,
    /// `/plan NAME` on the drift issue: the default branch has no stack NAME.
    DriftPlan,
}

/// The reply to `/plan` or `/apply` naming stacks it cannot act on: the
/// whole command is refused. What the commenter wrote is quoted safely: cut
/// short, backticks removed, at most a few names (they are only ever
/// compared, never run).
pub fn unknown_stacks(prefix: &str, named: Named, asked: &[String], known: &[String]) -> String {
    let quote = |names: &[String]| -> String {
        let mut list: Vec<String> = names
            .iter()
            .take(5)
            .map(|n| format!("`{}`", shorten(&n.replace('`', "'"))))
            .collect();
        if names.len() > 5 {
            list.push(format!("and {} more", names.len() - 5));
        }
        list.join(", ")
    };
    let stacks = if known.is_empty() {
        "it changes no stack".to_string()
    } else {
        format!("its stacks: {}", quote(known))
    };
    match named {
        Named::Plan => format!(
            "`{prefix}plan` was not run: this pull request changes no stack named {} ({stacks}). Comment `{prefix}plan` alone to plan all of them. The plan comment was left as it was.",
            quote(asked)
        ),
        Named::Apply => format!(
            "`{prefix}apply` was not run, for no stack: the plan comment shows no stack named {} ({stacks}). Nothing was applied. Comment `{prefix}apply` alone to apply every stack of the plan comment, or name only stacks it shows.",
            quote(asked)
        ),
        Named::DriftPlan => format!(
            "`{prefix}plan` was not run: the default branch has no stack named {} ({stacks}). Comment `{prefix}plan` alone to plan all of them.",
            quote(asked)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(body: &str) -> Vec<Command> {
        parse(body, "/")
    }

    #[test]
    fn preview_and_preview_destroy() {
        assert_eq!(
            parse("/preview", "/"),
            [Command::Preview {
                destroy: false,
                only: vec![]
            }]
        );
        assert_eq!(
            parse("/preview destroy web", "/"),
            [Command::Preview {
                destroy: true,
                only: vec!["web".into()]
            }]
        );
        assert_eq!(
            parse("/preview web db", "/"),
            [Command::Preview {
                destroy: false,
                only: vec!["web".into(), "db".into()]
            }]
        );
    }

    #[test]
    fn commands_anywhere_one_per_line() {
        assert_eq!(
            p("Looks good.\n/plan\nthanks\n  /apply web db\n/help"),
            vec![
                Command::Plan(vec![]),
                Command::Apply(vec!["web".into(), "db".into()]),
                Command::Help
            ]
        );
    }

    #[test]
    fn code_blocks_and_quotes_are_ignored() {
        let body = "```\n/apply\n```\n~~~sh\n/plan\n~~~\n> /apply\n    /apply\n\t/apply\nok";
        assert_eq!(p(body), vec![]);
        assert_eq!(
            p("```\n/apply\n```\n/plan web"),
            vec![Command::Plan(vec!["web".into()])]
        );
    }

    #[test]
    fn paths_and_numbers_are_not_commands() {
        assert_eq!(p("/usr/bin/env\n/5 minutes\n/\n text /plan"), vec![]);
    }

    #[test]
    fn unknown_words_are_reported_and_case_is_ignored() {
        assert_eq!(
            p("/destroy everything\n/PLAN"),
            vec![Command::Unknown("destroy".into()), Command::Plan(vec![])]
        );
    }

    #[test]
    fn another_prefix() {
        assert_eq!(
            parse("/plan\n!ec2 plan\n!ec2plan", "!ec2 "),
            vec![Command::Plan(vec![])]
        );
    }

    #[test]
    fn at_most_ten_commands() {
        let body: String = (0..1000).map(|i| format!("/plan s{i}\n")).collect();
        assert_eq!(p(&body).len(), MAX_COMMANDS);
    }

    #[test]
    fn one_answer_per_command() {
        assert_eq!(
            p(&"/help\n/plan\n".repeat(500)),
            vec![Command::Help, Command::Plan(vec![])]
        );
        assert_eq!(
            p("/plan a\n/destroy\n/nuke\n/plan a\n/plan b"),
            vec![
                Command::Plan(vec!["a".into()]),
                Command::Unknown("destroy".into()),
                Command::Plan(vec!["b".into()])
            ]
        );
        let long = format!("/{}", "a".repeat(100_000));
        assert_eq!(
            p(&long),
            vec![Command::Unknown(format!("{}…", "a".repeat(40)))]
        );
    }

    #[test]
    fn unknown_stacks_are_quoted_safely() {
        let asked: Vec<String> = ["$(rm", "-rf", "`id`", "a", "b", "c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        insta::assert_snapshot!(
            unknown_stacks("/", Named::Plan, &asked, &["web".into(), "db".into()]),
            @"`/plan` was not run: this pull request changes no stack named `$(rm`, `-rf`, `'id'`, `a`, `b`, and 1 more (its stacks: `web`, `db`). Comment `/plan` alone to plan all of them. The plan comment was left as it was."
        );
        insta::assert_snapshot!(
            unknown_stacks("/", Named::Apply, &["typo".into()], &["a".into()]),
            @"`/apply` was not run, for no stack: the plan comment shows no stack named `typo` (its stacks: `a`). Nothing was applied. Comment `/apply` alone to apply every stack of the plan comment, or name only stacks it shows."
        );
        assert!(unknown_stacks("/", Named::Plan, &["x".repeat(10_000)], &[]).len() < 300);
    }
}

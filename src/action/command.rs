//! Comment commands (`/plan [stack…]`, `/apply [stack…]`, `/help`): a small
//! pure parser. One command per line, anywhere in the comment; lines inside
//! fenced or indented code blocks and quotes are ignored.

/// A command found in a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Re-plan the PR's stacks (all, or the named ones).
    Plan(Vec<String>),
    /// Apply the reviewed plan (where the repository allows it).
    Apply(Vec<String>),
    /// Explain the commands.
    Help,
    /// A word after the prefix that is not a command.
    Unknown(String),
}

/// At most this many commands are taken from one comment.
pub const MAX_COMMANDS: usize = 10;

/// Parses the commands of a comment body, in order.
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
        out.push(match word.to_ascii_lowercase().as_str() {
            "plan" => Command::Plan(args),
            "apply" => Command::Apply(args),
            "help" => Command::Help,
            other => Command::Unknown(other.to_string()),
        });
        if out.len() == MAX_COMMANDS {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(body: &str) -> Vec<Command> {
        parse(body, "/")
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
        assert_eq!(p(&"/plan\n".repeat(1000)).len(), MAX_COMMANDS);
    }
}

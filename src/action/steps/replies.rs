//! Replies to a comment's commands, each behind a marker of its own (so a
//! reply whose POST answer is lost is found, not posted twice).

use crate::action::command;
use crate::action::policy;
use crate::action::services::Services;
use crate::github::GitHubError;
use crate::marker::Marker;

/// Posts a reply on `number` to the comment being answered.
pub async fn reply(s: &Services<'_>, number: u64, text: &str) -> Result<(), GitHubError> {
    reply_to(s, number, s.answering(), text).await
}

/// Posts a reply on `number` to the comment `to`.
pub async fn reply_to(
    s: &Services<'_>,
    number: u64,
    to: u64,
    text: &str,
) -> Result<(), GitHubError> {
    let marker = Marker::Reply {
        to,
        seq: s.next_reply(),
    };
    s.gh.create_comment(number, &marker.wrap(text))
        .await
        .map(|_| ())
}

/// Refuses a command that names a stack not in `known` (the whole command:
/// `/apply web tpyo` must not apply `web` alone): replies which names are
/// unknown and which are known. Whether it refused.
pub async fn refused_unknown_stacks(
    s: &Services<'_>,
    number: u64,
    named: command::Named,
    only: &[String],
    known: &[String],
) -> Result<bool, GitHubError> {
    let unknown = policy::unknown(only, known);
    if unknown.is_empty() {
        return Ok(false);
    }
    let prefix = &s.inputs().command_prefix;
    reply(
        s,
        number,
        &command::unknown_stacks(prefix, named, &unknown, known),
    )
    .await?;
    Ok(true)
}

//! Previews on GitHub's side: what the plan comment shows of them, and
//! destroying those of a closed pull request or whose time is up.

use anyhow::Result;

use crate::action::record::Record;
use crate::action::services::Services;
use crate::action::{EXIT_FAILED, EXIT_OK};
use crate::app::previews::{Preview, apply_preview, previews_of, read_preview};
use crate::model::Desired;
use crate::preview;
use crate::progress::LineProgress;
use crate::render::{comment, notes};

/// Applies one preview stack (a copy, or an empty one to destroy it) under
/// its lease: the section that says what it is now.
pub async fn apply_and_describe(target: &Desired) -> Result<String> {
    let progress = LineProgress::new();
    Ok(match apply_preview(target, &progress).await? {
        Preview::Destroyed => comment::preview_destroyed(&target.stack),
        Preview::Up(live) => comment::preview_section(&target.stack, &target.region, &live),
    })
}

/// The sections of the plan comment of pull request `number` for its live
/// previews (stacks with `preview:` only; a read that fails leaves its
/// section out, with a warning).
pub async fn sections(number: u64, stacks: &[Desired]) -> String {
    let mut out = String::new();
    for d in stacks.iter().filter(|d| d.preview.is_some()) {
        let Ok(target) = preview::empty(d, number) else {
            continue;
        };
        match read_preview(&target).await {
            Ok(live) if !live.instances.is_empty() => {
                out.push_str(&comment::preview_section(
                    &target.stack,
                    &target.region,
                    &live,
                ));
            }
            Ok(_) => {}
            Err(e) => eprintln!(
                "{}",
                notes::warning(&format!(
                    "cannot read preview {} for the plan comment: {e}",
                    target.stack
                ))
            ),
        }
    }
    out
}

/// Destroys pull request `number`'s previews (it was closed or merged):
/// every stack with `preview:` whose `<stack>-pr<N>` has resources.
pub async fn destroy_all(s: &Services<'_>, number: u64, record: &mut Record) -> Result<u8> {
    let loaded = s.load();
    let mut ok = true;
    for d in loaded.valid.iter().filter(|d| d.preview.is_some()) {
        let Ok(target) = preview::empty(d, number) else {
            continue;
        };
        let live = match read_preview(&target).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!(
                    "{}",
                    notes::warning(&format!(
                        "cannot read preview {} to destroy it: {e}",
                        target.stack
                    ))
                );
                ok = false;
                continue;
            }
        };
        let nothing = live.instances.is_empty()
            && live.security_groups.is_empty()
            && live.volumes.is_empty()
            && live.key_pairs.is_empty();
        if nothing {
            continue;
        }
        match apply_and_describe(&target).await {
            Ok(section) => record.summary(&section),
            Err(e) => {
                ok = false;
                record.summary(&notes::preview_not_destroyed(
                    &target.stack,
                    None,
                    &format!("{e:#}"),
                ));
            }
        }
    }
    Ok(if ok { EXIT_OK } else { EXIT_FAILED })
}

/// The scheduled run: destroys the previews whose pull request is closed or
/// whose oldest server is older than the stack's `preview.ttl`. Whether
/// every one was listed and destroyed.
pub async fn sweep(s: &Services<'_>, stacks: &[Desired], record: &mut Record) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut ok = true;
    for d in stacks {
        let Some(settings) = d.preview else {
            continue;
        };
        let found = match previews_of(d).await {
            Ok(f) => f,
            Err(e) => {
                ok = false;
                record.summary(&notes::previews_not_listed(&d.stack, &e.to_string()));
                continue;
            }
        };
        for (name, launched) in found {
            let Some(number) = preview::pr_of(&name, &d.stack) else {
                continue;
            };
            let why = if preview::expired(launched, settings.ttl_secs, now) {
                Some(notes::PREVIEW_EXPIRED)
            } else {
                match s.gh.pull(number).await {
                    Ok(pr) if pr.state != "open" || pr.is_merged() => {
                        Some(notes::PREVIEW_PR_CLOSED)
                    }
                    Ok(_) => None,
                    Err(e) => {
                        eprintln!(
                            "{}",
                            notes::warning(&format!(
                                "cannot ask GitHub about pull request #{number} of preview {name}: {e}"
                            ))
                        );
                        None
                    }
                }
            };
            let Some(why) = why else {
                continue;
            };
            let Ok(target) = preview::empty(d, number) else {
                continue;
            };
            match apply_and_describe(&target).await {
                Ok(section) => record.summary(&notes::preview_swept(&name, why, &section)),
                Err(e) => {
                    ok = false;
                    record.summary(&notes::preview_not_destroyed(
                        &name,
                        Some(why),
                        &format!("{e:#}"),
                    ));
                }
            }
        }
    }
    ok
}

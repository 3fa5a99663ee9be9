//! The labels a pull request's plans call for (`ec2-gitops:destroys` and
//! the like), kept in step with its plan.

use crate::action::labels;
use crate::action::record::Record;
use crate::action::services::Services;
use crate::outcome::StackPlan;
use crate::render;

/// Puts the labels the plans call for on the pull request, which carries
/// `current`: at most one call per label added or removed, none when
/// nothing changes. A failure (a token without `issues: write`) is a
/// warning: the plan stands.
pub async fn sync_labels(
    s: &Services<'_>,
    number: u64,
    current: &[String],
    stacks: &[StackPlan],
    record: Option<&mut Record>,
) {
    if !s.inputs().labels {
        return;
    }
    let (add, remove) = labels::changes(current, &labels::wanted(stacks));
    let result = async {
        for m in &add {
            s.gh.ensure_label(m.name, m.color, m.description).await?;
        }
        if !add.is_empty() {
            let names: Vec<&str> = add.iter().map(|m| m.name).collect();
            s.gh.add_labels(number, &names).await?;
        }
        for m in &remove {
            s.gh.remove_label(number, m.name).await?;
        }
        Ok::<(), crate::github::GitHubError>(())
    }
    .await;
    if let Err(e) = result {
        let e = e.to_string();
        eprintln!("{}", render::notes::labels_not_updated_log(number, &e));
        if let Some(record) = record {
            record.summary(&render::notes::labels_not_updated(number, &e));
        }
    }
}

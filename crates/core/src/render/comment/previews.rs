//! Previews: what `/preview` replies, and the section each preview has.

use super::*;

/// The reply to a `/preview` that was not run.
pub fn preview_refused(why: &str) -> String {
    format!("`/preview` was not run: {why}")
}

/// `/preview` on a closed pull request.
pub const PREVIEW_CLOSED_PR: &str =
    "previews are for open pull requests; a closed one's previews are destroyed.";

/// `/preview` on a fork's pull request.
pub const PREVIEW_FORK: &str = "this pull request comes from a fork; its files are never applied to EC2. Push the branch to this repository to preview it.";

/// `/preview` where no stack allows previews.
pub const PREVIEW_NO_STACK: &str = "no stack of this pull request has `preview:`; add `preview: { max_instances: 4 }` to a stack file to allow previews.";

/// `/preview` in a job that did not check out the pull request's test
/// merge (`merge`: GitHub's, when there is one).
pub fn preview_not_the_test_merge(number: u64, found: Option<&str>, merge: Option<&str>) -> String {
    match merge {
        None => "GitHub has no test merge of this pull request (it conflicts with its base, or is still computing it); nothing was applied.".to_string(),
        Some(merge) => format!(
            "the job checked out {}, not this pull request's test merge {}; nothing was applied. Check out `refs/pull/{number}/merge`.",
            code_span(found.unwrap_or("no commit")),
            code_span(merge)
        ),
    }
}

/// `/preview NAME…` naming stacks that allow no preview.
pub fn preview_unknown_stacks(names: &[&String]) -> String {
    let names: Vec<String> = names.iter().map(|n| code_span(n)).collect();
    format!("{} is not a stack with `preview:` here.", names.join(", "))
}

/// A stack whose preview could not be made (`words`: why, in words).
pub fn preview_not_made(words: &str) -> String {
    format!("- {}\n", prose(words))
}

/// A preview whose apply failed.
pub fn preview_failed(preview: &str, stack: &str, error: &str) -> String {
    format!(
        "### Preview {} (from {}): FAILED\n\n{}\n\n",
        code_span(preview),
        code_span(stack),
        text(error)
    )
}

/// The reply to `/preview` (or `/preview destroy`) with its sections.
pub fn preview_reply(destroy: bool, sections: &str) -> String {
    let title = if destroy {
        "## ec2-gitops preview destroyed"
    } else {
        "## ec2-gitops preview"
    };
    format!("{title}\n\n{sections}")
}

/// A destroyed preview's section.
pub fn preview_destroyed(preview: &str) -> String {
    format!(
        "### Preview {}: destroyed\n\nNothing of the preview is left.\n\n",
        code_span(preview)
    )
}

/// A preview's servers: id, public IP and DNS name of each.
pub fn preview_section(preview: &str, region: &str, live: &crate::model::Live) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Preview {} ({})\n\n| instance | id | public IP | public DNS name |\n| --- | --- | --- | --- |",
        code_span(preview),
        text(region)
    );
    for i in &live.instances {
        let cell = |v: &Option<String>| {
            v.as_deref()
                .map(code_span)
                .map_or("-".to_string(), |c| table_cell(&c))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            table_cell(&code_span(&i.name)),
            table_cell(&code_span(&i.id)),
            cell(&i.public_ip),
            cell(&i.public_dns)
        );
    }
    let _ = writeln!(
        out,
        "\nPushes do not change it: comment `/preview` again to update it, `/preview destroy` to remove it. Closing or merging the pull request destroys it.\n"
    );
    out
}

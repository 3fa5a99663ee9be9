//! Commit ids the fake makes up: test merges, merge commits, blobs.

use super::state::PullSpec;

/// The SHA of the fake's test merge of `head` into `base` (GitHub's
/// `refs/pull/N/merge`): its parents are `base`, then `head`.
pub fn test_merge_sha(head: &str, base: &str) -> String {
    fake_sha(&format!("test-merge:{base}:{head}"))
}

/// The merge commit of a merged PR, the test merge of an open one that
/// merges cleanly, else none.
pub fn merge_sha_of(p: &PullSpec) -> Option<String> {
    match (&p.merge_commit_sha, p.merged || p.state == "closed") {
        (Some(sha), _) => Some(sha.clone()),
        (None, false) if p.mergeable => Some(test_merge_sha(&p.head_sha, &p.base_sha)),
        (None, _) => None,
    }
}

/// A stable 40-hex-digit name for a string (not a real git object id).
pub(super) fn fake_sha(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))[..40].to_string()
}

pub(super) fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

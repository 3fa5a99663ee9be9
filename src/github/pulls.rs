//! Pull requests, their test merges, commits and file contents.

use http::Method;
use serde::Deserialize;

use super::transport::{MAX_PAGES, encode_path, parse_answer};
use super::{ChangedFile, Commit, GitHub, GitHubError, PullRequest, TestMerge};

impl GitHub {
    /// A pull request.
    pub async fn pull(&self, number: u64) -> Result<PullRequest, GitHubError> {
        self.json(Method::GET, &self.path(&format!("/pulls/{number}")), None)
            .await
    }

    /// A pull request with its test merge computed: GitHub computes it
    /// lazily, answering `mergeable: null` until it is done, so this polls
    /// `GET /pulls/N` (at most `polls` times, backing off) until `mergeable`
    /// is known and, with `base`, until the test merge is made on that base
    /// commit (after a push to the base, the old test merge is answered until
    /// GitHub recomputed it).
    pub async fn test_merge(
        &self,
        number: u64,
        base: Option<&str>,
        polls: u32,
    ) -> Result<(TestMerge, Option<Commit>), GitHubError> {
        let mut delay = self.retry.backoff;
        let mut polled = 0;
        loop {
            polled += 1;
            let pr = self.pull(number).await?;
            if pr.state != "open" {
                return Ok((TestMerge::Closed(pr), None));
            }
            let last = polled >= polls.max(1);
            match (pr.mergeable, pr.merge_commit_sha.clone()) {
                (Some(false), _) => return Ok((TestMerge::Conflict(pr), None)),
                (Some(true), Some(sha)) => {
                    let commit = self.commit(&sha).await?;
                    let on_base =
                        base.is_none_or(|b| commit.parents.first().is_some_and(|p| p == b));
                    if on_base {
                        return Ok((TestMerge::Ready(pr), Some(commit)));
                    }
                    if last {
                        return Ok((TestMerge::Pending(pr), None));
                    }
                }
                _ if last => return Ok((TestMerge::Pending(pr), None)),
                _ => {}
            }
            tracing::info!(number, polled, "test merge not computed yet; polling again");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.retry.max_wait);
        }
    }

    /// A commit's parents and changed files (every page of them: GitHub
    /// pages a commit's files past 300).
    pub async fn commit(&self, sha: &str) -> Result<Commit, GitHubError> {
        #[derive(Deserialize)]
        struct Parent {
            sha: String,
        }
        #[derive(Deserialize)]
        struct Page {
            sha: String,
            #[serde(default)]
            parents: Vec<Parent>,
            #[serde(default)]
            files: Vec<ChangedFile>,
        }
        let mut out: Option<Commit> = None;
        for page in 1..=MAX_PAGES {
            let path = self.path(&format!(
                "/commits/{}?per_page=100&page={page}",
                encode_path(sha)
            ));
            let (_, link, text) = self.call(Method::GET, &path, None).await?;
            let p: Page = parse_answer(&Method::GET, &path, &text)?;
            let got = p.files.len();
            match &mut out {
                None => {
                    out = Some(Commit {
                        sha: p.sha,
                        parents: p.parents.into_iter().map(|p| p.sha).collect(),
                        files: p.files,
                    })
                }
                Some(c) => c.files.extend(p.files),
            }
            if got == 0 || !link.is_some_and(|l| l.contains("rel=\"next\"")) {
                break;
            }
        }
        Ok(out.expect("at least one page"))
    }

    /// The files a pull request changes.
    pub async fn pull_files(&self, number: u64) -> Result<Vec<ChangedFile>, GitHubError> {
        self.list(&self.path(&format!("/pulls/{number}/files")), |_| false)
            .await
    }

    /// The reviews of a pull request, oldest first.
    pub async fn reviews(&self, number: u64) -> Result<Vec<super::Review>, GitHubError> {
        self.list(&self.path(&format!("/pulls/{number}/reviews")), |_| false)
            .await
    }

    /// A file's bytes at a commit (the contents API); `None` when the file
    /// does not exist there. Files over 1 MB (which the API does not inline)
    /// and directories are errors.
    pub async fn file_at(&self, path: &str, sha: &str) -> Result<Option<Vec<u8>>, GitHubError> {
        #[derive(Deserialize)]
        struct Content {
            #[serde(rename = "type")]
            kind: String,
            #[serde(default)]
            encoding: Option<String>,
            #[serde(default)]
            content: Option<String>,
            #[serde(default)]
            size: u64,
        }
        let route = self.path(&format!(
            "/contents/{}?ref={}",
            encode_path(path),
            encode_path(sha)
        ));
        let fail = |detail: String| GitHubError {
            method: "GET".into(),
            path: route.clone(),
            status: None,
            detail,
            maybe_done: false,
        };
        let value: serde_json::Value = match self.json(Method::GET, &route, None).await {
            Ok(v) => v,
            Err(e) if e.status == Some(404) => return Ok(None),
            Err(e) => return Err(e),
        };
        if value.is_array() {
            return Err(fail(format!("{path} is a directory at {sha}")));
        }
        let c: Content =
            serde_json::from_value(value).map_err(|e| fail(format!("unexpected answer: {e}")))?;
        match (c.kind.as_str(), c.encoding.as_deref(), c.content) {
            ("file", Some("base64"), Some(text)) => {
                let compact: String = text.split_whitespace().collect();
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, compact)
                    .map(Some)
                    .map_err(|e| fail(format!("content is not base64: {e}")))
            }
            ("file", _, _) => Err(fail(format!(
                "{path} is {} bytes at {sha}: the contents API only inlines files up to 1 MB",
                c.size
            ))),
            (other, _, _) => Err(fail(format!("{path} is a {other}, not a file, at {sha}"))),
        }
    }

    /// The pull requests a commit belongs to (the merged PR of a merge commit).
    pub async fn pulls_for_commit(&self, sha: &str) -> Result<Vec<PullRequest>, GitHubError> {
        self.json(
            Method::GET,
            &self.path(&format!("/commits/{sha}/pulls")),
            None,
        )
        .await
    }

    /// Open pull requests of the repository.
    pub async fn open_pulls(&self) -> Result<Vec<PullRequest>, GitHubError> {
        self.list(&self.path("/pulls?state=open"), |_| false).await
    }
}

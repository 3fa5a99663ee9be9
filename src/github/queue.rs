//! What GitHub's merge queue is made of, read through the git data and
//! compare APIs: the queue's branches and the commits of a merge group.

use http::Method;
use serde::Deserialize;

use super::transport::{MAX_PAGES, encode_path, parse_answer};
use super::{ChangedFile, GitHub, GitHubError};

impl GitHub {
    /// The branches whose names start with `prefix` (`gh-readonly-queue/main/`),
    /// each as (`refs/heads/…`, commit). GitHub answers them all at once.
    pub async fn branches_starting(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, GitHubError> {
        #[derive(Deserialize)]
        struct Object {
            sha: String,
        }
        #[derive(Deserialize)]
        struct GitRef {
            #[serde(rename = "ref")]
            name: String,
            object: Object,
        }
        let refs: Vec<GitRef> = self
            .json(
                Method::GET,
                &self.path(&format!("/git/matching-refs/heads/{}", encode_path(prefix))),
                None,
            )
            .await?;
        Ok(refs.into_iter().map(|r| (r.name, r.object.sha)).collect())
    }

    /// What `head` has that `base` has not: its commits, oldest first
    /// (every page: GitHub pages a comparison's commits), and the files they
    /// change (GitHub lists at most 300, on the first page).
    pub async fn compare(
        &self,
        base: &str,
        head: &str,
    ) -> Result<(Vec<String>, Vec<ChangedFile>), GitHubError> {
        #[derive(Deserialize)]
        struct Commit {
            sha: String,
        }
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            total_commits: usize,
            #[serde(default)]
            commits: Vec<Commit>,
            #[serde(default)]
            files: Vec<ChangedFile>,
        }
        let mut out = Vec::new();
        let mut files = Vec::new();
        for page in 1..=MAX_PAGES {
            let path = self.path(&format!(
                "/compare/{}...{}?per_page=100&page={page}",
                encode_path(base),
                encode_path(head)
            ));
            let (_, _, text) = self.call(Method::GET, &path, None).await?;
            let p: Page = parse_answer(&Method::GET, &path, &text)?;
            let got = p.commits.len();
            out.extend(p.commits.into_iter().map(|c| c.sha));
            if page == 1 {
                files = p.files;
            }
            if got == 0 || out.len() >= p.total_commits {
                break;
            }
        }
        Ok((out, files))
    }
}

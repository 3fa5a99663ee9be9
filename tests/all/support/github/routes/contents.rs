//! The contents API: a file at a commit or branch.

use serde_json::json;

use super::super::request::{Query, percent_decode};
use super::super::server::{Answer, Reply};
use super::super::shas::fake_sha;
use super::super::state::Inner;

impl Inner {
    /// A file at `ref` (a commit SHA or a branch name): base64 in lines of
    /// 60 characters like GitHub, or, over 1 MB, `encoding: none` and no
    /// content (GitHub's answer for 1–100 MB files).
    pub(super) fn get_content(&mut self, repo: &str, encoded_path: &str, q: &Query) -> Answer {
        use base64::Engine as _;
        let path = percent_decode(encoded_path);
        let r = &self.repos[repo];
        let wanted = q.get("ref").unwrap_or("main");
        let sha = r.branches.get(wanted).map_or(wanted, String::as_str);
        let bytes = r
            .files
            .get(&(sha.to_string(), path.clone()))
            .cloned()
            .ok_or_else(Reply::not_found)?;
        let name = path.rsplit('/').next().unwrap_or(&path).to_string();
        let blob = fake_sha(&format!("{sha}:{path}"));
        let mut value = self.template(
            "content-file-response-if-content-is-a-file",
            repo,
            &[
                ("octokit/octokit.rb", repo),
                ("3d21ec53a331a6f037a91c368710b99387d012c1", &blob),
                ("README.md", &path),
                ("master", sha),
            ],
        );
        value["name"] = json!(name);
        value["path"] = json!(path);
        value["size"] = json!(bytes.len());
        if bytes.len() > 1024 * 1024 {
            value["encoding"] = json!("none");
            value["content"] = json!("");
        } else {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let lines: Vec<&str> = b64
                .as_bytes()
                .chunks(60)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            value["content"] = json!(format!("{}\n", lines.join("\n")));
        }
        Ok(Reply::json(200, value))
    }
}

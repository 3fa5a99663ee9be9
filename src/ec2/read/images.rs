//! Images named by reference, resolved when planning: SSM parameters with
//! `GetParameters` (ten names a call, EC2's limit for it), name patterns
//! with one `DescribeImages` per owner (the newest image of each pattern).

use super::*;
use crate::model::ImageRef;

/// Names `GetParameters` takes at once.
const PARAMETERS_PER_CALL: usize = 10;

/// What each reference resolved to: the AMI id, and its root device when
/// the lookup told it (names do; parameters hold only the id).
pub(super) type Resolved = BTreeMap<ImageRef, Option<(String, Option<String>)>>;

impl Ec2 {
    /// Resolves `refs`; a reference that names nothing is `None`.
    pub(super) async fn resolve_images(&self, refs: &[ImageRef]) -> Result<Resolved, Ec2Error> {
        let mut out: Resolved = refs.iter().map(|r| (r.clone(), None)).collect();
        let parameters: Vec<&String> = refs
            .iter()
            .filter_map(|r| match r {
                ImageRef::Ssm(p) => Some(p),
                ImageRef::Name { .. } => None,
            })
            .collect();
        for chunk in parameters.chunks(PARAMETERS_PER_CALL) {
            let names: Vec<String> = chunk.iter().map(|p| p.to_string()).collect();
            let got = self
                .call("GetParameters", false, || {
                    self.ssm
                        .get_parameters()
                        .set_names(Some(names.clone()))
                        .send()
                })
                .await?;
            for p in got.parameters() {
                let (Some(name), Some(value)) = (p.name(), p.value()) else {
                    continue;
                };
                // Only an AMI id is taken from a parameter.
                if crate::config::is_ami(value) {
                    out.insert(
                        ImageRef::Ssm(name.to_string()),
                        Some((value.to_string(), None)),
                    );
                }
            }
        }
        let mut by_owner: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for r in refs {
            if let ImageRef::Name { pattern, owner } = r {
                by_owner.entry(owner).or_default().push(pattern);
            }
        }
        for (owner, patterns) in by_owner {
            let found = self
                .call("DescribeImages", false, || {
                    self.client
                        .describe_images()
                        .owners(owner)
                        .filters(filter("name", patterns.iter().map(|p| p.to_string())))
                        .filters(filter("state", ["available"]))
                        .send()
                })
                .await?;
            for pattern in patterns {
                let newest = found
                    .images()
                    .iter()
                    .filter(|i| i.name().is_some_and(|n| glob(pattern, n)))
                    .max_by(|a, b| {
                        (a.creation_date(), a.image_id()).cmp(&(b.creation_date(), b.image_id()))
                    });
                if let Some(i) = newest
                    && let Some(id) = i.image_id()
                {
                    let root = i.root_device_name().map(str::to_string);
                    out.insert(
                        ImageRef::Name {
                            pattern: pattern.to_string(),
                            owner: owner.to_string(),
                        },
                        Some((id.to_string(), root)),
                    );
                }
            }
        }
        Ok(out)
    }
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and
/// `?` any one (EC2's name filter).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn names_match_as_ec2s_filter_does() {
        assert!(glob("web-*", "web-2026-12-07"));
        assert!(glob("web-????", "web-2026"));
        assert!(!glob("web-????", "web-20261"));
        assert!(glob("*", ""));
        assert!(!glob("web-*", "api-web-1"));
        assert!(glob("*-web-*", "api-web-1"));
    }
}

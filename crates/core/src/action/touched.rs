//! Which stacks a change touches: a stack whose file, or one of whose
//! `user_data_file`s, the change adds, modifies, renames or removes.

use std::collections::BTreeSet;

use crate::model::Desired;

use crate::config::normalize;

/// The stacks among `stacks` that `changed` (repository-relative paths,
/// old names of renamed files included) touches, in the order given.
pub fn touched<'a>(stacks: &'a [Desired], changed: &[String]) -> Vec<&'a Desired> {
    let changed: BTreeSet<String> = changed.iter().map(|c| normalize(c)).collect();
    stacks
        .iter()
        .filter(|s| {
            std::iter::once(&s.file)
                .chain(&s.sources)
                .any(|f| changed.contains(&normalize(f)))
        })
        .collect()
}

/// Changed stack-looking files that no current stack comes from: deleted or
/// renamed-away stack files (their resources are not destroyed by a merge).
pub fn removed_stack_files(
    removed: &[String],
    stacks: &[Desired],
    looks_like_stack: impl Fn(&str) -> bool,
) -> Vec<String> {
    let current: BTreeSet<String> = stacks.iter().map(|s| normalize(&s.file)).collect();
    removed
        .iter()
        .map(|r| normalize(r))
        .filter(|r| looks_like_stack(r) && !current.contains(r))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A stack of no resources from `file`, reading `sources`.
    pub(crate) fn stack(file: &str, sources: &[&str]) -> Desired {
        Desired {
            stack: file.to_string(),
            region: "us-east-1".into(),
            file: file.to_string(),
            sources: sources.iter().map(|s| s.to_string()).collect(),
            key_pairs: BTreeMap::new(),
            security_groups: BTreeMap::new(),
            instances: BTreeMap::new(),
            volumes: BTreeMap::new(),
            elastic_ips: BTreeMap::new(),
            target_groups: Default::default(),
            load_balancers: Default::default(),
            tags: Default::default(),
            account: None,
            environment: None,
            after: vec![],
            preview: None,
            preview_of: None,
        }
    }

    #[test]
    fn normalize_resolves_dots() {
        assert_eq!(
            normalize("./infra/../cloud-init/web.yaml"),
            "cloud-init/web.yaml"
        );
        assert_eq!(normalize("infra//web.yaml"), "infra/web.yaml");
    }

    #[test]
    fn a_stack_is_touched_by_its_file_or_its_user_data() {
        let stacks = [
            stack("infra/web.yaml", &["infra/../cloud-init/web.yaml"]),
            stack("./infra/db.yaml", &[]),
        ];
        let names = |changed: &[&str]| -> Vec<String> {
            let changed: Vec<String> = changed.iter().map(|s| s.to_string()).collect();
            touched(&stacks, &changed)
                .iter()
                .map(|s| s.file.clone())
                .collect()
        };
        assert_eq!(names(&["cloud-init/web.yaml"]), ["infra/web.yaml"]);
        assert_eq!(names(&["infra/db.yaml", "README.md"]), ["./infra/db.yaml"]);
        assert!(names(&["README.md"]).is_empty());
    }

    #[test]
    fn removed_stack_files_are_named() {
        let stacks = [stack("infra/web.yaml", &[])];
        let removed = vec!["infra/old.yaml".to_string(), "docs/x.md".to_string()];
        assert_eq!(
            removed_stack_files(&removed, &stacks, |p| p.ends_with(".yaml")),
            ["infra/old.yaml"]
        );
    }
}

//! Environments on one base, end to end: a pull request that changes only
//! the base plans every stack that extends it.

use crate::action::{HEAD, World};
use crate::engine::{IMAGE, stack_yaml};

/// `infra/base/web.yaml` and the staging and production stacks on it, in
/// the checkout of `w` (beside its own `infra/web.yaml`).
fn environments(w: &World, base_type: &str) {
    let root = w.dir.path();
    for d in ["infra/base", "infra/staging", "infra/production"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let base = stack_yaml("unused")
        .replace("stack: unused\n", "")
        .replace("type: t3.micro", &format!("type: {base_type}"));
    std::fs::write(root.join("infra/base/web.yaml"), base).unwrap();
    std::fs::write(
        root.join("infra/staging/web.yaml"),
        "extends: ../base/web.yaml\nstack: web-staging\n",
    )
    .unwrap();
    std::fs::write(
        root.join("infra/production/web.yaml"),
        format!(
            "extends: ../base/web.yaml\nstack: web-production\ninstances:\n  web:\n    count: 3\n    image: {IMAGE}\n"
        ),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pr_changing_only_the_base_plans_both_environments() {
    let w = World::new("main");
    environments(&w, "t3.small");
    w.pull(41, HEAD, &["infra/base/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 41, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let comments = w.bot_comments(41);
    assert_eq!(comments.len(), 1, "{}", r.text());
    let body = &comments[0].body;
    assert!(body.contains("web-staging"), "{body}");
    assert!(body.contains("web-production"), "{body}");
    assert!(
        !body.contains("| main |") && !body.contains("stack `main`"),
        "the stack that does not extend the base is not planned: {body}"
    );
    // Only reads: a plan changes nothing.
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "{:?}",
        w.mutating_ec2_calls()
    );
}

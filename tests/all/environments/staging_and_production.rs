//! Staging and production stacks extending one base: a base change plans
//! both, a merge applies staging first (a failed staging stops
//! production), the `environments` input picks which apply.

use crate::action::{HEAD, HEAD_2, World};
use crate::engine::{IMAGE, stack_yaml};

use super::review_and_merge_files;

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

/// The first `RunInstances` of `stack` and the last one, by arrival.
fn launches(w: &World, stack: &str) -> Vec<u64> {
    w.proxy
        .requests_for("RunInstances")
        .iter()
        .filter(|r| r.params.iter().any(|(_, v)| v == stack))
        .map(|r| r.seq)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_applies_staging_before_production_and_a_failed_staging_stops_production() {
    let w = World::new("main");
    environments(&w, "t3.micro");
    let prod = w.dir.path().join("infra/production/web.yaml");
    let text = std::fs::read_to_string(&prod).unwrap();
    std::fs::write(
        &prod,
        text.replace(
            "stack: web-production\n",
            "stack: web-production\nenvironment: production\nafter: [web-staging]\n",
        ),
    )
    .unwrap();
    let files = ["infra/staging/web.yaml", "infra/production/web.yaml"];
    let (_, r) = review_and_merge_files(
        &w,
        51,
        HEAD,
        "8888888888888888888888888888888888888888",
        &files,
        &[],
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let staging = launches(&w, "web-staging");
    let production = launches(&w, "web-production");
    assert!(!staging.is_empty() && !production.is_empty());
    assert!(
        staging.iter().max() < production.iter().min(),
        "production waits for staging: {staging:?} then {production:?}"
    );
    let deployments: Vec<String> =
        w.gh.deployments()
            .iter()
            .map(|d| d.environment.clone())
            .collect();
    assert!(
        deployments.contains(&"production".to_string()),
        "{deployments:?}"
    );
    assert!(
        deployments.contains(&"web-staging".to_string()),
        "{deployments:?}"
    );

    // The base changes; staging's launch fails: production is not attempted.
    let base = w.dir.path().join("infra/base/web.yaml");
    let text = std::fs::read_to_string(&base).unwrap();
    std::fs::write(&base, text.replace("count: 2", "count: 3")).unwrap();
    w.proxy.set_hook(|req| {
        (req.action == "RunInstances" && req.params.iter().any(|(_, v)| v == "web-staging")).then(
            || {
                crate::support::ProxyResponse::ec2_error(
                    500,
                    "InsufficientInstanceCapacity",
                    "We currently do not have sufficient t3.micro capacity.",
                )
            },
        )
    });
    let before = launches(&w, "web-production").len();
    let (plan, r) = review_and_merge_files(
        &w,
        52,
        HEAD_2,
        "9999999999999999999999999999999999999999",
        &["infra/base/web.yaml"],
        &[],
    );
    assert!(
        plan.contains("web-staging") && plan.contains("web-production"),
        "{plan}"
    );
    assert_eq!(r.code(), Some(1), "{}", r.text());
    assert_eq!(
        launches(&w, "web-production").len(),
        before,
        "production untouched"
    );
    let result = w.bot_comments(52).last().unwrap().body.clone();
    assert!(
        result.contains(
            "not attempted: it is applied after stack `web-staging`, which was not applied"
        ),
        "{result}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_environments_input_applies_only_the_stacks_of_those_environments() {
    let w = World::new("main");
    environments(&w, "t3.micro");
    let prod = w.dir.path().join("infra/production/web.yaml");
    let text = std::fs::read_to_string(&prod).unwrap();
    std::fs::write(
        &prod,
        text.replace(
            "stack: web-production\n",
            "stack: web-production\nenvironment: production\n",
        ),
    )
    .unwrap();
    let (_, r) = review_and_merge_files(
        &w,
        61,
        HEAD,
        "abababababababababababababababababababab",
        &["infra/base/web.yaml"],
        &[("INPUT_ENVIRONMENTS", "production")],
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(!launches(&w, "web-production").is_empty(), "{}", r.text());
    assert!(
        launches(&w, "web-staging").is_empty(),
        "staging is another job's: {}",
        r.text()
    );
    let out = String::from_utf8_lossy(&r.out.stdout);
    assert!(
        out.contains("stack web-staging (environment web-staging) is left to the job that applies that environment"),
        "{out}"
    );
}

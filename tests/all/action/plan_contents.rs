//! What a plan comment holds: 200 instances in one comment, twenty stacks
//! in a table with one failing, invalid YAML as annotations.

use crate::engine::{IMAGE, stack_yaml};
use crate::support::plan_meta;

use super::{HEAD, World};

#[tokio::test(flavor = "multi_thread")]
async fn a_200_instance_plan_fits_in_one_comment() {
    let w = World::new("gh5");
    w.write_stack(&stack_yaml("gh5").replace("count: 2", "count: 200"));
    w.pull(12, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 12, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let c = &w.bot_comments(12)[0];
    assert!(c.body.len() <= 65_536, "{} chars", c.body.len());
    assert!(
        c.body.contains("Plan: 206 to create"),
        "{}",
        &c.body[..500.min(c.body.len())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_stacks_in_two_regions_one_comment_with_a_table_and_one_failing_stack() {
    let w = World::new("main");
    let mut files = vec!["infra/web.yaml".to_string()];
    for i in 0..19 {
        let name = format!("s{i:02}");
        let mut yaml = stack_yaml(&name);
        if i % 4 == 0 {
            // Moto knows this Amazon Linux 2 image in every region.
            yaml = yaml
                .replace("region: us-east-1", "region: eu-west-1")
                .replace(IMAGE, "ami-04681a1dbd79675a5");
        }
        std::fs::write(w.dir.path().join(format!("infra/{name}.yaml")), yaml).unwrap();
        files.push(format!("infra/{name}.yaml"));
    }
    // EC2 refuses to describe one stack (a role without access to it).
    w.proxy.set_hook(|req| {
        (req.action == "DescribeInstances" && req.params.iter().any(|(_, v)| v == "s07")).then(
            || {
                crate::support::ProxyResponse::ec2_error(
                    403,
                    "UnauthorizedOperation",
                    "You are not authorized to perform this operation.",
                )
            },
        )
    });
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    w.pull(30, HEAD, &refs);
    let r = w.run("pull_request", w.pr_event("opened", 30, HEAD), HEAD);
    assert_eq!(r.code(), Some(1), "one stack failed: {}", r.text());
    let comments = w.bot_comments(30);
    assert_eq!(comments.len(), 1);
    let body = &comments[0].body;
    assert!(body.contains("Plan of `1111111` for 20 stacks."), "{body}");
    assert!(body.contains("| stack | region | plan |"), "{body}");
    assert!(
        body.contains("| s04 | eu-west-1 | Plan: 8 to create"),
        "{body}"
    );
    assert!(
        body.contains("`infra/s07.yaml` | - | could not be planned"),
        "{body}"
    );
    assert!(body.contains("UnauthorizedOperation"), "{body}");
    // Every other stack still has its plan and fingerprint.
    let marked = plan_meta(body).map(|m| m.stacks.len());
    assert_eq!(marked, Some(19), "{body}");
    assert!(body.len() <= 65_536);
    assert_eq!(w.gh.checks(HEAD)[0].state, "failure");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_yaml_in_a_pr_fails_the_status_with_annotations_and_calls_no_ec2() {
    let w = World::new("gh9");
    w.write_stack(&stack_yaml("gh9").replace("    type: t3.small\n", "    tpye: t3.small\n"));
    w.pull(40, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 40, HEAD), HEAD);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let stdout = String::from_utf8_lossy(&r.out.stdout);
    assert!(
        stdout.contains("::error file=infra/web.yaml,line=") && stdout.contains("tpye"),
        "{}",
        r.text()
    );
    let status = w.gh.checks(HEAD);
    assert_eq!(status[0].state, "failure");
    let body = &w.bot_comments(40)[0].body;
    assert!(
        body.contains("`infra/web.yaml`: invalid") && body.contains("did you mean `type`"),
        "{body}"
    );
    assert_eq!(w.proxy.total(), 0, "invalid YAML must not reach EC2");
}

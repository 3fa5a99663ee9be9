//! Images by reference against moto: an SSM parameter (moto holds AWS's
//! public Amazon Linux parameters, and one of our own), and the newest image
//! of a name. Resolved when planning: the plan shows the reference and the
//! id, and a parameter that moves to another image replaces the servers.

use aws_sdk_ec2::types::Filter;
use aws_sdk_ssm::types::ParameterType;
use ec2_gitops::plan::{Action, Field, Value};

use crate::engine::{Env, IMAGE, IMAGE_2, desired};

/// AWS's public parameter for Amazon Linux 2023, and what moto holds in it.
const AL2023: &str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
const AL2023_ID: &str = "ami-0ed094fb1304fd857";

fn stack(image: &str) -> String {
    format!(
        r#"version: 1
stack: img
region: us-east-1
instances:
  web:
    count: 2
    image: {image}
    type: t3.micro
"#
    )
}

fn ssm_at(env: &Env) -> aws_sdk_ssm::Client {
    crate::support::ssm_client_at(&env._moto.endpoint(), "us-east-1")
}

async fn images_of(env: &Env) -> Vec<String> {
    let mut v: Vec<String> = crate::engine::running_by_name(&env.direct, "img")
        .await
        .iter()
        .map(|(_, i)| i.image_id().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_by_public_ssm_parameter_is_resolved_and_shown_with_its_id() {
    let env = Env::start();
    let yaml = stack(&format!("{{ ssm: {AL2023} }}"));
    let plan = env.converge(&desired(&yaml)).await;
    let image = &plan.changes[0].fields[0];
    assert_eq!(image.field, Field::Image);
    assert_eq!(
        image.after,
        Value::Text(format!("{AL2023_ID} (ssm {AL2023})"))
    );
    assert_eq!(images_of(&env).await, [AL2023_ID, AL2023_ID]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parameter_that_moves_replaces_the_servers_and_changes_the_fingerprint() {
    let env = Env::start();
    let ssm = ssm_at(&env);
    let put = |id: &'static str| {
        let ssm = ssm.clone();
        async move {
            ssm.put_parameter()
                .name("/team/web/image")
                .value(id)
                .r#type(ParameterType::String)
                .overwrite(true)
                .send()
                .await
                .unwrap();
        }
    };
    put(IMAGE).await;
    let yaml = stack("{ ssm: /team/web/image }");
    env.converge(&desired(&yaml)).await;
    assert_eq!(images_of(&env).await, [IMAGE, IMAGE]);
    let reviewed = env.plan(&desired(&yaml)).await;
    assert!(reviewed.is_empty());

    // The parameter moves: the same YAML now plans a rollout to the new id.
    put(IMAGE_2).await;
    let plan = env.plan(&desired(&yaml)).await;
    assert_ne!(plan.fingerprint, reviewed.fingerprint);
    assert_eq!(plan.changes.len(), 2);
    for c in &plan.changes {
        assert_eq!(c.action, Action::Replace);
        assert_eq!(c.fields[0].before, Value::Text(IMAGE.into()));
        assert_eq!(
            c.fields[0].after,
            Value::Text(format!("{IMAGE_2} (ssm /team/web/image)"))
        );
        assert!(
            c.fields[0]
                .reason
                .starts_with("ssm /team/web/image now names another image")
        );
    }
    assert_eq!(plan.rollouts.len(), 1, "replaced one at a time");
    env.converge(&desired(&yaml)).await;
    assert_eq!(images_of(&env).await, [IMAGE_2, IMAGE_2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_newest_image_of_a_name_is_used_and_a_reference_to_nothing_is_an_error() {
    let env = Env::start();
    // An image of our own, made from a server.
    let server = env
        .direct
        .run_instances()
        .image_id(IMAGE)
        .instance_type("t3.micro".into())
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    let ours = env
        .direct
        .create_image()
        .instance_id(&server)
        .name("web-2026-12-07")
        .send()
        .await
        .unwrap()
        .image_id()
        .unwrap()
        .to_string();
    let yaml = stack("{ name: \"web-2026-*\", owner: self }");
    env.converge(&desired(&yaml)).await;
    assert_eq!(images_of(&env).await, [ours.clone(), ours]);

    // References to nothing: refused at the entry, before any change.
    env.proxy.clear();
    for (image, said) in [
        (
            "{ ssm: /team/none }",
            "the SSM parameter /team/none does not exist in us-east-1",
        ),
        (
            "{ name: \"db-*\", owner: self }",
            "no image named \"db-*\" owned by self exists in us-east-1",
        ),
    ] {
        let plan = env.plan(&desired(&stack(image))).await;
        assert!(!plan.is_applicable());
        assert!(
            plan.errors.iter().any(|e| e.message.contains(said)),
            "{said}: {:#?}",
            plan.errors
        );
    }
    assert!(
        env.proxy
            .actions()
            .iter()
            .all(|a| crate::support::is_read(a) || a.is_empty())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_applies_the_image_that_was_reviewed_even_if_the_parameter_moved_since() {
    use crate::action::{HEAD, MERGE, World};
    let w = World::new("pin");
    let ssm = crate::support::ssm_client_at(&w.proxy.endpoint(), "us-east-1");
    let put = |id: &'static str| {
        let ssm = ssm.clone();
        async move {
            ssm.put_parameter()
                .name("/pin/image")
                .value(id)
                .r#type(ParameterType::String)
                .overwrite(true)
                .send()
                .await
                .unwrap();
        }
    };
    put(IMAGE).await;
    w.write_stack(&crate::engine::stack_yaml("pin").replace(
        &format!("  image: {IMAGE}\n"),
        "  image: { ssm: /pin/image }\n",
    ));
    w.pull(7, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 7, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let body = &w.bot_comments(7)[0].body;
    assert!(
        body.contains(&format!("{IMAGE} (ssm /pin/image)")),
        "{body}"
    );
    let meta = crate::support::plan_meta(body).expect("the plan comment's marker");
    assert_eq!(
        meta.stacks[0].images,
        [(
            ec2_gitops::model::ImageRef::Ssm("/pin/image".into()),
            IMAGE.to_string()
        )]
    );

    // The parameter moves after review; the merge applies what was reviewed.
    put(IMAGE_2).await;
    w.merge(7, HEAD);
    let r = w.run(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let out = w
        .direct
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:ec2-gitops:stack")
                .values("pin")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let images: Vec<&str> = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| i.image_id())
        .collect();
    assert_eq!(
        images,
        [IMAGE, IMAGE, IMAGE],
        "the reviewed image, on every server"
    );
}

//! Encrypted disks, IOPS and throughput against moto: made as the YAML
//! says, changed in place, EBS's six hours between two modifications of a
//! volume read from EC2 (moto records each modification's start), and an
//! encryption change refused before anything is called.

use aws_sdk_ec2::types::{Filter, Volume};

use crate::engine::{Env, IMAGE, desired};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn stack(data: &str, root_encrypted: bool) -> String {
    format!(
        r#"version: 1
stack: dsk
region: us-east-1
instances:
  web:
    image: {IMAGE}
    type: t3.micro
    root_volume: {{ size_gb: 10, type: gp3, encrypted: {root_encrypted} }}
    volumes:
      - {{ name: data, device: /dev/sdf, size_gb: 20, type: gp3, kms_key: "{KEY}", {data} }}
"#
    )
}

/// The stack's volumes by name tag (`volume/web/data`, …).
async fn volumes(env: &Env) -> Vec<(String, Volume)> {
    let out = env
        .direct
        .describe_volumes()
        .filters(
            Filter::builder()
                .name("tag:ec2-gitops:stack")
                .values("dsk")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut v: Vec<(String, Volume)> = out
        .volumes()
        .iter()
        .map(|v| {
            let name = v
                .tags()
                .iter()
                .find(|t| t.key() == Some("ec2-gitops:name"))
                .and_then(|t| t.value())
                .unwrap_or("(root)")
                .to_string();
            (name, v.clone())
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn disks_are_made_encrypted_tuned_in_place_and_never_modified_twice_in_six_hours() {
    let env = Env::start();
    let first = stack("iops: 4000, throughput: 250", true);
    env.converge(&desired(&first)).await;
    let made = volumes(&env).await;
    let data = &made
        .iter()
        .find(|(n, _)| n == "volume/web/data")
        .expect("data")
        .1;
    assert_eq!(data.encrypted(), Some(true));
    assert_eq!(data.kms_key_id(), Some(KEY));
    assert_eq!(data.iops(), Some(4000));
    assert_eq!(data.throughput(), Some(250));
    let root = made
        .iter()
        .find(|(_, v)| v.volume_id() != data.volume_id())
        .expect("root volume")
        .1
        .clone();
    assert_eq!(root.encrypted(), Some(true), "the root volume is encrypted");

    // More IOPS: one ModifyVolume, in place.
    let second = stack("iops: 6000, throughput: 250", true);
    env.proxy.clear();
    let plan = env.converge(&desired(&second)).await;
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(env.proxy.count("ModifyVolume"), 1);
    assert_eq!(env.proxy.count("DescribeVolumesModifications"), 1);
    let data = volumes(&env)
        .await
        .into_iter()
        .find(|(n, _)| n == "volume/web/data")
        .unwrap()
        .1;
    assert_eq!(data.iops(), Some(6000));

    // A second modification right after: refused at plan time, with when.
    let third = stack("iops: 6000, throughput: 500", true);
    let plan = env.plan(&desired(&third)).await;
    assert!(!plan.is_applicable());
    let said = ec2_gitops::render::text::plan(&plan, false);
    assert!(
        said.contains("EBS takes one modification of a volume every 6 hours")
            && said.contains("apply after"),
        "{said}"
    );

    // Decrypting the root volume: refused, nothing called.
    env.proxy.clear();
    let plan = env
        .plan(&desired(&stack("iops: 6000, throughput: 250", false)))
        .await;
    assert_eq!(plan.errors.len(), 1, "{:#?}", plan.errors);
    assert!(
        plan.errors[0]
            .message
            .contains("is encrypted; EBS sets encryption only when a volume is made"),
        "{:#?}",
        plan.errors
    );
    // Reads only (the tagging API's included).
    let actions = env.proxy.actions();
    assert!(
        actions.iter().all(|a| crate::support::is_read(a)),
        "{actions:?}"
    );
}

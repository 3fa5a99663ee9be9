//! `ec2-gitops import` against moto: resources made by hand through the API
//! become a stack whose plan changes nothing but tags; `--apply-tags`
//! adopts them, and the stack then plans empty.

use std::process::{Command, Stdio};

use aws_sdk_ec2::primitives::Blob;
use aws_sdk_ec2::types::{
    IpPermission, IpRange, ResourceType, Tag, TagSpecification, UserIdGroupPair,
};
use base64::Engine as _;

use crate::engine::IMAGE;
use crate::support::{Ec2Proxy, Moto};

const BIN: &str = env!("CARGO_BIN_EXE_ec2-gitops");
const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAHlth9viP3YlUZf/E7QM/+JJDrOV9IwGcBVJdVWOJsk ops@example.com";

fn tags(pairs: &[(&str, &str)], kind: ResourceType) -> TagSpecification {
    let mut b = TagSpecification::builder().resource_type(kind);
    for (k, v) in pairs {
        b = b.tags(Tag::builder().key(*k).value(*v).build());
    }
    b.build()
}

#[tokio::test(flavor = "multi_thread")]
async fn import_round_trip_changes_nothing_but_tags() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let c = moto.ec2_client("us-east-1");
    moto.create_instance_profiles(&["web-server"]);
    // Made by hand, as a team would have: a key, two groups (one referencing
    // the other), two instances with user data, one protected with a data
    // volume, and an elastic IP.
    c.import_key_pair()
        .key_name("ops-key")
        .public_key_material(Blob::new(KEY.as_bytes()))
        .send()
        .await
        .unwrap();
    let admin = c
        .create_security_group()
        .group_name("admin")
        .description("Bastion")
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    let web = c
        .create_security_group()
        .group_name("web servers")
        .description("Public HTTP")
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    c.authorize_security_group_ingress()
        .group_id(&web)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(80)
                .to_port(80)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&admin).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let user_data =
        base64::engine::general_purpose::STANDARD.encode("#cloud-config\npackages: [nginx]\n");
    let mut ids = vec![];
    for (name, protect) in [("Web A", false), ("db", true)] {
        let out = c
            .run_instances()
            .image_id(IMAGE)
            .instance_type("t3.micro".into())
            .min_count(1)
            .max_count(1)
            .key_name("ops-key")
            .security_group_ids(&web)
            .user_data(&user_data)
            .disable_api_termination(protect)
            // The web server has a profile; both keep moto's IMDSv1 default.
            .set_iam_instance_profile((!protect).then(|| {
                aws_sdk_ec2::types::IamInstanceProfileSpecification::builder()
                    .name("web-server")
                    .build()
            }))
            .tag_specifications(tags(
                &[("Name", name), ("team", "web")],
                ResourceType::Instance,
            ))
            .send()
            .await
            .unwrap();
        let id = out.instances()[0].instance_id().unwrap().to_string();
        if !protect {
            // What the format cannot say: noted, kept, never dropped silently.
            c.modify_instance_attribute()
                .instance_id(out.instances()[0].instance_id().unwrap())
                .source_dest_check(
                    aws_sdk_ec2::types::AttributeBooleanValue::builder()
                        .value(false)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
        if protect {
            c.modify_instance_attribute()
                .instance_id(&id)
                .disable_api_termination(
                    aws_sdk_ec2::types::AttributeBooleanValue::builder()
                        .value(true)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
        ids.push(id);
    }
    let zone = c
        .describe_instances()
        .instance_ids(&ids[1])
        .send()
        .await
        .unwrap()
        .reservations()[0]
        .instances()[0]
        .placement()
        .unwrap()
        .availability_zone()
        .unwrap()
        .to_string();
    let vol = c
        .create_volume()
        .availability_zone(zone)
        .size(20)
        .volume_type("gp3".into())
        .send()
        .await
        .unwrap()
        .volume_id()
        .unwrap()
        .to_string();
    c.attach_volume()
        .volume_id(&vol)
        .instance_id(&ids[1])
        .device("/dev/sdf")
        .send()
        .await
        .unwrap();
    let eip = c
        .allocate_address()
        .send()
        .await
        .unwrap()
        .allocation_id()
        .unwrap()
        .to_string();
    c.associate_address()
        .allocation_id(&eip)
        .instance_id(&ids[0])
        .send()
        .await
        .unwrap();
    // Not matched by the filter: must not be imported.
    c.run_instances()
        .image_id(IMAGE)
        .instance_type("t3.micro".into())
        .min_count(1)
        .max_count(1)
        .tag_specifications(tags(&[("team", "other")], ResourceType::Instance))
        .send()
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("imp.yaml");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("AWS_ENDPOINT_URL", proxy.endpoint())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let text = |o: &std::process::Output| {
        format!(
            "exit {:?}\n{}\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let y = yaml.to_str().unwrap();
    let first = run(&[
        "import",
        "--stack",
        "imp",
        "--region",
        "us-east-1",
        "--filter",
        "tag:team=web",
        "--out",
        y,
    ]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let written = std::fs::read_to_string(&yaml).unwrap();
    for needle in [
        "web-a:",
        "db:",
        "protect: true",
        "from: admin",
        "device: /dev/sdf",
        "web-a-ip: { instance: web-a }",
        "packages: [nginx]",
        "instance_profile: \"web-server\"",
        "    # Not in the format, kept while it runs, lost if it is replaced: source/destination check off",
        "metadata: { tokens: \"optional\", hop_limit: 1 }",
    ] {
        assert!(written.contains(needle), "{needle} missing from\n{written}");
    }
    assert!(
        String::from_utf8_lossy(&first.stderr).contains("changes nothing but tags"),
        "{}",
        text(&first)
    );
    assert!(
        String::from_utf8_lossy(&first.stderr)
            .contains("note: web-a has what the format cannot say: source/destination check off"),
        "{}",
        text(&first)
    );
    assert!(
        proxy.actions().iter().all(|a| crate::support::is_read(a)),
        "import without --apply-tags changed EC2"
    );

    let adopt = run(&[
        "import",
        "--stack",
        "imp",
        "--region",
        "us-east-1",
        "--filter",
        "tag:team=web",
        "--out",
        y,
        "--apply-tags",
    ]);
    assert_eq!(adopt.status.code(), Some(0), "{}", text(&adopt));
    let mutating: Vec<String> = proxy
        .actions()
        .into_iter()
        .filter(|a| !crate::support::is_read(a))
        .collect();
    assert!(
        mutating.iter().all(|a| a == "CreateTags"),
        "adopting did more than tag: {mutating:?}"
    );

    // The stack now plans empty and apply does nothing: nothing replaced.
    let plan = run(&["plan", y, "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    proxy.clear();
    let apply = run(&["apply", y, "--auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert!(
        String::from_utf8_lossy(&apply.stdout).contains("Nothing to apply"),
        "{}",
        text(&apply)
    );
    assert!(proxy.actions().iter().all(|a| crate::support::is_read(a)));
    let _ = vol;

    // Replacing the server would drop what the YAML cannot say: the plan
    // says so.
    let imported = std::fs::read_to_string(&yaml).unwrap();
    let replaced = dir.path().join("replaced.yaml");
    let web_a = imported.find("  web-a:").expect("web-a in the import");
    let (head, tail) = imported.split_at(web_a);
    std::fs::write(
        &replaced,
        format!("{head}{}", tail.replacen(IMAGE, crate::engine::IMAGE_2, 1)),
    )
    .unwrap();
    let plan = run(&["plan", replaced.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&plan.stdout)
            .contains("has what the YAML cannot say (source/destination check off): its replacement will not have it"),
        "{}",
        text(&plan)
    );

    // A second import into the same stack is refused.
    let again = run(&[
        "import",
        "--stack",
        "imp",
        "--region",
        "us-east-1",
        "--filter",
        "tag:team=web",
    ]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already owns resources"),
        "{}",
        text(&again)
    );
}

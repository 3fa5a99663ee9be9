//! The least-privilege policies are enough, and the plan role's is no more:
//! moto with its IAM enforcement on (after the set-up, `/moto-api/reset-auth`)
//! and users holding exactly what `ec2-gitops iam policy --role …` prints.
//! moto checks actions (and `*` resources), not conditions nor other
//! resource ARNs, so the preview role, whose every change names ARNs and
//! conditions, is checked apart (`iam_conditions.rs`).

use std::collections::BTreeMap;
use std::process::Command;

use crate::crash::text;
use crate::support::Moto;

const BIN: &str = env!("CARGO_BIN_EXE_ec2-gitops");

/// Creates an IAM user per role holding exactly the role's policy; returns
/// each role's access key id and secret.
fn users(moto: &Moto, roles: &[&str]) -> BTreeMap<String, (String, String)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for role in roles {
        let out = Command::new(BIN)
            .args(["iam", "policy", "--role", role])
            .output()
            .expect("iam policy");
        assert!(out.status.success());
        let file = dir.path().join(format!("{role}.json"));
        std::fs::write(&file, &out.stdout).expect("write policy");
        files.push(format!("{role}={}", file.display()));
    }
    let python = crate::support::moto::moto_server_path().with_file_name("python");
    let script = r#"
import json, sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
out = {}
for arg in sys.argv[2:]:
    role, path = arg.split("=", 1)
    user = "ec2-gitops-" + role
    iam.create_user(UserName=user)
    policy = json.load(open(path))
    # moto checks the tagging API's actions as `tagging:…`; IAM names them
    # `tag:…` (what the policy says). Each is given under both names.
    for s in policy["Statement"]:
        acts = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        s["Action"] = acts + ["tagging:" + a[4:] for a in acts if a.startswith("tag:")]
    iam.put_user_policy(UserName=user, PolicyName=role, PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    out[role] = [key["AccessKeyId"], key["SecretAccessKey"]]
print(json.dumps(out))
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(moto.endpoint())
        .args(&files)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (scripts/setup-test-deps.sh makes it)",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "IAM set-up: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("keys as JSON")
}

/// From now on moto checks every request against the caller's policies.
fn enforce(moto: &Moto) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(moto.addr()).expect("connect to moto");
    write!(
        stream,
        "POST /moto-api/reset-auth HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nConnection: close\r\n\r\n0",
        moto.addr()
    )
    .expect("send reset-auth");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read reset-auth");
    assert!(
        answer.contains("\"status\": \"ok\""),
        "reset-auth: {answer}"
    );
}

/// The binary with `key`'s credentials.
fn as_role(moto: &Moto, key: &(String, String), args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", &key.0)
        .env("AWS_SECRET_ACCESS_KEY", &key.1)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("run ec2-gitops")
}

/// A stack with every kind: key pair, groups (one referring to the other),
/// instances with a data volume, an elastic IP, a load balancer forwarding
/// to the web servers' target group (drained at once: a delay of 0). moto's signature check under
/// IAM enforcement refuses some values with spaces: none here.
fn stack(web_type: &str, with_volume: bool) -> String {
    let volume = if with_volume {
        "    volumes:\n      - { name: data, device: /dev/sdf, size_gb: 5 }\n"
    } else {
        ""
    };
    // The first apply launches db without a profile and with IMDSv2; the
    // type change gives it a profile and turns IMDSv1 on, in place.
    let (profile, tokens) = match web_type {
        "t3.micro" => ("", "required"),
        _ => ("\n    instance_profile: db-a", "optional"),
    };
    format!(
        r#"version: 1
stack: iam
region: us-east-1
defaults:
  image: {image}
  key_pair: deploy
key_pairs:
  deploy:
    public_key: {key}
security_groups:
  web:
    description: Web
    ingress:
      - {{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}
      - {{ protocol: tcp, ports: 22, from: admin }}
  admin:
    description: Admin
instances:
  web:
    count: 2
    type: {web_type}
    security_groups: [web]
    target_groups: [web]
    rollout: {{ max_unavailable: 1, health: running }}
  db:
    type: t3.small
    security_groups: [admin]{profile}
    metadata: {{ tokens: {tokens} }}
{volume}elastic_ips:
  ip: {{ instance: web-1 }}
target_groups:
  web: {{ port: 80, deregistration_delay: 0 }}
load_balancers:
  front:
    subnets: [{{ zone: us-east-1a }}, {{ zone: us-east-1b }}]
    security_groups: [web]
    listeners:
      - {{ port: 80, forward: web }}
"#,
        image = crate::engine::IMAGE,
        key = crate::engine::KEY,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_generated_policies_are_enough_and_the_plan_role_cannot_write() {
    let moto = Moto::start();
    let keys = users(&moto, &["plan", "apply", "import"]);
    moto.create_instance_profiles(&["db-a"]);
    enforce(&moto);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("iam.yaml");
    let file = file.to_str().expect("utf-8");
    let apply = |yaml: &str| {
        std::fs::write(file, yaml).expect("write stack");
        let out = as_role(&moto, &keys["apply"], &["apply", file, "--auto-approve"]);
        assert!(out.status.success(), "apply role: {}", text(&out));
        let again = as_role(&moto, &keys["plan"], &["plan", file, "--detailed-exitcode"]);
        assert_eq!(again.status.code(), Some(0), "plan role: {}", text(&again));
    };
    // Create everything, roll a type change out, delete the data volume
    // (a snapshot first), then destroy the instances.
    apply(&stack("t3.micro", true));
    apply(&stack("t3.small", true));
    apply(&stack("t3.small", false));
    apply(
        stack("t3.small", false)
            .split("instances:")
            .next()
            .unwrap_or_default(),
    );

    // The plan role reads, and is refused every change.
    std::fs::write(file, stack("t3.micro", false)).expect("write stack");
    let refused = as_role(&moto, &keys["plan"], &["apply", file, "--auto-approve"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let said = text(&refused);
    assert!(
        said.contains("AccessDenied") || said.contains("UnauthorizedOperation"),
        "{said}"
    );

    // Import reads a server made by hand and adopts it (its tags).
    let (id, secret) = &keys["apply"];
    let by_hand = aws_sdk_ec2::Client::from_conf(
        crate::support::ec2_config_at(&moto.endpoint(), "us-east-1")
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                id, secret, None, None, "test",
            ))
            .build(),
    );
    by_hand
        .run_instances()
        .image_id(crate::engine::IMAGE)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("team")
                        .value("legacy")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("a server made by hand");
    let imported = as_role(
        &moto,
        &keys["import"],
        &[
            "import",
            "--stack",
            "adopted",
            "--region",
            "us-east-1",
            "--filter",
            "tag:team=legacy",
            "--out",
            dir.path().join("adopted.yaml").to_str().expect("utf-8"),
            "--apply-tags",
        ],
    );
    assert!(
        imported.status.success(),
        "import role: {}",
        text(&imported)
    );
}

//! `ec2-gitops import --load-balancer` against moto: a load balancer made by
//! hand (an HTTP listener redirecting to HTTPS, an HTTPS one forwarding to a
//! target group of two servers) becomes part of the imported stack, whose
//! plan changes nothing but tags; a group that holds a server the import
//! does not take is refused; `--apply-tags` adopts with `CreateTags` and
//! `AddTags` only, and the stack then plans empty.

use std::process::{Command, Stdio};

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, ResourceType, Tag, TagSpecification, UserIdGroupPair,
};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, LoadBalancerSchemeEnum, LoadBalancerTypeEnum,
    ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum, TargetDescription,
    TargetGroupAttribute,
};

use crate::engine::IMAGE;
use crate::support::{Ec2Proxy, Moto, elb_client_at};

const BIN: &str = env!("CARGO_BIN_EXE_ec2-gitops");

/// Two servers tagged `team=web` and one `team=other`, in group `web`;
/// returns their ids (web, web, other).
async fn servers(c: &aws_sdk_ec2::Client, web: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for team in ["web", "web", "other"] {
        let out = c
            .run_instances()
            .image_id(IMAGE)
            .instance_type("t3.micro".into())
            .min_count(1)
            .max_count(1)
            .security_group_ids(web)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Instance)
                    .tags(Tag::builder().key("team").value(team).build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        ids.push(out.instances()[0].instance_id().unwrap().to_string());
    }
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn a_load_balancer_made_by_hand_is_imported_exactly_and_adopted_with_tags_only() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let c = moto.ec2_client("us-east-1");
    let elb = elb_client_at(&moto.endpoint(), "us-east-1");
    let cert = moto.create_certificate("www.example.com");

    let group = |name: &'static str, description: &'static str| {
        let c = c.clone();
        async move {
            c.create_security_group()
                .group_name(name)
                .description(description)
                .send()
                .await
                .unwrap()
                .group_id()
                .unwrap()
                .to_string()
        }
    };
    let lb_group = group("front door", "HTTPS from anywhere").await;
    let web = group("web servers", "HTTP from the load balancer").await;
    c.authorize_security_group_ingress()
        .group_id(&lb_group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.authorize_security_group_ingress()
        .group_id(&web)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(80)
                .to_port(80)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&lb_group).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ids = servers(&c, &web).await;
    let subnets: Vec<String> = c
        .describe_subnets()
        .filters(
            Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .subnets()
        .iter()
        .filter(|s| matches!(s.availability_zone(), Some("us-east-1a" | "us-east-1b")))
        .filter_map(|s| s.subnet_id().map(str::to_string))
        .collect();
    let vpc = c
        .describe_vpcs()
        .filters(Filter::builder().name("is-default").values("true").build())
        .send()
        .await
        .unwrap()
        .vpcs()[0]
        .vpc_id()
        .unwrap()
        .to_string();
    let tg = elb
        .create_target_group()
        .name("www-web")
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(&vpc)
        .health_check_path("/healthz")
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    elb.modify_target_group_attributes()
        .target_group_arn(&tg)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("30")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let register = |ids: Vec<String>| {
        let elb = elb.clone();
        let tg = tg.clone();
        async move {
            elb.register_targets()
                .target_group_arn(&tg)
                .set_targets(Some(
                    ids.iter()
                        .map(|id| TargetDescription::builder().id(id).build())
                        .collect(),
                ))
                .send()
                .await
                .unwrap();
        }
    };
    // The third server serves in the group too, for now.
    register(ids.clone()).await;
    let lb = elb
        .create_load_balancer()
        .name("www")
        .r#type(LoadBalancerTypeEnum::Application)
        // ELB's default; moto leaves a load balancer made without it unset.
        .scheme(LoadBalancerSchemeEnum::InternetFacing)
        .set_subnets(Some(subnets))
        .security_groups(&lb_group)
        .tags(
            aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                .key("site")
                .value("www")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    elb.create_listener()
        .load_balancer_arn(&lb)
        .port(80)
        .protocol(ProtocolEnum::Http)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Redirect)
                .redirect_config(
                    RedirectActionConfig::builder()
                        .protocol("HTTPS")
                        .port("443")
                        .status_code(RedirectActionStatusCodeEnum::Http301)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    elb.create_listener()
        .load_balancer_arn(&lb)
        .port(443)
        .protocol(ProtocolEnum::Https)
        .certificates(Certificate::builder().certificate_arn(&cert).build())
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&tg)
                .build(),
        )
        .send()
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("www.yaml");
    let y = yaml.to_str().unwrap().to_string();
    // The load balancer named by tag, by name, then by ARN.
    let run = |lb: &str, extra: &[&str]| {
        let mut args = vec![
            "import",
            "--stack",
            "www",
            "--region",
            "us-east-1",
            "--filter",
            "tag:team=web",
            "--load-balancer",
            lb,
            "--out",
            &y,
        ];
        args.extend_from_slice(extra);
        command(&proxy, &args)
    };

    // A group holding a server the import does not take is refused.
    let refused = run("tag:site=www", &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        text(&refused).contains(&format!(
            "holds {}, which this import does not take",
            ids[2]
        )),
        "{}",
        text(&refused)
    );

    elb.deregister_targets()
        .target_group_arn(&tg)
        .targets(TargetDescription::builder().id(&ids[2]).build())
        .send()
        .await
        .unwrap();
    proxy.clear();
    let first = run("www", &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let written = std::fs::read_to_string(&yaml).unwrap();
    for needle in [
        "target_groups: [www-web]",
        "\ntarget_groups:\n  www-web:\n    port: 80\n    protocol: HTTP\n",
        "path: \"/healthz\"",
        "deregistration_delay: 30",
        "\nload_balancers:\n  www:\n    scheme: internet-facing\n",
        "{ port: 80, protocol: HTTP, redirect: https }",
        "forward: www-web }",
        &format!("certificate: \"{cert}\""),
    ] {
        assert!(
            written.contains(needle),
            "{needle:?} missing from\n{written}"
        );
    }
    assert!(
        text(&first).contains("changes nothing but tags"),
        "{}",
        text(&first)
    );
    assert!(proxy.actions().iter().all(|a| crate::support::is_read(a)));

    let adopt = run(&lb, &["--apply-tags"]);
    assert_eq!(adopt.status.code(), Some(0), "{}", text(&adopt));
    let mutating: Vec<String> = (proxy.actions().into_iter())
        .filter(|a| !crate::support::is_read(a))
        .collect();
    assert!(
        mutating.iter().all(|a| a == "CreateTags" || a == "AddTags"),
        "adopting did more than tag: {mutating:?}"
    );
    assert_eq!(mutating.iter().filter(|a| *a == "AddTags").count(), 2);

    // The stack now plans empty, and says where the site answers.
    let plan = command(&proxy, &["plan", &y, "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert!(
        text(&plan).contains("Load balancer www (internet-facing) at www-"),
        "{}",
        text(&plan)
    );
}

fn command(proxy: &Ec2Proxy, args: &[&str]) -> std::process::Output {
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
}

fn text(o: &std::process::Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

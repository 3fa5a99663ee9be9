//! What a web host's servers are given besides image and type, against moto:
//! instance profiles (moto's IAM holds them) and metadata options, at launch
//! and changed in place (no stop, no start), and the plan empty after.

use aws_sdk_ec2::types::{HttpTokensState, Instance};
use ec2_gitops::plan::{Action, Effect, Field};

use crate::engine::{Env, IMAGE, desired};

fn stack(extra: &str) -> String {
    format!(
        r#"version: 1
stack: srv
region: us-east-1
instances:
  web:
    count: 2
    image: {IMAGE}
    type: t3.micro
{extra}"#
    )
}

/// The stack's running instances by name, as EC2 describes them.
async fn described(env: &Env) -> Vec<(String, Instance)> {
    crate::engine::running_by_name(&env.direct, "srv").await
}

fn profile_of(i: &Instance) -> Option<String> {
    i.iam_instance_profile()
        .and_then(|p| p.arn())
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn profiles_and_metadata_are_launched_and_changed_in_place() {
    let env = Env::start();
    env._moto
        .create_instance_profiles(&["web-server", "web-ops"]);

    // Launched with the profile, IMDSv2 and the hop limit.
    let first = stack("    instance_profile: web-server\n    metadata: { hop_limit: 2 }\n");
    env.converge(&desired(&first)).await;
    let live = described(&env).await;
    assert_eq!(live.len(), 2);
    for (name, i) in &live {
        assert_eq!(profile_of(i).as_deref(), Some("web-server"), "{name}");
        let m = i.metadata_options().expect("metadata options");
        assert_eq!(m.http_tokens(), Some(&HttpTokensState::Required), "{name}");
        assert_eq!(m.http_put_response_hop_limit(), Some(2), "{name}");
    }
    let ids: Vec<String> = live
        .iter()
        .map(|(_, i)| i.instance_id().unwrap().to_string())
        .collect();

    // Another profile and IMDSv1 allowed: in place, no restart.
    let second =
        stack("    instance_profile: web-ops\n    metadata: { tokens: optional, hop_limit: 2 }\n");
    let plan = env.plan(&desired(&second)).await;
    assert_eq!(plan.changes.len(), 2, "{plan:#?}");
    for c in &plan.changes {
        assert_eq!(c.action, Action::Update);
        let fields: Vec<Field> = c.fields.iter().map(|f| f.field).collect();
        assert_eq!(fields, [Field::InstanceProfile, Field::MetadataTokens]);
        assert!(c.fields.iter().all(|f| f.effect == Effect::InPlace));
    }
    env.proxy.clear();
    env.converge(&desired(&second)).await;
    for action in [
        "StopInstances",
        "StartInstances",
        "RunInstances",
        "TerminateInstances",
    ] {
        assert_eq!(
            env.proxy.count(action),
            0,
            "{action} sent for an in-place change"
        );
    }
    assert_eq!(env.proxy.count("ReplaceIamInstanceProfileAssociation"), 2);
    assert_eq!(env.proxy.count("ModifyInstanceMetadataOptions"), 2);
    let live = described(&env).await;
    for (name, i) in &live {
        assert_eq!(profile_of(i).as_deref(), Some("web-ops"), "{name}");
        assert_eq!(
            i.metadata_options().and_then(|m| m.http_tokens()),
            Some(&HttpTokensState::Optional),
            "{name}"
        );
    }

    // The profile removed from the YAML is removed from the servers, and
    // put back later: disassociated, then associated.
    let third = stack("    metadata: { tokens: optional, hop_limit: 2 }\n");
    env.converge(&desired(&third)).await;
    assert_eq!(env.proxy.count("DisassociateIamInstanceProfile"), 2);
    assert!(
        described(&env)
            .await
            .iter()
            .all(|(_, i)| profile_of(i).is_none())
    );
    env.converge(&desired(&second)).await;
    assert_eq!(env.proxy.count("AssociateIamInstanceProfile"), 2);

    // The same servers throughout.
    let after: Vec<String> = described(&env)
        .await
        .iter()
        .map(|(_, i)| i.instance_id().unwrap().to_string())
        .collect();
    assert_eq!(after, ids);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_that_does_not_exist_fails_the_launch_with_ec2s_reason() {
    let env = Env::start();
    let d = desired(&stack("    instance_profile: no-such-profile\n"));
    let (plan, live, region) = ec2_gitops::app::plan(&env.ec2, &d).await.expect("plan");
    let results = ec2_gitops::app::apply(
        &env.ec2,
        &d,
        &plan,
        &live,
        &region,
        &crate::engine::Recorder::default(),
    )
    .await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| match &r.outcome {
            ec2_gitops::ec2::Outcome::Failed(e) => Some(e.to_string()),
            _ => None,
        })
        .collect();
    assert!(!failed.is_empty(), "{results:#?}");
    assert!(
        failed.iter().all(|e| e.contains("no-such-profile")),
        "EC2's answer names the profile: {failed:#?}"
    );
    assert!(described(&env).await.is_empty(), "nothing launched");
}

fn zone_of(i: &Instance) -> String {
    i.placement()
        .and_then(|p| p.availability_zone())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entry_spread_over_zones_lands_round_robin_and_a_respread_moves_only_the_movers() {
    let env = Env::start();
    let three =
        stack("    subnets: [{ zone: us-east-1a }, { zone: us-east-1b }, { zone: us-east-1c }]\n")
            .replace("count: 2", "count: 4");
    let plan = env.converge(&desired(&three)).await;
    assert_eq!(plan.spreads.len(), 1);
    let live = described(&env).await;
    let zones: Vec<(String, String)> = live.iter().map(|(n, i)| (n.clone(), zone_of(i))).collect();
    assert_eq!(
        zones,
        [
            ("instance/web-1".to_string(), "us-east-1a".to_string()),
            ("instance/web-2".to_string(), "us-east-1b".to_string()),
            ("instance/web-3".to_string(), "us-east-1c".to_string()),
            ("instance/web-4".to_string(), "us-east-1a".to_string()),
        ]
    );
    // A plan reads the zones' default subnets in one call.
    env.proxy.clear();
    assert!(env.plan(&desired(&three)).await.is_empty());
    assert_eq!(env.proxy.count("DescribeSubnets"), 1);

    // Two zones: web-3 (c → a) and web-4 (a → b) move, the others stay.
    let two = three.replace(", { zone: us-east-1c }", "");
    let plan = env.plan(&desired(&two)).await;
    let moved: Vec<(String, Action)> = plan
        .changes
        .iter()
        .map(|c| (c.resource.name.clone(), c.action))
        .collect();
    assert_eq!(
        moved,
        [
            ("web-3".to_string(), Action::Replace),
            ("web-4".to_string(), Action::Replace),
        ]
    );
    let text = ec2_gitops::render::text::plan(&plan, false);
    assert!(
        text.contains(
            "Spread of web over 2 subnets: zone us-east-1a ×2, zone us-east-1b ×2 (balanced)"
        ),
        "{text}"
    );
    env.converge(&desired(&two)).await;
    let after = described(&env).await;
    let by_name = |v: &[(String, Instance)], n: &str| {
        v.iter()
            .find(|(name, _)| name == n)
            .map(|(_, i)| (i.instance_id().unwrap().to_string(), zone_of(i)))
            .unwrap()
    };
    for kept in ["instance/web-1", "instance/web-2"] {
        assert_eq!(by_name(&after, kept), by_name(&live, kept), "{kept} kept");
    }
    assert_eq!(by_name(&after, "instance/web-3").1, "us-east-1a");
    assert_eq!(by_name(&after, "instance/web-4").1, "us-east-1b");
    assert_ne!(
        by_name(&after, "instance/web-3").0,
        by_name(&live, "instance/web-3").0
    );
}

//! The preview role's conditions, which moto does not evaluate, checked by
//! a small evaluator of the IAM operators the policy uses (`Null`,
//! `StringEquals`, `ForAllValues:StringNotEquals`; ARN patterns with `*`)
//! over every request of real applies through the recording proxy: each
//! request's resources (what it creates, with the tags it asks for; what it
//! changes, with the tags EC2 has on it) as IAM authorizes them. Over a
//! normal stack's apply, nothing is allowed; over a preview's apply and
//! destroy, everything is.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::{Ec2Proxy, Moto, ProxyRequest, ec2_client_at};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// One resource of a request as IAM sees it: its ARN and tags.
#[derive(Debug, Clone)]
struct Resource {
    arn: String,
    tags: BTreeMap<String, String>,
}

/// One authorization: an action on some resources, with the request's tags.
#[derive(Debug, Clone)]
struct Authorization {
    action: String,
    resources: Vec<Resource>,
    request_tags: BTreeMap<String, String>,
    create_action: Option<String>,
}

fn arn(kind: &str, id: &str) -> String {
    let account = if matches!(kind, "image" | "snapshot") {
        ""
    } else {
        ACCOUNT
    };
    format!("arn:aws:ec2:{REGION}:{account}:{kind}/{id}")
}

/// The kind of resource an id is.
fn kind_of(id: &str) -> &'static str {
    match id.split('-').next().unwrap_or("") {
        "i" => "instance",
        "vol" => "volume",
        "sg" => "security-group",
        "eipalloc" => "elastic-ip",
        "snap" => "snapshot",
        "key" => "key-pair",
        _ => "unknown",
    }
}

/// The tags a request asks for at creation (`TagSpecification.N.Tag.M`),
/// or sets (`Tag.N`, CreateTags).
fn request_tags(r: &ProxyRequest) -> BTreeMap<String, String> {
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &r.params {
        let (prefix, field) = match k.rsplit_once('.') {
            Some(x) => x,
            None => continue,
        };
        if !(k.starts_with("TagSpecification.") || k.starts_with("Tag.")) {
            continue;
        }
        match field {
            "Key" => {
                keys.insert(prefix.to_string(), v.clone());
            }
            "Value" => {
                values.insert(prefix.to_string(), v.clone());
            }
            _ => {}
        }
    }
    keys.into_iter()
        .map(|(p, k)| (k, values.get(&p).cloned().unwrap_or_default()))
        .collect()
}

/// What EC2 knows of the account: tags by id (and key pairs by name).
type Tags = BTreeMap<String, BTreeMap<String, String>>;

async fn tags_of_everything(c: &aws_sdk_ec2::Client) -> Tags {
    let map = |tags: &[aws_sdk_ec2::types::Tag]| -> BTreeMap<String, String> {
        tags.iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
            .collect()
    };
    let mut out = Tags::new();
    let i = c
        .describe_instances()
        .max_results(1000)
        .send()
        .await
        .unwrap();
    for x in i.reservations().iter().flat_map(|r| r.instances()) {
        out.insert(x.instance_id().unwrap().into(), map(x.tags()));
    }
    for x in c.describe_volumes().send().await.unwrap().volumes() {
        out.insert(x.volume_id().unwrap().into(), map(x.tags()));
    }
    for x in c
        .describe_security_groups()
        .send()
        .await
        .unwrap()
        .security_groups()
    {
        out.insert(x.group_id().unwrap().into(), map(x.tags()));
    }
    for x in c.describe_key_pairs().send().await.unwrap().key_pairs() {
        out.insert(x.key_name().unwrap().into(), map(x.tags()));
    }
    for x in c.describe_addresses().send().await.unwrap().addresses() {
        out.insert(x.allocation_id().unwrap().into(), map(x.tags()));
    }
    for x in c
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .unwrap()
        .snapshots()
    {
        out.insert(x.snapshot_id().unwrap().into(), map(x.tags()));
    }
    out
}

/// The authorizations a request needs, as IAM makes them: one for the call
/// (over every resource it touches) and, when it tags what it creates, one
/// `CreateTags` with `ec2:CreateAction`.
fn authorizations(r: &ProxyRequest, known: &Tags) -> Vec<Authorization> {
    let asked = request_tags(r);
    let existing = |kind: &str, id: &str| Resource {
        arn: arn(kind, id),
        tags: known.get(id).cloned().unwrap_or_default(),
    };
    let new = |kind: &str| Resource {
        arn: arn(kind, "*"),
        tags: BTreeMap::new(),
    };
    let list =
        |name: &str| -> Vec<String> { r.param_list(name).iter().map(|s| s.to_string()).collect() };
    let one = |name: &str| r.param(name).map(str::to_string);
    let mut resources = Vec::new();
    let mut created = Vec::new();
    match r.action.as_str() {
        "RunInstances" => {
            created.extend([new("instance"), new("volume")]);
            resources.push(new("network-interface"));
            resources.push(existing("image", &one("ImageId").unwrap_or_default()));
            resources.push(existing(
                "subnet",
                &one("SubnetId").unwrap_or_else(|| "default".into()),
            ));
            for g in list("SecurityGroupId") {
                resources.push(existing("security-group", &g));
            }
            if let Some(k) = one("KeyName") {
                resources.push(existing("key-pair", &k));
            }
        }
        "CreateVolume" => created.push(new("volume")),
        "CreateSnapshot" => {
            created.push(new("snapshot"));
            resources.push(existing("volume", &one("VolumeId").unwrap_or_default()));
        }
        "AllocateAddress" => created.push(new("elastic-ip")),
        "CreateSecurityGroup" => {
            created.push(new("security-group"));
            resources.push(existing("vpc", &one("VpcId").unwrap_or_default()));
        }
        "ImportKeyPair" | "CreateKeyPair" => created.push(Resource {
            arn: arn("key-pair", &one("KeyName").unwrap_or_default()),
            tags: BTreeMap::new(),
        }),
        "DeleteKeyPair" => {
            resources.push(existing("key-pair", &one("KeyName").unwrap_or_default()))
        }
        "TerminateInstances" | "StopInstances" | "StartInstances" => {
            for i in list("InstanceId") {
                resources.push(existing("instance", &i));
            }
        }
        "ModifyInstanceAttribute" => {
            resources.push(existing("instance", &one("InstanceId").unwrap_or_default()))
        }
        "DeleteVolume" | "ModifyVolume" => {
            resources.push(existing("volume", &one("VolumeId").unwrap_or_default()))
        }
        "AttachVolume" | "DetachVolume" => {
            resources.push(existing("volume", &one("VolumeId").unwrap_or_default()));
            if let Some(i) = one("InstanceId") {
                resources.push(existing("instance", &i));
            }
        }
        "AssociateAddress" => {
            resources.push(existing(
                "elastic-ip",
                &one("AllocationId").unwrap_or_default(),
            ));
            resources.push(existing("instance", &one("InstanceId").unwrap_or_default()));
        }
        "ReleaseAddress" => resources.push(existing(
            "elastic-ip",
            &one("AllocationId").unwrap_or_default(),
        )),
        "DeleteSecurityGroup" => resources.push(existing(
            "security-group",
            &one("GroupId").unwrap_or_default(),
        )),
        "AuthorizeSecurityGroupIngress"
        | "AuthorizeSecurityGroupEgress"
        | "RevokeSecurityGroupIngress"
        | "RevokeSecurityGroupEgress" => {
            resources.push(existing(
                "security-group",
                &one("GroupId").unwrap_or_default(),
            ));
            resources.push(new("security-group-rule"));
        }
        "CreateTags" | "DeleteTags" => {
            for id in list("ResourceId") {
                let kind = kind_of(&id);
                // A key pair is tagged by its id; its tags are known by name.
                let tags = known
                    .iter()
                    .find(|(k, _)| **k == id)
                    .map(|(_, t)| t.clone())
                    .unwrap_or_default();
                resources.push(Resource {
                    arn: arn(kind, &id),
                    tags,
                });
            }
        }
        a if a.starts_with("Describe") => resources.push(Resource {
            arn: "*".into(),
            tags: BTreeMap::new(),
        }),
        other => panic!("the evaluator does not know {other}: teach it the call's resources"),
    }
    let mut out = vec![Authorization {
        action: format!("ec2:{}", r.action),
        resources: resources.iter().chain(&created).cloned().collect(),
        request_tags: asked.clone(),
        create_action: None,
    }];
    if !created.is_empty() && !asked.is_empty() {
        out.push(Authorization {
            action: "ec2:CreateTags".into(),
            resources: created,
            request_tags: asked,
            create_action: Some(r.action.clone()),
        });
    }
    out
}

/// `*` and `?` glob.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(&p, &t)
}

/// ARN patterns match segment by segment (a `*` stays in its segment).
fn arn_matches(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == a.len() && p.iter().zip(&a).all(|(p, a)| glob(p, a))
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// A condition key's values for one resource of an authorization.
fn key_values(key: &str, a: &Authorization, r: &Resource) -> Option<Vec<String>> {
    if let Some(tag) = key.strip_prefix("aws:RequestTag/") {
        return a.request_tags.get(tag).map(|v| vec![v.clone()]);
    }
    if let Some(tag) = key.strip_prefix("aws:ResourceTag/") {
        return r.tags.get(tag).map(|v| vec![v.clone()]);
    }
    match key {
        "aws:TagKeys" => Some(a.request_tags.keys().cloned().collect()),
        "ec2:CreateAction" => a.create_action.clone().map(|c| vec![c]),
        other => panic!("the evaluator does not know the condition key {other}"),
    }
}

fn condition_holds(cond: &Value, a: &Authorization, r: &Resource) -> bool {
    let Some(ops) = cond.as_object() else {
        return true;
    };
    ops.iter().all(|(op, keys)| {
        keys.as_object().expect("keys").iter().all(|(key, want)| {
            let have = key_values(key, a, r);
            let want = strings(want);
            match op.as_str() {
                // "false": the key must be present.
                "Null" => (want == ["false"]) == have.is_some(),
                "StringEquals" => have.is_some_and(|h| h.iter().any(|v| want.contains(v))),
                "ForAllValues:StringNotEquals" => {
                    have.unwrap_or_default().iter().all(|v| !want.contains(v))
                }
                other => panic!("the evaluator does not know the operator {other}"),
            }
        })
    })
}

/// Whether the policy allows every resource of `a` (IAM authorizes each).
fn allowed(policy: &Value, a: &Authorization) -> bool {
    a.resources.iter().all(|r| {
        policy["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .any(|s| {
                s["Effect"] == "Allow"
                    && strings(&s["Action"]).contains(&a.action)
                    && strings(&s["Resource"])
                        .iter()
                        .any(|p| arn_matches(p, &r.arn))
                    && condition_holds(&s["Condition"], a, r)
            })
    })
}

fn preview_policy() -> Value {
    serde_json::to_value(ec2_gitops::iam::policy(
        ec2_gitops::iam::Role::Preview,
        "aws",
    ))
    .expect("json")
}

/// The changing requests of `requests` the policy refuses and allows.
fn judge(policy: &Value, requests: &[ProxyRequest], known: &Tags) -> (Vec<String>, Vec<String>) {
    let (mut refused, mut allowed_) = (Vec::new(), Vec::new());
    for r in requests
        .iter()
        .filter(|r| !crate::support::is_read(&r.action))
    {
        let ok = authorizations(r, known).iter().all(|a| allowed(policy, a));
        let what = format!(
            "{} {:?}",
            r.action,
            r.params
                .iter()
                .find(|(k, _)| k.ends_with("Id") || k.ends_with("Id.1") || k == "KeyName")
        );
        if ok {
            allowed_.push(what)
        } else {
            refused.push(what)
        }
    }
    (refused, allowed_)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_preview_policy_allows_all_of_a_preview_and_nothing_of_a_stack() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let direct = moto.ec2_client(REGION);
    let policy = preview_policy();
    let yaml = format!(
        "{}preview: {{ max_instances: 4 }}\n",
        crate::engine::stack_yaml("pol")
            .replace("elastic_ips:\n  web-ip: { instance: web-1 }\n", "")
    );
    let desired = crate::engine::desired(&yaml);
    let ec2 = ec2_gitops::ec2::Ec2::from_client(ec2_client_at(&proxy.endpoint(), REGION))
        .with_elb(crate::support::elb_at(&proxy.endpoint(), REGION));
    let recorder = crate::engine::Recorder::default();
    let apply = |target: ec2_gitops::model::Desired| {
        let ec2 = &ec2;
        let recorder = &recorder;
        async move {
            ec2_gitops::app::apply_exclusive(
                ec2,
                &target,
                None,
                None,
                std::time::Duration::from_secs(60),
                recorder,
            )
            .await
            .expect("applied")
        }
    };

    // The stack itself: nothing of it is the preview role's.
    apply(desired.clone()).await;
    let known = tags_of_everything(&direct).await;
    let (_, allowed_) = judge(&policy, &proxy.requests(), &known);
    assert!(
        allowed_.is_empty(),
        "the preview role may change a real stack: {allowed_:#?}"
    );

    // Its preview, made then destroyed: all of it is.
    proxy.clear();
    apply(ec2_gitops::preview::of(&desired, 7).expect("a preview")).await;
    let made = proxy.requests();
    let known = tags_of_everything(&direct).await;
    let (refused, allowed_) = judge(&policy, &made, &known);
    assert!(
        refused.is_empty(),
        "the preview role is refused its own preview: {refused:#?}"
    );
    assert!(allowed_.len() >= 8, "{allowed_:#?}");
    proxy.clear();
    apply(ec2_gitops::preview::empty(&desired, 7).expect("its destroy")).await;
    let (refused, allowed_) = judge(&policy, &proxy.requests(), &known);
    assert!(
        refused.is_empty(),
        "the preview role is refused its own destroy: {refused:#?}"
    );
    assert!(!allowed_.is_empty());
}

#[test]
fn the_evaluator_reads_arns_and_conditions_as_iam_does() {
    assert!(arn_matches(
        "arn:aws:ec2:*:*:instance/*",
        &arn("instance", "i-1")
    ));
    assert!(!arn_matches(
        "arn:aws:ec2:*:*:instance/*",
        &arn("volume", "vol-1")
    ));
    assert!(arn_matches(
        "arn:aws:ec2:*::image/*",
        &arn("image", "ami-1")
    ));
    let policy = preview_policy();
    let tagged = BTreeMap::from([("ec2-gitops:preview".to_string(), "7".to_string())]);
    let terminate = |tags: BTreeMap<String, String>| Authorization {
        action: "ec2:TerminateInstances".into(),
        resources: vec![Resource {
            arn: arn("instance", "i-1"),
            tags,
        }],
        request_tags: BTreeMap::new(),
        create_action: None,
    };
    assert!(allowed(&policy, &terminate(tagged.clone())));
    assert!(!allowed(&policy, &terminate(BTreeMap::new())));
    // Retagging a preview's server with a stack's name is refused.
    let retag = Authorization {
        action: "ec2:CreateTags".into(),
        resources: vec![Resource {
            arn: arn("instance", "i-1"),
            tags: tagged,
        }],
        request_tags: BTreeMap::from([("ec2-gitops:stack".to_string(), "web".to_string())]),
        create_action: None,
    };
    assert!(!allowed(&policy, &retag));
}

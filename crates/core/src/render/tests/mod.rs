//! Snapshots of everything a person reads about a plan or an apply, built
//! from fixed plan values (no planner, no clock, no EC2).

use std::time::Duration;

use super::markdown::COMMENT_LIMIT;
use super::{json, markdown, report, summary_line, text};
use crate::model::{Kind, Location, ResourceId};
use crate::outcome::{Ec2Error, Outcome, StepResult};
use crate::plan::steps::{Op, Ref, Step};
use crate::plan::{
    Action, Change, Effect, FORMAT_VERSION, Field, FieldChange, Plan, PlanError, Summary, Value,
    Warning,
};

// ---------------------------------------------------------------- helpers ---

/// Snapshots Markdown a reviewer reads once GitHub's own engine has rendered
/// it without a problem (see [`crate::render::tests::gfm`]).
macro_rules! assert_rendered {
    ($name:expr, $md:expr) => {{
        let md: String = $md;
        let problems = crate::render::tests::gfm::problems(&md);
        assert!(
            problems.is_empty(),
            "as GitHub renders it: {problems:#?}\n{md}"
        );
        insta::assert_snapshot!($name, md);
    }};
    ($md:expr) => {{
        let md: String = $md;
        let problems = crate::render::tests::gfm::problems(&md);
        assert!(
            problems.is_empty(),
            "as GitHub renders it: {problems:#?}\n{md}"
        );
        insta::assert_snapshot!(md);
    }};
}

fn id(kind: Kind, name: &str) -> ResourceId {
    ResourceId::new(kind, name)
}

fn text_value(s: &str) -> Value {
    Value::Text(s.into())
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| s.to_string()).collect())
}

fn field(name: &str, before: Value, after: Value, effect: Effect, reason: &str) -> FieldChange {
    FieldChange {
        field: Field::from_name(name).expect("a field name"),
        before,
        after,
        effect,
        reason: reason.into(),
    }
}

fn change(resource: ResourceId, action: Action, live_id: Option<&str>) -> Change {
    Change {
        resource,
        action,
        live_id: live_id.map(String::from),
        fields: vec![],
        reason: None,
        blocked: None,
    }
}

fn plan(changes: Vec<Change>, warnings: Vec<Warning>, errors: Vec<PlanError>) -> Plan {
    let mut summary = Summary {
        unchanged: 4,
        ..Summary::default()
    };
    for c in &changes {
        summary.blocked += usize::from(c.blocked.is_some());
        match c.action {
            Action::NoOp => {}
            Action::Create => summary.create += 1,
            Action::Update => summary.update += 1,
            Action::UpdateWithRestart => {
                summary.update += 1;
                summary.restart += 1;
            }
            Action::Replace => summary.replace += 1,
            Action::Destroy => summary.destroy += 1,
        }
    }
    Plan {
        format_version: FORMAT_VERSION,
        stack: "web".into(),
        region: "us-east-1".into(),
        account: None,
        file: "infra/web.yaml".into(),
        fingerprint: "0123456789abcdef".into(),
        summary,
        changes,
        warnings,
        errors,
        rollouts: vec![],
        spreads: vec![],
        fronts: vec![],
        images: vec![],
        graph: Default::default(),
    }
}

/// A plan with every action kind, a warning, a blocked replace, a short and
/// a long (folded) list diff, and user data shown by digest. Over 120
/// lines: built by hand, change by change.
fn full_plan() -> Plan {
    let mut rules: Vec<String> = (0..12)
        .map(|i| format!("tcp {} 10.0.{i}.0/24", 8000 + i))
        .collect();
    rules.sort();
    let before: Vec<&str> = rules.iter().map(String::as_str).collect();
    let mut after_rules = rules.clone();
    after_rules.retain(|r| !r.starts_with("tcp 8003 "));
    after_rules.push("tcp 22 0.0.0.0/0".into());
    after_rules.push("tcp 443 0.0.0.0/0".into());
    after_rules.sort();
    let after: Vec<&str> = after_rules.iter().map(String::as_str).collect();

    let mut api = change(
        id(Kind::SecurityGroup, "api"),
        Action::Update,
        Some("sg-0api"),
    );
    api.fields = vec![
        field(
            "ingress",
            list(&before),
            list(&after),
            Effect::InPlace,
            "rules are authorized and revoked in place",
        ),
        field(
            "egress",
            list(&["all all 0.0.0.0/0"]),
            list(&["tcp 443 0.0.0.0/0", "udp 53 10.0.0.2/32"]),
            Effect::InPlace,
            "rules are authorized and revoked in place",
        ),
    ];
    let mut web_sg = change(
        id(Kind::SecurityGroup, "web"),
        Action::Update,
        Some("sg-0web"),
    );
    web_sg.fields = vec![field(
        "ingress",
        list(&["tcp 80 0.0.0.0/0"]),
        list(&["tcp 443 0.0.0.0/0", "tcp 80 0.0.0.0/0"]),
        Effect::InPlace,
        "rules are authorized and revoked in place",
    )];
    let mut db = change(id(Kind::Instance, "db-1"), Action::Replace, Some("i-0db1"));
    db.fields = vec![field(
        "image",
        text_value("ami-0aaa"),
        text_value("ami-0bbb"),
        Effect::Replace,
        "an instance boots from its image once: a new image needs a new instance",
    )];
    db.blocked = Some(
        "protected: `protect: true` forbids replacing this resource; revert the change or set `protect: false` first"
            .into(),
    );
    let mut web1 = change(
        id(Kind::Instance, "web-1"),
        Action::UpdateWithRestart,
        Some("i-0web1"),
    );
    web1.fields = vec![
        field(
            "type",
            text_value("t3.micro"),
            text_value("t3.small"),
            Effect::Restart,
            "EC2 changes the instance type only while the instance is stopped",
        ),
        field(
            "user_data",
            Value::Digest {
                sha256: "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef".into(),
                bytes: 0,
            },
            Value::Digest {
                sha256: "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c".into(),
                bytes: 412,
            },
            Effect::Restart,
            "EC2 changes user data only while the instance is stopped (cloud-init runs it again only if it is written to)",
        ),
        field(
            "tags",
            list(&["role=web"]),
            list(&["env=prod", "role=web"]),
            Effect::InPlace,
            "tags change in place",
        ),
    ];
    let mut web2 = change(
        id(Kind::Instance, "web-2"),
        Action::Replace,
        Some("i-0web2"),
    );
    web2.fields = vec![
        field(
            "subnet",
            text_value("subnet-0a"),
            text_value("subnet-0b"),
            Effect::Replace,
            "an instance cannot move to another subnet",
        ),
        field(
            "protect",
            text_value("false"),
            text_value("true"),
            Effect::InPlace,
            "termination protection is switched in place",
        ),
    ];
    let mut eip = change(
        id(Kind::ElasticIp, "web-ip"),
        Action::Update,
        Some("eipalloc-0a"),
    );
    eip.fields = vec![field(
        "instance",
        Value::None,
        text_value("web-2 (new)"),
        Effect::InPlace,
        "the address is re-associated in place (its IP is kept)",
    )];
    let mut old = change(
        id(Kind::Instance, "old-1"),
        Action::Destroy,
        Some("i-0old1"),
    );
    old.reason = Some("no longer in the YAML".into());
    let mut data = change(
        id(Kind::Volume, "old-1/data"),
        Action::Destroy,
        Some("vol-0data"),
    );
    data.reason = Some("no longer in the YAML: its data is deleted".into());
    plan(
        vec![
            change(id(Kind::KeyPair, "deploy"), Action::Create, None),
            api,
            web_sg,
            db,
            web1,
            web2,
            change(id(Kind::Instance, "web-3"), Action::Create, None),
            eip,
            old,
            data,
        ],
        vec![Warning {
            resource: id(Kind::SecurityGroup, "api"),
            message: "`tcp 22 0.0.0.0/0` opens 22 (SSH) to the whole internet; restrict `cidr` to your admin network or use a bastion group with `from:`".into(),
            at: None,
        }],
        vec![],
    )
}

fn empty_plan() -> Plan {
    let mut p = plan(vec![], vec![], vec![]);
    p.fingerprint = "fedcba9876543210".into();
    p
}

fn error_plan() -> Plan {
    plan(
        vec![],
        vec![],
        vec![
            PlanError {
                resource: id(Kind::Instance, "web-1"),
                at: Some(Location {
                    file: "infra/web.yaml".into(),
                    line: 31,
                    column: 5,
                }),
                message: "image ami-0nope does not exist in us-east-1 (or is not visible to this account)".into(),
                hint: Some("AMI ids differ per region: look the image up in this region".into()),
            },
            PlanError {
                resource: id(Kind::Volume, "db-1/data"),
                at: None,
                message: "volume db-1/data cannot shrink from 100 GiB to 50 GiB".into(),
                hint: None,
            },
        ],
    )
}

mod comments;
mod count_groups;
mod json_plans;
mod markdown_plans;
mod pictures;
mod reports;
mod text_plans;

use markdown_plans::big_plan;
use reports::results;

pub(crate) mod gfm;
mod hostile;

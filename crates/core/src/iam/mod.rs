//! Every EC2 operation the tool can call, which roles' commands call it, and
//! the least-privilege IAM policies made from that one table (`ec2-gitops iam
//! policy`, `ec2-gitops iam trust`). Pure: JSON values, no AWS call.
//!
//! The roles are the jobs of the example workflows: `plan` (pull requests,
//! the drift check: reads only), `apply` (merges, `/apply`: every change),
//! `preview` (`/preview` and the destruction of previews: every change, but
//! only on resources that carry the preview tag `ec2-gitops:preview`, which
//! no stack's YAML can set and only previews carry from their creation), and
//! `import` (`ec2-gitops import --apply-tags`: reads, and the ownership tags
//! it adds). `ec2::Ec2` refuses, in tests, a call whose action is not here.

use serde_json::{Value, json};

mod elb;

use crate::model::{PREVIEW_TAG, STACK_TAG};

/// A role of the example workflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Plans and drift checks: reads.
    Plan,
    /// Merges and `/apply`: every change to a stack.
    Apply,
    /// `/preview` and the clean-up of previews: changes to preview stacks.
    Preview,
    /// `import --apply-tags`: reads, and the tags that adopt resources.
    Import,
}

impl Role {
    /// Every role, in the order the docs show them.
    pub const ALL: [Role; 4] = [Role::Plan, Role::Apply, Role::Preview, Role::Import];

    /// As written on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Plan => "plan",
            Role::Apply => "apply",
            Role::Preview => "preview",
            Role::Import => "import",
        }
    }

    /// The role named `s`.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// How the preview role's permission for an operation is narrowed to the
/// preview's own resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A read: `Describe*` takes no resource narrowing.
    Read,
    /// Makes resources of the types `made`, tagged at creation (the request
    /// must carry the preview tag, `aws:RequestTag`), from existing ones of
    /// the types `from` (each must carry it, `aws:ResourceTag`).
    Creates {
        /// What it makes.
        made: &'static [&'static str],
        /// What it makes them from.
        from: &'static [&'static str],
    },
    /// Acts on existing resources of these types: each must carry the
    /// preview tag (`aws:ResourceTag`).
    Changes(&'static [&'static str]),
}

/// One EC2 operation the tool calls.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// The service (`ec2`; `ssm` for image parameters; `elasticloadbalancing`
    /// for load balancers, `tag` for finding them by tag).
    pub service: &'static str,
    /// The API action (`RunInstances`).
    pub action: &'static str,
    /// The roles whose commands call it.
    pub roles: &'static [Role],
    /// How the preview role's permission is narrowed.
    pub scope: Scope,
    /// Why the tool calls it.
    pub why: &'static str,
}

use Role::{Apply, Import, Plan, Preview};

const READ_ALL: &[Role] = &[Plan, Apply, Preview, Import];
const CHANGE: &[Role] = &[Apply, Preview];

/// Every EC2 (and SSM) operation the tool calls, by action name; those of
/// load balancers are in `elb.rs` ([`operations`] gives both).
pub const OPERATIONS: &[Operation] = &[
    op(
        "DescribeInstances",
        READ_ALL,
        Scope::Read,
        "read a stack's instances; wait for states",
    ),
    op(
        "DescribeSecurityGroups",
        READ_ALL,
        Scope::Read,
        "read a stack's security groups",
    ),
    op(
        "DescribeVolumes",
        READ_ALL,
        Scope::Read,
        "read a stack's volumes; wait for attachments",
    ),
    op(
        "DescribeAddresses",
        READ_ALL,
        Scope::Read,
        "read a stack's elastic IPs and the account's (quota)",
    ),
    op(
        "DescribeKeyPairs",
        READ_ALL,
        Scope::Read,
        "read a stack's key pairs and the apply lease",
    ),
    op(
        "DescribeVpcs",
        READ_ALL,
        Scope::Read,
        "find the default VPC",
    ),
    op(
        "DescribeImages",
        READ_ALL,
        Scope::Read,
        "check that the images the YAML names exist",
    ),
    op(
        "DescribeSubnets",
        READ_ALL,
        Scope::Read,
        "check that the subnets the YAML names exist",
    ),
    op(
        "DescribeInstanceTypeOfferings",
        READ_ALL,
        Scope::Read,
        "check that the region offers the instance types",
    ),
    op(
        "DescribeAccountAttributes",
        READ_ALL,
        Scope::Read,
        "the account's elastic IP quota",
    ),
    Operation {
        service: "ssm",
        action: "GetParameters",
        roles: &[Plan, Apply, Preview],
        scope: Scope::Read,
        why: "resolve images named by an SSM parameter (`image: { ssm: … }`)",
    },
    op(
        "DescribeManagedPrefixLists",
        READ_ALL,
        Scope::Read,
        "check that the prefix lists rules name exist",
    ),
    op(
        "DescribeVolumesModifications",
        READ_ALL,
        Scope::Read,
        "when each volume a plan modifies was last modified (EBS: one modification every 6 hours)",
    ),
    op(
        "DescribeSnapshots",
        CHANGE,
        Scope::Read,
        "find a snapshot an interrupted run took; wait for snapshots",
    ),
    op(
        "DescribeInstanceStatus",
        CHANGE,
        Scope::Read,
        "rollout health gates (status checks)",
    ),
    op(
        "DescribeInstanceAttribute",
        &[Import],
        Scope::Read,
        "import: an instance's user data and termination protection",
    ),
    op(
        "RunInstances",
        CHANGE,
        Scope::Creates {
            made: &["instance", "volume"],
            from: &["security-group", "key-pair"],
        },
        "launch instances (tagged at creation)",
    ),
    op(
        "TerminateInstances",
        CHANGE,
        Scope::Changes(&["instance"]),
        "destroy instances",
    ),
    op(
        "StopInstances",
        CHANGE,
        Scope::Changes(&["instance"]),
        "restarts and replacements",
    ),
    op(
        "StartInstances",
        CHANGE,
        Scope::Changes(&["instance"]),
        "restarts",
    ),
    op(
        "ModifyInstanceAttribute",
        CHANGE,
        Scope::Changes(&["instance"]),
        "type, user data, groups, termination protection",
    ),
    op(
        "DescribeIamInstanceProfileAssociations",
        CHANGE,
        Scope::Read,
        "find the association an instance profile change replaces",
    ),
    op(
        "AssociateIamInstanceProfile",
        CHANGE,
        Scope::Changes(&["instance"]),
        "give a running instance its instance profile",
    ),
    op(
        "ReplaceIamInstanceProfileAssociation",
        CHANGE,
        Scope::Changes(&["instance"]),
        "change a running instance's instance profile",
    ),
    op(
        "DisassociateIamInstanceProfile",
        CHANGE,
        Scope::Changes(&["instance"]),
        "instance profiles removed from the YAML",
    ),
    op(
        "ModifyInstanceMetadataOptions",
        CHANGE,
        Scope::Changes(&["instance"]),
        "metadata options (IMDSv2, hop limit)",
    ),
    op(
        "CreateTags",
        &[Apply, Preview, Import],
        Scope::Changes(&[
            "instance",
            "volume",
            "security-group",
            "key-pair",
            "elastic-ip",
            "snapshot",
        ]),
        "name instances launched together; renames; tags; the lease; import adopts",
    ),
    op(
        "DeleteTags",
        CHANGE,
        Scope::Changes(&[
            "instance",
            "volume",
            "security-group",
            "key-pair",
            "elastic-ip",
        ]),
        "tags removed from the YAML (an instance's, or the stack's)",
    ),
    op(
        "CreateVolume",
        CHANGE,
        Scope::Creates {
            made: &["volume"],
            from: &[],
        },
        "data volumes (tagged at creation)",
    ),
    op(
        "DeleteVolume",
        CHANGE,
        Scope::Changes(&["volume"]),
        "data volumes removed",
    ),
    op(
        "ModifyVolume",
        CHANGE,
        Scope::Changes(&["volume"]),
        "volume size and type",
    ),
    op(
        "AttachVolume",
        CHANGE,
        Scope::Changes(&["volume", "instance"]),
        "attach data volumes",
    ),
    op(
        "DetachVolume",
        CHANGE,
        Scope::Changes(&["volume", "instance"]),
        "move data volumes off a stopped instance",
    ),
    op(
        "CreateSnapshot",
        CHANGE,
        Scope::Creates {
            made: &["snapshot"],
            from: &["volume"],
        },
        "snapshot a data volume before deleting it",
    ),
    op(
        "AllocateAddress",
        CHANGE,
        Scope::Creates {
            made: &["elastic-ip"],
            from: &[],
        },
        "elastic IPs (tagged at creation)",
    ),
    op(
        "AssociateAddress",
        CHANGE,
        Scope::Changes(&["elastic-ip", "instance"]),
        "point an elastic IP at its instance",
    ),
    op(
        "DisassociateAddress",
        CHANGE,
        Scope::Changes(&["elastic-ip"]),
        "before an elastic IP is released",
    ),
    op(
        "ReleaseAddress",
        CHANGE,
        Scope::Changes(&["elastic-ip"]),
        "elastic IPs removed",
    ),
    op(
        "CreateSecurityGroup",
        CHANGE,
        Scope::Creates {
            made: &["security-group"],
            from: &[],
        },
        "security groups (tagged at creation)",
    ),
    op(
        "DeleteSecurityGroup",
        CHANGE,
        Scope::Changes(&["security-group"]),
        "security groups removed",
    ),
    op(
        "AuthorizeSecurityGroupIngress",
        CHANGE,
        Scope::Changes(&["security-group"]),
        "rules added",
    ),
    op(
        "AuthorizeSecurityGroupEgress",
        CHANGE,
        Scope::Changes(&["security-group"]),
        "rules added",
    ),
    op(
        "UpdateSecurityGroupRuleDescriptionsIngress",
        CHANGE,
        Scope::Changes(&["security-group"]),
        "rule descriptions",
    ),
    op(
        "UpdateSecurityGroupRuleDescriptionsEgress",
        CHANGE,
        Scope::Changes(&["security-group"]),
        "rule descriptions",
    ),
    op(
        "RevokeSecurityGroupIngress",
        CHANGE,
        Scope::Changes(&["security-group"]),
        "rules removed",
    ),
    op(
        "RevokeSecurityGroupEgress",
        CHANGE,
        Scope::Changes(&["security-group"]),
        "rules removed",
    ),
    op(
        "ImportKeyPair",
        CHANGE,
        Scope::Creates {
            made: &["key-pair"],
            from: &[],
        },
        "key pairs (tagged at creation)",
    ),
    op(
        "DeleteKeyPair",
        CHANGE,
        Scope::Changes(&["key-pair"]),
        "key pairs removed; the apply lease given back",
    ),
    op(
        "CreateKeyPair",
        CHANGE,
        Scope::Creates {
            made: &["key-pair"],
            from: &[],
        },
        "the apply lease: one apply of a stack at a time",
    ),
];

const fn op(
    action: &'static str,
    roles: &'static [Role],
    scope: Scope,
    why: &'static str,
) -> Operation {
    Operation {
        service: "ec2",
        action,
        roles,
        scope,
        why,
    }
}

/// Every operation the tool calls: EC2's and SSM's, then ELB's and the
/// tagging API's.
pub fn operations() -> impl Iterator<Item = &'static Operation> {
    OPERATIONS.iter().chain(elb::OPERATIONS)
}

/// The operation of `action`, if the tool calls it.
pub fn operation(action: &str) -> Option<&'static Operation> {
    operations().find(|o| o.action == action)
}

/// The actions `role` needs, `ec2:`-prefixed, sorted.
pub fn actions(role: Role, read: Option<bool>) -> Vec<String> {
    let mut out: Vec<String> = operations()
        .filter(|o| o.roles.contains(&role))
        .filter(|o| read.is_none_or(|r| r == (o.scope == Scope::Read)))
        .map(|o| format!("{}:{}", o.service, o.action))
        .collect();
    out.sort();
    out
}

/// The key pair names of the apply lease of a preview stack (a normal
/// stack's lease, `ec2-gitops-lease-<stack>`, cannot match).
pub const PREVIEW_LEASE_PREFIX: &str = "ec2-gitops-preview-lease-";

/// The identity policy of `role`, in `partition` (`aws`, `aws-cn`,
/// `aws-us-gov`).
pub fn policy(role: Role, partition: &str) -> Value {
    let statements = match role {
        Role::Plan => vec![read_statement(role)],
        Role::Apply => vec![
            read_statement(role),
            json!({
                "Sid": "ChangeStacks",
                "Effect": "Allow",
                "Action": actions(role, Some(false)),
                "Resource": "*",
            }),
            pass_role(partition, "*"),
        ],
        Role::Import => vec![
            read_statement(role),
            json!({
                "Sid": "AdoptWithOwnershipTags",
                "Effect": "Allow",
                "Action": ["ec2:CreateTags", "elasticloadbalancing:AddTags"],
                "Resource": "*",
            }),
        ],
        Role::Preview => preview_statements(partition),
    };
    let mut statements = statements;
    statements.extend(balancer_reads(role));
    statements.extend(parameters_statement(role, partition));
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The EC2 reads of `role` (EC2's `Describe*` take no resource).
fn read_statement(role: Role) -> Value {
    let ec2: Vec<String> = actions(role, Some(true))
        .into_iter()
        .filter(|a| a.starts_with("ec2:"))
        .collect();
    json!({
        "Sid": "Read",
        "Effect": "Allow",
        "Action": ec2,
        "Resource": "*",
    })
}

/// The load balancer reads of `role`, when it has them (ELB's `Describe*`
/// and the tagging API's `GetResources` take no resource).
fn balancer_reads(role: Role) -> Option<Value> {
    let reads: Vec<String> = actions(role, Some(true))
        .into_iter()
        .filter(|a| a.starts_with("elasticloadbalancing:") || a.starts_with("tag:"))
        .collect();
    (!reads.is_empty()).then(|| {
        json!({
            "Sid": "ReadLoadBalancers",
            "Effect": "Allow",
            "Action": reads,
            "Resource": "*",
        })
    })
}

/// The SSM parameters a role reads to resolve images, when it does.
fn parameters_statement(role: Role, partition: &str) -> Option<Value> {
    let ssm: Vec<String> = actions(role, Some(true))
        .into_iter()
        .filter(|a| a.starts_with("ssm:"))
        .collect();
    (!ssm.is_empty()).then(|| {
        json!({
            "Sid": "ReadImageParameters",
            "Effect": "Allow",
            "Action": ssm,
            "Resource": [format!("arn:{partition}:ssm:*:*:parameter/*")],
        })
    })
}

/// The path of the roles a preview's servers may be given (through their
/// instance profiles): a pull request's preview never runs with a role of
/// the real stacks.
pub const PREVIEW_ROLE_PATH: &str = "ec2-gitops-preview/";

/// `iam:PassRole` of the roles named `roles` (a pattern after `role/`) to
/// EC2 only: what launching or associating an instance profile needs.
fn pass_role(partition: &str, roles: &str) -> Value {
    json!({
        "Sid": "PassInstanceProfileRolesToEc2",
        "Effect": "Allow",
        "Action": ["iam:PassRole"],
        "Resource": [format!("arn:{partition}:iam::*:role/{roles}")],
        "Condition": { "StringEquals": { "iam:PassedToService": "ec2.amazonaws.com" } },
    })
}

/// `arn:<partition>:ec2:*:*:<type>/<name>` (images and snapshots have no
/// account in their ARN).
fn arn(partition: &str, kind: &str, name: &str) -> String {
    let account = if matches!(kind, "image" | "snapshot") {
        ""
    } else {
        "*"
    };
    format!("arn:{partition}:ec2:*:{account}:{kind}/{name}")
}

/// The preview role: reads; creations only with the preview tag; changes
/// only to resources that carry it; tags it may never set after creation.
fn preview_statements(p: &str) -> Vec<Value> {
    let mut creates: Vec<String> = Vec::new();
    let mut created: Vec<String> = Vec::new();
    let mut changes: Vec<String> = Vec::new();
    let mut changed: Vec<String> = Vec::new();
    for o in OPERATIONS
        .iter()
        .filter(|o| o.roles.contains(&Role::Preview))
    {
        let action = format!("ec2:{}", o.action);
        match o.scope {
            Scope::Read => {}
            Scope::Creates { made, from } => {
                // The lease has a statement of its own (by its name).
                if o.action != "CreateKeyPair" {
                    creates.push(action.clone());
                    created.extend(made.iter().map(|k| arn(p, k, "*")));
                }
                if !from.is_empty() {
                    changes.push(action);
                    changed.extend(from.iter().map(|k| arn(p, k, "*")));
                }
            }
            Scope::Changes(_) if o.action == "CreateTags" || o.action == "DeleteTags" => {}
            Scope::Changes(kinds) => {
                changes.push(action);
                changed.extend(kinds.iter().map(|k| arn(p, k, "*")));
            }
        }
    }
    for v in [&mut creates, &mut created, &mut changes, &mut changed] {
        v.sort();
        v.dedup();
    }
    let preview_request = json!({ "Null": { format!("aws:RequestTag/{PREVIEW_TAG}"): "false" } });
    let preview_resource = json!({ "Null": { format!("aws:ResourceTag/{PREVIEW_TAG}"): "false" } });
    let create_actions: Vec<String> = OPERATIONS
        .iter()
        .filter(|o| o.roles.contains(&Role::Preview) && matches!(o.scope, Scope::Creates { .. }))
        .map(|o| o.action.to_string())
        .collect();
    vec![
        read_statement(Role::Preview),
        json!({
            "Sid": "CreateOnlyWithThePreviewTag",
            "Effect": "Allow",
            "Action": creates,
            "Resource": created,
            "Condition": preview_request,
        }),
        json!({
            "Sid": "LaunchFromWhatALaunchUses",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances"],
            "Resource": [
                arn(p, "image", "*"),
                arn(p, "subnet", "*"),
                arn(p, "network-interface", "*"),
            ],
        }),
        json!({
            "Sid": "GroupsInAnyVpc",
            "Effect": "Allow",
            "Action": ["ec2:CreateSecurityGroup"],
            "Resource": [arn(p, "vpc", "*")],
        }),
        json!({
            "Sid": "ChangeOnlyThePreviewsResources",
            "Effect": "Allow",
            "Action": changes,
            "Resource": changed,
            "Condition": preview_resource,
        }),
        json!({
            "Sid": "RulesOfThePreviewsGroups",
            "Effect": "Allow",
            "Action": [
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
            ],
            "Resource": [arn(p, "security-group-rule", "*")],
        }),
        json!({
            "Sid": "TagAtCreation",
            "Effect": "Allow",
            "Action": ["ec2:CreateTags"],
            "Resource": "*",
            "Condition": { "StringEquals": { "ec2:CreateAction": create_actions } },
        }),
        json!({
            "Sid": "RetagThePreviewsResourcesButNeverItsOwnership",
            "Effect": "Allow",
            "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
            "Resource": "*",
            "Condition": {
                "Null": { format!("aws:ResourceTag/{PREVIEW_TAG}"): "false" },
                "ForAllValues:StringNotEquals": { "aws:TagKeys": [STACK_TAG, PREVIEW_TAG] },
            },
        }),
        pass_role(p, &format!("{PREVIEW_ROLE_PATH}*")),
        json!({
            "Sid": "ThePreviewsApplyLease",
            "Effect": "Allow",
            "Action": ["ec2:CreateKeyPair", "ec2:DeleteKeyPair"],
            "Resource": [arn(p, "key-pair", &format!("{PREVIEW_LEASE_PREFIX}*"))],
        }),
    ]
}

/// Why `repo`, `branch` or an environment cannot go into a trust policy's
/// subject: a wildcard (`*`, `?`) would trust more than meant, and a
/// repository is `owner/name`.
pub fn subject_problem(repo: &str, branch: &str, environments: &[String]) -> Option<String> {
    let part = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    match repo.split_once('/') {
        Some((owner, name)) if part(owner) && part(name) => {}
        _ => {
            return Some(format!(
                "--repo {repo:?} is not OWNER/NAME (letters, digits, `-`, `_`, `.`)"
            ));
        }
    }
    let plain =
        |s: &str| !s.is_empty() && !s.chars().any(|c| matches!(c, '*' | '?') || c.is_control());
    if !plain(branch) {
        return Some(format!(
            "--branch {branch:?} must be a branch name, without `*` or `?`"
        ));
    }
    environments
        .iter()
        .find(|e| !plain(e))
        .map(|e| format!("--environment {e:?} must be an environment's name, without `*` or `?`"))
}

/// A trust policy for `role`: GitHub's OIDC provider, for the jobs of
/// `repo` (`owner/name`) that use the role (on its default `branch`), and
/// the GitHub Environments in
/// `environments` (jobs that run in one have the environment as subject).
pub fn trust(
    role: Role,
    account: &str,
    repo: &str,
    branch: &str,
    environments: &[String],
) -> Value {
    let mut subjects: Vec<String> = match role {
        // Pull requests (same-repository ones: forks get no token), the
        // drift check on the default branch, and the merge queue's check
        // (its groups' branches, which only GitHub's queue can make).
        Role::Plan => vec![
            format!("repo:{repo}:pull_request"),
            format!("repo:{repo}:ref:refs/heads/{branch}"),
            format!("repo:{repo}:ref:refs/heads/gh-readonly-queue/{branch}/*"),
        ],
        // The merge's push, and comment commands (run on the default branch).
        Role::Apply => vec![format!("repo:{repo}:ref:refs/heads/{branch}")],
        // `/preview` (a comment: the default branch) and the clean-up when a
        // pull request closes (pull_request).
        Role::Preview => vec![
            format!("repo:{repo}:ref:refs/heads/{branch}"),
            format!("repo:{repo}:pull_request"),
        ],
        // Import is run by a person, not a workflow: from the default branch.
        Role::Import => vec![format!("repo:{repo}:ref:refs/heads/{branch}")],
    };
    if role != Role::Import {
        subjects.extend(
            environments
                .iter()
                .map(|e| format!("repo:{repo}:environment:{e}")),
        );
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "GitHubActionsOidc",
            "Effect": "Allow",
            "Principal": {
                "Federated": format!("arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com")
            },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" },
                "StringLike": { "token.actions.githubusercontent.com:sub": subjects },
            },
        }],
    })
}

#[cfg(test)]
mod tests;

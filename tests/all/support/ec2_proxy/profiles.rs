//! Instance profiles as EC2 keeps them, where moto does not: a
//! `RunInstances` of several instances that names a profile gives it to
//! every one of them (moto associates the first only), and a
//! `ReplaceIamInstanceProfileAssociation` changes what `DescribeInstances`
//! says (moto changes the association alone). Done after moto's answer, by
//! the calls that make moto hold what EC2 would; the client's answer is
//! moto's own.

use bytes::Bytes;

use super::calls::Request;

/// The upstream calls that bring moto to what EC2 holds after `request`
/// answered `body` (2xx): each is a form body of the EC2 Query API.
pub(super) fn corrections(request: &Request, body: &[u8]) -> Vec<Vec<(String, String)>> {
    let text = String::from_utf8_lossy(body);
    match request.action.as_str() {
        "RunInstances" => {
            let Some(profile) = profile_of(request) else {
                return vec![];
            };
            // Moto gave the profile to the first instance of the answer.
            values_of(&text, "instanceId")
                .into_iter()
                .skip(1)
                .map(|id| associate(&id, &profile))
                .collect()
        }
        "ReplaceIamInstanceProfileAssociation" => {
            let Some(profile) = profile_of(request) else {
                return vec![];
            };
            let (Some(association), Some(instance)) = (
                values_of(&text, "associationId").into_iter().next(),
                values_of(&text, "instanceId").into_iter().next(),
            ) else {
                return vec![];
            };
            // Made again, so that the instance's own record follows.
            vec![
                vec![
                    param("Action", "DisassociateIamInstanceProfile"),
                    param("Version", "2016-11-15"),
                    param("AssociationId", &association),
                ],
                associate(&instance, &profile),
            ]
        }
        _ => vec![],
    }
}

/// `request` with `params` as its form body instead of its own.
pub(super) fn with_params(request: &Request, params: &[(String, String)]) -> Request {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let mut r = request.clone();
    r.path = "/".into();
    r.action = params
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    r.params = params.to_vec();
    r.body = Bytes::from(body);
    r
}

fn profile_of(request: &Request) -> Option<String> {
    request
        .param("IamInstanceProfile.Name")
        .map(|n| format!("name:{n}"))
        .or_else(|| {
            request
                .param("IamInstanceProfile.Arn")
                .map(|a| format!("arn:{a}"))
        })
}

fn associate(instance: &str, profile: &str) -> Vec<(String, String)> {
    let mut v = vec![
        param("Action", "AssociateIamInstanceProfile"),
        param("Version", "2016-11-15"),
        param("InstanceId", instance),
    ];
    match profile.split_once(':') {
        Some(("arn", arn)) => v.push(param("IamInstanceProfile.Arn", arn)),
        Some((_, name)) => v.push(param("IamInstanceProfile.Name", name)),
        None => {}
    }
    v
}

fn param(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

/// The texts of every `<tag>…</tag>` of an XML answer, in order.
fn values_of(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else {
            break;
        };
        let value = after[..end].trim().to_string();
        if !out.contains(&value) {
            out.push(value);
        }
        rest = &after[end + close.len()..];
    }
    out
}

//! The format's vocabulary for load balancers and target groups (`fields`
//! re-exports it).

use super::{NAME, Object, Pattern, SUBNET, Ty, VPC, ZONE_SUBNET, defaulted, field, required};

/// Listener and target-group protocols.
pub const ELB_PROTOCOLS: &[&str] = &["HTTP", "HTTPS"];
/// Load balancer schemes.
pub const SCHEMES: &[&str] = &["internet-facing", "internal"];
/// Where a listener may redirect to.
pub const REDIRECTS: &[&str] = &["https"];

/// ACM (or IAM) certificate ARNs.
pub static CERTIFICATE: Pattern = Pattern {
    regex: "^arn:aws[a-z-]*:(acm:[a-z0-9-]+:[0-9]{12}:certificate|iam::[0-9]{12}:server-certificate)/[A-Za-z0-9/_.+=,@-]{1,256}$",
    check: is_certificate,
    what: "certificate ARN",
    example: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000",
};

fn is_certificate(s: &str) -> bool {
    let word = |w: &str| {
        (1..=256).contains(&w.len())
            && w.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"/_.+=,@-".contains(&c))
    };
    let account = |a: &str| a.len() == 12 && a.bytes().all(|c| c.is_ascii_digit());
    let Some(rest) = s.strip_prefix("arn:") else {
        return false;
    };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    if parts.len() != 5 || !parts[0].starts_with("aws") {
        return false;
    }
    match parts[1] {
        "acm" => {
            !parts[2].is_empty()
                && parts[2]
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                && account(parts[3])
                && parts[4].strip_prefix("certificate/").is_some_and(word)
        }
        "iam" => {
            parts[2].is_empty()
                && account(parts[3])
                && parts[4]
                    .strip_prefix("server-certificate/")
                    .is_some_and(word)
        }
        _ => false,
    }
}

/// A target group.
pub static TARGET_GROUP: Object = Object {
    name: "target_group",
    doc: "An ELB target group of instances: the servers a load balancer sends requests to, and how it tells a healthy one. Changing `port`, `protocol` or `vpc` replaces the group (the new one is filled and the listeners moved to it before the old one is deleted).",
    fields: &[
        required(
            "port",
            Ty::Int { min: 1, max: 65535 },
            "The port the servers listen on.",
        ),
        defaulted(
            "protocol",
            Ty::Enum(ELB_PROTOCOLS),
            "HTTP",
            "`HTTP` or `HTTPS`, from the load balancer to the servers.",
        ),
        field(
            "vpc",
            Ty::Str {
                pattern: Some(&VPC),
                max_len: None,
            },
            "VPC id of the servers. Default: the region's default VPC.",
        ),
        field(
            "health_check",
            Ty::Obj(&HEALTH_CHECK),
            "How the load balancer checks a server. Changed in place.",
        ),
        defaulted(
            "deregistration_delay",
            Ty::Int { min: 0, max: 3600 },
            "300",
            "Seconds a server leaving the group keeps serving the requests it has (draining) before it is stopped or terminated. Changed in place.",
        ),
    ],
    exclude: &[],
};

/// A target group's health check.
pub static HEALTH_CHECK: Object = Object {
    name: "health_check",
    doc: "The load balancer's health check of each server: a server is `healthy` after `healthy_threshold` answers in `matcher` in a row.",
    fields: &[
        defaulted(
            "path",
            Ty::Str {
                pattern: None,
                max_len: Some(1024),
            },
            "/",
            "The path requested, starting with `/`.",
        ),
        defaulted(
            "matcher",
            Ty::Str {
                pattern: None,
                max_len: Some(64),
            },
            "200",
            "The HTTP codes that mean healthy: `200`, `200-399` or `200,204`.",
        ),
        defaulted(
            "interval",
            Ty::Int { min: 5, max: 300 },
            "30",
            "Seconds between checks.",
        ),
        defaulted(
            "timeout",
            Ty::Int { min: 2, max: 120 },
            "5",
            "Seconds a check may take; less than `interval`.",
        ),
        defaulted(
            "healthy_threshold",
            Ty::Int { min: 2, max: 10 },
            "5",
            "Successful checks in a row before a server is healthy.",
        ),
        defaulted(
            "unhealthy_threshold",
            Ty::Int { min: 2, max: 10 },
            "2",
            "Failed checks in a row before a server is unhealthy.",
        ),
    ],
    exclude: &[],
};

/// A load balancer.
pub static LOAD_BALANCER: Object = Object {
    name: "load_balancer",
    doc: "An Application Load Balancer: the site's front door. Changing `scheme` replaces it (and its DNS name); subnets, security groups and listeners change in place.",
    fields: &[
        defaulted(
            "scheme",
            Ty::Enum(SCHEMES),
            "internet-facing",
            "`internet-facing` (a public DNS name) or `internal` (reachable inside the VPC).",
        ),
        required(
            "subnets",
            Ty::ListOfEither(&SUBNET, &ZONE_SUBNET),
            "Its subnets, in two availability zones or more: subnet ids, or `{ zone: us-east-1a }` for a zone's default subnet.",
        ),
        defaulted(
            "security_groups",
            Ty::List(Some(&NAME)),
            "[]",
            "Security groups of this stack, by name. Empty: the VPC's default group.",
        ),
        required(
            "listeners",
            Ty::ListOf(&LISTENER),
            "Its listeners, one per port.",
        ),
    ],
    exclude: &[],
};

/// A listener of a load balancer.
pub static LISTENER: Object = Object {
    name: "listener",
    doc: "A port the load balancer listens on, and what it does with a request there: `forward` to a target group, or `redirect: https`.",
    fields: &[
        required(
            "port",
            Ty::Int { min: 1, max: 65535 },
            "The port (`80`, `443`).",
        ),
        defaulted(
            "protocol",
            Ty::Enum(ELB_PROTOCOLS),
            "HTTP",
            "`HTTP`, or `HTTPS` with a `certificate`.",
        ),
        field(
            "certificate",
            Ty::Str {
                pattern: Some(&CERTIFICATE),
                max_len: None,
            },
            "The certificate's ARN (ACM), for `HTTPS`.",
        ),
        field(
            "forward",
            Ty::Str {
                pattern: Some(&NAME),
                max_len: None,
            },
            "A target group of this stack, by name, that requests go to.",
        ),
        field(
            "redirect",
            Ty::Enum(REDIRECTS),
            "`https`: every request is redirected (301) to the same URL over HTTPS on port 443.",
        ),
    ],
    exclude: &[],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_acm_or_iam_arns() {
        for good in [
            "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000",
            "arn:aws-cn:acm:cn-north-1:123456789012:certificate/abc",
            "arn:aws:iam::123456789012:server-certificate/site/www",
        ] {
            assert!(is_certificate(good), "{good}");
        }
        for bad in [
            "",
            "arn:aws:acm:us-east-1:12345:certificate/x",
            "arn:aws:kms:us-east-1:123456789012:key/x",
            "arn:aws:acm:us-east-1:123456789012:certificate/",
            "arn:aws:acm:us-east-1:123456789012:certificate/a b",
            "certificate/x",
        ] {
            assert!(!is_certificate(bad), "{bad}");
        }
    }
}

//! `target_groups:` and `load_balancers:`: decoded and checked against the
//! names the stack declares.

use std::collections::BTreeMap;

use super::decode::Ctx;
use super::fields;
use super::yaml::{Node, Value};
use crate::model::{
    ElbProtocol, HealthCheck, ListenerAction, ListenerSpec, LoadBalancerSpec, Scheme, SubnetRef,
    TargetGroupSpec,
};

/// Decodes `target_groups.<name>`.
pub fn target_group(ctx: &mut Ctx, name: &str, key: &Node, node: &Node) -> Option<TargetGroupSpec> {
    let what = format!("target group `{name}`");
    let e = ctx.object(node, &fields::TARGET_GROUP, &what, key)?;
    let mut ok = true;
    let port = e
        .value("port")
        .and_then(|n| ctx.int(n, (1, 65535), "`port`", "a port is 1 to 65535"));
    let protocol = match e.value("protocol") {
        Some(n) => protocol(ctx, n),
        None => Some(ElbProtocol::Http),
    };
    let vpc = match e.value("vpc") {
        None => Some(None),
        Some(n) => ctx.pattern(n, &fields::VPC).map(Some),
    };
    let health_check = match e.value("health_check") {
        Some(n) => health_check(ctx, n, &what),
        None => Some(HealthCheck::default()),
    };
    let delay = match e.value("deregistration_delay") {
        Some(n) => ctx.int(
            n,
            (0, 3600),
            "`deregistration_delay`",
            "ELB drains a server for 0 to 3600 seconds",
        ),
        None => Some(300),
    };
    ok &= port.is_some() && protocol.is_some() && vpc.is_some();
    ok &= health_check.is_some() && delay.is_some();
    ok.then(|| TargetGroupSpec {
        port: port.unwrap_or_default() as u16,
        protocol: protocol.unwrap_or(ElbProtocol::Http),
        vpc: vpc.flatten(),
        health_check: health_check.unwrap_or_default(),
        deregistration_delay: delay.unwrap_or_default() as u32,
        at: ctx.loc(key.start),
    })
}

fn protocol(ctx: &mut Ctx, n: &Node) -> Option<ElbProtocol> {
    ctx.one_of(n, fields::ELB_PROTOCOLS, "protocol")
        .and_then(|p| ElbProtocol::parse(&p))
}

/// Decodes a target group's `health_check:`.
fn health_check(ctx: &mut Ctx, n: &Node, what: &str) -> Option<HealthCheck> {
    let e = ctx.object(
        n,
        &fields::HEALTH_CHECK,
        &format!("the health check of {what}"),
        n,
    )?;
    let mut h = HealthCheck::default();
    let mut ok = true;
    if let Some(v) = e.value("path") {
        match ctx.str(v) {
            Some(p) if p.starts_with('/') && ctx.single_line(v, p, "the path") => {
                if let Some(c) = p.chars().find(|c| !c.is_ascii_graphic()) {
                    ctx.error(
                        v,
                        format!(
                            "the path contains {c:?}; ELB takes printable ASCII without spaces"
                        ),
                        Some("percent-encode it (`%20`)".into()),
                    );
                    ok = false;
                } else {
                    h.path = p.to_string();
                }
            }
            Some(p) => {
                ctx.error(
                    v,
                    format!("the health check path `{p}` does not start with `/`"),
                    Some(format!("write `/{}`", p.trim_start_matches('/'))),
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    if let Some(v) = e.value("matcher") {
        let text = match v.value() {
            Some(Value::Int(i)) => Some(i.to_string()),
            _ => ctx.str(v).map(str::to_string),
        };
        match text {
            Some(m) if is_matcher(&m) => h.matcher = m,
            Some(m) => {
                ctx.error(
                    v,
                    format!("`{m}` is not a list of HTTP codes"),
                    Some("codes from 200 to 499: `200`, `200-399` or `200,204`".into()),
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    let mut int = |key: &str, range: (i64, i64), hint: &str, slot: &mut u32| {
        if let Some(v) = e.value(key) {
            match ctx.int(v, range, &format!("`{key}`"), hint) {
                Some(i) => *slot = i as u32,
                None => ok = false,
            }
        }
    };
    int(
        "interval",
        (5, 300),
        "ELB checks every 5 to 300 seconds",
        &mut h.interval,
    );
    int(
        "timeout",
        (2, 120),
        "a check may take 2 to 120 seconds",
        &mut h.timeout,
    );
    int(
        "healthy_threshold",
        (2, 10),
        "ELB counts 2 to 10 checks in a row",
        &mut h.healthy_threshold,
    );
    int(
        "unhealthy_threshold",
        (2, 10),
        "ELB counts 2 to 10 checks in a row",
        &mut h.unhealthy_threshold,
    );
    if ok && h.timeout >= h.interval {
        let at = e.value("timeout").or(e.value("interval")).unwrap_or(n);
        ctx.error(
            at,
            format!(
                "the health check's `timeout` ({}s) must be less than its `interval` ({}s)",
                h.timeout, h.interval
            ),
            Some("ELB refuses a check that lasts as long as the time between two".into()),
        );
        ok = false;
    }
    ok.then_some(h)
}

/// `200`, `200-399`, `200,204`: codes from 200 to 499 (ELB's HTTP range).
fn is_matcher(m: &str) -> bool {
    let code = |c: &str| c.len() == 3 && c.parse::<u16>().is_ok_and(|n| (200..=499).contains(&n));
    !m.is_empty()
        && m.split(',').all(|part| match part.split_once('-') {
            Some((a, b)) => code(a) && code(b) && a < b,
            None => code(part),
        })
}

/// Decodes `load_balancers.<name>`; `groups` and `target_groups` are the
/// names the stack declares.
pub fn load_balancer(
    ctx: &mut Ctx,
    name: &str,
    key: &Node,
    node: &Node,
    groups: &[&str],
    target_groups: &[&str],
) -> Option<LoadBalancerSpec> {
    let what = format!("load balancer `{name}`");
    let e = ctx.object(node, &fields::LOAD_BALANCER, &what, key)?;
    let scheme = match e.value("scheme") {
        Some(n) => ctx
            .one_of(n, fields::SCHEMES, "scheme")
            .and_then(|s| Scheme::parse(&s)),
        None => Some(Scheme::InternetFacing),
    };
    let subnets = e.value("subnets").and_then(|n| {
        let s = super::server::subnets(ctx, n, &what)?;
        two_zones(ctx, n, &s, &what).then_some(s)
    });
    let security_groups = match e.value("security_groups") {
        Some(n) => names(ctx, n, "security group", "security_groups", groups),
        None => Some(vec![]),
    };
    let listeners = e
        .value("listeners")
        .and_then(|n| listeners(ctx, n, &what, target_groups));
    Some(LoadBalancerSpec {
        scheme: scheme?,
        subnets: subnets?,
        security_groups: security_groups?,
        listeners: listeners?,
        at: ctx.loc(key.start),
    })
}

/// ELB needs subnets in two availability zones at least: two zones named,
/// or two subnet ids (their zones are checked when planning).
fn two_zones(ctx: &mut Ctx, n: &Node, subnets: &[SubnetRef], what: &str) -> bool {
    if subnets.len() >= 2 {
        return true;
    }
    ctx.error(
        n,
        format!("{what} has one subnet; an Application Load Balancer needs two availability zones or more"),
        Some("add a subnet in another zone, e.g. `- { zone: us-east-1b }`".into()),
    );
    false
}

/// A list of names of the stack's `kind`s, each once.
pub fn names(
    ctx: &mut Ctx,
    n: &Node,
    kind: &str,
    section: &str,
    defined: &[&str],
) -> Option<Vec<String>> {
    let items = ctx.list(n)?;
    let mut out: Vec<String> = Vec::new();
    let mut ok = true;
    for item in items {
        let Some(name) = ctx.name(item, kind) else {
            ok = false;
            continue;
        };
        if !ctx.reference(item, name, kind, section, defined) {
            ok = false;
        } else if out.iter().any(|g| g == name) {
            ctx.error(
                item,
                format!("{kind} `{name}` is listed twice"),
                Some("remove the repeated name".into()),
            );
            ok = false;
        } else {
            out.push(name.to_string());
        }
    }
    ok.then_some(out)
}

fn listeners(
    ctx: &mut Ctx,
    n: &Node,
    what: &str,
    target_groups: &[&str],
) -> Option<BTreeMap<u16, ListenerSpec>> {
    let items = ctx.list(n)?;
    if items.is_empty() {
        ctx.error(
            n,
            format!("{what} has no listeners"),
            Some("add one, e.g. `- { port: 80, forward: web }`".into()),
        );
        return None;
    }
    let mut out = BTreeMap::new();
    let mut ok = true;
    for item in items {
        match listener(ctx, item, what, target_groups) {
            Some((port, _)) if out.contains_key(&port) => {
                ctx.error(
                    item,
                    format!("{what} has two listeners on port {port}"),
                    Some("one listener per port: remove one".into()),
                );
                ok = false;
            }
            Some((port, l)) => {
                out.insert(port, l);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn listener(
    ctx: &mut Ctx,
    n: &Node,
    what: &str,
    target_groups: &[&str],
) -> Option<(u16, ListenerSpec)> {
    let of = format!("a listener of {what}");
    let e = ctx.object(n, &fields::LISTENER, &of, n)?;
    let port = e
        .value("port")
        .and_then(|v| ctx.int(v, (1, 65535), "`port`", "a port is 1 to 65535"));
    let protocol = match e.value("protocol") {
        Some(v) => protocol(ctx, v),
        None => Some(ElbProtocol::Http),
    };
    let certificate = match e.value("certificate") {
        Some(v) => ctx.pattern(v, &fields::CERTIFICATE).map(Some),
        None => Some(None),
    };
    let action = match (e.get("forward"), e.get("redirect")) {
        (Some((_, v)), None) => ctx.name(v, "target group").and_then(|tg| {
            ctx.reference(v, tg, "target group", "target_groups", target_groups)
                .then(|| ListenerAction::Forward(tg.to_string()))
        }),
        (None, Some((_, v))) => ctx
            .one_of(v, fields::REDIRECTS, "redirect")
            .map(|_| ListenerAction::RedirectHttps(443)),
        (Some((k, _)), Some(_)) => {
            ctx.error(
                k,
                format!("{of} sets both `forward` and `redirect`"),
                Some("a listener forwards or redirects: keep one".into()),
            );
            None
        }
        (None, None) => {
            ctx.error(
                n,
                format!("{of} neither forwards nor redirects"),
                Some("add `forward: <target group>` or `redirect: https`".into()),
            );
            None
        }
    };
    let (port, protocol, certificate, action) = (port?, protocol?, certificate?, action?);
    match (protocol, &certificate) {
        (ElbProtocol::Https, None) => {
            ctx.error(
                n,
                format!("{of} is HTTPS without a `certificate`"),
                Some("add `certificate: arn:aws:acm:…` (a certificate in ACM)".into()),
            );
            return None;
        }
        (ElbProtocol::Http, Some(_)) => {
            let at = e.value("certificate").unwrap_or(n);
            ctx.error(
                at,
                format!("{of} has a `certificate` but is HTTP"),
                Some("write `protocol: HTTPS`, or remove the certificate".into()),
            );
            return None;
        }
        _ => {}
    }
    if matches!(action, ListenerAction::RedirectHttps(_)) && protocol == ElbProtocol::Https {
        ctx.error(
            n,
            format!("{of} redirects HTTPS to HTTPS"),
            Some("redirect on the HTTP listener, and forward on the HTTPS one".into()),
        );
        return None;
    }
    Some((
        port as u16,
        ListenerSpec {
            protocol,
            certificate,
            action,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::is_matcher;
    use crate::config::parse_stack;
    use crate::config::tests::READ;
    use crate::model::{ElbProtocol, ListenerAction, Scheme, SubnetRef};
    use crate::render::diagnostics;

    const HEAD: &str = "version: 1\nstack: s\nregion: us-east-1\n";
    const WEB: &str = "instances:\n  web:\n    image: ami-0123456789abcdef0\n    type: t3.micro\n    count: 2\n    target_groups: [web]\n";
    const CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d";

    fn errors(body: &str) -> String {
        match parse_stack(&format!("{HEAD}{body}"), "s.yaml", &READ) {
            Ok(d) => panic!("should not be valid: {d:#?}"),
            Err(d) => diagnostics::text(&d),
        }
    }

    #[test]
    fn a_site_behind_a_load_balancer_decodes_with_its_defaults() {
        let yaml = format!(
            "{HEAD}security_groups:\n  lb:\n    description: front door\ntarget_groups:\n  web:\n    port: 8080\n    health_check: {{ path: /healthz, matcher: 200-399, interval: 10 }}\n    deregistration_delay: 30\nload_balancers:\n  front:\n    subnets: [{{ zone: us-east-1a }}, {{ zone: us-east-1b }}]\n    security_groups: [lb]\n    listeners:\n      - {{ port: 80, redirect: https }}\n      - {{ port: 443, protocol: HTTPS, certificate: \"{CERT}\", forward: web }}\n{WEB}"
        );
        let d = parse_stack(&yaml, "s.yaml", &READ)
            .unwrap_or_else(|e| panic!("{}", diagnostics::text(&e)));
        let tg = &d.target_groups["web"];
        assert_eq!(
            (tg.port, tg.protocol, tg.deregistration_delay),
            (8080, ElbProtocol::Http, 30)
        );
        assert_eq!(tg.health_check.path, "/healthz");
        assert_eq!(tg.health_check.matcher, "200-399");
        assert_eq!(tg.health_check.healthy_threshold, 5);
        let lb = &d.load_balancers["front"];
        assert_eq!(lb.scheme, Scheme::InternetFacing);
        assert_eq!(lb.subnets[1], SubnetRef::Zone("us-east-1b".into()));
        assert_eq!(lb.listeners[&80].action, ListenerAction::RedirectHttps(443));
        assert_eq!(
            lb.listeners[&443].action,
            ListenerAction::Forward("web".into())
        );
        assert_eq!(lb.listeners[&443].certificate.as_deref(), Some(CERT));
        let web = &d.instances["web-1"];
        assert_eq!(web.entry.target_groups, vec!["web".to_string()]);
        assert_eq!(web.entry.rollout.health, crate::model::Health::TargetGroup);
    }

    #[test]
    fn bad_balancers_are_errors_at_their_line() {
        let text = [
            errors(&format!("target_groups:\n  web:\n    port: 0\n    health_check: {{ path: healthz, matcher: \"600\", interval: 5, timeout: 5 }}\n{WEB}")),
            errors("target_groups:\n  web:\n    port: 80\n    health_check: { interval: 5, timeout: 5 }\n"),
            errors(&format!("target_groups:\n  web: {{ port: 80 }}\nload_balancers:\n  front:\n    subnets: [subnet-0123456789abcdef0]\n    listeners:\n      - {{ port: 443, protocol: HTTPS, forward: web }}\n      - {{ port: 80, forward: wbe }}\n      - {{ port: 80, redirect: https, certificate: \"{CERT}\" }}\n      - {{ port: 81 }}\n      - {{ port: 82, forward: web, redirect: https }}\n")),
            errors("instances:\n  web:\n    image: ami-0123456789abcdef0\n    type: t3.micro\n    target_groups: [nope]\n    rollout: { health: target-group }\n"),
            errors("instances:\n  web:\n    image: ami-0123456789abcdef0\n    type: t3.micro\n    rollout: { health: target-group }\n"),
        ]
        .join("\n---\n");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn matchers_are_http_codes() {
        for good in ["200", "200-399", "200,204", "200-299,302"] {
            assert!(is_matcher(good), "{good}");
        }
        for bad in ["", "2xx", "600", "399-200", "200,", "20"] {
            assert!(!is_matcher(bad), "{bad}");
        }
    }
}

//! Whole-file tests: a valid stack decoded exactly, and one fixture per error
//! class rendered as the user would see it.

use std::collections::BTreeMap;

use super::parse_stack;
use crate::model::*;
use crate::render::diagnostics;

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g";
const CLOUD_INIT: &str = "#cloud-config\npackages: [nginx]\n";

/// Stands in for the file system next to the stack file.
fn read(path: &str) -> Result<String, crate::config::FileError> {
    match path {
        "cloud-init/web.yaml" => Ok(CLOUD_INIT.to_string()),
        "big.sh" => Ok("#".repeat(20_000)),
        _ => Err("No such file or directory (os error 2)".into()),
    }
}

fn no_base(path: &str) -> Result<String, crate::config::FileError> {
    Err(format!("no base file {path} in this test").into())
}

/// The readers of the tests: [`read`] for user data, no base file.
pub(super) const READ: super::Readers<'static> = super::Readers {
    user_data: &read,
    base: &no_base,
};

pub(super) fn errors(source: &str, file: &str) -> String {
    match parse_stack(source, file, &READ) {
        Ok(d) => panic!("{file} should not be valid: {d:#?}"),
        Err(diags) => diagnostics::text(&diags),
    }
}

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            "../../../../tests/fixtures/config/",
            $name,
            ".yaml"
        ))
    };
}

macro_rules! snapshot_errors {
    ($($test:ident: $name:literal,)*) => {$(
        #[test]
        fn $test() {
            let text = errors(fixture!($name), concat!($name, ".yaml"));
            insta::assert_snapshot!($name, text);
        }
    )*};
}

snapshot_errors! {
    malformed_yaml: "syntax",
    tabs_for_indentation: "tabs",
    unknown_keys: "unknown_key",
    duplicate_keys_names_and_rules: "duplicates",
    wrong_types: "wrong_type",
    missing_required_keys: "missing",
    dangling_references: "dangling",
    bad_cidrs: "cidr",
    bad_ports_and_protocols: "ports",
    count_out_of_range: "count",
    bad_volumes: "volumes",
    invalid_ids: "ids",
    reserved_and_bad_tags: "tags",
    unsupported_version: "version2",
    bad_public_keys: "key_pairs",
    user_data_problems: "user_data",
    expanded_name_collisions: "collision",
    several_documents: "multi_doc",
    many_errors_sorted: "many_errors",
    alias_bomb: "alias_bomb",
    empty_file: "empty",
    top_level_not_a_map: "not_a_map",
}

fn loc(line: usize, column: usize) -> Location {
    Location {
        file: "infra/web.yaml".into(),
        line,
        column,
    }
}

fn tcp(port: i32, peer: Peer) -> Rule {
    Rule {
        protocol: Protocol::Tcp,
        from_port: port,
        to_port: port,
        peer,
    }
}

/// Over 120 lines: the whole decoded stack written out, field by field.
#[test]
fn full_stack_decodes_exactly() {
    let desired = parse_stack(fixture!("web"), "infra/web.yaml", &READ).unwrap();
    let tags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let web = |at: Location| InstanceSpec {
        renamed_from: None,
        image: "ami-0123456789abcdef0".into(),
        image_ref: None,
        instance_type: "t3.small".into(),
        subnet: Some("subnet-0abc1234def567890".into()),
        zone: None,
        security_groups: vec!["web".into()],
        key_pair: Some("deploy".into()),
        user_data: Some(CLOUD_INIT.into()),
        root_volume: Some(RootVolume {
            size_gb: 20,
            volume_type: "gp3".into(),
            disk: Disk::default(),
        }),
        instance_profile: Some("web-server".into()),
        metadata: Metadata {
            tokens: Tokens::Required,
            hop_limit: Some(2),
        },
        // YAML 1.2: `no` and `on` stay strings.
        tags: tags(&[("backup", "on"), ("role", "web"), ("team", "platform")]),
        protect: false,
        entry: Entry {
            rollout: Default::default(),
            name: "web".into(),
            count: 2,
            subnets: vec![],
            target_groups: vec![],
        },
        at,
    };
    let expected = Desired {
        stack: "web".into(),
        region: "us-east-1".into(),
        file: "infra/web.yaml".into(),
        sources: vec![],
        key_pairs: BTreeMap::from([(
            "deploy".into(),
            KeyPairSpec {
                renamed_from: None,
                public_key: format!("{KEY} ops@example.com"),
                at: loc(13, 3),
            },
        )]),
        security_groups: BTreeMap::from([
            (
                "admin".into(),
                GroupSpec {
                    renamed_from: None,
                    description: "Bastion".into(),
                    vpc: None,
                    ingress: vec![
                        tcp(22, Peer::Cidr4("203.0.113.0/24".into())),
                        Rule {
                            protocol: Protocol::Icmp,
                            from_port: -1,
                            to_port: -1,
                            peer: Peer::Cidr6("2001:db8::/32".into()),
                        },
                    ],
                    egress: Some(vec![
                        Rule {
                            protocol: Protocol::All,
                            from_port: -1,
                            to_port: -1,
                            peer: Peer::Cidr4("10.0.0.0/8".into()),
                        },
                        Rule {
                            protocol: Protocol::Udp,
                            from_port: 8000,
                            to_port: 8080,
                            peer: Peer::Group("web".into()),
                        },
                        Rule {
                            protocol: Protocol::Udp,
                            from_port: 8000,
                            to_port: 8080,
                            peer: Peer::Group("admin".into()),
                        },
                    ]),
                    descriptions: Default::default(),
                    at: loc(25, 3),
                },
            ),
            (
                "web".into(),
                GroupSpec {
                    renamed_from: None,
                    description: "Public HTTP and HTTPS".into(),
                    vpc: Some("vpc-0abc1234def567890".into()),
                    ingress: vec![
                        tcp(80, Peer::Cidr4("0.0.0.0/0".into())),
                        tcp(443, Peer::Cidr4("0.0.0.0/0".into())),
                        tcp(443, Peer::Cidr6("::/0".into())),
                        tcp(22, Peer::Group("admin".into())),
                    ],
                    egress: None,
                    descriptions: Default::default(),
                    at: loc(17, 3),
                },
            ),
        ]),
        instances: BTreeMap::from([
            (
                "db".into(),
                InstanceSpec {
                    renamed_from: None,
                    image: "ami-0123456789abcdef0".into(),
                    image_ref: None,
                    instance_type: "t3.medium".into(),
                    subnet: None,
                    zone: None,
                    security_groups: vec!["web".into()],
                    key_pair: Some("deploy".into()),
                    user_data: Some("#!/bin/sh\necho db\n".into()),
                    root_volume: None,
                    instance_profile: None,
                    metadata: Metadata {
                        tokens: Tokens::Optional,
                        hop_limit: None,
                    },
                    tags: tags(&[("backup", "no"), ("team", "platform")]),
                    protect: true,
                    entry: Entry {
                        rollout: Default::default(),
                        name: "db".into(),
                        count: 1,
                        subnets: vec![],
                        target_groups: vec![],
                    },
                    at: loc(44, 3),
                },
            ),
            ("web-1".into(), web(loc(35, 3))),
            ("web-2".into(), web(loc(35, 3))),
        ]),
        volumes: BTreeMap::from([
            (
                "db/data".into(),
                VolumeSpec {
                    renamed_from: None,
                    on_destroy: OnDestroy::Snapshot,
                    instance: "db".into(),
                    device: "/dev/sdf".into(),
                    size_gb: 100,
                    volume_type: "gp3".into(),
                    disk: Disk::default(),
                    protect: true,
                    at: loc(52, 9),
                },
            ),
            (
                "db/logs".into(),
                VolumeSpec {
                    renamed_from: None,
                    on_destroy: OnDestroy::Snapshot,
                    instance: "db".into(),
                    device: "/dev/xvdg".into(),
                    size_gb: 125,
                    volume_type: "st1".into(),
                    disk: Disk::default(),
                    protect: true,
                    at: loc(53, 9),
                },
            ),
        ]),
        elastic_ips: BTreeMap::from([(
            "web-ip".into(),
            AddressSpec {
                renamed_from: None,
                instance: "web-1".into(),
                at: loc(56, 3),
            },
        )]),
        target_groups: BTreeMap::new(),
        load_balancers: BTreeMap::new(),
        tags: BTreeMap::new(),
        account: None,
        environment: None,
        after: vec![],
        preview: None,
        preview_of: None,
    };
    assert_eq!(desired, expected);
}

#[test]
fn defaults_fill_gaps_and_count_one_keeps_the_name() {
    let src = "version: 1\nstack: s\nregion: us-east-1\ndefaults:\n  image: ami-12345678\n  type: t3.micro\n  protect: true\n  root_volume: { size_gb: 8 }\ninstances:\n  solo:\n    count: 1\n    protect: false\n";
    let d = parse_stack(src, "s.yaml", &READ).unwrap();
    let solo = &d.instances["solo"];
    assert_eq!(d.instances.len(), 1);
    assert!(!solo.protect);
    assert_eq!(
        solo.root_volume,
        Some(RootVolume {
            size_gb: 8,
            volume_type: "gp3".into(),
            disk: Disk::default(),
        })
    );
    assert!(solo.security_groups.is_empty() && solo.user_data.is_none());
}

#[test]
fn yaml_11_booleans_are_strings_where_strings_are_expected() {
    let src = "version: 1\nstack: s\nregion: us-east-1\ninstances:\n  a:\n    image: ami-12345678\n    type: t3.micro\n    tags: { backup: no, public: off, on: yes, count: 3, ok: true }\n";
    let d = parse_stack(src, "s.yaml", &READ).unwrap();
    let tags = &d.instances["a"].tags;
    assert_eq!(tags["backup"], "no");
    assert_eq!(tags["public"], "off");
    assert_eq!(tags["on"], "yes");
    assert_eq!(tags["count"], "3");
    assert_eq!(tags["ok"], "true");
}

#[test]
fn empty_sections_are_allowed() {
    let src = "version: 1\nstack: s\nregion: us-gov-west-1\ninstances:\nsecurity_groups: {}\n";
    let d = parse_stack(src, "s.yaml", &READ).unwrap();
    assert!(d.instances.is_empty() && d.security_groups.is_empty());
}

#[test]
fn diagnostics_are_sorted_by_position() {
    let diags = parse_stack(fixture!("many_errors"), "m.yaml", &READ).unwrap_err();
    let positions: Vec<_> = diags.iter().map(|d| (d.at.line, d.at.column)).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted);
    assert!(diags.len() >= 7, "{diags:#?}");
}

#[test]
fn github_annotations_of_many_errors() {
    let diags = parse_stack(fixture!("many_errors"), "infra/web.yaml", &READ).unwrap_err();
    insta::assert_snapshot!(diagnostics::github_annotations(&diags));
}

#[test]
fn file_over_5_mb_is_one_error() {
    let src = format!("version: 1\n#{}\n", "x".repeat(5 * 1024 * 1024));
    insta::assert_snapshot!(errors(&src, "big.yaml"), @r"
    error: the file is 5242893 bytes; stack files are limited to 5242880 bytes (5 MB)
     --> big.yaml:1:1
      |
    1 | version: 1
      | ^
      = hint: split the stack into several files

    1 error in big.yaml
    ");
}

#[test]
fn control_characters_are_one_error() {
    let junk: String = (0u8..32).cycle().take(300).map(char::from).collect();
    let text = errors(&junk, "junk.yaml");
    assert!(text.contains("control character U+0000"), "{text}");
    assert!(text.ends_with("1 error in junk.yaml\n"), "{text}");
}

/// A valid stack with one-line values of every kind; `{}` in a value is
/// where a test puts a character.
const ONE_LINE_FIELDS: &str = r#"version: 1
stack: "s{}"
region: "us-east-1{}"
defaults:
  type: "t3.micro{}"
  tags: { "team{}": platform, owner: "ops{}" }
key_pairs:
  "deploy{}":
    public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g ops{}@example.com"
security_groups:
  web:
    description: "Public HTTP{}"
    ingress:
      - { protocol: "tcp{}", ports: "80{}", cidr: "0.0.0.0/0{}" }
      - { protocol: tcp, ports: 22, from: "web{}" }
instances:
  web:
    image: "ami-12345678{}"
    user_data_file: "cloud-init/web.yaml{}"
    security_groups: ["web{}"]
    volumes:
      - { name: "data{}", device: "/dev/sdf{}", size_gb: 10, "type{}": gp3 }
elastic_ips:
  ip: { instance: "web{}" }
"#;

#[test]
fn every_one_line_field_refuses_control_characters() {
    assert!(parse_stack(&ONE_LINE_FIELDS.replace("{}", ""), "s.yaml", &READ).is_ok());
    let count = ONE_LINE_FIELDS.matches("{}").count();
    for (c, says) in [
        ("\\n", "a line break (U+000A)"),
        ("\\r", "a line break (U+000D)"),
        ("\\t", "a tab (U+0009)"),
        (
            "\\e]8;;https://evil.example\\e\\\\",
            "the control character U+001B",
        ),
        ("\\0", "the control character U+0000"),
        ("\\x7f", "the control character U+007F"),
        ("\\x9b", "the control character U+009B"),
        ("\\u2028", "a line break (U+2028)"),
        (
            "\\u202e",
            "the invisible or text-direction character U+202E",
        ),
        (
            "\\u2066",
            "the invisible or text-direction character U+2066",
        ),
        (
            "\\u200b",
            "the invisible or text-direction character U+200B",
        ),
    ] {
        for i in 0..count {
            // The character in the i-th value only.
            let src: String = ONE_LINE_FIELDS
                .split("{}")
                .enumerate()
                .map(|(j, part)| format!("{}{part}", if j == i + 1 { c } else { "" }))
                .collect();
            let diags = parse_stack(&src, "s.yaml", &READ)
                .map(|_| format!("value {i} with {c} is accepted"))
                .unwrap_err();
            let hit: Vec<_> = diags.iter().filter(|d| d.message.contains(says)).collect();
            assert_eq!(hit.len(), 1, "value {i} with {c}: {diags:#?}");
            assert!(hit[0].hint.is_some(), "{:?}", hit[0]);
            assert!(
                diags.iter().all(|d| !d
                    .message
                    .chars()
                    .any(|c| c.is_control() || ('\u{2028}'..='\u{206f}').contains(&c))),
                "a message repeats the character: {diags:#?}"
            );
        }
    }
}

#[test]
fn a_control_character_is_located_at_its_value_with_a_hint() {
    let src = "version: 1\nstack: s\nregion: us-east-1\ninstances:\n  web:\n    image: ami-12345678\n    type: t3.micro\n    tags:\n      role: |\n        web\n        db\n";
    let diags = parse_stack(src, "s.yaml", &READ).unwrap_err();
    assert_eq!(diags.len(), 1, "{diags:#?}");
    // At the text of the value, which is not quoted: it is a block.
    assert_eq!((diags[0].at.line, diags[0].at.column), (10, 9));
    assert_eq!(
        diags[0].message,
        "the value of tag `role` contains a line break (U+000A)"
    );
    assert_eq!(
        diags[0].hint.as_deref(),
        Some(
            "the value of tag `role` is one line: remove the line break (only `user_data` holds several lines)"
        )
    );
}

#[test]
fn user_data_keeps_its_lines_and_is_never_quoted() {
    let src = "version: 1\nstack: s\nregion: us-east-1\ninstances:\n  web:\n    image: ami-12345678\n    type: t3.micro\n    user_data: |\n      #!/bin/sh\n      export TOKEN=hunter2\n     TOKEN2=hunter3\n";
    // Inline user data spans lines.
    let ok = src.replace("     TOKEN2=hunter3\n", "");
    let d = parse_stack(&ok, "s.yaml", &READ).unwrap();
    assert_eq!(
        d.instances["web"].user_data.as_deref(),
        Some("#!/bin/sh\nexport TOKEN=hunter2\n")
    );
    // A YAML error inside it quotes nothing.
    let diags = parse_stack(src, "s.yaml", &READ).unwrap_err();
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].at.line, 11);
    assert_eq!(diags[0].source_line, None);
    let text = diagnostics::text(&diags);
    assert!(!text.contains("hunter"), "{text}");
    // Nor does a value of the wrong type, in the message or under it.
    let bad = ok.replace(
        "user_data: |\n      #!/bin/sh\n      export TOKEN=hunter2\n",
        "user_data: 4242\n",
    );
    let diags = parse_stack(&bad, "s.yaml", &READ).unwrap_err();
    assert_eq!(
        diags[0].message,
        "expected text for user_data, found a number"
    );
    assert!(!diagnostics::text(&diags).contains("4242"));
}

// ---------------------------------------------------------------- extends ---

mod extends {
    use super::*;
    use crate::config::{FileError, Readers};

    const BASE: &str = r#"version: 1
region: us-east-1
security_groups:
  web:
    description: Public HTTP
    ingress:
      - { protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }
      - { protocol: tcp, ports: 443, cidr: 0.0.0.0/0 }
instances:
  web:
    count: 2
    image: ami-0123456789abcdef0
    type: t3.micro
    security_groups: [web]
    user_data_file: web.sh
    tags: { role: web, tier: front }
  bastion:
    image: ami-0123456789abcdef0
    type: t3.nano
"#;

    /// The files of a repository: `infra/base/web.yaml` (with its user
    /// data next to it) and whatever `more` adds, read relative to
    /// `infra/production/` as the workspace reads them.
    fn files(more: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Result<String, FileError> {
        let mut all: Vec<(&str, &str)> = vec![
            ("../base/web.yaml", BASE),
            ("../base/web.sh", "#!/bin/sh\necho base\n"),
        ];
        all.extend_from_slice(more);
        move |path: &str| {
            all.iter()
                .find(|(p, _)| *p == path)
                .map(|(_, text)| text.to_string())
                .ok_or_else(|| "No such file or directory (os error 2)".into())
        }
    }

    fn parse(
        overlay: &str,
        more: &[(&'static str, &'static str)],
    ) -> Result<Desired, Vec<crate::config::Diagnostic>> {
        let fs = files(more);
        let readers = Readers {
            user_data: &fs,
            base: &fs,
        };
        parse_stack(overlay, "infra/production/web.yaml", &readers)
    }

    #[test]
    fn maps_merge_key_by_key_lists_are_replaced_and_null_removes() {
        let d = parse(
            r#"extends: ../base/web.yaml
stack: web-production
instances:
  web:
    count: 4
    type: t3.large
    tags: { tier: edge }
  bastion: null
security_groups:
  web:
    ingress:
      - { protocol: tcp, ports: 443, cidr: 0.0.0.0/0 }
"#,
            &[],
        )
        .unwrap();
        assert_eq!(d.stack, "web-production");
        assert_eq!(d.region, "us-east-1", "from the base");
        let names: Vec<&String> = d.instances.keys().collect();
        assert_eq!(
            names,
            ["web-1", "web-2", "web-3", "web-4"],
            "bastion removed"
        );
        let web = &d.instances["web-3"];
        assert_eq!(web.instance_type, "t3.large", "the overlay's scalar wins");
        assert_eq!(web.image, "ami-0123456789abcdef0", "the base's is kept");
        assert_eq!(
            web.tags.get("role").map(String::as_str),
            Some("web"),
            "maps merge key by key"
        );
        assert_eq!(web.tags.get("tier").map(String::as_str), Some("edge"));
        assert_eq!(
            web.user_data.as_deref(),
            Some("#!/bin/sh\necho base\n"),
            "a base's user_data_file is read next to the base"
        );
        let ingress = &d.security_groups["web"].ingress;
        assert_eq!(ingress.len(), 1, "a list is replaced whole: {ingress:?}");
        assert_eq!(ingress[0].from_port, 443);
        // A change to the base touches the stack.
        assert!(
            d.sources.contains(&"infra/base/web.yaml".to_string()),
            "{:?}",
            d.sources
        );
        // Where a value was written is where the resource points.
        assert_eq!(web.at.file, "infra/production/web.yaml");
        assert_eq!(
            d.security_groups["web"].at.file,
            "infra/production/web.yaml"
        );
    }

    #[test]
    fn a_chain_of_bases_is_followed_and_a_cycle_is_an_error() {
        let d = parse(
            "extends: staging.yaml\nstack: web-production\n",
            &[(
                "staging.yaml",
                "extends: ../base/web.yaml\nstack: web-staging\ninstances:\n  web:\n    count: 3\n",
            )],
        )
        .unwrap();
        assert_eq!(d.stack, "web-production");
        assert_eq!(d.instances.len(), 4, "3 web and the bastion");
        assert!(
            d.sources
                .contains(&"infra/production/staging.yaml".to_string())
        );
        assert!(d.sources.contains(&"infra/base/web.yaml".to_string()));

        let diags = parse(
            "extends: a.yaml\nstack: web-production\n",
            &[
                ("a.yaml", "extends: b.yaml\n"),
                ("b.yaml", "extends: a.yaml\n"),
            ],
        )
        .unwrap_err();
        insta::assert_snapshot!("extends_cycle", diagnostics::text(&diags));
    }

    #[test]
    fn diagnostics_point_into_the_base_or_the_overlay() {
        let diags = parse(
            r#"extends: ../base/web.yaml
stack: web-production
instances:
  web:
    tpye: t3.large
"#,
            &[(
                "../base/broken.yaml",
                "version: 1\nregion: us-east-1\ninstances:\n  web:\n    image: ami-0123456789abcdef0\n    type: t3.micro\n    count: 5000\n",
            )],
        )
        .unwrap_err();
        let overlay = diagnostics::text(&diags);
        let diags = parse(
            "extends: ../base/broken.yaml\nstack: web-production\n",
            &[(
                "../base/broken.yaml",
                "version: 1\nregion: us-east-1\ninstances:\n  web:\n    image: ami-0123456789abcdef0\n    type: t3.micro\n    count: 5000\n",
            )],
        )
        .unwrap_err();
        assert_eq!(diags[0].at.file, "infra/base/broken.yaml");
        assert_eq!(diags[0].at.line, 7);
        let base = diagnostics::text(&diags);
        let missing =
            parse("extends: ../base/gone.yaml\nstack: web-production\n", &[]).unwrap_err();
        let not_a_path = parse("extends: [a.yaml]\nstack: web-production\n", &[]).unwrap_err();
        insta::assert_snapshot!(
            "extends_diagnostics",
            format!(
                "# a typo in the overlay\n{overlay}\n# a bad value in the base\n{base}\n# a base that is not there\n{}\n# not a path\n{}",
                diagnostics::text(&missing),
                diagnostics::text(&not_a_path)
            )
        );
    }

    #[test]
    fn resolve_prints_the_merged_stack_with_where_each_value_was_written() {
        let overlay = "extends: ../base/web.yaml\nstack: web-production\ninstances:\n  web:\n    count: 4\n    type: t3.large\n  bastion: null\n";
        let fs = files(&[]);
        let readers = Readers {
            user_data: &fs,
            base: &fs,
        };
        let yaml =
            crate::config::resolve_stack(overlay, "infra/production/web.yaml", &readers).unwrap();
        insta::assert_snapshot!("resolve", yaml);
        // What it prints is a stack file that means the same.
        let again = parse_stack(&yaml, "infra/production/web.yaml", &readers).unwrap();
        let d = parse(overlay, &[]).unwrap();
        assert_eq!(again.stack, d.stack);
        assert_eq!(
            again.instances.keys().collect::<Vec<_>>(),
            d.instances.keys().collect::<Vec<_>>()
        );
        for (name, spec) in &d.instances {
            let other = &again.instances[name];
            assert_eq!(other.instance_type, spec.instance_type);
            assert_eq!(other.image, spec.image);
            assert_eq!(other.tags, spec.tags);
            assert_eq!(other.user_data, spec.user_data);
        }
        assert_eq!(
            again.security_groups["web"].ingress,
            d.security_groups["web"].ingress
        );
    }

    #[test]
    fn a_file_without_stack_is_a_base() {
        assert!(crate::config::is_base(BASE));
        assert!(!crate::config::is_base("stack: web\n"));
        assert!(!crate::config::is_base("- not a map\n"));
        assert!(!crate::config::is_base("a: [unclosed\n"));
    }
}

#[test]
fn environment_and_after_are_read_and_checked() {
    let src = "version: 1\nstack: web-production\nregion: us-east-1\nenvironment: production\nafter: [web-staging, web-db]\n";
    let d = parse_stack(src, "p.yaml", &READ).unwrap();
    assert_eq!(d.environment(), "production");
    let after: Vec<&str> = d.after.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(after, ["web-staging", "web-db"]);
    assert_eq!(d.after[1].1.line, 5);
    let plain = parse_stack(
        "version: 1\nstack: web\nregion: us-east-1\n",
        "w.yaml",
        &READ,
    )
    .unwrap();
    assert_eq!(plain.environment(), "web", "the stack's name by default");
    let bad = "version: 1\nstack: web\nregion: us-east-1\nenvironment: \"prod env!\"\nafter: [Web_Staging, web-db, web-db]\n";
    insta::assert_snapshot!("environment_and_after_errors", errors(bad, "bad.yaml"));
}

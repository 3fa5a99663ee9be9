//! The syntaxes of the format's strings (names, ids, zones, keys): the
//! regex the JSON Schema publishes and the check the decoder runs, side by
//! side so they cannot drift.

/// A string syntax: the regex the schema publishes and the check the decoder
/// runs (the same language, written twice because we carry no regex engine).
#[derive(Debug)]
pub struct Pattern {
    /// The JSON Schema `pattern`.
    pub regex: &'static str,
    /// The decoder's check.
    pub check: fn(&str) -> bool,
    /// How messages name it (`AMI id`).
    pub what: &'static str,
    /// A valid example, for hints.
    pub example: &'static str,
}

/// Logical names of stacks, instances, groups, key pairs, elastic IPs, volumes.
pub static NAME: Pattern = Pattern {
    regex: "^[a-z0-9][a-z0-9-]{0,62}$",
    check: is_name,
    what: "name",
    example: "web-1",
};
/// GitHub environment names (what a Deployment and an Environment's
/// protection rules are keyed by).
pub static ENVIRONMENT: Pattern = Pattern {
    regex: "^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$",
    check: is_environment,
    what: "environment name",
    example: "production",
};

fn is_environment(s: &str) -> bool {
    (1..=255).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// AWS region names.
pub static REGION: Pattern = Pattern {
    regex: "^[a-z]{2}(-[a-z]+)+-[0-9]+$",
    check: is_region,
    what: "AWS region",
    example: "us-east-1",
};
/// AMI ids.
pub static AMI: Pattern = Pattern {
    regex: "^ami-[0-9a-f]{8,17}$",
    check: is_ami,
    what: "AMI id",
    example: "ami-0123456789abcdef0",
};
/// Subnet ids.
pub static SUBNET: Pattern = Pattern {
    regex: "^subnet-[0-9a-f]{8,17}$",
    check: is_subnet,
    what: "subnet id",
    example: "subnet-0123456789abcdef0",
};
/// VPC ids.
pub static VPC: Pattern = Pattern {
    regex: "^vpc-[0-9a-f]{8,17}$",
    check: is_vpc,
    what: "VPC id",
    example: "vpc-0123456789abcdef0",
};
/// Instance type names.
pub static INSTANCE_TYPE: Pattern = Pattern {
    regex: "^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\\.[a-z0-9-]+$",
    check: is_instance_type,
    what: "instance type",
    example: "t3.micro",
};
/// Device names for data volumes.
pub static DEVICE: Pattern = Pattern {
    regex: "^/dev/(sd|xvd)[f-p]$",
    check: is_device,
    what: "device name",
    example: "/dev/sdf",
};

/// Availability zone names (`us-east-1a`, `us-west-2-lax-1a` for a Local
/// Zone).
pub static ZONE: Pattern = Pattern {
    regex: "^[a-z]{2}(-[a-z0-9]+)*-[0-9]+[a-z]$",
    check: is_zone,
    what: "availability zone",
    example: "us-east-1a",
};

fn is_zone(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let last = parts[parts.len() - 1].as_bytes();
    parts.len() >= 3
        && s.len() <= 40
        && parts[0].len() == 2
        && parts[0].bytes().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1].iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && last.len() >= 2
        && last[last.len() - 1].is_ascii_lowercase()
        && last[..last.len() - 1].iter().all(u8::is_ascii_digit)
}

/// KMS keys: a key id, an alias or an ARN of either.
pub static KMS_KEY: Pattern = Pattern {
    regex: "^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/|alias/)?[A-Za-z0-9/_-]{1,256}$",
    check: is_kms_key,
    what: "KMS key",
    example: "alias/ebs-web",
};

fn is_kms_key(s: &str) -> bool {
    let word = |w: &str| {
        (1..=256).contains(&w.len())
            && w.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"/_-".contains(&c))
    };
    if let Some(rest) = s.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        return parts.len() == 5
            && parts[0].starts_with("aws")
            && parts[1] == "kms"
            && !parts[2].is_empty()
            && parts[3].len() == 12
            && parts[3].bytes().all(|c| c.is_ascii_digit())
            && (parts[4].strip_prefix("key/").is_some_and(word)
                || parts[4].strip_prefix("alias/").is_some_and(word));
    }
    word(s.strip_prefix("alias/").unwrap_or(s))
}

/// Security group ids (of groups outside the stack).
pub static GROUP_ID: Pattern = Pattern {
    regex: "^sg-[0-9a-f]{8,17}$",
    check: is_group_id,
    what: "security group id",
    example: "sg-0123456789abcdef0",
};

fn is_group_id(s: &str) -> bool {
    hex_id(s, "sg-")
}

/// Managed prefix list ids.
pub static PREFIX_LIST: Pattern = Pattern {
    regex: "^pl-[0-9a-f]{8,17}$",
    check: is_prefix_list,
    what: "prefix list id",
    example: "pl-0123456789abcdef0",
};

fn is_prefix_list(s: &str) -> bool {
    hex_id(s, "pl-")
}

/// IAM instance profile names.
pub static INSTANCE_PROFILE: Pattern = Pattern {
    regex: "^[A-Za-z0-9+=,.@_-]{1,128}$",
    check: is_instance_profile,
    what: "instance profile name",
    example: "web-server",
};

fn is_instance_profile(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+=,.@_-".contains(&c))
}

fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=63).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

fn hex_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|h| {
        (8..=17).contains(&h.len())
            && h.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    })
}

fn is_ami(s: &str) -> bool {
    hex_id(s, "ami-")
}

fn is_subnet(s: &str) -> bool {
    hex_id(s, "subnet-")
}

fn is_vpc(s: &str) -> bool {
    hex_id(s, "vpc-")
}

fn is_instance_type(s: &str) -> bool {
    let word = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    };
    match s.split_once('.') {
        Some((family, size)) => {
            word(family)
                && word(size)
                && family.as_bytes()[0].is_ascii_lowercase()
                && family.bytes().any(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

fn is_device(s: &str) -> bool {
    let letter = s
        .strip_prefix("/dev/sd")
        .or_else(|| s.strip_prefix("/dev/xvd"));
    matches!(letter.map(str::as_bytes), Some([c]) if (b'f'..=b'p').contains(c))
}

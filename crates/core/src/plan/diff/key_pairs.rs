//! Key pairs: their changes.

use super::*;

impl<'a> Planner<'a> {
    pub(super) fn key_pairs(&mut self) {
        let stack = self.desired().stack.clone();
        let mut live: BTreeMap<&str, Vec<_>> = BTreeMap::new();
        for k in &self.live().key_pairs {
            live.entry(k.name.as_str()).or_default().push(k);
        }
        for (name, spec) in &self.desired().key_pairs {
            let id = ResourceId::new(Kind::KeyPair, name);
            let Some(found) = live.remove(name.as_str()) else {
                self.create(
                    id,
                    vec![
                        (Field::KeyName, Value::Text(key_name(&stack, name))),
                        (
                            Field::PublicKey,
                            Value::Text(key_material(&spec.public_key)),
                        ),
                    ],
                );
                continue;
            };
            let (k, dups) = found.split_first().expect("non-empty");
            let before = k.public_key.as_deref().map(key_material);
            let fields = field(
                Field::PublicKey,
                Value::opt(before),
                Value::Text(key_material(&spec.public_key)),
                Effect::Replace,
                "EC2 cannot change a key pair's key: it is deleted and imported again (running instances keep the key they booted with)",
            )
            .filter(|_| k.public_key.is_some())
            .into_iter()
            .collect();
            let fields = self.with_stack_tags(fields, &k.tags);
            self.update(id.clone(), &k.id, fields, false);
            for d in dups {
                self.destroy(
                    id.clone(),
                    &d.id,
                    "duplicate: another key pair has this name",
                    false,
                );
            }
        }
        for (name, ks) in live {
            for k in ks {
                self.destroy(
                    ResourceId::new(Kind::KeyPair, name),
                    &k.id,
                    "no longer in the YAML",
                    false,
                );
            }
        }
    }
}

/// The EC2 key name of a stack key pair.
pub fn key_name(stack: &str, name: &str) -> String {
    format!("{stack}-{name}")
}

/// The EC2 name of a stack key pair: the live one's (a key pair adopted by
/// `import` keeps its name), or the derived one for a new key pair.
pub fn ec2_key_name(inputs: &Inputs<'_>, logical: &str) -> String {
    inputs
        .live
        .key_pairs
        .iter()
        .find(|k| k.name == logical)
        .map(|k| k.key_name.clone())
        .unwrap_or_else(|| key_name(&inputs.desired.stack, logical))
}

/// The OpenSSH key without its comment: EC2 drops comments on import.
pub(super) fn key_material(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

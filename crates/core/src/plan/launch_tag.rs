//! The `ec2-gitops:launch` tag: which member of which batch launch an
//! instance is, written on it by the launch itself, so that a run stopped
//! between launching and naming leaves instances that say whose they are.
//! Read by the planner (ownership) and written by the steps and the
//! executor.

/// The most instances one `RunInstances` launches, and one batched
/// `StopInstances` or `StartInstances` names (EC2's resource buckets hold
/// 1,000 instances).
pub const MAX_BATCH: usize = 1000;

/// The most characters the member list of a launch tag takes (EC2's tag
/// values hold 256): a batch whose members do not fit is cut in two.
pub(crate) const MAX_INDEXES_TEXT: usize = 180;

/// The `ec2-gitops:launch` tag of a batch launch, `<entry>:<indexes>:<hash>`
/// (`web:4-16,20:3f9a0c1d2e4b5a69`): the n-th index listed is the member at
/// launch index n (`web-4` is launch index 0 there), and the hash is of what
/// the members are launched with. A run that stops between the launch and
/// the naming leaves instances that say, by themselves, whose they are; the
/// next run of the same change adopts each for its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchTag {
    /// The `instances:` entry.
    pub entry: String,
    /// The members' indexes (`web-4` is 4), in launch-index order.
    pub indexes: Vec<u32>,
    /// 16 hex digits of the hash of the members' launch parameters.
    pub hash: String,
}

impl LaunchTag {
    /// The tag value.
    pub fn render(&self) -> String {
        format!("{}:{}:{}", self.entry, ranges(&self.indexes), self.hash)
    }

    /// Reads a tag value; `None` for anything this tool did not write (the
    /// tag is anyone's to edit).
    pub fn parse(value: &str) -> Option<LaunchTag> {
        let mut parts = value.split(':');
        let (entry, list, hash) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || !crate::config::is_name(entry)
            || hash.len() != 16
            || !hash.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return None;
        }
        let mut indexes = Vec::new();
        for range in list.split(',') {
            let (from, to) = match range.split_once('-') {
                Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
                None => {
                    let n = range.parse::<u32>().ok()?;
                    (n, n)
                }
            };
            if from == 0 || to < from || indexes.last().is_some_and(|&l| from <= l) {
                return None;
            }
            if indexes.len() + (to - from) as usize >= MAX_BATCH {
                return None;
            }
            indexes.extend(from..=to);
        }
        Some(LaunchTag {
            entry: entry.to_string(),
            indexes,
            hash: hash.to_string(),
        })
    }

    /// The name of the member at EC2's `launch_index`.
    pub fn name_at(&self, launch_index: u32) -> Option<String> {
        let index = self.indexes.get(usize::try_from(launch_index).ok()?)?;
        Some(format!("{}-{index}", self.entry))
    }
}

/// `1-3,7,9-12`.
pub(crate) fn ranges(indexes: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indexes.len() {
        let mut j = i;
        while j + 1 < indexes.len() && indexes[j + 1] == indexes[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            indexes[i].to_string()
        } else {
            format!("{}-{}", indexes[i], indexes[j])
        });
        i = j + 1;
    }
    out.join(",")
}

/// The index of a member of `entry` (`web-4` is 4).
pub(crate) fn index_in(entry: &str, name: &str) -> Option<u32> {
    name.strip_prefix(entry)?.strip_prefix('-')?.parse().ok()
}

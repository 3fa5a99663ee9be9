//! The apply lease: at most one apply of a stack at a time, with no lock
//! table. The lease is an EC2 key pair named after the stack (EC2 refuses a
//! second key pair of the same name: that refusal is the mutual exclusion),
//! tagged with its holder and an expiry the holder pushes forward while it
//! works. A holder that died is recognised by an expiry in the past, or at
//! once when it ran on this host under a process id that is gone.
//!
//! The key pair's private key is discarded on creation: it opens nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_ec2::types::{KeyType, ResourceType, Tag, TagSpecification};

use super::{Ec2, Ec2Error, read_filter};

/// Tag naming the stack a lease is for (not the stack tag: a lease is not a
/// resource of the stack and never appears in its plan).
pub const LEASE_TAG: &str = "ec2-gitops:lease";
/// Tag naming the holder: `host=…;pid=…;run=…`.
pub const HOLDER_TAG: &str = "ec2-gitops:holder";
/// Tag with the expiry, seconds since the Unix epoch.
pub const EXPIRES_TAG: &str = "ec2-gitops:expires";

/// How long a lease lasts without renewal.
pub const TTL: Duration = Duration::from_secs(120);
/// How often the holder renews it.
const RENEW_EVERY: Duration = Duration::from_secs(30);
/// How often a waiting run looks again.
const POLL: Duration = Duration::from_secs(2);
/// How far ahead the expiry this holder last wrote must be for it to give
/// the lease back without looking first: more than any clock skew between
/// runners plus the time the delete takes.
const SURE_MARGIN: Duration = Duration::from_secs(60);

/// The key pair name of a stack's lease; a preview's (`preview`: its pull
/// request) has a prefix no other stack's lease can match, so the preview
/// role may take and give back only previews' leases.
pub fn lease_name(stack: &str, preview: Option<u64>) -> String {
    match preview {
        Some(_) => format!("{}{stack}", crate::iam::PREVIEW_LEASE_PREFIX),
        None => format!("ec2-gitops-lease-{stack}"),
    }
}

/// Who holds (or wants) a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Host name.
    pub host: String,
    /// Process id on that host.
    pub pid: u32,
    /// The CI run (`GITHUB_RUN_ID`/attempt), or `local`.
    pub run: String,
}

impl Holder {
    /// This process.
    pub fn this_process() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".into());
        let run = match (
            std::env::var("GITHUB_RUN_ID"),
            std::env::var("GITHUB_RUN_ATTEMPT"),
        ) {
            (Ok(id), Ok(attempt)) => format!("{id}/{attempt}"),
            (Ok(id), Err(_)) => id,
            _ => "local".into(),
        };
        Self {
            host,
            pid: std::process::id(),
            run,
        }
    }

    /// The tag value.
    pub fn tag_value(&self) -> String {
        format!("host={};pid={};run={}", self.host, self.pid, self.run)
    }

    /// Parses a tag value; `None` when it is not one of ours.
    pub fn parse(value: &str) -> Option<Self> {
        let mut host = None;
        let mut pid = None;
        let mut run = None;
        for part in value.split(';') {
            match part.split_once('=') {
                Some(("host", v)) => host = Some(v.to_string()),
                Some(("pid", v)) => pid = v.parse().ok(),
                Some(("run", v)) => run = Some(v.to_string()),
                _ => {}
            }
        }
        Some(Self {
            host: host?,
            pid: pid?,
            run: run?,
        })
    }
}

/// A lease as EC2 shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The key pair id (each acquisition makes a new one).
    pub key_pair_id: String,
    /// Its holder, when the tags say.
    pub holder: Option<Holder>,
    /// Its expiry, seconds since the epoch, when the tags say.
    pub expires: Option<u64>,
}

impl Seen {
    fn from_tags(key_pair_id: String, tags: &BTreeMap<String, String>) -> Self {
        Self {
            key_pair_id,
            holder: tags.get(HOLDER_TAG).and_then(|v| Holder::parse(v)),
            expires: tags.get(EXPIRES_TAG).and_then(|v| v.parse().ok()),
        }
    }
}

/// Whether a lease seen at `now` may be taken over: it expired, or its
/// holder ran on `me`'s host as a process that no longer exists. A lease
/// without our tags is never stale (it is not ours to take).
pub fn is_stale(seen: &Seen, now: u64, me: &Holder, alive: impl Fn(u32) -> bool) -> bool {
    let Some(expires) = seen.expires else {
        return false;
    };
    if now >= expires {
        return true;
    }
    seen.holder
        .as_ref()
        .is_some_and(|h| h.host == me.host && h.pid != me.pid && !alive(h.pid))
}

/// Whether a holder may delete its lease by name without looking first:
/// the expiry it last wrote (`known_expiry`) is still more than
/// [`SURE_MARGIN`] ahead and its renewals never fell that far behind
/// (`doubtful`). Nobody takes over an unexpired lease of a live holder, so
/// the key pair of that name is still this holder's. Otherwise the lease is
/// looked at first, and deleted only if it is still the one this holder
/// made.
pub fn sure_it_is_ours(known_expiry: u64, doubtful: bool, now: u64) -> bool {
    !doubtful && now.saturating_add(SURE_MARGIN.as_secs()) < known_expiry
}

/// What the holder knows of its own lease: the expiry it last wrote, and
/// whether its renewals ever fell behind (then someone may have taken it
/// over).
#[derive(Debug)]
struct Freshness {
    expires: AtomicU64,
    doubtful: AtomicBool,
}

/// Whether a process exists on this host (Linux: `/proc/PID`).
pub fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Why a lease could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// EC2 failed.
    #[error("{0}")]
    Ec2(#[from] Ec2Error),
    /// Someone else's key pair has the lease's name.
    #[error(
        "a key pair named {name} exists and is not an ec2-gitops lease: rename or delete it (ec2-gitops uses that name to let one apply of stack {stack} run at a time)"
    )]
    Foreign {
        /// Key pair name.
        name: String,
        /// Stack.
        stack: String,
    },
    /// Waited too long.
    #[error(
        "another apply of stack {stack} holds its lease ({holder}) and did not finish within {waited:?}; nothing was changed. If no apply is running, delete the key pair {name} and run again"
    )]
    Timeout {
        /// Stack.
        stack: String,
        /// Key pair name.
        name: String,
        /// Who holds it.
        holder: String,
        /// How long this run waited.
        waited: Duration,
    },
}

/// A held lease; renewed in the background until released.
pub struct Lease {
    ec2: Ec2,
    name: String,
    key_pair_id: String,
    fresh: Arc<Freshness>,
    renew: tokio::task::JoinHandle<()>,
}

impl Ec2 {
    /// Takes the apply lease of `stack`, waiting up to `max_wait` for a
    /// running apply to finish (`waiting` is told who holds it). A holder
    /// that died is taken over.
    pub async fn acquire_lease(
        &self,
        stack: &str,
        preview: Option<u64>,
        me: &Holder,
        max_wait: Duration,
        waiting: &(dyn Fn(&str) + Sync),
    ) -> Result<Lease, LeaseError> {
        let name = lease_name(stack, preview);
        let start = std::time::Instant::now();
        let held = |key_pair_id: String, expires: u64| {
            let fresh = Arc::new(Freshness {
                expires: AtomicU64::new(expires),
                doubtful: AtomicBool::new(false),
            });
            Lease {
                ec2: self.clone(),
                renew: tokio::spawn(renew(self.clone(), key_pair_id.clone(), fresh.clone())),
                name: name.clone(),
                key_pair_id,
                fresh,
            }
        };
        loop {
            match self.create_lease(&name, stack, preview, me).await {
                Ok((key_pair_id, expires)) => return Ok(held(key_pair_id, expires)),
                Err(e) if e.code == "InvalidKeyPair.Duplicate" => {}
                Err(e) => return Err(e.into()),
            }
            let Some((seen, tags)) = self.describe_lease(&name).await? else {
                continue; // released between the two calls: try again
            };
            if !tags.contains_key(LEASE_TAG) {
                return Err(LeaseError::Foreign {
                    name,
                    stack: stack.to_string(),
                });
            }
            if seen.holder.as_ref() == Some(me) {
                // Ours: a retried CreateKeyPair whose first answer was lost.
                return Ok(held(seen.key_pair_id, seen.expires.unwrap_or(0)));
            }
            if is_stale(&seen, now_secs(), me, process_alive) {
                let who = seen.holder.as_ref().map(Holder::tag_value);
                tracing::warn!(lease = %name, holder = ?who, "taking over a lease whose holder is gone");
                self.delete_lease(&name, &seen.key_pair_id).await?;
                continue;
            }
            let holder = seen
                .holder
                .as_ref()
                .map(Holder::tag_value)
                .unwrap_or_else(|| "unknown holder".into());
            if start.elapsed() >= max_wait {
                return Err(LeaseError::Timeout {
                    stack: stack.to_string(),
                    name,
                    holder,
                    waited: start.elapsed(),
                });
            }
            waiting(&holder);
            tokio::time::sleep(POLL).await;
        }
    }

    /// Deletes the lease of `stack` when its holder is gone (a run killed
    /// after its changes, before it gave the lease back), so a rerun that
    /// finds nothing to apply leaves nothing behind. A live holder's lease,
    /// or a key pair that is not a lease, is left alone.
    pub async fn clear_stale_lease(
        &self,
        stack: &str,
        preview: Option<u64>,
        me: &Holder,
    ) -> Result<bool, Ec2Error> {
        let name = lease_name(stack, preview);
        let Some((seen, tags)) = self.describe_lease(&name).await? else {
            return Ok(false);
        };
        if tags.get(LEASE_TAG).map(String::as_str) != Some(stack)
            || !is_stale(&seen, now_secs(), me, process_alive)
        {
            return Ok(false);
        }
        self.delete_lease(&name, &seen.key_pair_id).await?;
        Ok(true)
    }

    /// Creates the lease key pair: its id and the expiry written on it.
    async fn create_lease(
        &self,
        name: &str,
        stack: &str,
        preview: Option<u64>,
        me: &Holder,
    ) -> Result<(String, u64), Ec2Error> {
        let expires = now_secs() + TTL.as_secs();
        let mut tags = TagSpecification::builder()
            .resource_type(ResourceType::KeyPair)
            .tags(tag(LEASE_TAG, stack))
            .tags(tag(HOLDER_TAG, &me.tag_value()))
            .tags(tag(EXPIRES_TAG, &expires.to_string()));
        // A preview's lease is the preview's: its role may change it.
        if let Some(pr) = preview {
            tags = tags.tags(tag(crate::model::PREVIEW_TAG, &pr.to_string()));
        }
        let tags = tags.build();
        let out = self
            .call("CreateKeyPair", false, || {
                self.client
                    .create_key_pair()
                    .key_name(name)
                    .key_type(KeyType::Ed25519)
                    .tag_specifications(tags.clone())
                    .send()
            })
            .await?;
        // The private key is dropped with `out`: nobody can log in with it.
        Ok((out.key_pair_id().unwrap_or_default().to_string(), expires))
    }

    async fn describe_lease(
        &self,
        name: &str,
    ) -> Result<Option<(Seen, BTreeMap<String, String>)>, Ec2Error> {
        let out = self
            .call("DescribeKeyPairs", false, || {
                self.client
                    .describe_key_pairs()
                    .filters(read_filter("key-name", [name]))
                    .send()
            })
            .await?;
        Ok(out.key_pairs().first().map(|k| {
            let tags = super::read::tag_map(k.tags());
            let seen = Seen::from_tags(k.key_pair_id().unwrap_or_default().to_string(), &tags);
            (seen, tags)
        }))
    }

    /// Deletes the lease key pair if it is still the one with `key_pair_id`
    /// (by name: moto ignores deletion by id; the check just before keeps
    /// the window to one round trip).
    async fn delete_lease(&self, name: &str, key_pair_id: &str) -> Result<(), Ec2Error> {
        match self.describe_lease(name).await? {
            Some((seen, _)) if seen.key_pair_id == key_pair_id => {}
            _ => return Ok(()),
        }
        self.delete_lease_by_name(name).await
    }

    async fn delete_lease_by_name(&self, name: &str) -> Result<(), Ec2Error> {
        match self
            .call("DeleteKeyPair", false, || {
                self.client.delete_key_pair().key_name(name).send()
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl Lease {
    /// Gives the lease back: one `DeleteKeyPair` while it is surely still
    /// this holder's (see [`sure_it_is_ours`]), else only after checking it
    /// is. A failure is logged and returned (the lease then expires by
    /// itself within [`TTL`]): the caller says so.
    pub async fn release(self) -> Result<(), NotReleased> {
        self.renew.abort();
        let sure = sure_it_is_ours(
            self.fresh.expires.load(Ordering::SeqCst),
            self.fresh.doubtful.load(Ordering::SeqCst),
            now_secs(),
        );
        let released = if sure {
            self.ec2.delete_lease_by_name(&self.name).await
        } else {
            self.ec2.delete_lease(&self.name, &self.key_pair_id).await
        };
        released.map_err(|e| {
            tracing::warn!(lease = %self.name, error = %e, "could not release the lease; it expires by itself");
            NotReleased {
                lease: self.name.clone(),
                error: e.to_string(),
                expires_in: TTL,
            }
        })
    }
}

/// A lease that could not be given back: it expires by itself.
#[derive(Debug)]
pub struct NotReleased {
    /// The lease's name.
    pub lease: String,
    /// Why EC2 did not delete it.
    pub error: String,
    /// Within how long it expires.
    pub expires_in: std::time::Duration,
}

async fn renew(ec2: Ec2, key_pair_id: String, fresh: Arc<Freshness>) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let now = now_secs();
        if !sure_it_is_ours(fresh.expires.load(Ordering::SeqCst), false, now) {
            // Renewals fell behind: from now on the lease is checked
            // before it is deleted.
            fresh.doubtful.store(true, Ordering::SeqCst);
        }
        let expires = now + TTL.as_secs();
        let r = ec2
            .call("CreateTags", false, || {
                ec2.client
                    .create_tags()
                    .resources(&key_pair_id)
                    .tags(tag(EXPIRES_TAG, &expires.to_string()))
                    .send()
            })
            .await;
        match r {
            Ok(_) => fresh.expires.store(expires, Ordering::SeqCst),
            Err(e) => tracing::warn!(error = %e, "could not renew the apply lease"),
        }
    }
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Holder {
        Holder {
            host: "runner-1".into(),
            pid: 100,
            run: "42/1".into(),
        }
    }

    fn seen(holder: Option<Holder>, expires: Option<u64>) -> Seen {
        Seen {
            key_pair_id: "key-1".into(),
            holder,
            expires,
        }
    }

    #[test]
    fn a_holder_deletes_its_lease_unseen_only_while_its_expiry_is_well_ahead() {
        let expiry = 1_000 + TTL.as_secs();
        // Just made or renewed: surely ours.
        assert!(sure_it_is_ours(expiry, false, 1_000));
        // 30 s before the margin: still.
        assert!(sure_it_is_ours(
            expiry,
            false,
            expiry - SURE_MARGIN.as_secs() - 30
        ));
        // Within the margin of its expiry, or past it: look first.
        assert!(!sure_it_is_ours(
            expiry,
            false,
            expiry - SURE_MARGIN.as_secs()
        ));
        assert!(!sure_it_is_ours(expiry, false, expiry + 5));
        // Renewals that once fell behind: always look first.
        assert!(!sure_it_is_ours(expiry, true, 1_000));
        // An unknown expiry (0) is never sure.
        assert!(!sure_it_is_ours(0, false, 1_000));
    }

    #[test]
    fn holder_round_trips_through_its_tag() {
        let h = me();
        assert_eq!(h.tag_value(), "host=runner-1;pid=100;run=42/1");
        assert_eq!(Holder::parse(&h.tag_value()), Some(h));
        assert_eq!(Holder::parse("host=x;run=1"), None);
    }

    #[test]
    fn a_lease_is_stale_when_expired_or_its_local_holder_is_gone() {
        let other_host = Holder {
            host: "runner-2".into(),
            pid: 7,
            run: "41/1".into(),
        };
        let same_host_dead = Holder { pid: 7, ..me() };
        let dead = |_| false;
        let alive = |_| true;
        // Expired: stale whoever held it.
        assert!(is_stale(
            &seen(Some(other_host.clone()), Some(99)),
            100,
            &me(),
            alive
        ));
        // Live elsewhere: only time tells.
        assert!(!is_stale(
            &seen(Some(other_host), Some(200)),
            100,
            &me(),
            dead
        ));
        // Same host, process gone: stale at once; still running: not.
        assert!(is_stale(
            &seen(Some(same_host_dead.clone()), Some(200)),
            100,
            &me(),
            dead
        ));
        assert!(!is_stale(
            &seen(Some(same_host_dead), Some(200)),
            100,
            &me(),
            alive
        ));
        // Without our expiry tag it is not ours to take.
        assert!(!is_stale(&seen(None, None), u64::MAX, &me(), dead));
    }
}

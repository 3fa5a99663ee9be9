//! Preview stacks: which `<stack>-pr*` stacks have something in EC2, and
//! keeping another preview's resources out of a stack's state.

use super::*;

impl Ec2 {
    /// The preview stacks of `stack` that have something in EC2 (instances
    /// or security groups tagged `<stack>-pr*`), each with the launch time
    /// of its oldest instance (seconds since the epoch). Two paged calls.
    pub async fn preview_stacks(
        &self,
        stack: &str,
    ) -> Result<BTreeMap<String, Option<u64>>, Ec2Error> {
        let pattern = format!("{stack}-pr*");
        let f = [filter(
            &format!("tag:{}", model::STACK_TAG),
            [pattern.as_str()],
        )];
        let of = |tags: &[Tag]| {
            tags.iter()
                .find(|t| t.key() == Some(model::STACK_TAG))
                .and_then(|t| t.value())
                .map(str::to_string)
        };
        let (instances, groups) = tokio::try_join!(
            trace::branch(self.pages(
                "DescribeInstances",
                |token| {
                    self.client
                        .describe_instances()
                        .set_filters(Some(f.to_vec()))
                        .max_results(1000)
                        .set_next_token(token)
                        .send()
                },
                |p| p.next_token(),
            )),
            trace::branch(self.pages(
                "DescribeSecurityGroups",
                |token| {
                    self.client
                        .describe_security_groups()
                        .set_filters(Some(f.to_vec()))
                        .max_results(1000)
                        .set_next_token(token)
                        .send()
                },
                |p| p.next_token(),
            )),
        )?;
        let mut out: BTreeMap<String, Option<u64>> = BTreeMap::new();
        for i in instances
            .iter()
            .flat_map(|p| p.reservations())
            .flat_map(|r| r.instances())
        {
            let gone = matches!(
                i.state().and_then(|s| s.name()).map(|s| s.as_str()),
                Some("terminated" | "shutting-down")
            );
            let Some(name) = of(i.tags()).filter(|_| !gone) else {
                continue;
            };
            let launched = i.launch_time().map(|t| t.secs().max(0) as u64);
            let oldest = out.entry(name).or_insert(None);
            *oldest = match (*oldest, launched) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        for g in groups.iter().flat_map(|p| p.security_groups()) {
            if let Some(name) = of(g.tags()) {
                out.entry(name).or_insert(None);
            }
        }
        Ok(out)
    }
}

/// Takes out of `live` what carries a preview's tag that is not `preview`'s
/// (for a stack that is not a preview: any preview's), as unclaimed.
pub(super) fn not_this_previews(live: &mut Live, preview: Option<u64>) -> Vec<Unclaimed> {
    let expected = preview.map(|pr| pr.to_string());
    // A preview made before previews were tagged has no tag: still its own.
    let foreign = |tags: &BTreeMap<String, String>| match (tags.get(model::PREVIEW_TAG), &expected)
    {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(v), Some(e)) => v != e,
    };
    let mut out = Vec::new();
    let mut drop = |kind: Kind, id: &str, tags: &BTreeMap<String, String>| {
        let f = foreign(tags);
        if f {
            out.push(Unclaimed {
                kind,
                id: id.to_string(),
                problem: NameTagProblem::OfAPreview,
            });
        }
        !f
    };
    live.key_pairs
        .retain(|k| drop(Kind::KeyPair, &k.id, &k.tags));
    live.security_groups
        .retain(|g| drop(Kind::SecurityGroup, &g.id, &g.tags));
    live.instances
        .retain(|i| drop(Kind::Instance, &i.id, &i.tags));
    live.volumes.retain(|v| drop(Kind::Volume, &v.id, &v.tags));
    live.addresses
        .retain(|a| drop(Kind::ElasticIp, &a.allocation_id, &a.tags));
    out
}

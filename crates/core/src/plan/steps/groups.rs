//! Security groups and their rules.

use super::*;

impl Builder<'_> {
    /// Security groups: created all before any rule (rules may reference
    /// any group).
    pub(super) fn groups(&mut self, plan: &Plan) {
        let inputs = self.inputs;
        let desired = inputs.desired;
        let stack = desired.stack.as_str();
        for c in by_kind(plan, Kind::SecurityGroup).filter(|c| is_creation(c)) {
            let spec = &desired.security_groups[&c.resource.name];
            let vpc = spec
                .vpc
                .clone()
                .or_else(|| inputs.region.default_vpc.clone())
                .unwrap_or_default();
            let op = Op::CreateGroup {
                group_name: group_name(stack, &c.resource.name, &spec.description, &vpc),
                description: spec.description.clone(),
                vpc_id: vpc,
                tags: self.tags(&c.resource),
            };
            let s = self.add(c.resource.clone(), op, vec![], false);
            self.created.insert(c.resource.clone(), s);
        }
    }

    /// The rule changes of each group: the step that sets them, and
    /// whether it takes any rule away, by group.
    pub(super) fn rules(&mut self, plan: &Plan) -> BTreeMap<String, (usize, bool)> {
        let inputs = self.inputs;
        let desired = inputs.desired;
        let live = inputs.live;
        let kept = kept_groups(inputs);
        let mut rule_steps: BTreeMap<String, (usize, bool)> = BTreeMap::new();
        for c in by_kind(plan, Kind::SecurityGroup).filter(|c| c.action != Action::Destroy) {
            let name = &c.resource.name;
            let spec = &desired.security_groups[name];
            let (live_in, live_out, live_descriptions) = if is_creation(c) {
                let none = model::RuleDescriptions::default();
                (vec![], crate::plan::diff::default_egress(), none)
            } else {
                let g = live
                    .security_groups
                    .iter()
                    .find(|g| Some(&g.id) == c.live_id.as_ref())
                    .expect("updated group is live");
                let named =
                    |rs: &[Rule]| rs.iter().map(|r| name_peer(r, &kept)).collect::<Vec<_>>();
                (
                    named(&g.ingress),
                    named(&g.egress),
                    crate::plan::diff::named_descriptions(&g.descriptions, &kept),
                )
            };
            let mut needs = vec![];
            let (group, s) = self.group_ref(name);
            needs.extend(s);
            type Described = BTreeMap<Rule, String>;
            // Rules to authorize (with their description), to revoke, and
            // kept rules whose description changes.
            let mut delta = |want: &[Rule],
                             have: &[Rule],
                             wanted: &Described,
                             had: &Described|
             -> (Vec<RuleRef>, Vec<RuleRef>, Vec<RuleRef>) {
                let want: BTreeSet<&Rule> = want.iter().collect();
                let have: BTreeSet<&Rule> = have.iter().collect();
                let to_ref = |r: &Rule, needs: &mut Vec<usize>| RuleRef {
                    rule: r.clone(),
                    group: match &r.peer {
                        Peer::Group(g) => {
                            let (gr, s) = self.group_ref(g);
                            needs.extend(s);
                            Some(gr)
                        }
                        Peer::GroupId(id) => Some(Ref::Existing(id.clone())),
                        _ => None,
                    },
                    description: wanted.get(r).cloned(),
                };
                let add = want
                    .difference(&have)
                    .map(|r| to_ref(r, &mut needs))
                    .collect();
                let remove = have
                    .difference(&want)
                    .map(|r| to_ref(r, &mut needs))
                    .collect();
                let describe = want
                    .intersection(&have)
                    .filter(|r| wanted.get(**r) != had.get(**r))
                    .map(|r| to_ref(r, &mut needs))
                    .collect();
                (add, remove, describe)
            };
            let (authorize_ingress, revoke_ingress, describe_ingress) = delta(
                &spec.ingress,
                &live_in,
                &spec.descriptions.ingress,
                &live_descriptions.ingress,
            );
            let (authorize_egress, revoke_egress, describe_egress) = delta(
                &desired_egress(spec),
                &live_out,
                &spec.descriptions.egress,
                &live_descriptions.egress,
            );
            if authorize_ingress.is_empty()
                && revoke_ingress.is_empty()
                && authorize_egress.is_empty()
                && revoke_egress.is_empty()
                && describe_ingress.is_empty()
                && describe_egress.is_empty()
            {
                continue;
            }
            let narrows = !revoke_ingress.is_empty() || !revoke_egress.is_empty();
            let op = Op::SetRules {
                group,
                authorize_ingress,
                revoke_ingress,
                authorize_egress,
                revoke_egress,
                describe_ingress,
                describe_egress,
            };
            let s = self.add(c.resource.clone(), op, needs, false);
            rule_steps.insert(name.clone(), (s, narrows));
        }
        rule_steps
    }
}

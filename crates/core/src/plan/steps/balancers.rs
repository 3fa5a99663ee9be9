//! Target groups and load balancers: created and changed, servers joining
//! and leaving (a leaving server is drained before it stops), rollout
//! batches taken out of rotation, listeners moved once their group holds
//! servers.

use super::*;
use crate::model::ListenerAction;
use crate::plan::diff::{
    balancer_name, balancer_subnets, is_registered, kept_target_groups, target_group_name,
    target_group_vpc,
};
use crate::plan::fronts::members;

impl Builder<'_> {
    /// A reference to target group `name`: made in this run, or live.
    pub(super) fn target_group_ref(&self, name: &str) -> (Ref, Option<usize>) {
        let live = kept_target_groups(self.inputs)
            .get(name)
            .map(|g| g.arn.clone());
        self.reference(&ResourceId::new(Kind::TargetGroup, name), live)
    }

    /// Target groups: created (the new one of a replacement too) and
    /// changed in place, needing nothing.
    pub(super) fn target_groups(&mut self, plan: &Plan) {
        let desired = self.inputs.desired;
        for c in by_kind(plan, Kind::TargetGroup).filter(|c| c.action != Action::Destroy) {
            let spec = &desired.target_groups[&c.resource.name];
            if is_creation(c) {
                let vpc = target_group_vpc(spec, self.inputs.region);
                let create = TargetGroupCreate {
                    group_name: target_group_name(&desired.stack, &c.resource.name, spec, &vpc),
                    port: spec.port,
                    protocol: spec.protocol,
                    vpc_id: vpc,
                    health_check: spec.health_check.clone(),
                    deregistration_delay: spec.deregistration_delay,
                    tags: self.tags(&c.resource),
                };
                let s = self.add(
                    c.resource.clone(),
                    Op::CreateTargetGroup(Box::new(create)),
                    vec![],
                    false,
                );
                self.created.insert(c.resource.clone(), s);
                continue;
            }
            let changed = |f: Field| c.fields.iter().any(|x| x.field == f);
            if !changed(Field::HealthCheck) && !changed(Field::DeregistrationDelay) {
                continue;
            }
            let op = Op::ModifyTargetGroup {
                arn: c.live_id.clone().expect("updated target group is live"),
                health_check: changed(Field::HealthCheck).then(|| spec.health_check.clone()),
                deregistration_delay: changed(Field::DeregistrationDelay)
                    .then_some(spec.deregistration_delay),
            };
            self.add(c.resource.clone(), op, vec![], false);
        }
    }

    /// A rollout batch of an entry in target groups, out of rotation: its
    /// restarted servers leave every group ELB has them in (one call per
    /// group, after the batch before is healthy) and are drained before
    /// they stop; once changed, the batch joins the entry's groups (one
    /// call per group). Returns the joins, which the batch's gate needs.
    /// `members` are the batch's launch and update steps, by name.
    pub(super) fn out_of_rotation(
        &mut self,
        members: &[(String, usize)],
        previous: Option<usize>,
        groups: &[String],
    ) -> Vec<usize> {
        let kept = kept_target_groups(self.inputs);
        let mut restarts: Vec<(String, String)> = vec![];
        let mut joining: Vec<(String, Ref)> = vec![];
        for (name, s) in members {
            match &self.steps[*s].op {
                Op::UpdateInstance { instance_id, .. } => {
                    restarts.push((name.clone(), instance_id.clone()));
                    joining.push((name.clone(), Ref::Existing(instance_id.clone())));
                }
                _ => joining.push((
                    name.clone(),
                    Ref::New(ResourceId::new(Kind::Instance, name.clone())),
                )),
            }
            self.rolled.insert(name.clone());
        }
        let mut outs = vec![];
        for g in kept.values() {
            let leaving: Vec<(String, String)> = restarts
                .iter()
                .filter(|(_, id)| g.targets.get(id).is_some_and(|s| is_registered(s)))
                .cloned()
                .collect();
            if leaving.is_empty() {
                continue;
            }
            outs.push(self.add(
                ResourceId::new(Kind::TargetGroup, &g.name),
                Op::DeregisterTargets {
                    group: g.arn.clone(),
                    instances: leaving,
                    drain_secs: g.deregistration_delay,
                },
                previous.into_iter().collect(),
                false,
            ));
        }
        for (_, s) in members {
            if matches!(self.steps[*s].op, Op::UpdateInstance { .. }) {
                self.steps[*s].needs.extend(outs.iter().copied());
            }
        }
        let mut joins = vec![];
        for g in groups {
            let (group, made) = self.target_group_ref(g);
            let mut needs: Vec<usize> = members.iter().map(|(_, s)| *s).collect();
            needs.extend(made);
            let s = self.add(
                ResourceId::new(Kind::TargetGroup, g),
                Op::RegisterTargets {
                    group,
                    instances: joining.clone(),
                },
                needs,
                false,
            );
            self.registrations.entry(g.clone()).or_default().push(s);
            joins.push(s);
        }
        joins
    }

    /// After a rollout batch's gate: the servers it replaced leave their
    /// groups and are drained, before they are stopped or terminated.
    pub(super) fn replaced_out_of_rotation(&mut self, gate: usize, old: &[(String, String)]) {
        self.leave(old, vec![gate]);
    }

    /// Servers (name, live id) leave every kept group ELB has them in: one
    /// `DeregisterTargets` per group, after `needs`; each server's stop or
    /// termination waits for it.
    pub(super) fn leave(&mut self, servers: &[(String, String)], needs: Vec<usize>) {
        let kept = kept_target_groups(self.inputs);
        for g in kept.values() {
            let leaving: Vec<(String, String)> = servers
                .iter()
                .filter(|(_, id)| g.targets.get(id).is_some_and(|s| is_registered(s)))
                .cloned()
                .collect();
            if leaving.is_empty() {
                continue;
            }
            let s = self.add(
                ResourceId::new(Kind::TargetGroup, &g.name),
                Op::DeregisterTargets {
                    group: g.arn.clone(),
                    instances: leaving.clone(),
                    drain_secs: g.deregistration_delay,
                },
                needs.clone(),
                false,
            );
            for (_, id) in leaving {
                self.before_termination.entry(id).or_default().push(s);
            }
        }
    }

    /// Servers outside rollouts joining and leaving groups: one
    /// `RegisterTargets` per group for every new server and every kept
    /// one not in it yet (after their launch), one `DeregisterTargets` per
    /// group for kept servers whose entry no longer names it. Servers that
    /// are terminated leave in `destroys`.
    pub(super) fn memberships(&mut self, plan: &Plan) {
        let inputs = self.inputs;
        let desired = inputs.desired;
        let kept_groups = kept_target_groups(inputs);
        let gone: BTreeSet<&str> = by_kind(plan, Kind::Instance)
            .filter(|c| matches!(c.action, Action::Destroy | Action::Replace))
            .filter_map(|c| c.live_id.as_deref())
            .collect();
        let kept_servers: BTreeMap<&str, &str> = (inputs.live.instances.iter())
            .filter(|i| !gone.contains(i.id.as_str()))
            .map(|i| (i.name.as_str(), i.id.as_str()))
            .collect();
        for name in desired.target_groups.keys() {
            let live = kept_groups.get(name);
            let wanted = members(desired, name);
            let mut joining = vec![];
            let mut needs = vec![];
            for server in &wanted {
                if self.rolled.contains(server) {
                    continue;
                }
                let id = ResourceId::new(Kind::Instance, server);
                if let Some(&s) = self.created.get(&id) {
                    joining.push((server.clone(), Ref::New(id)));
                    needs.push(s);
                    continue;
                }
                let Some(&live_id) = kept_servers.get(server.as_str()) else {
                    continue;
                };
                let registered =
                    live.is_some_and(|g| g.targets.get(live_id).is_some_and(|s| is_registered(s)));
                if !registered {
                    joining.push((server.clone(), Ref::Existing(live_id.to_string())));
                    // A stopped server is started first.
                    needs.extend(self.instance_steps.get(server).copied());
                }
            }
            if !joining.is_empty() {
                let (group, made) = self.target_group_ref(name);
                needs.extend(made);
                let s = self.add(
                    ResourceId::new(Kind::TargetGroup, name),
                    Op::RegisterTargets {
                        group,
                        instances: joining,
                    },
                    needs,
                    false,
                );
                self.registrations.entry(name.clone()).or_default().push(s);
            }
            let Some(g) = live else {
                continue;
            };
            let leaving: Vec<(String, String)> = (kept_servers.iter())
                .filter(|(server, _)| !wanted.iter().any(|w| w == *server))
                .filter(|(_, id)| g.targets.get(**id).is_some_and(|s| is_registered(s)))
                .map(|(server, id)| (server.to_string(), id.to_string()))
                .collect();
            if !leaving.is_empty() {
                self.add(
                    ResourceId::new(Kind::TargetGroup, name),
                    Op::DeregisterTargets {
                        group: g.arn.clone(),
                        instances: leaving,
                        drain_secs: g.deregistration_delay,
                    },
                    vec![],
                    false,
                );
            }
        }
    }

    /// Load balancers: created (after their security groups), changed in
    /// place, and their listeners set once the groups they forward to hold
    /// their servers.
    pub(super) fn load_balancers(&mut self, plan: &Plan) {
        let inputs = self.inputs;
        let desired = inputs.desired;
        for c in by_kind(plan, Kind::LoadBalancer).filter(|c| c.action != Action::Destroy) {
            let spec = &desired.load_balancers[&c.resource.name];
            let changed = |f: Field| c.fields.iter().any(|x| x.field == f);
            let mut needs = vec![];
            let groups: Vec<Ref> = spec
                .security_groups
                .iter()
                .map(|g| {
                    let (r, s) = self.group_ref(g);
                    needs.extend(s);
                    r
                })
                .collect();
            let subnets = balancer_subnets(spec, inputs.region);
            let balancer = if is_creation(c) {
                let create = BalancerCreate {
                    balancer_name: balancer_name(&desired.stack, &c.resource.name, spec),
                    scheme: spec.scheme,
                    subnets,
                    groups,
                    tags: self.tags(&c.resource),
                };
                let s = self.add(
                    c.resource.clone(),
                    Op::CreateLoadBalancer(Box::new(create)),
                    needs,
                    false,
                );
                self.created.insert(c.resource.clone(), s);
                (Ref::New(c.resource.clone()), Some(s))
            } else {
                let arn = c.live_id.clone().expect("updated load balancer is live");
                let mut made = None;
                if changed(Field::Subnets) || changed(Field::SecurityGroups) {
                    let op = Op::ModifyLoadBalancer {
                        arn: arn.clone(),
                        subnets: changed(Field::Subnets).then_some(subnets),
                        groups: changed(Field::SecurityGroups).then_some(groups),
                    };
                    made = Some(self.add(c.resource.clone(), op, needs, false));
                }
                (Ref::Existing(arn), made)
            };
            if is_creation(c) || changed(Field::Listeners) {
                self.listeners(c, balancer);
            }
        }
    }

    /// One step that creates, changes and deletes the listeners of the
    /// load balancer of `c` (by port), after the groups they forward to
    /// are made and filled.
    fn listeners(&mut self, c: &Change, (balancer, made): (Ref, Option<usize>)) {
        let inputs = self.inputs;
        let spec = &inputs.desired.load_balancers[&c.resource.name];
        let live = (inputs.live.load_balancers.iter())
            .find(|b| Some(&b.arn) == c.live_id.as_ref())
            .filter(|_| !is_creation(c));
        let mut needs: Vec<usize> = made.into_iter().collect();
        let (mut create, mut modify, mut delete) = (vec![], vec![], vec![]);
        for (port, l) in &spec.listeners {
            let forward = match &l.action {
                ListenerAction::Forward(tg) => {
                    let (r, s) = self.target_group_ref(tg);
                    needs.extend(s);
                    needs.extend(self.registrations.get(tg).into_iter().flatten());
                    Some(r)
                }
                ListenerAction::RedirectHttps(_) => None,
            };
            let moved = matches!(forward, Some(Ref::New(_)));
            let op = ListenerOp {
                port: *port,
                protocol: l.protocol,
                certificate: l.certificate.clone(),
                forward,
                redirect_https: match l.action {
                    ListenerAction::RedirectHttps(p) => Some(p),
                    ListenerAction::Forward(_) => None,
                },
            };
            match live.and_then(|b| b.listeners.get(port)) {
                None => create.push(op),
                Some(have) if moved || have.spec.as_ref() != Some(l) => {
                    modify.push((have.arn.clone(), op));
                }
                Some(_) => {}
            }
        }
        for (port, have) in live.map(|b| &b.listeners).into_iter().flatten() {
            if !spec.listeners.contains_key(port) {
                delete.push(have.arn.clone());
            }
        }
        if create.is_empty() && modify.is_empty() && delete.is_empty() {
            return;
        }
        let s = self.add(
            c.resource.clone(),
            Op::SetListeners {
                balancer,
                create,
                modify,
                delete,
            },
            needs,
            false,
        );
        self.listener_steps.push(s);
    }

    /// Destructions of load balancers and target groups (after every
    /// creation: a replaced group's listeners have moved by then). A load
    /// balancer goes before its groups; returns its deletions, which the
    /// security groups' deletions wait for.
    pub(super) fn balancer_destroys(
        &mut self,
        plan: &Plan,
        after_creations: &[usize],
    ) -> Vec<usize> {
        let destroyed = |c: &&Change| matches!(c.action, Action::Destroy | Action::Replace);
        let mut balancers = vec![];
        for c in by_kind(plan, Kind::LoadBalancer).filter(destroyed) {
            let arn = c.live_id.clone().expect("destroyed load balancer is live");
            balancers.push(self.add(
                c.resource.clone(),
                Op::DeleteLoadBalancer { arn },
                after_creations.to_vec(),
                true,
            ));
        }
        for c in by_kind(plan, Kind::TargetGroup).filter(destroyed) {
            let arn = c.live_id.clone().expect("destroyed target group is live");
            let mut needs = after_creations.to_vec();
            needs.extend(balancers.iter().copied());
            self.add(
                c.resource.clone(),
                Op::DeleteTargetGroup { arn },
                needs,
                true,
            );
        }
        balancers
    }
}

//! Launching instances: one alone, tagged with its name at creation; or a
//! batch of an entry's members by ONE `RunInstances` (`MinCount = MaxCount`),
//! tagged with the stack and the batch's launch tag at creation and each
//! named from its `AmiLaunchIndex` right after. A rerun after a run stopped
//! between the two adopts the batch's instances (the plan's read under the
//! lease lists them by launch tag and index) instead of launching them again.

use aws_sdk_ec2::types::Instance;

use super::updates::internal;
use super::*;
use crate::model::Launched;
use crate::plan::launch_tag::LaunchTag;

/// What one `RunInstances` sends besides the shared launch parameters.
struct Request<'r> {
    count: usize,
    client_token: &'r str,
    instance_tags: BTreeMap<String, String>,
    volume_tags: BTreeMap<String, String>,
}

impl<'a> Run<'a> {
    /// Launches one instance, tagged with its name at creation. Not waited
    /// for here: every launch of the run is waited for at the end with one
    /// poll, and dependants wait through `ensure_running`.
    pub(super) async fn run_instance(
        &self,
        step: &Step,
        launch: &Launch,
    ) -> Result<String, Ec2Error> {
        let mut volume_tags = model::identity_tags(
            &self.stack,
            &ResourceId::new(model::Kind::Volume, format!("{}/root", step.resource.name)),
        );
        owned_like(&mut volume_tags, launch);
        let request = Request {
            count: 1,
            client_token: &launch.client_token,
            instance_tags: launch.tags.clone(),
            volume_tags,
        };
        let instances = self.run_instances(launch, &request).await?;
        let instance_id = instances
            .first()
            .and_then(|i| i.instance_id())
            .unwrap_or_default()
            .to_string();
        self.record(&step.resource, &instance_id);
        Ok(format!("launched {instance_id} ({})", launch.instance_type))
    }

    /// Launches a batch of an entry's members with one `RunInstances` and
    /// names each from its launch index; one result per step. A member an
    /// earlier run launched is adopted and named.
    pub(super) fn launch_batch(
        &'a self,
        mut steps: Vec<Step>,
        after: trace::Frontier,
    ) -> StepFuture<'a> {
        steps.sort_by_key(|s| s.batch.as_ref().map_or(0, |b| b.index));
        let purpose = format!("launch of a batch of {} instance(s)", steps.len());
        Box::pin(trace::path(purpose, after, async move {
            let start = Instant::now();
            for s in &steps {
                self.progress.started(s);
            }
            let outcomes = Box::pin(self.launch_members(&steps)).await;
            let elapsed = start.elapsed();
            steps
                .into_iter()
                .zip(outcomes)
                .map(|(step, outcome)| StepResult {
                    step,
                    outcome: match outcome {
                        Ok(text) => Outcome::Done(text),
                        Err(e) => Outcome::Failed(e),
                    },
                    elapsed,
                    kept: None,
                })
                .collect()
        }))
    }

    /// Adopts what an earlier run launched for the batch's members, launches
    /// the rest, and names them all: each member's outcome, in order.
    async fn launch_members(&self, steps: &[Step]) -> Vec<Result<String, Ec2Error>> {
        let batch = steps[0].batch.clone().expect("a launch batch");
        let launch = launch_of(&steps[0]);
        let Some(tag) = LaunchTag::parse(&batch.key) else {
            let e = internal(format!("launch batch {} has no launch tag", batch.key));
            return steps.iter().map(|_| Err(e.clone())).collect();
        };
        // Each member's instance (and how it came), or why it has none.
        let mut got: Vec<Option<Result<(String, String), Ec2Error>>> = steps
            .iter()
            .map(|s| {
                let earlier = self.orphan(&tag.hash, &s.resource.name)?;
                Some(Ok((
                    earlier.id.clone(),
                    format!(
                        "adopted {} (launched by an earlier run that stopped before naming it)",
                        earlier.id
                    ),
                )))
            })
            .collect();
        let rest: Vec<usize> = (0..steps.len()).filter(|&k| got[k].is_none()).collect();
        if !rest.is_empty() {
            // The batch as planned keeps its token and tag (a rerun's launch
            // is the same request); what is left of it gets its own.
            let (token, rest_tag) = if rest.len() == batch.size {
                (
                    batch.client_token.clone().unwrap_or_default(),
                    batch.key.clone(),
                )
            } else {
                let names: Vec<&str> = rest
                    .iter()
                    .map(|&k| steps[k].resource.name.as_str())
                    .collect();
                let mut parts = vec![
                    "part of launch batch",
                    batch.client_token.as_deref().unwrap_or_default(),
                ];
                parts.extend(&names);
                let part = LaunchTag {
                    indexes: rest
                        .iter()
                        .filter_map(|&k| tag.indexes.get(steps[k].batch.as_ref()?.index).copied())
                        .collect(),
                    ..tag.clone()
                };
                (crate::plan::steps::client_token(&parts), part.render())
            };
            // One instance is named at creation: no name call.
            let named_at_launch = (rest.len() == 1).then(|| &steps[rest[0]].resource.name);
            match self
                .launch_rest(launch, &token, &rest_tag, rest.len(), named_at_launch)
                .await
            {
                Ok(by_index) => {
                    for (i, &k) in rest.iter().enumerate() {
                        got[k] = Some(match by_index.get(&i) {
                            Some(id) if rest.len() == 1 => Ok((
                                id.clone(),
                                format!("launched {id} ({})", launch.instance_type),
                            )),
                            Some(id) => Ok((
                                id.clone(),
                                format!(
                                    "launched {id} ({}) in a batch of {}",
                                    launch.instance_type,
                                    rest.len()
                                ),
                            )),
                            None => Err(Ec2Error {
                                action: "RunInstances",
                                code: "MissingInstance".into(),
                                message: format!(
                                    "EC2's answer to the launch of {} instances has none at launch index {i}; applying again launches it",
                                    rest.len()
                                ),
                            }),
                        });
                    }
                }
                // All or nothing (`MinCount = MaxCount`): each member says so.
                Err(e) => {
                    for &k in &rest {
                        got[k] = Some(Err(e.clone()));
                    }
                }
            }
        }
        let alone = rest.len() == 1;
        let named = steps.iter().zip(got).enumerate().map(|(k, (step, got))| {
            let named_at_launch = alone && rest[0] == k;
            async move {
                let (id, text) = got.expect("every member has an outcome")?;
                self.record(&step.resource, &id);
                if named_at_launch {
                    return Ok(text);
                }
                self.name_instance(step, &id).await?;
                Ok(format!("{text}, named {}", step.resource.name))
            }
        });
        // Named side by side: each is its own line of work.
        futures_util::future::join_all(named.map(trace::branch)).await
    }

    /// The instance an earlier run launched for `name` with the launch
    /// parameters hashed `hash`, and never named.
    fn orphan(&self, hash: &str, name: &str) -> Option<&Launched> {
        self.orphans.get(&(hash.to_string(), name.to_string()))
    }

    /// One `RunInstances` of `count` instances of the batch's launch, tagged
    /// with `tag` (and, for one instance, `named`: its name from the start):
    /// their ids by launch index.
    async fn launch_rest(
        &self,
        launch: &Launch,
        token: &str,
        tag: &str,
        count: usize,
        named: Option<&String>,
    ) -> Result<BTreeMap<usize, String>, Ec2Error> {
        let mut instance_tags = launch.tags.clone();
        let mut volume_tags = match named {
            Some(name) => model::identity_tags(
                &self.stack,
                &ResourceId::new(model::Kind::Volume, format!("{name}/root")),
            ),
            None => {
                instance_tags.remove(model::NAME_TAG);
                instance_tags.remove("Name");
                BTreeMap::from([(model::STACK_TAG.to_string(), self.stack.clone())])
            }
        };
        instance_tags.insert(model::LAUNCH_TAG.into(), tag.into());
        volume_tags.insert(model::LAUNCH_TAG.into(), tag.into());
        owned_like(&mut volume_tags, launch);
        let request = Request {
            count,
            client_token: token,
            instance_tags,
            volume_tags,
        };
        let instances = self.run_instances(launch, &request).await?;
        Ok(instances
            .iter()
            .filter_map(|i| {
                let index = usize::try_from(i.ami_launch_index()?).ok()?;
                Some((index, i.instance_id()?.to_string()))
            })
            .collect())
    }

    /// Gives a batch member its name tags (one `CreateTags`; a new instance
    /// may not be visible to it yet, so `NotFound` is retried).
    async fn name_instance(&self, step: &Step, id: &str) -> Result<(), Ec2Error> {
        let launch = launch_of(step);
        let names: BTreeMap<String, String> = launch
            .tags
            .iter()
            .filter(|(k, _)| *k == model::NAME_TAG || *k == "Name")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.set_tags(id, &names).await.map_err(|e| Ec2Error {
            message: format!(
                "launched {id} but could not name it ({}); applying again names it",
                e.message
            ),
            ..e
        })
    }

    /// Sends one `RunInstances` (`MinCount = MaxCount = count`) and notes
    /// the zone of each instance it launched.
    async fn run_instances(
        &self,
        launch: &Launch,
        request: &Request<'_>,
    ) -> Result<Vec<Instance>, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let groups: Vec<String> = launch
            .groups
            .iter()
            .map(|g| self.resolve(g))
            .collect::<Result<_, _>>()?;
        let user_data = launch
            .user_data
            .as_ref()
            .map(|u| base64::engine::general_purpose::STANDARD.encode(u));
        let count = i32::try_from(request.count).unwrap_or(i32::MAX);
        let out = ec2
            .call(
                Call::instances("RunInstances", request.count),
                false,
                || {
                    let mut req = c
                        .run_instances()
                        .image_id(&launch.image)
                        .instance_type(InstanceType::from(launch.instance_type.as_str()))
                        .min_count(count)
                        .max_count(count)
                        .client_token(request.client_token)
                        .set_subnet_id(launch.subnet.clone())
                        .set_security_group_ids(Some(groups.clone()))
                        .set_key_name(launch.key_name.clone())
                        .set_user_data(user_data.clone())
                        .disable_api_termination(launch.protect)
                        .metadata_options(super::server::launch_metadata(&launch.metadata))
                        .set_iam_instance_profile(
                            launch
                                .instance_profile
                                .as_deref()
                                .map(super::server::launch_profile),
                        )
                        .tag_specifications(tag_spec(
                            ResourceType::Instance,
                            &request.instance_tags,
                        ))
                        .tag_specifications(tag_spec(ResourceType::Volume, &request.volume_tags));
                    if let Some((device, rv)) = &launch.root_volume {
                        req = req.block_device_mappings(super::disks::root_mapping(device, rv));
                    }
                    req.send()
                },
            )
            .await?;
        let instances = out.instances().to_vec();
        let mut zones = self.zones.lock().expect("zones lock");
        for i in &instances {
            if let (Some(id), Some(z)) = (
                i.instance_id(),
                i.placement().and_then(|p| p.availability_zone()),
            ) {
                zones.insert(id.to_string(), z.to_string());
            }
        }
        Ok(instances)
    }
}

/// The unnamed instances of earlier batch launches by (hash of their launch
/// parameters, the name their launch tag and index give them). Only those
/// still starting or running can be adopted; of two for one name (two runs
/// that could not see each other's), the first the read lists.
pub(super) fn orphans(launched: &[Launched]) -> HashMap<(String, String), Launched> {
    let mut out = HashMap::new();
    for l in launched {
        if !matches!(l.state.as_str(), "pending" | "running") {
            continue;
        }
        let Some(tag) = LaunchTag::parse(&l.launch) else {
            continue;
        };
        if let Some(name) = tag.name_at(l.index) {
            out.entry((tag.hash, name)).or_insert_with(|| l.clone());
        }
    }
    out
}

/// Gives a root volume what its instance carries of the stack's own tags
/// (protection, a preview's tag) and its user tags (the stack's `tags:`
/// and the instance's).
fn owned_like(volume_tags: &mut BTreeMap<String, String>, launch: &Launch) {
    for key in [model::PROTECT_TAG, model::PREVIEW_TAG] {
        if let Some(v) = launch.tags.get(key) {
            volume_tags.insert(key.to_string(), v.clone());
        }
    }
    for (k, v) in &launch.tags {
        let ours = k == "Name" || k.starts_with("ec2-gitops:") || k.starts_with("aws:");
        if !ours {
            volume_tags.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

/// The launch of a launch step.
fn launch_of(step: &Step) -> &Launch {
    match &step.op {
        Op::RunInstance(launch) => launch,
        _ => unreachable!("a launch batch holds launches"),
    }
}

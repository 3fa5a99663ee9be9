//! Which step of an apply may start, and which is skipped.
//!
//! Pure: the executor asks [`Schedule::take_ready`] for work, runs it, and tells
//! [`Schedule::settle`] how it went. A step starts once every step it needs
//! has succeeded; it is skipped (and counts as not succeeded, so what needs
//! it is skipped too) once they have all settled and one of them did not.
//! Every step and every dependency is handled once: the cost is linear in
//! the number of steps and edges, whatever the stack's size (times the log
//! of the ready set).
//!
//! Of the steps ready together, launches are handed out first: they take
//! longest (an instance boots), and most of what follows waits for them.

use std::collections::{BTreeSet, HashMap};

use super::steps::{Op, Step};

/// What the executor does next with a step (by its position in the list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// Run it.
    Start(usize),
    /// Do not run it: the steps at `failed` (positions) did not succeed.
    Skip {
        /// The step.
        position: usize,
        /// Needs that did not succeed, in order.
        failed: Vec<usize>,
    },
}

/// Launches go first among ready steps (0), the rest after (1).
fn rank(op: &Op) -> u8 {
    match op {
        Op::RunInstance(_) => 0,
        _ => 1,
    }
}

/// The state of an apply's steps.
#[derive(Debug)]
pub struct Schedule {
    /// Needs of each step not settled yet.
    waiting_on: Vec<usize>,
    /// Needs of each step that did not succeed.
    failed_needs: Vec<Vec<usize>>,
    /// Steps that need each step.
    dependents: Vec<Vec<usize>>,
    /// Steps whose needs are all settled, by (rank, position): launches
    /// first, then the lowest position.
    ready: BTreeSet<(u8, usize)>,
    /// Each step's rank.
    rank: Vec<u8>,
    /// Steps settled.
    settled: Vec<bool>,
    settled_count: usize,
}

impl Schedule {
    /// The schedule of `steps`; a need names a step by its `index`, and a
    /// need that names no step is ignored.
    pub fn new(steps: &[Step]) -> Self {
        let position: HashMap<usize, usize> = steps
            .iter()
            .enumerate()
            .map(|(p, s)| (s.index, p))
            .collect();
        let mut waiting_on = vec![0; steps.len()];
        let mut dependents = vec![Vec::new(); steps.len()];
        for (p, step) in steps.iter().enumerate() {
            let mut needs: Vec<usize> = step
                .needs
                .iter()
                .filter_map(|n| position.get(n).copied())
                .filter(|&n| n != p)
                .collect();
            needs.sort_unstable();
            needs.dedup();
            waiting_on[p] = needs.len();
            for n in needs {
                dependents[n].push(p);
            }
        }
        let rank: Vec<u8> = steps.iter().map(|s| rank(&s.op)).collect();
        let ready = (0..steps.len())
            .filter(|&p| waiting_on[p] == 0)
            .map(|p| (rank[p], p))
            .collect();
        Self {
            waiting_on,
            failed_needs: vec![Vec::new(); steps.len()],
            dependents,
            ready,
            rank,
            settled: vec![false; steps.len()],
            settled_count: 0,
        }
    }

    /// The next step whose needs are all settled, not handed out before: a
    /// launch if there is one, else the lowest. `None` while every such step
    /// has been handed out.
    pub fn take_ready(&mut self) -> Option<Ready> {
        let (_, p) = self.ready.pop_first()?;
        Some(if self.failed_needs[p].is_empty() {
            Ready::Start(p)
        } else {
            let mut failed = std::mem::take(&mut self.failed_needs[p]);
            failed.sort_unstable();
            Ready::Skip {
                position: p,
                failed,
            }
        })
    }

    /// Records that the step at `position` ended (a skipped step did not
    /// succeed). Settling a step twice changes nothing.
    pub fn settle(&mut self, position: usize, succeeded: bool) {
        if std::mem::replace(&mut self.settled[position], true) {
            return;
        }
        self.settled_count += 1;
        for i in 0..self.dependents[position].len() {
            let d = self.dependents[position][i];
            if !succeeded {
                self.failed_needs[d].push(position);
            }
            self.waiting_on[d] -= 1;
            if self.waiting_on[d] == 0 {
                self.ready.insert((self.rank[d], d));
            }
        }
    }

    /// Every step has settled.
    pub fn is_finished(&self) -> bool {
        self.settled_count == self.settled.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, ResourceId};
    use crate::plan::steps::Op;

    fn step(index: usize, needs: &[usize]) -> Step {
        Step {
            index,
            resource: ResourceId::new(Kind::Instance, format!("s{index}")),
            op: Op::TerminateInstance {
                instance_id: format!("i-{index}"),
            },
            needs: needs.to_vec(),
            destroys: true,
            batch: None,
        }
    }

    /// Runs the schedule, failing the steps in `fail`; returns what was
    /// started and what was skipped (with the failed needs), in order.
    fn run(steps: &[Step], fail: &[usize]) -> (Vec<usize>, Vec<(usize, Vec<usize>)>) {
        let mut s = Schedule::new(steps);
        let (mut started, mut skipped) = (Vec::new(), Vec::new());
        while let Some(r) = s.take_ready() {
            match r {
                Ready::Start(p) => {
                    started.push(p);
                    s.settle(p, !fail.contains(&p));
                }
                Ready::Skip { position, failed } => {
                    skipped.push((position, failed));
                    s.settle(position, false);
                }
            }
        }
        assert!(s.is_finished(), "every step settles");
        (started, skipped)
    }

    #[test]
    fn independent_steps_are_all_ready_lowest_first() {
        let steps: Vec<Step> = (0..4).map(|i| step(i, &[])).collect();
        let mut s = Schedule::new(&steps);
        let firsts: Vec<Ready> = std::iter::from_fn(|| s.take_ready()).collect();
        assert_eq!(firsts, (0..4).map(Ready::Start).collect::<Vec<_>>());
        assert!(!s.is_finished(), "handed out is not settled");
    }

    #[test]
    fn launches_ready_together_with_other_steps_go_first() {
        let launch = |index: usize, needs: &[usize]| Step {
            op: Op::RunInstance(Box::new(crate::plan::steps::Launch {
                image: "ami-1".into(),
                instance_type: "t3.micro".into(),
                subnet: None,
                groups: vec![],
                key_name: None,
                user_data: None,
                root_volume: None,
                instance_profile: None,
                metadata: Default::default(),
                tags: Default::default(),
                protect: false,
                client_token: format!("token-{index}"),
            })),
            ..step(index, needs)
        };
        // 0 and 1 need nothing; 2 (a rule) and 3 (a launch) need 0.
        let steps = vec![step(0, &[]), launch(1, &[]), step(2, &[0]), launch(3, &[0])];
        let (started, _) = run(&steps, &[]);
        assert_eq!(started, vec![1, 0, 3, 2]);
    }

    #[test]
    fn a_step_waits_for_every_need() {
        let steps = vec![step(0, &[]), step(1, &[]), step(2, &[0, 1])];
        let mut s = Schedule::new(&steps);
        assert_eq!(s.take_ready(), Some(Ready::Start(0)));
        assert_eq!(s.take_ready(), Some(Ready::Start(1)));
        assert_eq!(s.take_ready(), None);
        s.settle(0, true);
        assert_eq!(s.take_ready(), None, "1 is still running");
        s.settle(1, true);
        assert_eq!(s.take_ready(), Some(Ready::Start(2)));
        s.settle(2, true);
        assert!(s.is_finished());
    }

    #[test]
    fn a_failure_skips_what_needs_it_transitively_and_nothing_else() {
        // 0 fails; 1 needs 0; 2 needs 1; 3 needs nothing; 4 needs 3.
        let steps = vec![
            step(0, &[]),
            step(1, &[0]),
            step(2, &[1]),
            step(3, &[]),
            step(4, &[3]),
        ];
        let (started, skipped) = run(&steps, &[0]);
        assert_eq!(started, vec![0, 3, 4]);
        assert_eq!(skipped, vec![(1, vec![0]), (2, vec![1])]);
    }

    #[test]
    fn a_skip_names_every_need_that_did_not_succeed() {
        let steps = vec![
            step(0, &[]),
            step(1, &[]),
            step(2, &[]),
            step(3, &[2, 0, 1]),
        ];
        let (_, skipped) = run(&steps, &[0, 2]);
        assert_eq!(skipped, vec![(3, vec![0, 2])]);
    }

    #[test]
    fn needs_name_steps_by_index_and_unknown_or_repeated_needs_are_ignored() {
        let steps = vec![step(10, &[]), step(20, &[10, 10, 99, 20])];
        let (started, skipped) = run(&steps, &[]);
        assert_eq!(started, vec![0, 1]);
        assert!(skipped.is_empty());
    }

    #[test]
    fn settling_twice_counts_once() {
        let steps = vec![step(0, &[]), step(1, &[0])];
        let mut s = Schedule::new(&steps);
        assert_eq!(s.take_ready(), Some(Ready::Start(0)));
        s.settle(0, true);
        s.settle(0, false);
        assert_eq!(
            s.take_ready(),
            Some(Ready::Start(1)),
            "the first settle counts"
        );
        assert!(!s.is_finished());
    }

    #[test]
    fn a_long_chain_and_a_wide_fan_settle_in_linear_work() {
        // 20,000 steps in a chain, then 20,000 that all need its end: each
        // edge is looked at once (rescanning every step after each one would
        // be quadratic here).
        let n = 20_000;
        let mut steps: Vec<Step> = (0..n)
            .map(|i| step(i, &i.checked_sub(1).into_iter().collect::<Vec<_>>()))
            .collect();
        steps.extend((n..2 * n).map(|i| step(i, &[n - 1])));
        let (started, skipped) = run(&steps, &[]);
        assert_eq!(started.len(), 2 * n);
        assert!(skipped.is_empty());
        assert!(started.windows(2).all(|w| w[0] < w[1]), "in order");
    }
}

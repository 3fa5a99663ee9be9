//! The steps of a batch (see `plan::steps::batches`) are held until every
//! member that will run is ready, then go to EC2 as one operation.

use super::*;

/// Batches being gathered, by key: the members ready so far and how many
/// will run (the batch's size, less its skipped members).
#[derive(Default)]
pub(super) struct Gathering {
    held: HashMap<String, (Vec<Step>, usize)>,
}

impl Gathering {
    /// Holds a ready member of a batch; the whole batch once complete.
    pub(super) fn ready(&mut self, step: Step) -> Option<Vec<Step>> {
        let batch = step.batch.as_ref().expect("a batch member");
        let key = batch.key.clone();
        let entry = self
            .held
            .entry(key.clone())
            .or_insert_with(|| (Vec::new(), batch.size));
        entry.0.push(step);
        self.complete(&key)
    }

    /// A member of a batch will not run; the batch once its other members
    /// are all ready.
    pub(super) fn skipped(&mut self, step: &Step) -> Option<Vec<Step>> {
        let batch = step.batch.as_ref()?;
        let entry = self
            .held
            .entry(batch.key.clone())
            .or_insert_with(|| (Vec::new(), batch.size));
        entry.1 = entry.1.saturating_sub(1);
        self.complete(&batch.key)
    }

    fn complete(&mut self, key: &str) -> Option<Vec<Step>> {
        let (members, expected) = self.held.get(key)?;
        if members.len() < *expected || members.is_empty() {
            return None;
        }
        self.held.remove(key).map(|(members, _)| members)
    }
}

impl<'a> Run<'a> {
    /// Runs a complete batch as one operation.
    pub(super) fn start_batch(
        &'a self,
        steps: Vec<Step>,
        after: trace::Frontier,
    ) -> StepFuture<'a> {
        match &steps[0].op {
            Op::RunInstance(_) => self.launch_batch(steps, after),
            Op::UpdateInstance { .. } => self.restart_batch(steps, after),
            other => unreachable!("no batch of {other:?}"),
        }
    }
}

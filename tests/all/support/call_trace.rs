//! The EC2 call trace the binary writes with `EC2_GITOPS_CALL_TRACE=FILE`
//! (see `src/ec2/trace.rs`), and its longest causal chain: calls each sent
//! after the one before it was answered *and awaited by the code that sent
//! it*. Unlike a chain read off timestamps, two calls sent together never
//! count as two links, however fast EC2 answers the first.

use std::path::Path;

/// One traced call.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Call {
    /// Its number, in the order calls were sent (from 1).
    pub call: u64,
    pub action: String,
    /// A poll of a wait.
    pub poll: bool,
    /// What it is for: the step, or the path of work it belongs to.
    pub purpose: String,
    /// The calls whose answers the code that sent it had awaited.
    pub after: Vec<u64>,
}

/// The calls in the trace file at `path`.
pub fn read(path: &Path) -> Vec<Call> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "no call trace at {}: {e} (is EC2_GITOPS_CALL_TRACE passed to the binary?)",
            path.display()
        )
    });
    let calls: Vec<Call> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).unwrap_or_else(|e| {
                panic!(
                    "line {} of the call trace is not a call: {e}: {line}",
                    i + 1
                )
            })
        })
        .collect();
    for c in &calls {
        for a in &c.after {
            assert!(
                *a < c.call && calls.iter().any(|x| x.call == *a),
                "call {} is traced after call {a}, which was not sent before it",
                c.call
            );
        }
    }
    calls
}

/// The longest chain of calls each awaited before the next was sent, in
/// order. Polls of waits are links of the chain only with `count_polls`;
/// without, they still carry the order (a call sent after a poll that was
/// sent after X comes after X) but are left out of it.
pub fn longest_chain(calls: &[Call], count_polls: bool) -> Vec<&Call> {
    let mut sorted: Vec<&Call> = calls.iter().collect();
    sorted.sort_by_key(|c| c.call);
    let at = |n: u64| sorted.binary_search_by_key(&n, |c| c.call).ok();
    // (links of the longest chain ending here, the call before it)
    let mut best: Vec<(usize, Option<usize>)> = Vec::with_capacity(sorted.len());
    for c in &sorted {
        let weight = usize::from(count_polls || !c.poll);
        let before = c
            .after
            .iter()
            .filter_map(|&a| at(a))
            .max_by_key(|&j| (best[j].0, std::cmp::Reverse(j)));
        let length = weight + before.map_or(0, |j| best[j].0);
        best.push((length, before));
    }
    let Some(mut end) = (0..sorted.len()).max_by_key(|&i| (best[i].0, std::cmp::Reverse(i))) else {
        return Vec::new();
    };
    let mut chain = vec![sorted[end]];
    while let Some(before) = best[end].1 {
        chain.push(sorted[before]);
        end = before;
    }
    chain.reverse();
    chain.retain(|c| count_polls || !c.poll);
    chain
}

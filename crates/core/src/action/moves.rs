//! A stack moving between accounts, pure. A change of `account:` moves a
//! stack: it is destroyed in the old account and created in the new, in
//! two reviewed steps, because a merge never destroys a stack that its
//! files no longer hold (as for a removed stack file). While the old
//! account still holds some of the stack's resources, the move is refused
//! with the way to do it; once it holds none, the plan creates the stack in
//! the new account and says it moved.

use crate::model::Desired;
use crate::plan::{Plan, Warning};

/// A stack whose change names another account than its base version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountMove {
    /// The stack.
    pub stack: String,
    /// The account it leaves (`None`: the job's own).
    pub from: Option<String>,
    /// The account it goes to.
    pub to: Option<String>,
    /// How many of the stack's resources the old account still holds.
    pub left: usize,
}

/// The base version of `now` (same file, stack and Region) when it names
/// another account.
pub fn moved_from<'a>(base: &'a [Desired], now: &Desired) -> Option<&'a Desired> {
    base.iter()
        .find(|b| b.file == now.file && b.stack == now.stack && b.region == now.region)
        .filter(|b| account_of(b) != account_of(now))
}

/// The account a stack names, by name.
pub fn account_of(d: &Desired) -> Option<String> {
    d.account.as_ref().map(|(name, _)| name.clone())
}

fn account(name: &Option<String>) -> String {
    match name {
        Some(n) => format!("account `{n}`"),
        None => "the job's own account".to_string(),
    }
}

impl AccountMove {
    /// Whether the move must wait: the old account still holds some of
    /// the stack.
    pub fn blocks(&self) -> bool {
        self.left > 0
    }

    /// Why the move is refused, and how to do it.
    pub fn refusal(&self) -> String {
        format!(
            "this change moves the stack from {} to {}, and {} still holds {} of its resources. A stack moves between accounts by being destroyed in one and created in the other, each step reviewed: first merge the stack with its resources removed while it still names the old account (that destroys them there), then change `account:`",
            account(&self.from),
            account(&self.to),
            account(&self.from),
            self.left
        )
    }

    /// Says on `plan` that the stack moved (nothing of it is left in the
    /// old account): a warning on its first change.
    pub fn mark(&self, plan: &mut Plan) {
        let Some(first) = plan.changes.first() else {
            return;
        };
        plan.warnings.push(Warning {
            resource: first.resource.clone(),
            message: format!(
                "the stack moves from {} to {}: nothing of it is left in the old account, so everything is created in the new one",
                account(&self.from),
                account(&self.to)
            ),
            at: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::touched::tests::stack;

    #[test]
    fn a_stack_moves_when_its_base_version_names_another_account() {
        let at = |line| crate::model::Location {
            file: "infra/web.yaml".into(),
            line,
            column: 1,
        };
        let mut base = stack("infra/web.yaml", &[]);
        base.account = Some(("dev".into(), at(3)));
        let mut now = base.clone();
        now.account = Some(("dev".into(), at(9)));
        assert!(
            moved_from(std::slice::from_ref(&base), &now).is_none(),
            "the same account on another line"
        );
        now.account = Some(("production".into(), at(3)));
        assert_eq!(moved_from(std::slice::from_ref(&base), &now), Some(&base));
        now.account = None;
        assert!(moved_from(std::slice::from_ref(&base), &now).is_some());
        let mut elsewhere = now.clone();
        elsewhere.file = "infra/other.yaml".into();
        assert!(moved_from(std::slice::from_ref(&base), &elsewhere).is_none());
    }

    #[test]
    fn a_move_waits_while_the_old_account_holds_the_stack() {
        let m = AccountMove {
            stack: "web".into(),
            from: Some("dev".into()),
            to: Some("production".into()),
            left: 3,
        };
        assert!(m.blocks());
        assert_eq!(
            m.refusal(),
            "this change moves the stack from account `dev` to account `production`, and account `dev` still holds 3 of its resources. A stack moves between accounts by being destroyed in one and created in the other, each step reviewed: first merge the stack with its resources removed while it still names the old account (that destroys them there), then change `account:`"
        );
        let gone = AccountMove {
            left: 0,
            to: None,
            ..m
        };
        assert!(!gone.blocks());
    }
}

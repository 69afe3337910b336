//! Who gets a new conversation: round-robin among the team's available agents, skipping anyone at
//! their cap of open conversations.

use crate::UserId;

/// An agent who could take a conversation now, with how many open conversations they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub user: UserId,
    pub open: i64,
}

/// Picks the next agent after `last` (in id order, wrapping around) whose open count is below `cap`.
/// `None` when nobody is available: the conversation waits unassigned.
pub fn pick(candidates: &[Candidate], cap: i64, last: Option<UserId>) -> Option<UserId> {
    let mut sorted: Vec<Candidate> = candidates.to_vec();
    sorted.sort_by_key(|c| c.user);
    sorted.dedup_by_key(|c| c.user);
    let start = match last {
        Some(l) => sorted.iter().position(|c| c.user > l).unwrap_or(0),
        None => 0,
    };
    (0..sorted.len()).map(|i| sorted[(start + i) % sorted.len()]).find(|c| c.open < cap).map(|c| c.user)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<UserId> {
        let mut v: Vec<UserId> = (0..n).map(|_| UserId::new()).collect();
        v.sort();
        v
    }

    #[test]
    fn rotates_and_respects_the_cap() {
        let u = ids(3);
        let c = |open: [i64; 3]| {
            u.iter().zip(open).map(|(&user, open)| Candidate { user, open }).collect::<Vec<_>>()
        };
        assert_eq!(pick(&c([0, 0, 0]), 2, None), Some(u[0]));
        assert_eq!(pick(&c([1, 0, 0]), 2, Some(u[0])), Some(u[1]));
        assert_eq!(pick(&c([1, 1, 0]), 2, Some(u[1])), Some(u[2]));
        assert_eq!(pick(&c([1, 1, 1]), 2, Some(u[2])), Some(u[0]), "wraps around");
        assert_eq!(pick(&c([2, 1, 2]), 2, Some(u[2])), Some(u[1]), "skips agents at the cap");
        assert_eq!(pick(&c([2, 2, 2]), 2, Some(u[0])), None, "everyone full: wait unassigned");
        assert_eq!(pick(&[], 2, None), None);
    }
}

//! Visa and signature circuits (the electronic parapheur): a document goes through ordered
//! **stages**; the **steps** of one stage run in parallel (each a visa or a signature, by a
//! named agent or by whoever holds a role in a unit), and the next stage opens when every step
//! of the current one is done.
//!
//! ```text
//! step:      waiting ──(its stage opens)──> pending ──approve / sign──> approved / signed
//!                                              │ reject                        │
//!                                              ↓                               │
//! document:  in_circuit ──(last stage done)──> completed                       │
//!                 │ reject ──> rejected (back to the submitter; open steps cancelled)
//!                 │ send back to stage k < current ──> stages ≥ k open again (k pending)
//! ```
//!
//! This module only says what an action does to the steps; who may act is the application's
//! business, and so is the document itself.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// Most stages in a circuit, and most steps in a stage.
pub const MAX_STAGES: usize = 12;
pub const MAX_STEPS_PER_STAGE: usize = 12;

/// What a step asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Approval (visa, paraphe): no signature on the document.
    Visa,
    /// A signature on the document.
    Signature,
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Its stage is not open yet.
    Waiting,
    /// Its stage is open: it waits for its agent.
    Pending,
    Approved,
    Signed,
    /// Ended without acting (the document was rejected, or sent back before it).
    Cancelled,
}

impl StepState {
    pub fn is_done(self) -> bool {
        matches!(self, Self::Approved | Self::Signed)
    }
}

/// Names in snake case on the wire and in storage.
macro_rules! names {
    ($ty:ty { $($variant:ident = $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

names!(StepKind { Visa = "visa", Signature = "signature" });
names!(StepState {
    Waiting = "waiting",
    Pending = "pending",
    Approved = "approved",
    Signed = "signed",
    Cancelled = "cancelled",
});
names!(CircuitStatus {
    InCircuit = "in_circuit",
    Rejected = "rejected",
    Completed = "completed",
});

/// Where a document stands in its circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitStatus {
    InCircuit,
    /// Rejected by a step: back with the submitter.
    Rejected,
    /// Every stage done.
    Completed,
}

/// An action on a pending step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Sign,
    Reject,
    /// Opens again the stage `to` (0-based, before the current one) and those after it.
    SendBack {
        to: usize,
    },
}

/// A step as the circuit sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// 0-based.
    pub stage: usize,
    pub kind: StepKind,
    pub state: StepState,
}

/// What an action leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The new state of every step, in the order given.
    pub states: Vec<StepState>,
    pub status: CircuitStatus,
    /// The stage open now, if any.
    pub open_stage: Option<usize>,
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CircuitError {
    #[error("this step is not waiting for an action")]
    NotPending,
    #[error("a visa step is approved, a signature step is signed")]
    WrongAction,
    #[error("a document is sent back to an earlier stage")]
    BadStage,
}

/// Checks a circuit's shape: 1 to 12 stages of 1 to 12 steps, and a signature in the last
/// stage (the registration number is written on the document before its last signatures).
pub fn check_shape(stages: &[Vec<StepKind>]) -> Result<(), DomainError> {
    if stages.is_empty() || stages.len() > MAX_STAGES {
        return Err(DomainError::invalid(
            "stages",
            format!("a circuit has 1 to {MAX_STAGES} stages"),
        ));
    }
    for (i, stage) in stages.iter().enumerate() {
        if stage.is_empty() || stage.len() > MAX_STEPS_PER_STAGE {
            return Err(DomainError::invalid(
                &format!("stages[{i}]"),
                format!("a stage has 1 to {MAX_STEPS_PER_STAGE} steps"),
            ));
        }
    }
    if !stages
        .last()
        .is_some_and(|s| s.contains(&StepKind::Signature))
    {
        return Err(DomainError::invalid(
            "stages",
            "the last stage has at least one signature",
        ));
    }
    Ok(())
}

/// The states of a circuit just submitted: the first stage pending, the others waiting.
pub fn start(steps: &[Step]) -> Vec<StepState> {
    steps
        .iter()
        .map(|s| {
            if s.stage == 0 {
                StepState::Pending
            } else {
                StepState::Waiting
            }
        })
        .collect()
}

/// The stage open in these states: the lowest stage with a pending step.
pub fn open_stage(steps: &[Step]) -> Option<usize> {
    steps
        .iter()
        .filter(|s| s.state == StepState::Pending)
        .map(|s| s.stage)
        .min()
}

/// The last stage of the circuit (the one whose signatures carry the registration number).
pub fn last_stage(steps: &[Step]) -> Option<usize> {
    steps.iter().map(|s| s.stage).max()
}

/// Applies `action` to step `index`.
pub fn apply(steps: &[Step], index: usize, action: Action) -> Result<Outcome, CircuitError> {
    let step = steps.get(index).ok_or(CircuitError::NotPending)?;
    if step.state != StepState::Pending {
        return Err(CircuitError::NotPending);
    }
    let mut states: Vec<StepState> = steps.iter().map(|s| s.state).collect();
    match action {
        Action::Approve | Action::Sign => {
            let expected = match action {
                Action::Approve => StepKind::Visa,
                _ => StepKind::Signature,
            };
            if step.kind != expected {
                return Err(CircuitError::WrongAction);
            }
            states[index] = match step.kind {
                StepKind::Visa => StepState::Approved,
                StepKind::Signature => StepState::Signed,
            };
            let stage_done = steps
                .iter()
                .zip(&states)
                .filter(|(s, _)| s.stage == step.stage)
                .all(|(_, st)| st.is_done());
            if stage_done {
                let next = steps
                    .iter()
                    .map(|s| s.stage)
                    .filter(|&k| k > step.stage)
                    .min();
                if let Some(next) = next {
                    for (s, st) in steps.iter().zip(states.iter_mut()) {
                        if s.stage == next {
                            *st = StepState::Pending;
                        }
                    }
                }
            }
        }
        Action::Reject => {
            for st in &mut states {
                if matches!(st, StepState::Pending | StepState::Waiting) {
                    *st = StepState::Cancelled;
                }
            }
            return Ok(Outcome {
                states,
                status: CircuitStatus::Rejected,
                open_stage: None,
            });
        }
        Action::SendBack { to } => {
            if to >= step.stage {
                return Err(CircuitError::BadStage);
            }
            for (s, st) in steps.iter().zip(states.iter_mut()) {
                if s.stage == to {
                    *st = StepState::Pending;
                } else if s.stage > to {
                    *st = StepState::Waiting;
                }
            }
        }
    }
    let view: Vec<Step> = steps
        .iter()
        .zip(&states)
        .map(|(s, st)| Step { state: *st, ..*s })
        .collect();
    let open = open_stage(&view);
    Ok(Outcome {
        status: if open.is_none() && states.iter().all(|s| s.is_done()) {
            CircuitStatus::Completed
        } else {
            CircuitStatus::InCircuit
        },
        states,
        open_stage: open,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use StepKind::{Signature as S, Visa as V};
    use StepState::*;

    fn circuit(stages: &[&[StepKind]]) -> Vec<Step> {
        let mut out = Vec::new();
        for (i, stage) in stages.iter().enumerate() {
            for kind in *stage {
                out.push(Step {
                    stage: i,
                    kind: *kind,
                    state: Waiting,
                });
            }
        }
        let states = start(&out);
        out.iter()
            .zip(states)
            .map(|(s, state)| Step { state, ..*s })
            .collect()
    }

    fn with(steps: &[Step], o: &Outcome) -> Vec<Step> {
        steps
            .iter()
            .zip(&o.states)
            .map(|(s, st)| Step { state: *st, ..*s })
            .collect()
    }

    #[test]
    fn stages_open_in_order_and_parallel_steps_all_count() {
        // Signature, visa, then two signatures in parallel.
        let c = circuit(&[&[S], &[V], &[S, S]]);
        assert_eq!(open_stage(&c), Some(0));
        let o = apply(&c, 0, Action::Sign).unwrap();
        assert_eq!(o.states, [Signed, Pending, Waiting, Waiting]);
        let c = with(&c, &o);
        assert_eq!(apply(&c, 2, Action::Sign), Err(CircuitError::NotPending));
        assert_eq!(apply(&c, 1, Action::Sign), Err(CircuitError::WrongAction));
        let c = with(&c, &apply(&c, 1, Action::Approve).unwrap());
        assert_eq!(open_stage(&c), Some(2));
        assert_eq!(last_stage(&c), Some(2));
        let o = apply(&c, 3, Action::Sign).unwrap();
        assert_eq!(o.status, CircuitStatus::InCircuit);
        assert_eq!(o.open_stage, Some(2));
        let c = with(&c, &o);
        let o = apply(&c, 2, Action::Sign).unwrap();
        assert_eq!(o.status, CircuitStatus::Completed);
        assert_eq!(o.open_stage, None);
        assert_eq!(
            apply(&with(&c, &o), 2, Action::Sign),
            Err(CircuitError::NotPending)
        );
    }

    #[test]
    fn rejection_cancels_what_is_open_and_sending_back_reopens_a_stage() {
        let c = circuit(&[&[V], &[V, S], &[S]]);
        let c = with(&c, &apply(&c, 0, Action::Approve).unwrap());
        let back = apply(&c, 1, Action::SendBack { to: 0 }).unwrap();
        assert_eq!(back.states, [Pending, Waiting, Waiting, Waiting]);
        assert_eq!(back.open_stage, Some(0));
        assert_eq!(
            apply(&c, 1, Action::SendBack { to: 1 }),
            Err(CircuitError::BadStage)
        );
        let rejected = apply(&c, 2, Action::Reject).unwrap();
        assert_eq!(rejected.status, CircuitStatus::Rejected);
        assert_eq!(rejected.states, [Approved, Cancelled, Cancelled, Cancelled]);
    }

    #[test]
    fn shapes_are_bounded_and_end_with_a_signature() {
        assert!(check_shape(&[vec![V], vec![S]]).is_ok());
        assert!(check_shape(&[]).is_err());
        assert!(check_shape(&[vec![S], vec![V]]).is_err());
        assert!(check_shape(&[vec![S], vec![]]).is_err());
        assert!(check_shape(&vec![vec![S]; MAX_STAGES + 1]).is_err());
        assert!(check_shape(&[vec![S; MAX_STEPS_PER_STAGE + 1]]).is_err());
    }
}

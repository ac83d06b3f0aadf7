//! The conversation life cycle as rules over domain values: what a change
//! of status brings with it, what a due timer does, when a message reopens
//! a conversation and which events say so. The store carries the answers
//! out with its SQL, in the order given.

use super::{Author, ConversationStatus, EventKind, Millis, StatusChange, TimerKind};

/// One thing a change of status does, in the order it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusEffect {
    /// The agent who had the conversation is free from now (`freed_at`):
    /// their wait for the next one starts.
    FreeAgent,
    /// Store the new status; a closed one records when it closed, any
    /// other clears that.
    SetStatus(ConversationStatus),
    /// The conversation's ticket follows it: to a closed status when
    /// `closed`, back to an open one otherwise.
    TicketFollows { closed: bool },
    /// Stop the pending timer of this kind, if any.
    CancelTimer(TimerKind),
    /// Start a timer of this kind, replacing a pending one.
    ScheduleTimer(TimerKind, Millis),
    /// Activity: the inactivity deadline (if the tenant has one) starts again.
    RestartInactivity,
}

/// What changing a conversation in `previous` status by `change` does.
///
/// Closing an open conversation frees its agent; the status is always
/// stored; the ticket follows a closing and a reopening (its own status
/// changes come the other way and find it already in step); opening stops
/// the snooze wake-up and restarts the inactivity deadline; snoozing stops
/// the inactivity deadline and starts (or, until the customer writes,
/// stops) the wake-up; closing stops both. A workflow's timers are its own
/// business: it may well want to act on a closed conversation later.
pub fn status_effects(previous: ConversationStatus, change: StatusChange) -> Vec<StatusEffect> {
    use ConversationStatus as Status;
    let status = change.status();
    let mut effects = Vec::new();
    if status == Status::Closed && previous == Status::Open {
        effects.push(StatusEffect::FreeAgent);
    }
    effects.push(StatusEffect::SetStatus(status));
    match change {
        StatusChange::Close if previous != Status::Closed => {
            effects.push(StatusEffect::TicketFollows { closed: true });
        }
        StatusChange::Open if previous == Status::Closed => {
            effects.push(StatusEffect::TicketFollows { closed: false });
        }
        _ => {}
    }
    match change {
        StatusChange::Open => {
            effects.push(StatusEffect::CancelTimer(TimerKind::SnoozeEnds));
            effects.push(StatusEffect::RestartInactivity);
        }
        StatusChange::Snooze(until) => {
            effects.push(StatusEffect::CancelTimer(TimerKind::AutoClose));
            effects.push(match until {
                Some(due) => StatusEffect::ScheduleTimer(TimerKind::SnoozeEnds, due),
                None => StatusEffect::CancelTimer(TimerKind::SnoozeEnds),
            });
        }
        StatusChange::Close => {
            effects.push(StatusEffect::CancelTimer(TimerKind::SnoozeEnds));
            effects.push(StatusEffect::CancelTimer(TimerKind::AutoClose));
        }
    }
    effects
}

/// The events a change of status writes, in order: the status changed,
/// and a closed conversation opened again is reopened too.
pub fn status_events(previous: ConversationStatus, change: StatusChange) -> Vec<EventKind> {
    let mut events = vec![EventKind::ConversationStatusChanged];
    if previous == ConversationStatus::Closed && change == StatusChange::Open {
        events.push(EventKind::ConversationReopened);
    }
    events
}

/// What a message the customer or an agent can see does to its
/// conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageEffect {
    /// It opens the conversation again (writing [`status_events`]).
    Reopen,
    /// Activity on an open conversation: its inactivity deadline starts again.
    RestartInactivity,
    /// Nothing beside the message itself.
    Nothing,
}

/// What a public message by `author` does to a conversation in `status`:
/// anyone but a bot reopens a closed one, only the customer wakes a
/// snoozed one, and any message keeps an open one alive.
pub fn message_effect(status: ConversationStatus, author: Author) -> MessageEffect {
    let reopens = match status {
        ConversationStatus::Closed => author != Author::Bot,
        ConversationStatus::Snoozed => author == Author::Customer,
        ConversationStatus::Open => false,
    };
    if reopens {
        MessageEffect::Reopen
    } else if status == ConversationStatus::Open {
        MessageEffect::RestartInactivity
    } else {
        MessageEffect::Nothing
    }
}

/// What a due timer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerFiring {
    /// The snooze ended: the conversation opens again.
    Reopen,
    /// No activity for the tenant's period: the conversation closes.
    AutoClose,
    /// The workflow that set it hears of it.
    TellWorkflow,
    /// The conversation moved on since the timer was set: nothing to do.
    Nothing,
}

/// What a timer of `kind` does when it fires on a conversation now in
/// `status` (`None`: the conversation is gone). A snooze wake-up only
/// reopens a conversation still snoozed and an inactivity deadline only
/// closes one still open; a workflow hears its timer whatever the state,
/// and decides what still makes sense.
pub fn timer_firing(kind: TimerKind, status: Option<ConversationStatus>) -> TimerFiring {
    match (kind, status) {
        (TimerKind::SnoozeEnds, Some(ConversationStatus::Snoozed)) => TimerFiring::Reopen,
        (TimerKind::AutoClose, Some(ConversationStatus::Open)) => TimerFiring::AutoClose,
        (TimerKind::Workflow, Some(_)) => TimerFiring::TellWorkflow,
        _ => TimerFiring::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConversationStatus::{Closed, Open, Snoozed};
    use StatusEffect::{
        CancelTimer, FreeAgent, RestartInactivity, ScheduleTimer, SetStatus, TicketFollows,
    };
    use TimerKind::{AutoClose, SnoozeEnds, Workflow};

    const LATER: Millis = Millis(60_000);

    #[test]
    fn closing_an_open_conversation_frees_the_agent_files_the_ticket_and_stops_the_timers() {
        assert_eq!(
            status_effects(Open, StatusChange::Close),
            vec![
                FreeAgent,
                SetStatus(Closed),
                TicketFollows { closed: true },
                CancelTimer(SnoozeEnds),
                CancelTimer(AutoClose),
            ]
        );
    }

    #[test]
    fn closing_a_snoozed_conversation_frees_nobody() {
        assert_eq!(
            status_effects(Snoozed, StatusChange::Close),
            vec![
                SetStatus(Closed),
                TicketFollows { closed: true },
                CancelTimer(SnoozeEnds),
                CancelTimer(AutoClose),
            ]
        );
    }

    #[test]
    fn closing_a_closed_conversation_leaves_the_ticket_alone() {
        assert_eq!(
            status_effects(Closed, StatusChange::Close),
            vec![
                SetStatus(Closed),
                CancelTimer(SnoozeEnds),
                CancelTimer(AutoClose)
            ]
        );
    }

    #[test]
    fn reopening_a_closed_conversation_reopens_the_ticket_and_restarts_inactivity() {
        assert_eq!(
            status_effects(Closed, StatusChange::Open),
            vec![
                SetStatus(Open),
                TicketFollows { closed: false },
                CancelTimer(SnoozeEnds),
                RestartInactivity,
            ]
        );
    }

    #[test]
    fn waking_or_opening_again_leaves_the_ticket_alone() {
        for previous in [Snoozed, Open] {
            assert_eq!(
                status_effects(previous, StatusChange::Open),
                vec![SetStatus(Open), CancelTimer(SnoozeEnds), RestartInactivity],
                "{previous}"
            );
        }
    }

    #[test]
    fn snoozing_with_a_time_schedules_the_wake_up_and_stops_inactivity() {
        for previous in [Open, Snoozed, Closed] {
            assert_eq!(
                status_effects(previous, StatusChange::Snooze(Some(LATER))),
                vec![
                    SetStatus(Snoozed),
                    CancelTimer(AutoClose),
                    ScheduleTimer(SnoozeEnds, LATER),
                ],
                "{previous}"
            );
        }
    }

    #[test]
    fn snoozing_until_the_customer_writes_cancels_the_wake_up() {
        for previous in [Open, Snoozed, Closed] {
            assert_eq!(
                status_effects(previous, StatusChange::Snooze(None)),
                vec![
                    SetStatus(Snoozed),
                    CancelTimer(AutoClose),
                    CancelTimer(SnoozeEnds)
                ],
                "{previous}"
            );
        }
    }

    #[test]
    fn status_changes_leave_workflow_timers_alone_and_free_only_on_closing_an_open_one() {
        let changes = [
            StatusChange::Open,
            StatusChange::Snooze(None),
            StatusChange::Snooze(Some(LATER)),
            StatusChange::Close,
        ];
        for previous in ConversationStatus::ALL.iter().copied() {
            for change in changes {
                let effects = status_effects(previous, change);
                assert!(
                    !effects
                        .iter()
                        .any(|e| matches!(e, CancelTimer(Workflow) | ScheduleTimer(Workflow, _))),
                    "{previous} {change:?}"
                );
                assert_eq!(
                    effects.contains(&FreeAgent),
                    previous == Open && change == StatusChange::Close,
                    "{previous} {change:?}"
                );
                assert!(effects.contains(&SetStatus(change.status())));
            }
        }
    }

    #[test]
    fn only_a_closed_conversation_opened_again_is_reopened() {
        assert_eq!(
            status_events(Closed, StatusChange::Open),
            vec![
                EventKind::ConversationStatusChanged,
                EventKind::ConversationReopened
            ]
        );
        assert_eq!(
            status_events(Snoozed, StatusChange::Open),
            vec![EventKind::ConversationStatusChanged]
        );
        assert_eq!(
            status_events(Closed, StatusChange::Snooze(None)),
            vec![EventKind::ConversationStatusChanged]
        );
        assert_eq!(
            status_events(Open, StatusChange::Close),
            vec![EventKind::ConversationStatusChanged]
        );
    }

    #[test]
    fn people_reopen_closed_conversations_and_customers_wake_snoozed_ones() {
        use MessageEffect::{Nothing, Reopen};
        assert_eq!(message_effect(Closed, Author::Customer), Reopen);
        assert_eq!(message_effect(Closed, Author::Agent), Reopen);
        assert_eq!(message_effect(Closed, Author::Bot), Nothing);
        assert_eq!(message_effect(Snoozed, Author::Customer), Reopen);
        assert_eq!(message_effect(Snoozed, Author::Agent), Nothing);
        assert_eq!(message_effect(Snoozed, Author::Bot), Nothing);
    }

    #[test]
    fn any_message_keeps_an_open_conversation_alive() {
        for author in Author::ALL.iter().copied() {
            assert_eq!(
                message_effect(Open, author),
                MessageEffect::RestartInactivity,
                "{author}"
            );
        }
    }

    #[test]
    fn a_timer_acts_only_while_the_conversation_is_as_it_left_it() {
        assert_eq!(timer_firing(SnoozeEnds, Some(Snoozed)), TimerFiring::Reopen);
        assert_eq!(timer_firing(SnoozeEnds, Some(Open)), TimerFiring::Nothing);
        assert_eq!(timer_firing(SnoozeEnds, Some(Closed)), TimerFiring::Nothing);
        assert_eq!(timer_firing(AutoClose, Some(Open)), TimerFiring::AutoClose);
        assert_eq!(timer_firing(AutoClose, Some(Snoozed)), TimerFiring::Nothing);
        assert_eq!(timer_firing(AutoClose, Some(Closed)), TimerFiring::Nothing);
        for status in ConversationStatus::ALL.iter().copied() {
            assert_eq!(
                timer_firing(Workflow, Some(status)),
                TimerFiring::TellWorkflow
            );
        }
        for kind in TimerKind::ALL.iter().copied() {
            assert_eq!(timer_firing(kind, None), TimerFiring::Nothing, "{kind}");
        }
    }
}

//! Passing a strategy its candidates without a store per field.
//!
//! wasmtime's generated lowering writes a record field by field, and each
//! field looks the guest's memory up again and recomputes its offset. For a
//! snapshot of 50 candidates that is about a thousand lookups. Here the
//! request's candidates are written the way the canonical ABI lays them out,
//! into slices of guest memory taken once. Since contract 0.3.0 a candidate
//! is plain numbers and the ids travel as one string with a list of where
//! each ends, so the whole candidate list costs three allocations in the
//! guest (records, ids, ends) instead of one per id, and nothing per
//! candidate to free afterwards. Since 0.4.0 the candidates' teams add three
//! more for the whole request (team ids, where each ends, memberships), and
//! each candidate's end in the memberships fills what was its padding.
//!
//! Only the candidates are written by hand; the conversation goes through
//! the generated code, and the type check is the generated type's, so a
//! component whose `assignment-request` differs is refused exactly as
//! before. The layout is checked against the generated type below, and the
//! runtime's tests run every built-in strategy through this path and compare
//! its answers with the same plugins' answers through the generated one.

use std::mem::MaybeUninit;

use wasmtime::Result;
use wasmtime::component::__internal::{
    CanonicalAbiInfo, InstanceType, InterfaceType, LowerContext, bad_type_info,
};
use wasmtime::component::{ComponentType, Lower};

use super::bindings::types;
use super::request::{AgentState, AssignmentRequest, Candidate};

/// An assignment request lowered as the current contract's
/// `assignment-request`, its candidates in one pass.
pub(super) struct Request<'a>(pub(super) &'a AssignmentRequest);

// SAFETY: the ABI and the type check are those of the generated
// `AssignmentRequest`, and `Lower` below writes exactly that layout (the
// layout constants are checked against the generated type in `tests`).
#[allow(unsafe_code)]
unsafe impl ComponentType for Request<'_> {
    type Lower = <types::AssignmentRequest as ComponentType>::Lower;

    const ABI: CanonicalAbiInfo = <types::AssignmentRequest as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> Result<()> {
        <types::AssignmentRequest as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: see `ComponentType` above; every write is bounds-checked against
// the guest's memory.
#[allow(unsafe_code)]
unsafe impl Lower for Request<'_> {
    fn linear_lower_to_flat<T>(
        &self,
        _: &mut LowerContext<'_, T>,
        _: InterfaceType,
        _: &mut MaybeUninit<Self::Lower>,
    ) -> Result<()> {
        // The conversation alone flattens to more than the ABI's sixteen
        // parameters, so a request is always passed in memory and wasmtime
        // never asks for this; should it, the call fails rather than guess.
        Err(wasmtime::Error::msg(
            "an assignment request is passed in memory, never flat",
        ))
    }

    fn linear_lower_to_memory<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        ty: InterfaceType,
        offset: usize,
    ) -> Result<()> {
        let InterfaceType::Record(index) = ty else {
            bad_type_info()
        };
        let fields = &cx.types[index].fields;
        let conversation_ty = match &fields[..] {
            [
                conversation,
                candidates,
                ids,
                id_ends,
                team_ids,
                team_id_ends,
                memberships,
            ] => {
                match (
                    candidates.ty,
                    ids.ty,
                    id_ends.ty,
                    team_ids.ty,
                    team_id_ends.ty,
                    memberships.ty,
                ) {
                    (
                        InterfaceType::List(_),
                        InterfaceType::String,
                        InterfaceType::List(_),
                        InterfaceType::String,
                        InterfaceType::List(_),
                        InterfaceType::List(_),
                    ) => {}
                    _ => bad_type_info(),
                }
                conversation.ty
            }
            _ => bad_type_info(),
        };
        let mut at = offset;
        let conversation_at =
            <types::Conversation as ComponentType>::ABI.next_field32_size(&mut at);
        self.0
            .conversation
            .linear_lower_to_memory(cx, conversation_ty, conversation_at)?;
        let candidates = self.0.candidates();
        let list_at = <[types::Candidate] as ComponentType>::ABI.next_field32_size(&mut at);
        let ids_at = <String as ComponentType>::ABI.next_field32_size(&mut at);
        let ends_at = <[u32] as ComponentType>::ABI.next_field32_size(&mut at);
        let team_ids_at = <String as ComponentType>::ABI.next_field32_size(&mut at);
        let team_ends_at = <[u32] as ComponentType>::ABI.next_field32_size(&mut at);
        let memberships_at = <[u32] as ComponentType>::ABI.next_field32_size(&mut at);

        let (memberships, runs) = self.0.memberships();
        let records = lower_candidates(cx, candidates, runs)?;
        put_pointer(cx, list_at, records)?;
        let (ids, ends) = lower_strings(cx, candidates.iter().map(|c| c.id.as_str()))?;
        put_pointer(cx, ids_at, ids)?;
        put_pointer(cx, ends_at, ends)?;
        let (team_ids, team_ends) = lower_strings(cx, self.0.teams().iter().map(String::as_str))?;
        put_pointer(cx, team_ids_at, team_ids)?;
        put_pointer(cx, team_ends_at, team_ends)?;
        let memberships = lower_u32s(cx, memberships)?;
        put_pointer(cx, memberships_at, memberships)?;
        Ok(())
    }
}

/// Write a list's or string's pointer and length at `at`.
fn put_pointer<T>(
    cx: &mut LowerContext<'_, T>,
    at: usize,
    (ptr, len): (usize, usize),
) -> Result<()> {
    let (ptr, len) = (u32_of(ptr)?, u32_of(len)?);
    let slot = cx.get::<8>(at);
    slot[..4].copy_from_slice(&ptr.to_le_bytes());
    slot[4..].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// Take `size` bytes of guest memory aligned to `align` from the guest's
/// allocator, and return where they are with the bytes themselves. Even
/// an empty list is allocated, as wasmtime's own lowering does: a guest may
/// free what it is given, and only its allocator's pointers can be freed.
fn allocate<'m, T>(
    cx: &'m mut LowerContext<'_, T>,
    align: u32,
    size: usize,
) -> Result<(usize, &'m mut [u8])> {
    let base = cx.realloc(0, 0, align, size)?;
    let memory = cx
        .as_slice_mut()
        .get_mut(base..)
        .and_then(|rest| rest.get_mut(..size))
        .ok_or_else(out_of_bounds)?;
    Ok((base, memory))
}

/// Strings one after another as one string, and a list of where each
/// ends; returns the string's and the list's pointer and length. Both are
/// written straight into guest memory: nothing is allocated on the host's
/// side per call.
fn lower_strings<'s, T>(
    cx: &mut LowerContext<'_, T>,
    strings: impl Iterator<Item = &'s str> + Clone,
) -> Result<((usize, usize), (usize, usize))> {
    let total = strings.clone().map(str::len).sum::<usize>();
    let (joined, memory) = allocate(cx, 1, total)?;
    let mut end = 0;
    for string in strings.clone() {
        memory[end..end + string.len()].copy_from_slice(string.as_bytes());
        end += string.len();
    }
    let count = strings.clone().count();
    let (ends, memory) = allocate(cx, 4, list_size(count, 4)?)?;
    let mut end = 0u32;
    for (string, slot) in strings.zip(memory.chunks_exact_mut(4)) {
        end += u32_of(string.len())?;
        slot.copy_from_slice(&end.to_le_bytes());
    }
    Ok(((joined, total), (ends, count)))
}

/// A `list<u32>` in guest memory; returns its pointer and length.
fn lower_u32s<T>(cx: &mut LowerContext<'_, T>, values: &[u32]) -> Result<(usize, usize)> {
    let (base, memory) = allocate(cx, 4, list_size(values.len(), 4)?)?;
    for (value, slot) in values.iter().zip(memory.chunks_exact_mut(4)) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
    Ok((base, values.len()))
}

/// The canonical ABI layout of `candidate` (wasm32): each field's offset.
/// Every field is an integer, so this is also the record's C layout, which
/// is what lets a guest take the list over without a pass of its own.
mod layout {
    /// `presence: u8`: the `presence` case's index.
    pub(super) const PRESENCE: usize = 0;
    /// `load: channel-loads`: four `channel-load` records of two `u32`s.
    pub(super) const LOAD: usize = 4;
    /// The three times, `s64` each.
    pub(super) const AVAILABLE_SINCE: usize = 40;
    pub(super) const IDLE_SINCE: usize = 48;
    pub(super) const LAST_ASSIGNED: usize = 56;
    /// `handled: u32`.
    pub(super) const HANDLED: usize = 64;
    /// `memberships-end: u32` (since 0.4.0, in what was padding).
    pub(super) const MEMBERSHIPS_END: usize = 68;
    /// The whole record, padded to its 8-byte alignment.
    pub(super) const SIZE: usize = 72;
    pub(super) const ALIGN: u32 = 8;
}

/// How the contract writes a time that is not known: the least `s64`.
pub(super) const UNKNOWN_MS: i64 = i64::MIN;

/// How the contract writes a presence: its case's index.
pub(super) fn presence_index(presence: types::Presence) -> u8 {
    match presence {
        types::Presence::Available => 0,
        types::Presence::Away => 1,
        types::Presence::Offline => 2,
    }
}

/// Write `candidates` into guest memory as a `list<candidate>`, returning
/// its pointer and length.
fn lower_candidates<T>(
    cx: &mut LowerContext<'_, T>,
    candidates: &[Candidate],
    memberships_ends: &[u32],
) -> Result<(usize, usize)> {
    let size = list_size(candidates.len(), layout::SIZE)?;
    let (base, memory) = allocate(cx, layout::ALIGN, size)?;
    for ((candidate, &end), record) in candidates
        .iter()
        .zip(memberships_ends)
        .zip(memory.chunks_exact_mut(layout::SIZE))
    {
        let record: &mut [u8; layout::SIZE] = record.try_into().expect("chunks of SIZE");
        *record = encode(&candidate.agent, end);
    }
    Ok((base, candidates.len()))
}

/// One candidate's bytes, built whole and copied once (padding zeroed).
fn encode(agent: &AgentState, memberships_end: u32) -> [u8; layout::SIZE] {
    let mut record = [0u8; layout::SIZE];
    let mut put = |at: usize, bytes: &[u8]| record[at..at + bytes.len()].copy_from_slice(bytes);
    put(layout::PRESENCE, &[presence_index(agent.presence)]);
    let loads = &agent.load;
    for (i, load) in [loads.chat, loads.email, loads.call, loads.form]
        .into_iter()
        .enumerate()
    {
        put(layout::LOAD + 8 * i, &load.open.to_le_bytes());
        put(layout::LOAD + 8 * i + 4, &load.capacity.to_le_bytes());
    }
    for (at, value) in [
        (layout::AVAILABLE_SINCE, agent.available_since_ms),
        (layout::IDLE_SINCE, agent.idle_since_ms),
        (layout::LAST_ASSIGNED, agent.last_assigned_at_ms),
    ] {
        put(at, &value.unwrap_or(UNKNOWN_MS).to_le_bytes());
    }
    put(layout::HANDLED, &agent.handled.to_le_bytes());
    put(layout::MEMBERSHIPS_END, &memberships_end.to_le_bytes());
    record
}

/// The bytes of `count` elements of `element` bytes each.
fn list_size(count: usize, element: usize) -> Result<usize> {
    count
        .checked_mul(element)
        .ok_or_else(|| wasmtime::Error::msg("the candidate list is too large"))
}

fn u32_of(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| wasmtime::Error::msg("a value does not fit the guest's memory"))
}

fn out_of_bounds() -> wasmtime::Error {
    wasmtime::Error::msg("the guest's allocator returned memory out of bounds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_the_generated_types() {
        assert_eq!(
            <types::Candidate as ComponentType>::SIZE32,
            layout::SIZE,
            "candidate's size"
        );
        assert_eq!(<types::Candidate as ComponentType>::ALIGN32, layout::ALIGN);
        assert_eq!(<types::ChannelLoads as ComponentType>::SIZE32, 32);
        // Field offsets, computed the way the generated code does.
        let mut at = 0;
        let mut offsets = Vec::new();
        for abi in [
            <u8 as ComponentType>::ABI,
            <types::ChannelLoads as ComponentType>::ABI,
            <i64 as ComponentType>::ABI,
            <i64 as ComponentType>::ABI,
            <i64 as ComponentType>::ABI,
            <u32 as ComponentType>::ABI,
            <u32 as ComponentType>::ABI,
        ] {
            offsets.push(abi.next_field32_size(&mut at));
        }
        assert_eq!(
            offsets,
            [
                layout::PRESENCE,
                layout::LOAD,
                layout::AVAILABLE_SINCE,
                layout::IDLE_SINCE,
                layout::LAST_ASSIGNED,
                layout::HANDLED,
                layout::MEMBERSHIPS_END
            ]
        );
    }
}

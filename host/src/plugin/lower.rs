//! Passing a strategy its candidates without a store per field.
//!
//! wasmtime's generated lowering writes a record field by field, and each
//! field looks the guest's memory up again and recomputes its offset. For a
//! snapshot of 50 candidates that is about a thousand lookups, more than half
//! of a warm call; for 500 it is most of a decision. Here the candidate list
//! is written the way the canonical ABI lays it out, into one slice of guest
//! memory taken once: the ids are still allocated one by one through the
//! guest's `cabi_realloc` (each string must be its own allocation, since the
//! guest frees them one by one), then every record is written in one pass.
//!
//! Only the list is written by hand; the conversation and everything else go
//! through the generated code, and the type check is the generated type's,
//! so a component whose `assignment-request` differs is refused exactly as
//! before. The layout is checked against the generated type below, and the
//! runtime's tests run every built-in strategy on both paths and compare.

use std::mem::MaybeUninit;

use wasmtime::Result;
use wasmtime::component::__internal::{
    CanonicalAbiInfo, InstanceType, InterfaceType, LowerContext, bad_type_info,
};
use wasmtime::component::{ComponentType, Lower};

use super::bindings::types;

/// An assignment request whose candidate list is lowered in one pass.
pub(super) struct Request<'a>(pub(super) &'a types::AssignmentRequest);

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
        cx: &mut LowerContext<'_, T>,
        ty: InterfaceType,
        dst: &mut MaybeUninit<Self::Lower>,
    ) -> Result<()> {
        // A request never fits in flat parameters; should the ABI ever pass
        // it so, the generated code does it correctly.
        self.0.linear_lower_to_flat(cx, ty, dst)
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
        let (conversation_ty, candidates_ty) = match &fields[..] {
            [conversation, candidates] => (conversation.ty, candidates.ty),
            _ => bad_type_info(),
        };
        let InterfaceType::List(_) = candidates_ty else {
            bad_type_info()
        };
        let mut at = offset;
        let conversation_at =
            <types::Conversation as ComponentType>::ABI.next_field32_size(&mut at);
        self.0
            .conversation
            .linear_lower_to_memory(cx, conversation_ty, conversation_at)?;
        let list_at = <[types::Candidate] as ComponentType>::ABI.next_field32_size(&mut at);
        let (ptr, len) = lower_candidates(cx, &self.0.candidates)?;
        let slot = cx.get::<8>(list_at);
        slot[..4].copy_from_slice(&u32_of(ptr)?.to_le_bytes());
        slot[4..].copy_from_slice(&u32_of(len)?.to_le_bytes());
        Ok(())
    }
}

/// The canonical ABI layout of `candidate` (wasm32): each field's offset.
mod layout {
    /// `id: string`: pointer and length, 4 bytes each.
    pub(super) const ID: usize = 0;
    /// `presence: presence`: one byte, the case's index.
    pub(super) const PRESENCE: usize = 8;
    /// `load: channel-loads`: four `channel-load` records of two `u32`s.
    pub(super) const LOAD: usize = 12;
    /// The three `option<s64>` fields: a discriminant byte, then the value
    /// at the next 8-byte boundary.
    pub(super) const AVAILABLE_SINCE: usize = 48;
    pub(super) const IDLE_SINCE: usize = 64;
    pub(super) const LAST_ASSIGNED: usize = 80;
    /// `handled: u32`.
    pub(super) const HANDLED: usize = 96;
    /// The whole record, padded to its 8-byte alignment.
    pub(super) const SIZE: usize = 104;
    pub(super) const ALIGN: u32 = 8;
}

/// Write `candidates` into guest memory as a `list<candidate>`, returning
/// its pointer and length.
fn lower_candidates<T>(
    cx: &mut LowerContext<'_, T>,
    candidates: &[types::Candidate],
) -> Result<(usize, usize)> {
    // Each id is its own allocation: the guest takes ownership of every
    // string and frees them one by one.
    let mut ids = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let bytes = candidate.id.as_bytes();
        let ptr = cx.realloc(0, 0, 1, bytes.len())?;
        cx.as_slice_mut()
            .get_mut(ptr..)
            .and_then(|rest| rest.get_mut(..bytes.len()))
            .ok_or_else(out_of_bounds)?
            .copy_from_slice(bytes);
        ids.push((u32_of(ptr)?, u32_of(bytes.len())?));
    }
    let size = candidates
        .len()
        .checked_mul(layout::SIZE)
        .ok_or_else(|| wasmtime::Error::msg("the candidate list is too large"))?;
    let base = cx.realloc(0, 0, layout::ALIGN, size)?;
    let memory = cx
        .as_slice_mut()
        .get_mut(base..)
        .and_then(|rest| rest.get_mut(..size))
        .ok_or_else(out_of_bounds)?;
    for ((candidate, (ptr, len)), record) in candidates
        .iter()
        .zip(ids)
        .zip(memory.chunks_exact_mut(layout::SIZE))
    {
        write_candidate(record, candidate, ptr, len);
    }
    Ok((base, candidates.len()))
}

/// One candidate's bytes; `record` is exactly [`layout::SIZE`] long.
fn write_candidate(record: &mut [u8], candidate: &types::Candidate, ptr: u32, len: u32) {
    let mut put = |at: usize, bytes: &[u8]| record[at..at + bytes.len()].copy_from_slice(bytes);
    put(layout::ID, &ptr.to_le_bytes());
    put(layout::ID + 4, &len.to_le_bytes());
    put(
        layout::PRESENCE,
        &[match candidate.presence {
            types::Presence::Available => 0,
            types::Presence::Away => 1,
            types::Presence::Offline => 2,
        }],
    );
    let loads = &candidate.load;
    for (i, load) in [loads.chat, loads.email, loads.call, loads.form]
        .into_iter()
        .enumerate()
    {
        put(layout::LOAD + 8 * i, &load.open.to_le_bytes());
        put(layout::LOAD + 8 * i + 4, &load.capacity.to_le_bytes());
    }
    for (at, value) in [
        (layout::AVAILABLE_SINCE, candidate.available_since_ms),
        (layout::IDLE_SINCE, candidate.idle_since_ms),
        (layout::LAST_ASSIGNED, candidate.last_assigned_at_ms),
    ] {
        match value {
            Some(ms) => {
                put(at, &[1]);
                put(at + 8, &ms.to_le_bytes());
            }
            None => put(at, &[0]),
        }
    }
    put(layout::HANDLED, &candidate.handled.to_le_bytes());
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
        assert_eq!(<Option<i64> as ComponentType>::SIZE32, 16);
        // Field offsets, computed the way the generated code does.
        let mut at = 0;
        let mut offsets = Vec::new();
        for abi in [
            <String as ComponentType>::ABI,
            <types::Presence as ComponentType>::ABI,
            <types::ChannelLoads as ComponentType>::ABI,
            <Option<i64> as ComponentType>::ABI,
            <Option<i64> as ComponentType>::ABI,
            <Option<i64> as ComponentType>::ABI,
            <u32 as ComponentType>::ABI,
        ] {
            offsets.push(abi.next_field32_size(&mut at));
        }
        assert_eq!(
            offsets,
            [
                layout::ID,
                layout::PRESENCE,
                layout::LOAD,
                layout::AVAILABLE_SINCE,
                layout::IDLE_SINCE,
                layout::LAST_ASSIGNED,
                layout::HANDLED
            ]
        );
    }
}

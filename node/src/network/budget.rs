//! The node-wide budget for bytes read from peers and not yet handled.
//!
//! Every frame reserves its announced length before a byte of it is read, and gives it back when
//! the frame is dropped (after the event loop has handled it). When the budget is spent the frame is
//! refused and the stream closed — the peer retries later — so what peers can make the node buffer
//! is bounded by `limits.inbound_bytes_max` however many connections and streams they open.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A shared count of the bytes that may still be reserved.
#[derive(Clone, Debug)]
pub struct ByteBudget {
    left: Arc<AtomicUsize>,
}

impl ByteBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Self {
        ByteBudget {
            left: Arc::new(AtomicUsize::new(bytes)),
        }
    }

    /// Reserves `bytes`, or `None` when fewer are left.
    pub fn reserve(&self, bytes: usize) -> Option<Reservation> {
        self.left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(bytes)
            })
            .ok()?;
        Some(Reservation {
            budget: self.clone(),
            bytes,
        })
    }

    /// Bytes that may still be reserved.
    pub fn left(&self) -> usize {
        self.left.load(Ordering::Acquire)
    }
}

/// Bytes held against a [`ByteBudget`] until dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: ByteBudget,
    bytes: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.left.fetch_add(self.bytes, Ordering::AcqRel);
    }
}

/// A message's bytes, holding their share of the budget while they exist.
#[derive(Debug)]
pub struct Frame {
    /// The message.
    pub bytes: Vec<u8>,
    /// The budget share of a received frame; `None` for frames this node sends.
    _held: Option<Reservation>,
}

impl Frame {
    /// A frame to send.
    pub fn outgoing(bytes: Vec<u8>) -> Self {
        Frame { bytes, _held: None }
    }

    /// A received frame and its reservation.
    pub fn received(bytes: Vec<u8>, held: Reservation) -> Self {
        Frame {
            bytes,
            _held: Some(held),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_bounded_and_returned_on_drop() {
        let budget = ByteBudget::new(100);
        let a = budget.reserve(60).expect("room");
        assert!(budget.reserve(41).is_none(), "over the budget");
        let b = budget.reserve(40).expect("exactly the rest");
        assert_eq!(budget.left(), 0);
        drop(a);
        assert_eq!(budget.left(), 60);
        drop(Frame::received(vec![0; 40], b));
        assert_eq!(budget.left(), 100);
    }
}

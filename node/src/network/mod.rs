//! The libp2p side: a behaviour that only carries bytes (sync requests and responses, identify,
//! ping), and the framing codec. No sync logic lives here: libp2p behaviours own timers and read the
//! clock, so the protocol stays in the sans-IO core.

pub mod behaviour;
pub mod budget;
pub mod codec;
pub mod gate;
pub mod peer;

//! Framing for messages on a libp2p stream.
//!
//! ```text
//! frame = u32 big-endian length ‖ message bytes      (length ≤ the codec's limit)
//! ```
//! The length is checked, and reserved from the node's [`ByteBudget`], before anything is read or
//! allocated; the buffer then grows with the bytes that actually arrive. A peer announcing 4 GiB
//! costs nothing, and one announcing 8 MiB and sending 1 KiB costs about 1 KiB.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

use crate::network::budget::{ByteBudget, Frame};

/// The sync protocol's name and version.
pub const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/hallsync/sync/1");

/// The admission protocol's name and version: the only one a stranger can speak.
pub const ADMISSION_PROTOCOL: StreamProtocol = StreamProtocol::new("/hallsync/admission/1");

/// Reads and writes length-prefixed frames, refusing any longer than the limit or than the budget
/// has room for.
#[derive(Clone, Debug)]
pub struct FrameCodec {
    /// Largest frame accepted or sent, in bytes.
    pub bytes_max: usize,
    /// Shared by every stream of the node that uses this codec.
    pub budget: ByteBudget,
}

impl FrameCodec {
    /// A codec with its own budget of `budget_bytes`.
    pub fn new(bytes_max: usize, budget_bytes: usize) -> Self {
        FrameCodec {
            bytes_max,
            budget: ByteBudget::new(budget_bytes),
        }
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    max: usize,
    budget: &ByteBudget,
) -> std::io::Result<Frame> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(invalid(format!(
            "frame of {len} bytes exceeds the limit ({max})"
        )));
    }
    let held = budget.reserve(len).ok_or_else(|| {
        invalid(format!(
            "node busy: {} bytes of the inbound budget left, frame needs {len} (limits.inbound_bytes_max)",
            budget.left()
        ))
    })?;
    let mut bytes = Vec::new();
    // `len` fits in u64 on every platform.
    (&mut *io).take(len as u64).read_to_end(&mut bytes).await?;
    if bytes.len() != len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("frame ended after {} of {len} bytes", bytes.len()),
        ));
    }
    Ok(Frame::received(bytes, held))
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    frame: &Frame,
    max: usize,
) -> std::io::Result<()> {
    let bytes = &frame.bytes;
    if bytes.len() > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("frame of {} bytes exceeds the limit ({max})", bytes.len()),
        ));
    }
    // Checked above: the length fits the limit, which config bounds far below u32::MAX.
    io.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

impl libp2p::request_response::Codec for FrameCodec {
    type Protocol = StreamProtocol;
    type Request = Frame;
    type Response = Frame;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Frame>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.bytes_max, &self.budget).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Frame>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.bytes_max, &self.budget).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Frame,
    ) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req, self.bytes_max).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Frame,
    ) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res, self.bytes_max).await
    }
}

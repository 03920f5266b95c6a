//! Framing for sync messages on a libp2p stream.
//!
//! ```text
//! frame = u32 big-endian length ‖ message bytes      (length ≤ limits.message_bytes_max)
//! ```
//! The length is checked before anything is allocated, so a peer announcing 4 GiB costs nothing.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

/// The sync protocol's name and version.
pub const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/hallsync/sync/1");

/// Reads and writes length-prefixed frames, refusing any longer than the limit.
#[derive(Clone, Debug)]
pub struct SyncCodec {
    /// Largest frame accepted or sent, in bytes.
    pub message_bytes_max: usize,
}

impl Default for SyncCodec {
    fn default() -> Self {
        SyncCodec {
            message_bytes_max: hallsync_model::sync::wire::MESSAGE_BYTES_MAX,
        }
    }
}

async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    max: usize,
) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds limits.message_bytes_max ({max})"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    bytes: &[u8],
    max: usize,
) -> std::io::Result<()> {
    if bytes.len() > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "frame of {} bytes exceeds limits.message_bytes_max ({max})",
                bytes.len()
            ),
        ));
    }
    // Checked above: the length fits the limit, which config bounds far below u32::MAX.
    io.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.message_bytes_max).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.message_bytes_max).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req, self.message_bytes_max).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res, self.message_bytes_max).await
    }
}

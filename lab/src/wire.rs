//! A lab link: two TUN devices in two namespaces and a delay line between them, one thread each
//! way, with the link's latency, loss and bandwidth. The kernel of this machine has no `netem`, so
//! latency is made here, in user space: a packet read from one end waits its latency (and its time
//! on a link of the given bandwidth, queued behind the packets before it) and is written to the
//! other end, unless it is lost. A link can be cut (every packet dropped) and healed.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The shape of a link.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// One-way latency.
    pub latency: Duration,
    /// Probability a packet is lost, 0..1.
    pub loss: f64,
    /// Bandwidth in bit/s (0: unlimited).
    pub rate_bps: u64,
}

/// Most bytes queued on one direction of a link; past it packets are dropped, as a router's
/// queue would.
pub const QUEUE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// One direction's counters and switches, shared with its thread.
#[derive(Default)]
pub struct Direction {
    /// Packets carried.
    pub packets: AtomicU64,
    /// Bytes carried.
    pub bytes: AtomicU64,
    /// Packets dropped (loss, cut, full queue).
    pub dropped: AtomicU64,
}

/// A running link.
pub struct Wire {
    /// False while the link is cut.
    pub up: Arc<AtomicBool>,
    /// Per direction (a→b, b→a): false while a one-way cut drops what goes that way.
    pub open: [Arc<AtomicBool>; 2],
    /// Each direction: a→b, b→a.
    pub counters: [Arc<Direction>; 2],
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Wire {
    /// Carries packets between `a` and `b` (TUN devices) shaped by `shape`, with `seed` for the
    /// losses.
    pub fn start(a: File, b: File, shape: Shape, seed: u64) -> std::io::Result<Wire> {
        let up = Arc::new(AtomicBool::new(true));
        let open = [
            Arc::new(AtomicBool::new(true)),
            Arc::new(AtomicBool::new(true)),
        ];
        let stop = Arc::new(AtomicBool::new(false));
        let counters = [
            Arc::new(Direction::default()),
            Arc::new(Direction::default()),
        ];
        let a2 = a.try_clone()?;
        let b2 = b.try_clone()?;
        let mut threads = Vec::new();
        for (i, (from, to)) in [(a, b2), (b, a2)].into_iter().enumerate() {
            let up = up.clone();
            let dir_open = open[i].clone();
            let stop = stop.clone();
            let c = counters[i].clone();
            let seed = seed.wrapping_mul(2).wrapping_add(i as u64) | 1;
            threads.push(std::thread::spawn(move || {
                carry(from, to, shape, [&up, &dir_open], &stop, &c, seed);
            }));
        }
        Ok(Wire {
            up,
            open,
            counters,
            stop,
            threads,
        })
    }

    /// Cuts or heals the link.
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }

    /// Opens or closes one direction: 0 is upper→lower (down the tree), 1 lower→upper (up).
    pub fn set_direction(&self, direction: usize, open: bool) {
        self.open[direction % 2].store(open, Ordering::SeqCst);
    }

    /// Bytes carried both ways.
    pub fn bytes(&self) -> u64 {
        self.counters
            .iter()
            .map(|c| c.bytes.load(Ordering::Relaxed))
            .sum()
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// xorshift64*: the losses' randomness, seeded, so a run's losses do not depend on the clock.
fn next(state: &mut u64) -> f64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
}

fn carry(
    mut from: File,
    mut to: File,
    shape: Shape,
    switches: [&AtomicBool; 2],
    stop: &AtomicBool,
    c: &Direction,
    mut rng: u64,
) {
    let mut queue: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut queued = 0usize;
    let mut free_at = Instant::now();
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let wait = queue
            .front()
            .map_or(Duration::from_millis(50), |(t, _)| {
                t.saturating_duration_since(now)
            })
            .min(Duration::from_millis(50));
        let mut fds = libc::pollfd {
            fd: from.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(wait.as_millis()).unwrap_or(50);
        // SAFETY: one valid pollfd for a file descriptor this thread holds open.
        let ready = unsafe { libc::poll(&mut fds, 1, ms) };
        if ready > 0 && fds.revents & libc::POLLIN != 0 {
            if let Ok(n) = from.read(&mut buf) {
                let now = Instant::now();
                let passing = |s: [&AtomicBool; 2]| s.iter().all(|x| x.load(Ordering::Relaxed));
                let lost = !passing(switches)
                    || next(&mut rng) < shape.loss
                    || queued + n > QUEUE_BYTES_MAX;
                if lost {
                    c.dropped.fetch_add(1, Ordering::Relaxed);
                } else {
                    let serialise = (n as u64 * 8 * 1_000_000_000)
                        .checked_div(shape.rate_bps)
                        .map_or(Duration::ZERO, Duration::from_nanos);
                    free_at = free_at.max(now) + serialise;
                    queued += n;
                    queue.push_back((free_at + shape.latency, buf[..n].to_vec()));
                }
            }
        }
        let now = Instant::now();
        while queue.front().is_some_and(|(t, _)| *t <= now) {
            let Some((_, packet)) = queue.pop_front() else {
                break;
            };
            queued -= packet.len();
            if !switches.iter().all(|x| x.load(Ordering::Relaxed)) {
                c.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if to.write_all(&packet).is_ok() {
                c.packets.fetch_add(1, Ordering::Relaxed);
                c.bytes.fetch_add(packet.len() as u64, Ordering::Relaxed);
            }
        }
    }
}

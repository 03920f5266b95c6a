//! TUN devices made inside a namespace: one end of a lab link. The lab reads the packets a
//! namespace sends into its TUN and writes them out of the other end's, after the link's delay.

use std::fs::File;
use std::os::fd::AsRawFd;

use anyhow::{bail, Context, Result};

use crate::netns;

const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;
/// `_IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Makes TUN device `dev` in namespace `ns` (from a thread that enters it, so the process stays
/// where it is) and gives it `local` in the /30 it shares with the other end, up. (Not a
/// point-to-point `peer` address: libp2p would then list the peer's address as this node's.)
///
/// # Errors
/// When the namespace, `/dev/net/tun` or the ioctl fails, or `ip` refuses the address.
pub fn make(ns: &str, dev: &str, local: &str) -> Result<File> {
    if dev.len() >= libc::IFNAMSIZ {
        bail!("device name {dev} is too long");
    }
    let ns_name = ns.to_string();
    let dev_name = dev.to_string();
    let file = std::thread::spawn(move || -> Result<File> {
        netns::enter(&ns_name)?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")
            .context("opening /dev/net/tun")?;
        let mut req = IfReq {
            name: [0; libc::IFNAMSIZ],
            flags: IFF_TUN | IFF_NO_PI,
            _pad: [0; 22],
        };
        for (i, b) in dev_name.bytes().enumerate() {
            req.name[i] = b as libc::c_char;
        }
        // SAFETY: TUNSETIFF with a properly sized, zero-padded ifreq on a file we own.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF as _, &mut req) };
        if rc != 0 {
            bail!("TUNSETIFF {dev_name}: {}", std::io::Error::last_os_error());
        }
        Ok(file)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the thread making {dev} panicked"))??;
    netns::ip(&["-n", ns, "addr", "add", &format!("{local}/30"), "dev", dev])?;
    netns::ip(&["-n", ns, "link", "set", dev, "up"])?;
    Ok(file)
}

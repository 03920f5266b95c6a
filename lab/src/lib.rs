//! hallsync-lab: the simulator's scenarios run with real nodes.
//!
//! Each hall is a real `hallsync run` process in a Linux network namespace of its own; each
//! parent–child link is a pair of TUN devices joined by a delay line in this process, with the
//! scenario's latency, loss and bandwidth (this kernel has no `netem`, so latency is made in user
//! space: see [`wire`]); villages may sit behind NAT (a namespace with an nftables masquerade that
//! lets nothing in that its village did not start). The lab runs the workload through the nodes'
//! own control API, cuts and heals the scenario's partition, and reports convergence, bytes and
//! per-level delays in the simulator's terms. It needs root; everything it makes is named
//! `hsl-…` and taken down at the end, on Ctrl-C, or by `hallsync-lab clean` after a crash.
//!
//! Modules: [`plan`] (namespaces, links, addresses, routes from a scenario), [`netns`] and
//! [`tun`] (the kernel objects), [`wire`] (the delay line), [`nodes`] (node processes and their
//! control API), [`run`] (a run and its report).

pub mod netns;
pub mod nodes;
pub mod plan;
pub mod run;
pub mod tun;
pub mod wire;

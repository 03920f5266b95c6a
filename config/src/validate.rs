//! The rules a configuration must meet, each error naming its key.

use std::net::SocketAddr;

use crate::error::ConfigError;
use crate::types::Config;

const LEVELS: [&str; 4] = ["city", "district", "township", "village"];

fn invalid(key: &'static str, value: impl ToString, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: value.to_string(),
        reason: reason.into(),
    }
}

fn check_range(key: &'static str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(invalid(
            key,
            value,
            format!("must be between {min} and {max}"),
        ))
    }
}

fn check_hall(key: &'static str, hall: &str) -> Result<(), ConfigError> {
    let ok = !hall.is_empty()
        && hall.len() <= 32
        && hall.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("{hall:?}"),
            "use 1 to 32 ASCII letters, digits or '-' (a division code, or a park's own id)",
        ))
    }
}

fn check_multiaddr(key: &'static str, addr: &str, needs_peer: bool) -> Result<(), ConfigError> {
    let shaped = ["/ip4/", "/ip6/", "/dns/", "/dns4/", "/dns6/"]
        .iter()
        .any(|p| addr.starts_with(p));
    if !shaped {
        return Err(invalid(
            key,
            format!("{addr:?}"),
            "must be a libp2p multiaddr such as /ip4/127.0.0.1/tcp/4001",
        ));
    }
    if needs_peer && !addr.contains("/p2p/") {
        return Err(invalid(
            key,
            format!("{addr:?}"),
            "a peer address must end in /p2p/PEER_ID (as in an invitation token)",
        ));
    }
    Ok(())
}

impl Config {
    /// Checks every value.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for the first value that breaks a rule.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let node = &self.node;
        if !LEVELS.contains(&node.level.as_str()) {
            return Err(invalid(
                "node.level",
                format!("{:?}", node.level),
                "use city, district, township or village",
            ));
        }
        check_hall("node.hall", &node.hall)?;
        let name_chars = node.name.chars().count();
        if node.name.trim().is_empty() || name_chars > 200 {
            return Err(invalid(
                "node.name",
                format!("{:?}", node.name),
                "give the hall's name, 1 to 200 characters",
            ));
        }
        match (&node.parent, node.level.as_str()) {
            (Some(p), "city") => {
                return Err(invalid(
                    "node.parent",
                    format!("{p:?}"),
                    "a city hall has no parent; remove the key",
                ))
            }
            (None, level) if level != "city" => {
                return Err(invalid(
                    "node.parent",
                    "(missing)",
                    format!("a {level} hall needs its parent hall's id"),
                ))
            }
            (Some(p), _) => check_hall("node.parent", p)?,
            (None, _) => {}
        }
        let control: SocketAddr = self.control.listen.parse().map_err(|_| {
            invalid(
                "control.listen",
                format!("{:?}", self.control.listen),
                "must be IP:PORT, e.g. 127.0.0.1:0",
            )
        })?;
        if !control.ip().is_loopback() {
            return Err(invalid(
                "control.listen",
                format!("{:?}", self.control.listen),
                "the control API must listen on loopback (127.0.0.1 or ::1) only",
            ));
        }
        for addr in &self.network.listen {
            check_multiaddr("network.listen", addr, false)?;
        }
        if self.network.announce.len() > 16 {
            return Err(invalid(
                "network.announce",
                format!("{} addresses", self.network.announce.len()),
                "announce at most 16 addresses",
            ));
        }
        for addr in &self.network.announce {
            check_multiaddr("network.announce", addr, false)?;
            if addr.contains("/p2p/") {
                return Err(invalid(
                    "network.announce",
                    format!("{addr:?}"),
                    "give the address without /p2p/: the node adds its own peer id",
                ));
            }
        }
        if !self.metrics.listen.is_empty() {
            self.metrics.listen.parse::<SocketAddr>().map_err(|_| {
                invalid(
                    "metrics.listen",
                    format!("{:?}", self.metrics.listen),
                    "give an address and port such as 127.0.0.1:9464, or leave it empty (off)",
                )
            })?;
        }
        if !self.console.listen.is_empty() {
            let addr = self.console.listen.parse::<SocketAddr>().map_err(|_| {
                invalid(
                    "console.listen",
                    format!("{:?}", self.console.listen),
                    "give an address and port such as 127.0.0.1:8080, or leave it empty (beside the control API)",
                )
            })?;
            if addr.ip().is_unspecified() {
                return Err(invalid(
                    "console.listen",
                    format!("{:?}", self.console.listen),
                    "name the address of the hall network's interface, e.g. 192.168.1.10:8080: sign-in links carry it, and the console answers only requests sent to it",
                ));
            }
        }
        check_range(
            "console.link_minutes",
            u64::from(self.console.link_minutes),
            1,
            60,
        )?;
        check_range(
            "console.session_minutes",
            u64::from(self.console.session_minutes),
            1,
            24 * 60,
        )?;
        check_range(
            "console.sessions_max",
            u64::from(self.console.sessions_max),
            1,
            1024,
        )?;
        check_range(
            "cases.retention_days",
            u64::from(self.cases.retention_days),
            0,
            3650,
        )?;
        if !["auto", "yes", "no"].contains(&self.network.reachable.as_str()) {
            return Err(invalid(
                "network.reachable",
                format!("{:?}", self.network.reachable),
                "use auto (ask peers), no (behind NAT: reserve a relay slot) or yes",
            ));
        }
        check_range(
            "network.relay_reservations_max",
            u64::from(self.network.relay_reservations_max),
            1,
            100_000,
        )?;
        check_range(
            "network.relay_circuit_seconds_max",
            self.network.relay_circuit_seconds_max,
            10,
            86_400,
        )?;
        check_range(
            "network.relay_circuit_bytes_max",
            self.network.relay_circuit_bytes_max,
            1024 * 1024,
            1 << 40,
        )?;
        if !["text", "json"].contains(&self.log.format.as_str()) {
            return Err(invalid(
                "log.format",
                format!("{:?}", self.log.format),
                "use text or json",
            ));
        }
        check_range("log.files_max", u64::from(self.log.files_max), 1, 3650)?;
        for addr in &self.network.peers {
            check_multiaddr("network.peers", addr, true)?;
        }
        let net = &self.network;
        check_range(
            "network.sync_interval_ms",
            net.sync_interval_ms,
            50,
            3_600_000,
        )?;
        check_range(
            "network.reconnect_backoff_min_ms",
            net.reconnect_backoff_min_ms,
            10,
            3_600_000,
        )?;
        check_range(
            "network.reconnect_backoff_max_ms",
            net.reconnect_backoff_max_ms,
            net.reconnect_backoff_min_ms,
            3_600_000,
        )?;
        check_range(
            "network.idle_timeout_ms",
            net.idle_timeout_ms,
            1000,
            86_400_000,
        )?;
        check_range(
            "network.connections_max",
            u64::from(net.connections_max),
            4,
            100_000,
        )?;
        check_range(
            "network.connections_pending_max",
            u64::from(net.connections_pending_max),
            1,
            10_000,
        )?;
        check_range(
            "network.connections_per_peer_max",
            u64::from(net.connections_per_peer_max),
            1,
            16,
        )?;
        check_range(
            "network.strangers_max",
            u64::from(net.strangers_max),
            1,
            10_000,
        )?;
        check_range(
            "network.admission_timeout_ms",
            net.admission_timeout_ms,
            500,
            600_000,
        )?;
        let lim = &self.limits;
        check_range(
            "limits.message_bytes_max",
            lim.message_bytes_max,
            64 * 1024,
            64 * 1024 * 1024,
        )?;
        check_range(
            "limits.changes_per_message_max",
            lim.changes_per_message_max,
            1,
            1_000_000,
        )?;
        check_range(
            "limits.quarantine_entries_max",
            lim.quarantine_entries_max,
            100,
            10_000_000,
        )?;
        check_range(
            "limits.quarantine_bytes_max",
            lim.quarantine_bytes_max,
            lim.message_bytes_max,
            64 * 1024 * 1024 * 1024,
        )?;
        check_range(
            "limits.streams_per_connection_max",
            u64::from(lim.streams_per_connection_max),
            1,
            1_024,
        )?;
        check_range(
            "limits.inbound_bytes_max",
            lim.inbound_bytes_max,
            lim.message_bytes_max,
            64 * 1024 * 1024 * 1024,
        )?;
        check_range(
            "limits.open_records_max",
            lim.open_records_max,
            16,
            1_000_000,
        )?;
        check_range("limits.store_cache_mb", lim.store_cache_mb, 4, 65_536)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, NodeSection};

    fn config() -> Config {
        Config::new(NodeSection {
            hall: "440305".into(),
            level: "district".into(),
            name: "南山区政务服务中心".into(),
            parent: Some("4403".into()),
        })
    }

    fn err_of(change: impl FnOnce(&mut Config)) -> String {
        let mut c = config();
        change(&mut c);
        c.validate().unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_valid() {
        config().validate().unwrap();
    }

    #[test]
    fn each_rule_names_its_key() {
        assert!(err_of(|c| c.node.level = "county".into()).contains("node.level"));
        assert!(err_of(|c| c.node.hall = "a b".into()).contains("node.hall"));
        assert!(err_of(|c| c.node.name = " ".into()).contains("node.name"));
        assert!(err_of(|c| c.node.parent = None).contains("node.parent"));
        assert!(err_of(|c| c.control.listen = "0.0.0.0:80".into()).contains("loopback"));
        assert!(err_of(|c| c.control.listen = "nope".into()).contains("control.listen"));
        assert!(err_of(|c| c.console.listen = "0.0.0.0:8080".into()).contains("console.listen"));
        assert!(err_of(|c| c.console.listen = "nope".into()).contains("console.listen"));
        assert!(err_of(|c| c.console.session_minutes = 0).contains("console.session_minutes"));
        assert!(err_of(|c| c.cases.retention_days = 4000).contains("cases.retention_days"));
        assert!(err_of(|c| c.network.listen = vec!["tcp://x".into()]).contains("network.listen"));
        assert!(err_of(|c| c.network.peers = vec!["/ip4/1.2.3.4/tcp/1".into()]).contains("/p2p/"));
        assert!(err_of(|c| c.network.sync_interval_ms = 1).contains("network.sync_interval_ms"));
        assert!(
            err_of(|c| c.network.reconnect_backoff_max_ms = 1).contains("reconnect_backoff_max_ms")
        );
        assert!(err_of(|c| c.limits.message_bytes_max = 1).contains("limits.message_bytes_max"));
        assert!(
            err_of(|c| c.limits.changes_per_message_max = 0).contains("changes_per_message_max")
        );
        assert!(err_of(|c| c.limits.quarantine_entries_max = 1).contains("quarantine_entries_max"));
    }

    #[test]
    fn a_city_has_no_parent() {
        let mut c = config();
        c.node.level = "city".into();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("node.parent"));
    }
}

//! A commented example configuration with every key at its default.

/// Every key, its default and what it is for; `hallsync init` writes the same values.
pub fn default_config_toml_example() -> &'static str {
    r#"# hallsync node configuration (节点配置). Only [node] is required; every other key shows its default.

[node]
hall = "440305"            # 大厅编号 hall id: division code (R1–R3) or a park's own id (R6)
level = "district"         # 层级 city | district | township | village
name = "南山区政务服务中心"   # 大厅名称 hall name
parent = "4403"            # 上级大厅 parent hall id; omit for the city

[network]
listen = ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"]   # libp2p listen addresses, TCP and QUIC (监听地址)
peers = []                          # peers to keep connected to, /ip4/…/tcp/…/p2p/PEER_ID (对等节点)
announce = []                       # addresses others should dial this node at, without /p2p/ (公布地址)
sync_interval_ms = 2000             # start a sync round with each peer this often (同步间隔)
reconnect_backoff_min_ms = 500      # first redial wait, doubling up to the max (重连退避)
reconnect_backoff_max_ms = 30000
idle_timeout_ms = 60000             # close idle connections after this long
connections_max = 64                # most connections at once (连接上限)
connections_pending_max = 16        # most incoming connections still in their handshake
connections_per_peer_max = 4        # most connections to one peer (both dial at once, AutoNAT dials back, a hole punch)
strangers_max = 8                   # most connections from devices not admitted yet (未准入连接上限)
admission_timeout_ms = 10000        # a connection must prove membership within this (准入时限)
mdns = true                         # find nodes on the local network; only members are dialled (局域网发现)
relay_serve = false                 # relay for member nodes behind NAT; init turns it on above villages (中继服务)
reachable = "auto"                  # auto (AutoNAT asks peers; yes for a relay or a node that announces) | no (behind NAT: reserve a relay slot at the parent) | yes (可达性)
relay_reservations_max = 128        # relay slots held for others, when serving (中继预约上限)
relay_circuit_seconds_max = 3600    # a relayed connection is made again after this long
relay_circuit_bytes_max = 268435456 # ... or after this many bytes

[control]
listen = "127.0.0.1:0"              # control API, loopback only (本机控制接口)

[limits]
message_bytes_max = 8388608         # largest sync message in bytes (消息上限)
changes_per_message_max = 10000     # most signed changes in one message
quarantine_entries_max = 10000      # most quarantined changes kept; the oldest go first (隔离区上限)
quarantine_bytes_max = 67108864     # most bytes of quarantined changes
streams_per_connection_max = 8      # most concurrent sync streams per connection (每连接流上限)
inbound_bytes_max = 134217728       # most bytes of received messages buffered, all peers together (接收缓冲上限)
open_records_max = 2048             # records kept open in memory; the rest stay on disk (内存中打开的记录上限)
store_cache_mb = 64                 # the store's page cache in MiB (存储缓存)

[metrics]
listen = ""                         # Prometheus text at http://ADDR/metrics, e.g. "127.0.0.1:9464"; empty: off (监控指标)

[console]
listen = ""                         # the administrators' console; empty: beside the control API on loopback (管理控制台)
link_minutes = 5                    # a sign-in link from `hallsync console` is good this long (登录链接有效期)
session_minutes = 600               # a session lasts this long from sign-in (会话时长)
sessions_max = 32                   # most sessions at once; the oldest is signed out past it

[cases]
retention_days = 365                # personal data of an archived case is erased everywhere this long after (个人信息保留天数; 0: at once)

[log]
format = "text"                     # text or json (one object a line); `run --log-format` overrides (日志格式)
dir = ""                            # also log to daily files here (hallsync.log.YYYY-MM-DD); empty: stderr only (日志目录)
files_max = 14                      # daily files kept (保留天数)
"#
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_parses_and_validates() {
        let config =
            crate::Config::from_toml_str(super::default_config_toml_example(), "example").unwrap();
        assert_eq!(config, crate::Config::new(config.node.clone()));
    }
}

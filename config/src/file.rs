//! Reading and writing `config.toml`.

use std::path::Path;

use crate::error::ConfigError;
use crate::types::Config;
use crate::CONFIG_FILE_NAME;

impl Config {
    /// Parses and validates TOML text; `origin` names it in errors (usually the file's path).
    ///
    /// # Errors
    /// [`ConfigError::Parse`] for bad TOML or unknown keys, [`ConfigError::Invalid`] for bad values.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads `dir/config.toml`.
    ///
    /// # Errors
    /// [`ConfigError::Read`], or what [`Config::from_toml_str`] gives.
    pub fn load(dir: &Path) -> Result<Config, ConfigError> {
        let path = dir.join(CONFIG_FILE_NAME);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Config::from_toml_str(&text, &path.display().to_string())
    }

    /// The configuration as TOML.
    ///
    /// # Errors
    /// [`ConfigError::Encode`] (not expected for these types).
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|e| ConfigError::Encode(e.to_string()))
    }

    /// Writes `dir/config.toml` through a temporary file and a rename, so a crash never leaves half
    /// a file.
    ///
    /// # Errors
    /// [`ConfigError::Write`] or [`ConfigError::Encode`].
    pub fn save(&self, dir: &Path) -> Result<(), ConfigError> {
        let path = dir.join(CONFIG_FILE_NAME);
        let tmp = dir.join(format!("{CONFIG_FILE_NAME}.tmp"));
        let text = self.to_toml_string()?;
        let write = |p: &Path| ConfigError::Write {
            path: p.to_path_buf(),
            source: std::io::Error::other("write failed"),
        };
        std::fs::write(&tmp, text).map_err(|source| ConfigError::Write {
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &path).map_err(|_| write(&path))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, NodeSection};

    fn node() -> NodeSection {
        NodeSection {
            hall: "4403".into(),
            level: "city".into(),
            name: "深圳市政务服务中心".into(),
            parent: None,
        }
    }

    #[test]
    fn a_node_table_alone_gets_every_default() {
        let text = "[node]\nhall = \"4403\"\nlevel = \"city\"\nname = \"x\"\n";
        let config = Config::from_toml_str(text, "t").unwrap();
        assert_eq!(config.network.sync_interval_ms, 2000);
        assert_eq!(config.control.listen, "127.0.0.1:0");
        assert_eq!(config.limits.message_bytes_max, 8 * 1024 * 1024);
    }

    #[test]
    fn unknown_keys_are_named() {
        let top = "bogus = 1\n[node]\nhall = \"4403\"\nlevel = \"city\"\nname = \"x\"\n";
        let err = Config::from_toml_str(top, "t").unwrap_err().to_string();
        assert!(err.contains("bogus"), "{err}");
        let inner = "[node]\nhall = \"4403\"\nlevel = \"city\"\nname = \"x\"\n[network]\nsync_intervall_ms = 5\n";
        let err = Config::from_toml_str(inner, "t").unwrap_err().to_string();
        assert!(
            err.contains("sync_intervall_ms") && err.contains("sync_interval_ms"),
            "{err}"
        );
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(node());
        config
            .network
            .peers
            .push("/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW".into());
        config.save(dir.path()).unwrap();
        assert_eq!(Config::load(dir.path()).unwrap(), config);
    }

    #[test]
    fn missing_file_says_how_to_create_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = Config::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("hallsync init"), "{err}");
    }
}

//! A real headless Chromium driven over WebDriver, for the console's tests.
//!
//! fantoccini drives it: a small async WebDriver client on tokio and hyper, which the node already
//! builds on, with no TLS stack to compile (the driver is on 127.0.0.1) — thirtyfour wraps more than
//! we use, and chromiumoxide's DevTools protocol crate is far heavier to build. Debian's `chromium`
//! and `chromium-driver` (`.ci/run` installs them) are started here, on a port of our own and with a
//! profile of our own, and stopped when the test ends, pass or fail.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};

/// The console's tests take screenshots at this size: a hall PC's screen.
pub const WIDTH: u32 = 1366;
/// See [`WIDTH`].
pub const HEIGHT: u32 = 768;

/// How long one browser step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// A headless Chromium and its driver.
pub struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at 1366×768.
    ///
    /// # Errors
    /// Chromium or its driver is missing (`apt-get install chromium chromium-driver`), or does not
    /// start within a minute.
    pub fn start() -> Result<Browser> {
        let port = free_port()?;
        let driver = Process::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start chromedriver: install Debian's chromium and chromium-driver (`.ci/run` does)")?;
        let profile = tempfile::tempdir()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut browser = Browser {
            rt,
            client: None,
            driver,
            _profile: profile,
        };
        let caps: serde_json::Map<String, serde_json::Value> =
            serde_json::from_value(serde_json::json!({
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": [
                        "--headless=new",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-dev-shm-usage",
                        "--no-first-run",
                        "--no-proxy-server",
                        "--lang=zh-CN",
                        format!("--window-size={WIDTH},{HEIGHT}"),
                        format!("--user-data-dir={}", browser._profile.path().display()),
                    ]
                }
            }))?;
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        // The driver takes a moment to listen: try for up to a minute.
        for _ in 0..120 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let attempt = browser.rt.block_on(
                ClientBuilder::new(connector)
                    .capabilities(caps.clone())
                    .connect(&url),
            );
            match attempt {
                Ok(client) => {
                    browser.client = Some(client);
                    break;
                }
                Err(e) => last = Some(e.to_string()),
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        if browser.client.is_none() {
            bail!("chromium did not start: {}", last.unwrap_or_default());
        }
        // Size the window so that the page itself (the viewport) is 1366×768, as on a hall PC's
        // full-screen browser: the window's own frame is measured and added.
        browser.on(|c| async move {
            c.set_window_size(WIDTH, HEIGHT).await?;
            let inner = c
                .execute("return [window.innerWidth, window.innerHeight];", vec![])
                .await?;
            let dim = |i: usize| inner[i].as_u64().unwrap_or(0) as u32;
            let (w, h) = (dim(0), dim(1));
            if w > 0 && h > 0 {
                c.set_window_size(
                    WIDTH + WIDTH.saturating_sub(w),
                    HEIGHT + HEIGHT.saturating_sub(h),
                )
                .await?;
            }
            Ok(())
        })?;
        Ok(browser)
    }

    /// Runs one step with the client, bounded by [`STEP_TIMEOUT`].
    fn on<T, F, Fut>(&self, step: F) -> Result<T>
    where
        F: FnOnce(Client) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let client = self
            .client
            .clone()
            .ok_or_else(|| anyhow!("the browser is closed"))?;
        self.rt
            .block_on(async { tokio::time::timeout(STEP_TIMEOUT, step(client)).await })
            .map_err(|_| anyhow!("a browser step took over {} s", STEP_TIMEOUT.as_secs()))?
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) -> Result<()> {
        let url = url.to_string();
        self.on(|c| async move { Ok(c.goto(&url).await?) })
    }

    /// The address the browser shows now.
    pub fn url(&self) -> Result<String> {
        self.on(|c| async move { Ok(c.current_url().await?.to_string()) })
    }

    /// Waits (up to 10 s) until the page's body text contains `wanted`, for pages that move on by
    /// themselves (the sign-in page submits itself); returns the text.
    pub fn wait_text(&self, wanted: &str) -> Result<String> {
        self.wait_text_of("body", wanted)
    }

    /// Waits (up to 10 s) until the first element matching `css` shows text containing `wanted`.
    pub fn wait_text_of(&self, css: &str, wanted: &str) -> Result<String> {
        let mut text = String::new();
        for _ in 0..100 {
            text = self.text_of(css).unwrap_or_default();
            if text.contains(wanted) {
                return Ok(text);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("the page never showed {wanted:?}; it shows: {text}")
    }

    /// The text of the page's body, as a person reads it.
    pub fn text(&self) -> Result<String> {
        self.text_of("body")
    }

    /// Runs a read of the page again while it fails (for up to 5 s): after a click that submits a
    /// form, the old page may still be there, or going, for a moment.
    fn settled<T>(&self, read: impl Fn() -> Result<T>) -> Result<T> {
        let mut last = None;
        for _ in 0..50 {
            match read() {
                Ok(v) => return Ok(v),
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(last.unwrap_or_else(|| anyhow!("the page did not settle")))
    }

    /// Waits until the page shown has finished loading.
    fn loaded(&self) -> Result<()> {
        self.settled(|| {
            let state =
                self.on(
                    |c| async move { Ok(c.execute("return document.readyState;", vec![]).await?) },
                )?;
            if state == "complete" {
                Ok(())
            } else {
                bail!("the page is {state}")
            }
        })
    }

    /// The text of the first element matching `css`.
    pub fn text_of(&self, css: &str) -> Result<String> {
        self.loaded()?;
        self.settled(|| {
            let css = css.to_string();
            self.on(|c| async move { Ok(c.find(Locator::Css(&css)).await?.text().await?) })
        })
    }

    /// How many elements match `css`.
    pub fn count(&self, css: &str) -> Result<usize> {
        self.loaded()?;
        self.settled(|| {
            let css = css.to_string();
            self.on(|c| async move { Ok(c.find_all(Locator::Css(&css)).await?.len()) })
        })
    }

    /// Clicks the first element matching `css`, and waits for what it loads.
    pub fn click(&self, css: &str) -> Result<()> {
        let css = css.to_string();
        self.on(|c| async move { Ok(c.find(Locator::Css(&css)).await?.click().await?) })?;
        std::thread::sleep(Duration::from_millis(100));
        self.loaded()
    }

    /// Types `text` into the first element matching `css` (a file path, for a file input).
    pub fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let (css, text) = (css.to_string(), text.to_string());
        self.on(|c| async move { Ok(c.find(Locator::Css(&css)).await?.send_keys(&text).await?) })
    }

    /// Runs `script` in the page and returns what it returns.
    pub fn run_js(&self, script: &str) -> Result<serde_json::Value> {
        let script = script.to_string();
        self.on(|c| async move { Ok(c.execute(&script, vec![]).await?) })
    }

    /// Sets the value of the first element matching `css`, as a page's own script could (a
    /// hidden field a person cannot type into).
    pub fn set_value(&self, css: &str, value: &str) -> Result<()> {
        let args = vec![serde_json::json!(css), serde_json::json!(value)];
        self.on(|c| async move {
            c.execute(
                "document.querySelector(arguments[0]).value = arguments[1];",
                args,
            )
            .await?;
            Ok(())
        })
    }

    /// The CSRF token of the console page shown (from its sign-out form).
    pub fn csrf(&self) -> Result<String> {
        let action = self.on(|c| async move {
            Ok(c.execute(
                "return document.querySelector('header form').getAttribute('action');",
                vec![],
            )
            .await?)
        })?;
        action
            .as_str()
            .and_then(|a| a.split("csrf=").nth(1))
            .map(String::from)
            .ok_or_else(|| anyhow!("no CSRF token on the page: {action}"))
    }

    /// Posts a form of `fields` to `url` from the page shown, as its own script could, and waits
    /// for the answer's page.
    pub fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> Result<()> {
        let before = self.url()?;
        let fields: Vec<serde_json::Value> = fields
            .iter()
            .map(|(k, v)| serde_json::json!([k, v]))
            .collect();
        let args = vec![serde_json::json!(url), serde_json::json!(fields)];
        self.on(|c| async move {
            c.execute(
                "const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0];
                 for (const [k, v] of arguments[1]) { const i = document.createElement('input');
                   i.name = k; i.value = v; f.appendChild(i); }
                 document.body.appendChild(f); f.submit();",
                args,
            )
            .await?;
            Ok(())
        })?;
        for _ in 0..100 {
            if self.url()? != before || self.count(".flash")? > 0 {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("the form's answer did not arrive")
    }

    /// Writes a screenshot of the window as `target/console-screenshots/NAME.png`.
    pub fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self.on(|c| async move { Ok(c.screenshot().await?) })?;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// The page's width as laid out, in CSS pixels: wider than the window means a horizontal
    /// scroll bar, which the console must not need at 1366×768.
    pub fn page_width(&self) -> Result<u64> {
        self.on(|c| async move {
            let v = c
                .execute("return document.documentElement.scrollWidth;", vec![])
                .await?;
            v.as_u64()
                .ok_or_else(|| anyhow!("scrollWidth is not a number: {v}"))
        })
    }
}

/// `target/console-screenshots`, beside the binaries the tests run.
pub fn screenshot_dir() -> PathBuf {
    let bin = hallsync_tests::hallsync_bin();
    bin.parent()
        .and_then(|d| d.parent())
        .map(|t| t.join("console-screenshots"))
        .unwrap_or_else(|| PathBuf::from("target/console-screenshots"))
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(10), client.close()).await
            });
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

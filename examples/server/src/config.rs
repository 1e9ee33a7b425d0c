//! Command-line flags and environment variables.

use std::net::SocketAddr;
use std::time::Duration;

/// How the demo server runs. Every flag has an environment variable too.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `--addr` / `PORTCULLIS_ADDR`: where to listen. Default `127.0.0.1:3000`.
    pub addr: SocketAddr,
    /// `--database-url` / `DATABASE_URL`. Default `sqlite://portcullis-demo.db?mode=rwc`.
    pub database_url: String,
    /// `--public-url` / `PORTCULLIS_PUBLIC_URL`: base of emailed links. Default
    /// `http://<addr>`.
    pub public_url: String,
    /// `--rate-limit N|off` / `PORTCULLIS_RATE_LIMIT`: credential requests per minute per
    /// client address. Default 10.
    pub rate_limit_per_minute: Option<u32>,
    /// `--insecure-cookies` / `PORTCULLIS_INSECURE_COOKIES=1`: plain-HTTP cookies for
    /// localhost (no `Secure`, no `__Host-` prefix). Off by default.
    pub insecure_cookies: bool,
    /// `--trusted-proxy-header NAME`: read client addresses from this header (only behind a
    /// proxy that sets it). Default: the TCP peer address.
    pub trusted_proxy_header: Option<String>,
    /// `--log-level` / `RUST_LOG`-like level: `error`, `warn`, `info`, `debug`, `trace`.
    pub log_level: String,
    /// `--create-admin EMAIL`: create (or promote) an admin, password from
    /// `PORTCULLIS_ADMIN_PASSWORD` or stdin, then exit.
    pub create_admin: Option<String>,
    /// `--session-cache off|SECONDS` / `PORTCULLIS_SESSION_CACHE`: trust a validated session
    /// for this long without reading storage (`AuthConfig::session_cache`, default size).
    /// Default off: a revocation made by another process is seen at once. With a cache, it
    /// may take up to that many seconds; revocations through this server evict at once.
    pub session_cache_ttl: Option<Duration>,
}

impl ServerConfig {
    /// Reads flags (`args` without the program name) over environment variables.
    ///
    /// # Errors
    /// A message naming the flag that is wrong, for the user.
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Self, String> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut addr = env("PORTCULLIS_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let mut database_url = env("DATABASE_URL")
            .unwrap_or_else(|| "sqlite://portcullis-demo.db?mode=rwc".to_owned());
        let mut public_url = env("PORTCULLIS_PUBLIC_URL");
        let mut rate_limit = env("PORTCULLIS_RATE_LIMIT").unwrap_or_else(|| "10".to_owned());
        let mut insecure_cookies = env("PORTCULLIS_INSECURE_COOKIES").is_some_and(|v| v != "0");
        let mut trusted_proxy_header = env("PORTCULLIS_TRUSTED_PROXY_HEADER");
        let mut log_level = env("PORTCULLIS_LOG").unwrap_or_else(|| "info".to_owned());
        let mut create_admin = None;
        let mut session_cache = env("PORTCULLIS_SESSION_CACHE").unwrap_or_else(|| "off".to_owned());

        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .ok_or_else(|| format!("{name} needs a value (see --help)"))
            };
            match flag.as_str() {
                "--addr" => addr = value("--addr")?,
                "--database-url" => database_url = value("--database-url")?,
                "--public-url" => public_url = Some(value("--public-url")?),
                "--rate-limit" => rate_limit = value("--rate-limit")?,
                "--insecure-cookies" => insecure_cookies = true,
                "--trusted-proxy-header" => {
                    trusted_proxy_header = Some(value("--trusted-proxy-header")?);
                }
                "--log-level" => log_level = value("--log-level")?,
                "--create-admin" => create_admin = Some(value("--create-admin")?),
                "--session-cache" => session_cache = value("--session-cache")?,
                "--help" | "-h" => return Err(HELP.to_owned()),
                other => return Err(format!("unknown flag {other:?}\n\n{HELP}")),
            }
        }
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| format!("--addr {addr:?} is not an address like 127.0.0.1:3000"))?;
        let rate_limit_per_minute = match rate_limit.as_str() {
            "off" | "0" => None,
            n => Some(n.parse().map_err(|_| {
                format!("--rate-limit {n:?}: use a number of requests per minute, or off")
            })?),
        };
        let session_cache_ttl = match session_cache.as_str() {
            "off" | "0" => None,
            n => Some(Duration::from_secs(n.parse().map_err(|_| {
                format!("--session-cache {n:?}: use a number of seconds, or off")
            })?)),
        };
        if !["error", "warn", "info", "debug", "trace"].contains(&log_level.as_str()) {
            return Err(format!(
                "--log-level {log_level:?}: use error, warn, info, debug or trace"
            ));
        }
        Ok(Self {
            public_url: public_url.unwrap_or_else(|| format!("http://{addr}")),
            addr,
            database_url,
            rate_limit_per_minute,
            insecure_cookies,
            trusted_proxy_header,
            log_level,
            create_admin,
            session_cache_ttl,
        })
    }
}

/// `--help`.
pub const HELP: &str = "\
Portcullis demo server

USAGE: cargo run -p server -- [FLAGS]

  --addr ADDR                   listen address (PORTCULLIS_ADDR, default 127.0.0.1:3000)
  --database-url URL            sqlite://file.db?mode=rwc | postgres://... | mysql://...
                                (DATABASE_URL, default sqlite://portcullis-demo.db?mode=rwc)
  --public-url URL              base of emailed links (PORTCULLIS_PUBLIC_URL, default http://ADDR)
  --rate-limit N|off            credential requests per minute per client (default 10)
  --insecure-cookies            cookies without Secure / __Host- for plain-HTTP localhost
  --trusted-proxy-header NAME   take client addresses from this header (behind a proxy only)
  --log-level LEVEL             error | warn | info | debug | trace (default info)
  --session-cache off|SECONDS   trust a validated session this long without reading storage
                                (PORTCULLIS_SESSION_CACHE, default off; a session revoked by
                                another process may keep working that long)
  --create-admin EMAIL          create or promote an admin (password from
                                PORTCULLIS_ADMIN_PASSWORD or stdin), then exit
";

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ServerConfig, String> {
        ServerConfig::from_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn flags_parse_and_bad_values_name_the_flag() {
        let config = parse(&[
            "--addr",
            "127.0.0.1:8080",
            "--rate-limit",
            "off",
            "--insecure-cookies",
        ])
        .unwrap();
        assert_eq!(config.addr.port(), 8080);
        assert_eq!(config.rate_limit_per_minute, None);
        assert!(config.insecure_cookies);
        assert_eq!(config.public_url, "http://127.0.0.1:8080");
        assert!(parse(&["--addr", "nope"]).unwrap_err().contains("--addr"));
        assert!(
            parse(&["--rate-limit", "many"])
                .unwrap_err()
                .contains("--rate-limit")
        );
        assert!(parse(&["--bogus"]).unwrap_err().contains("unknown flag"));
    }

    #[test]
    fn session_cache_is_off_unless_given_seconds() {
        // The environment variable is not set in tests; the default is no cache.
        if std::env::var_os("PORTCULLIS_SESSION_CACHE").is_none() {
            assert_eq!(parse(&[]).unwrap().session_cache_ttl, None);
        }
        assert_eq!(
            parse(&["--session-cache", "5"]).unwrap().session_cache_ttl,
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse(&["--session-cache", "off"])
                .unwrap()
                .session_cache_ttl,
            None
        );
        assert_eq!(
            parse(&["--session-cache", "0"]).unwrap().session_cache_ttl,
            None
        );
        let error = parse(&["--session-cache", "soon"]).unwrap_err();
        assert!(error.contains("--session-cache"), "{error}");
        assert!(
            parse(&["--session-cache"])
                .unwrap_err()
                .contains("--session-cache needs a value")
        );
    }
}

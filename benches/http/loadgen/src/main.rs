//! `portcullis-loadgen`: the HTTP load driver of `benches/http/run.sh`.
//!
//! Opens `--connections` keep-alive HTTP/1.1 connections (hyper's `client::conn::http1`, one
//! per connection, no pooling) and sends one request after another on each, for `--warmup`
//! seconds that are not counted and then `--duration` seconds that are. Only responses
//! completed inside the measured window count; a request still in flight when the window
//! closes is dropped uncounted. A connection that fails is reopened (counted under
//! `errors`). With `--rate`, each connection sends at most that many requests per second
//! (a probe that measures latency without adding much load).
//!
//! Reports requests, requests per second, 2xx per second, latency p50 / p90 / p99 / max
//! (nearest rank over every counted request, measured from sending the request to the last
//! byte of the body), status-code counts and transport errors, on stdout and with `--json`
//! as a JSON file.
//!
//! In header values and the body, `{conn}` becomes the connection's index (0, 1, ...) and
//! `{line}` the line `index % lines` of the `--lines` file, so each connection can log in
//! as its own user or carry its own session token.
//!
//! ```text
//! portcullis-loadgen --url http://127.0.0.1:3000/protected \
//!     -H 'authorization: Bearer {line}' --lines tokens.txt \
//!     --connections 32 --duration 10 --warmup 1 --json protected.json
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::time::Instant;

const HELP: &str = "\
portcullis-loadgen: fixed-time HTTP/1.1 load on keep-alive connections

USAGE: portcullis-loadgen --url http://HOST:PORT/PATH [OPTIONS]

  --url URL            target (plain http only)
  --method METHOD      default GET
  -H, --header 'N: V'  request header, repeatable
  --body TEXT          request body (sent with every request)
  --lines FILE         values for {line} in headers and body (connection i uses line i % n)
  --connections N      concurrent connections (default 32)
  --duration SECS      measured time (default 10)
  --warmup SECS        time before measuring, not counted (default 1)
  --rate N             at most N requests per second per connection (default: no limit)
  --timeout SECS       a request slower than this is an error (default 30)
  --threads N          client runtime threads (default 1)
  --label NAME         name in the report
  --json FILE          write the report as JSON
  --quiet              no summary on stdout

{conn} in headers and body is the connection index, {line} its line of --lines.
";

/// What to send and for how long.
#[derive(Debug, Clone)]
struct Options {
    url: String,
    authority: String,
    path: String,
    method: Method,
    headers: Vec<(String, String)>,
    body: String,
    lines: Vec<String>,
    connections: usize,
    duration: Duration,
    warmup: Duration,
    rate: Option<f64>,
    timeout: Duration,
    threads: usize,
    label: String,
    json: Option<String>,
    quiet: bool,
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{flag} {value:?}: use a number of seconds"))
}

fn count(flag: &str, value: &str) -> Result<usize, String> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{flag} {value:?}: use a positive whole number"))
}

impl Options {
    fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Self, String> {
        let mut url = None;
        let mut method = Method::GET;
        let mut headers = Vec::new();
        let mut body = String::new();
        let mut lines = Vec::new();
        let mut connections = 32;
        let mut duration = Duration::from_secs(10);
        let mut warmup = Duration::from_secs(1);
        let mut rate = None;
        let mut timeout = Duration::from_secs(30);
        let mut threads = 1;
        let mut label = None;
        let mut json = None;
        let mut quiet = false;

        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next()
                    .ok_or_else(|| format!("{flag} needs a value (see --help)"))
            };
            match flag.as_str() {
                "--url" => url = Some(value()?),
                "--method" => {
                    let name = value()?;
                    method = Method::from_bytes(name.as_bytes())
                        .map_err(|_| format!("--method {name:?} is not a method"))?;
                }
                "-H" | "--header" => {
                    let header = value()?;
                    let (name, value) = header
                        .split_once(':')
                        .ok_or_else(|| format!("--header {header:?}: use 'name: value'"))?;
                    headers.push((name.trim().to_owned(), value.trim().to_owned()));
                }
                "--body" => body = value()?,
                "--lines" => {
                    let path = value()?;
                    let text = std::fs::read_to_string(&path)
                        .map_err(|error| format!("--lines {path}: {error}"))?;
                    lines = text
                        .lines()
                        .filter(|line| !line.is_empty())
                        .map(str::to_owned)
                        .collect();
                    if lines.is_empty() {
                        return Err(format!("--lines {path}: the file has no lines"));
                    }
                }
                "--connections" => connections = count("--connections", &value()?)?,
                "--duration" => duration = seconds("--duration", &value()?)?,
                "--warmup" => warmup = seconds("--warmup", &value()?)?,
                "--rate" => {
                    let n = value()?;
                    rate = Some(
                        n.parse::<f64>()
                            .ok()
                            .filter(|r| r.is_finite() && *r > 0.0)
                            .ok_or_else(|| format!("--rate {n:?}: use requests per second"))?,
                    );
                }
                "--timeout" => timeout = seconds("--timeout", &value()?)?,
                "--threads" => threads = count("--threads", &value()?)?,
                "--label" => label = Some(value()?),
                "--json" => json = Some(value()?),
                "--quiet" => quiet = true,
                "--help" | "-h" => return Err(HELP.to_owned()),
                other => return Err(format!("unknown option {other:?}\n\n{HELP}")),
            }
        }
        let url = url.ok_or_else(|| format!("--url is required\n\n{HELP}"))?;
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("--url {url:?}: only http:// URLs"))?;
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(format!("--url {url:?} has no host"));
        }
        let needs_lines =
            body.contains("{line}") || headers.iter().any(|(_, v)| v.contains("{line}"));
        if needs_lines && lines.is_empty() {
            return Err("{line} is used but --lines is not given".to_owned());
        }
        if duration.is_zero() {
            return Err("--duration must be more than 0".to_owned());
        }
        Ok(Self {
            label: label.unwrap_or_else(|| format!("{method} {url}")),
            authority: authority.to_owned(),
            path: path.to_owned(),
            url,
            method,
            headers,
            body,
            lines,
            connections,
            duration,
            warmup,
            rate,
            timeout,
            threads,
            json,
            quiet,
        })
    }

    /// `text` with `{conn}` and `{line}` filled in for connection `index`.
    fn fill(&self, text: &str, index: usize) -> String {
        let mut text = text.replace("{conn}", &index.to_string());
        if let Some(line) = self.lines.get(index % self.lines.len().max(1)) {
            text = text.replace("{line}", line);
        }
        text
    }
}

/// The request one connection sends, built once.
#[derive(Debug, Clone)]
struct Template {
    method: Method,
    path: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

impl Template {
    fn new(options: &Options, index: usize) -> Result<Self, String> {
        let mut headers = vec![(
            HOST,
            HeaderValue::from_str(&options.authority).map_err(|e| format!("host: {e}"))?,
        )];
        for (name, value) in &options.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| format!("header name {name:?}: {e}"))?;
            let value = HeaderValue::from_str(&options.fill(value, index))
                .map_err(|e| format!("header {name}: {e}"))?;
            headers.push((name, value));
        }
        Ok(Self {
            method: options.method.clone(),
            path: options.path.clone(),
            headers,
            body: Bytes::from(options.fill(&options.body, index)),
        })
    }

    fn request(&self) -> Result<Request<Full<Bytes>>, String> {
        let mut builder = Request::builder()
            .method(self.method.clone())
            .uri(self.path.as_str());
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        builder
            .body(Full::new(self.body.clone()))
            .map_err(|e| format!("request: {e}"))
    }
}

/// What one connection saw inside the measured window.
#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u32>,
    status: BTreeMap<u16, u64>,
    connect_errors: u64,
    request_errors: u64,
    timeouts: u64,
    reconnects: u64,
    error_samples: Vec<String>,
}

impl Tally {
    fn error(&mut self, message: String) {
        if self.error_samples.len() < 5 && !self.error_samples.contains(&message) {
            self.error_samples.push(message);
        }
    }

    fn merge(&mut self, other: Self) {
        self.latencies_us.extend(other.latencies_us);
        for (code, n) in other.status {
            *self.status.entry(code).or_default() += n;
        }
        self.connect_errors += other.connect_errors;
        self.request_errors += other.request_errors;
        self.timeouts += other.timeouts;
        self.reconnects += other.reconnects;
        for sample in other.error_samples {
            self.error(sample);
        }
    }
}

/// The measured window: responses completed in `[start, end]` count.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

impl Window {
    fn counts(&self, at: Instant) -> bool {
        at >= self.start && at <= self.end
    }
}

/// One connection's loop: connect, send requests back to back (or paced), reconnect on
/// errors, until the window closes.
async fn drive(
    addr: SocketAddr,
    template: Template,
    window: Window,
    timeout: Duration,
    pace: Option<(Duration, Duration)>,
) -> Tally {
    let mut tally = Tally::default();
    // With a rate: the first request after `offset`, then one every `interval`.
    let mut next_send = pace.map(|(interval, offset)| Instant::now() + offset.min(interval));
    'connect: while Instant::now() < window.end {
        let stream = match tokio::time::timeout_at(window.end, TcpStream::connect(addr)).await {
            Err(_) => break,
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                if window.counts(Instant::now()) {
                    tally.connect_errors += 1;
                    tally.error(format!("connect: {error}"));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (mut sender, connection) = match http1::handshake(TokioIo::new(stream)).await {
            Ok(pair) => pair,
            Err(error) => {
                if window.counts(Instant::now()) {
                    tally.connect_errors += 1;
                    tally.error(format!("handshake: {error}"));
                }
                continue;
            }
        };
        let driver = tokio::spawn(connection);
        loop {
            if let (Some(at), Some((interval, _))) = (next_send.as_mut(), pace) {
                if *at >= window.end {
                    break 'connect;
                }
                tokio::time::sleep_until(*at).await;
                *at += interval;
                // Late (a slow response): send now, and do not try to catch up.
                let now = Instant::now();
                if *at < now {
                    *at = now;
                }
            }
            if Instant::now() >= window.end {
                break 'connect;
            }
            // A connection the server closed after a complete response is reopened
            // quietly: that is keep-alive ending, not an error.
            if sender.ready().await.is_err() {
                tally.reconnects += 1;
                driver.abort();
                continue 'connect;
            }
            let request = match template.request() {
                Ok(request) => request,
                Err(message) => {
                    tally.request_errors += 1;
                    tally.error(message);
                    break 'connect;
                }
            };
            let sent = Instant::now();
            let deadline = (sent + timeout).min(window.end);
            let exchange = async {
                let response = sender.send_request(request).await?;
                let status = response.status().as_u16();
                response.into_body().collect().await?;
                Ok::<u16, hyper::Error>(status)
            };
            match tokio::time::timeout_at(deadline, exchange).await {
                Ok(Ok(status)) => {
                    let done = Instant::now();
                    if window.counts(done) {
                        let micros = done.duration_since(sent).as_micros();
                        tally
                            .latencies_us
                            .push(u32::try_from(micros).unwrap_or(u32::MAX));
                        *tally.status.entry(status).or_default() += 1;
                    }
                }
                Ok(Err(error)) => {
                    if window.counts(Instant::now()) {
                        tally.request_errors += 1;
                        tally.error(format!("request: {error}"));
                    }
                    driver.abort();
                    continue 'connect;
                }
                Err(_) => {
                    // The window closed with this request in flight: not counted.
                    if Instant::now() >= window.end {
                        driver.abort();
                        break 'connect;
                    }
                    if window.counts(Instant::now()) {
                        tally.timeouts += 1;
                        tally.error(format!("timeout after {} s", timeout.as_secs_f64()));
                    }
                    driver.abort();
                    continue 'connect;
                }
            }
        }
    }
    tally
}

/// Nearest-rank percentile of sorted `values`, in milliseconds.
fn percentile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank: the smallest value with at least q of the values at or below it.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1]) / 1000.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

async fn run(options: Options) -> Result<serde_json::Value, String> {
    let addr = tokio::net::lookup_host(&options.authority)
        .await
        .map_err(|e| format!("{}: {e}", options.authority))?
        .next()
        .ok_or_else(|| format!("{}: no address", options.authority))?;
    let templates = (0..options.connections)
        .map(|index| Template::new(&options, index))
        .collect::<Result<Vec<_>, _>>()?;
    let begin = Instant::now();
    let window = Window {
        start: begin + options.warmup,
        end: begin + options.warmup + options.duration,
    };
    let interval = options.rate.map(|rate| Duration::from_secs_f64(1.0 / rate));
    let connections = u32::try_from(options.connections).unwrap_or(u32::MAX);
    let mut tasks = Vec::with_capacity(options.connections);
    for (index, template) in templates.into_iter().enumerate() {
        // Paced connections start spread over one interval, not all at once.
        let pace = interval.map(|interval| {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            (interval, interval * index / connections)
        });
        tasks.push(tokio::spawn(drive(
            addr,
            template,
            window,
            options.timeout,
            pace,
        )));
    }
    let mut tally = Tally::default();
    for task in tasks {
        tally.merge(
            task.await
                .map_err(|e| format!("a connection task failed: {e}"))?,
        );
    }
    let measured = options.duration.as_secs_f64();
    tally.latencies_us.sort_unstable();
    let requests = tally.latencies_us.len() as u64;
    let ok: u64 = tally
        .status
        .iter()
        .filter(|(code, _)| (200..300).contains(*code))
        .map(|(_, n)| n)
        .sum();
    #[allow(clippy::cast_precision_loss)]
    let (rps, ok_rps, mean_ms) = (
        requests as f64 / measured,
        ok as f64 / measured,
        if requests == 0 {
            0.0
        } else {
            tally
                .latencies_us
                .iter()
                .map(|&us| u64::from(us))
                .sum::<u64>() as f64
                / requests as f64
                / 1000.0
        },
    );
    let status: serde_json::Map<String, serde_json::Value> = tally
        .status
        .iter()
        .map(|(code, n)| (code.to_string(), json!(n)))
        .collect();
    Ok(json!({
        "label": options.label,
        "url": options.url,
        "method": options.method.as_str(),
        "connections": options.connections,
        "threads": options.threads,
        "warmup_s": options.warmup.as_secs_f64(),
        "duration_s": measured,
        "rate_per_connection": options.rate,
        "requests": requests,
        "rps": round3(rps),
        "ok": ok,
        "ok_rps": round3(ok_rps),
        "latency_ms": {
            "p50": percentile_ms(&tally.latencies_us, 0.50),
            "p90": percentile_ms(&tally.latencies_us, 0.90),
            "p99": percentile_ms(&tally.latencies_us, 0.99),
            "max": percentile_ms(&tally.latencies_us, 1.0),
            "mean": round3(mean_ms),
        },
        "status": status,
        "errors": {
            "connect": tally.connect_errors,
            "request": tally.request_errors,
            "timeout": tally.timeouts,
            "total": tally.connect_errors + tally.request_errors + tally.timeouts,
        },
        "reconnects": tally.reconnects,
        "error_samples": tally.error_samples,
    }))
}

/// CPU time this process has used (user + system), in clock ticks, from `/proc/self/stat`
/// (Linux; `None` elsewhere). The harness subtracts it from the machine's busy time to see
/// how much CPU other processes took during a phase.
fn own_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 12th and 13th after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn summary(report: &serde_json::Value) -> String {
    let latency = &report["latency_ms"];
    format!(
        "{}: {} requests in {} s = {} rps ({} 2xx/s); latency p50 {} ms, p90 {} ms, p99 {} ms, max {} ms; status {}; errors {}",
        report["label"].as_str().unwrap_or_default(),
        report["requests"],
        report["duration_s"],
        report["rps"],
        report["ok_rps"],
        latency["p50"],
        latency["p90"],
        latency["p99"],
        latency["max"],
        report["status"],
        report["errors"]["total"],
    )
}

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let runtime = if options.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let json_path = options.json.clone();
    let quiet = options.quiet;
    let report = match runtime.block_on(run(options)) {
        Ok(mut report) => {
            report["cpu_ticks"] = json!(own_cpu_ticks());
            report
        }
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    if !quiet {
        println!("{}", summary(&report));
    }
    if let Some(path) = json_path {
        let text = match serde_json::to_string_pretty(&report) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        };
        if let Err(error) = std::fs::write(&path, text + "\n") {
            eprintln!("error: writing {path}: {error}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn url_and_defaults() {
        let options = parse(&["--url", "http://127.0.0.1:3000/health"]).unwrap();
        assert_eq!(options.authority, "127.0.0.1:3000");
        assert_eq!(options.path, "/health");
        assert_eq!(options.connections, 32);
        assert_eq!(options.duration, Duration::from_secs(10));
        assert_eq!(
            parse(&["--url", "http://localhost:8080"]).unwrap().path,
            "/"
        );
        assert!(
            parse(&["--url", "https://x/"])
                .unwrap_err()
                .contains("http://")
        );
        assert!(parse(&[]).unwrap_err().contains("--url is required"));
        assert!(
            parse(&["--url", "http://a:1/", "--connections", "0"])
                .unwrap_err()
                .contains("--connections")
        );
    }

    #[test]
    fn placeholders_fill_per_connection() {
        let dir = std::env::temp_dir().join(format!("loadgen-test-{}", std::process::id()));
        std::fs::write(&dir, "alpha\nbeta\n").unwrap();
        let options = parse(&[
            "--url",
            "http://127.0.0.1:1/login",
            "--body",
            r#"{"user":"u{conn}","token":"{line}"}"#,
            "--lines",
            dir.to_str().unwrap(),
        ])
        .unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(
            options.fill(&options.body, 0),
            r#"{"user":"u0","token":"alpha"}"#
        );
        assert_eq!(
            options.fill(&options.body, 3),
            r#"{"user":"u3","token":"beta"}"#
        );
        assert!(
            parse(&["--url", "http://a:1/", "--body", "{line}"])
                .unwrap_err()
                .contains("--lines")
        );
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert!((percentile_ms(&values, 0.5) - 50.0).abs() < f64::EPSILON);
        assert!((percentile_ms(&values, 0.99) - 99.0).abs() < f64::EPSILON);
        assert!((percentile_ms(&values, 1.0) - 100.0).abs() < f64::EPSILON);
        assert!((percentile_ms(&[], 0.5)).abs() < f64::EPSILON);
    }
}

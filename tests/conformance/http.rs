//! A tiny blocking HTTP/1.1 client over `TcpStream` (one connection per request, `Connection:
//! close`) for running the suite against a live server: `CONFORMANCE_URL=http://[user:pass@]host:port`.

use crate::client::{RawResponse, Request, Transport};
use base64::Engine;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub struct Remote {
    /// `host:port`
    address: String,
    /// Path prefix of the base URL, without a trailing slash.
    prefix: String,
    authorization: Option<String>,
}

impl Remote {
    pub fn parse(url: &str) -> Result<Remote, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("CONFORMANCE_URL must start with http:// (got {url})"))?;
        let (authority, prefix) = match rest.find('/') {
            Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, authority),
        };
        let address = if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:80")
        };
        let authorization =
            userinfo.map(|user| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user)));
        Ok(Remote {
            address,
            prefix: prefix.to_string(),
            authorization,
        })
    }
}

impl Remote {
    /// Deletes every index not starting with `.`, as ES's runner wipes the cluster between tests.
    pub fn wipe(&mut self) -> Result<(), String> {
        let list = self.send(&Request {
            method: "GET".to_string(),
            path: "/_cat/indices?format=json&h=index".to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        })?;
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&list.body)
            .map_err(|e| format!("wipe: _cat/indices answered {}: {e}", list.status))?;
        let names: Vec<&str> = rows
            .iter()
            .filter_map(|row| row.get("index").and_then(|i| i.as_str()))
            .filter(|name| !name.starts_with('.'))
            .collect();
        if names.is_empty() {
            return Ok(());
        }
        let deleted = self.send(&Request {
            method: "DELETE".to_string(),
            path: format!("/{}", names.join(",")),
            headers: Vec::new(),
            body: Vec::new(),
        })?;
        if deleted.status >= 400 {
            return Err(format!("wipe: DELETE {names:?} answered {}", deleted.status));
        }
        Ok(())
    }
}

impl Transport for Remote {
    fn send(&mut self, request: &Request) -> Result<RawResponse, String> {
        let mut stream = TcpStream::connect(&self.address).map_err(|e| format!("connect {}: {e}", self.address))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .map_err(|e| e.to_string())?;
        let mut head = format!(
            "{} {}{} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            request.method,
            self.prefix,
            request.path,
            self.address,
            request.body.len()
        );
        if let Some(authorization) = &self.authorization {
            head.push_str(&format!("Authorization: {authorization}\r\n"));
        }
        for (name, value) in &request.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).map_err(|e| format!("write: {e}"))?;
        stream.write_all(&request.body).map_err(|e| format!("write: {e}"))?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).map_err(|e| format!("read: {e}"))?;
        parse_response(&raw, request.method == "HEAD")
    }
}

fn parse_response(raw: &[u8], is_head: bool) -> Result<RawResponse, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("response without a complete header block")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("empty response")?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad status line: {status_line}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let body = if is_head {
        Vec::new()
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else if let Some(length) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        rest[..length.min(rest.len())].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(RawResponse { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| format!("bad chunk size [{size_text}]"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            return Err("truncated chunk".to_string());
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
}

//! A response as the YAML steps see it: parsed JSON when the content type says JSON, text
//! otherwise (`_cat` without `format`), and `true`/`false` for HEAD requests.

use crate::client::RawResponse;
use serde_json::Value;

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The parsed JSON body, if the response was JSON.
    pub json: Option<Value>,
    pub text: String,
    pub is_head: bool,
}

impl Response {
    pub fn new(raw: RawResponse, is_head: bool) -> Response {
        let text = String::from_utf8_lossy(&raw.body).to_string();
        let is_json = raw
            .headers
            .iter()
            .any(|(name, value)| name == "content-type" && value.to_ascii_lowercase().contains("json"));
        let json = if is_json {
            serde_json::from_str(&text).ok()
        } else {
            None
        };
        Response {
            status: raw.status,
            headers: raw.headers,
            json,
            text,
            is_head,
        }
    }

    /// What `$body` holds: the JSON, the text, or for HEAD whether the status was a success.
    pub fn body(&self) -> Value {
        match &self.json {
            Some(json) => json.clone(),
            None if self.is_head => Value::Bool(self.status < 400),
            None => Value::String(self.text.clone()),
        }
    }

    /// The document paths are evaluated against (`None` for text bodies, as ES does).
    pub fn document(&self) -> Option<Value> {
        match &self.json {
            Some(json) => Some(json.clone()),
            None if self.is_head => Some(Value::Bool(self.status < 400)),
            None => None,
        }
    }

    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Status and (shortened) body for failure messages.
    pub fn describe(&self) -> String {
        const LIMIT: usize = 3000;
        let body = if self.text.len() > LIMIT {
            let mut cut = LIMIT;
            while !self.text.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}... ({} bytes)", &self.text[..cut], self.text.len())
        } else {
            self.text.clone()
        };
        format!("[{}] {}", self.status, body)
    }
}

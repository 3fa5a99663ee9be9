//! GitHub's pagination: `per_page`, `page` and the `Link` header.

use serde_json::Value;

use super::request::Query;
use super::server::Reply;
use super::state::Inner;

impl Inner {
    /// One page of `items` with GitHub's `Link` header (`per_page` default 30,
    /// at most 100).
    pub(super) fn page(&self, items: Vec<Value>, q: &Query, path: &str, query: &str) -> Reply {
        let per_page = q
            .get("per_page")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p > 0)
            .unwrap_or(30)
            .min(100);
        let page = q
            .get("page")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p > 0)
            .unwrap_or(1);
        let last = items.len().div_ceil(per_page).max(1);
        let slice: Vec<Value> = items
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        let mut reply = Reply::json(200, Value::Array(slice));
        if last > 1 {
            let link_to = |p: usize| {
                let mut ser = form_urlencoded::Serializer::new(String::new());
                for (k, v) in form_urlencoded::parse(query.as_bytes()) {
                    if k != "page" {
                        ser.append_pair(&k, &v);
                    }
                }
                ser.append_pair("page", &p.to_string());
                format!("<{}{}?{}>", self.base, path, ser.finish())
            };
            let mut parts = Vec::new();
            if page > 1 {
                parts.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
            }
            if page < last {
                parts.push(format!("{}; rel=\"next\"", link_to(page + 1)));
                parts.push(format!("{}; rel=\"last\"", link_to(last)));
            }
            if page > 1 {
                parts.push(format!("{}; rel=\"first\"", link_to(1)));
            }
            reply = reply.header("link", parts.join(", "));
        }
        reply
    }
}

//! Crawling a website source: breadth-first from the start page, within the same site (scheme, host and
//! port), HTML pages only, up to a page limit, honouring robots.txt. Each page is fetched with a size
//! and time limit; redirects are followed only within the site. By default a site whose address resolves
//! to a private or loopback network is refused, so that an admin cannot make the server read its own
//! network (allowed by configuration for intranet help centres, and in tests).

use std::{
    collections::{HashSet, VecDeque},
    time::Duration,
};

pub use reqwest::Client;

use crate::ReadFailure;
use url::Url;

/// What a crawl may do.
#[derive(Debug, Clone)]
pub struct CrawlOptions {
    pub page_limit: usize,
    /// Largest page read; a bigger one is skipped.
    pub max_page_bytes: usize,
    /// Time allowed for each request.
    pub timeout: Duration,
    /// Allows sites on private, loopback and link-local addresses.
    pub allow_private: bool,
}

impl Default for CrawlOptions {
    fn default() -> Self {
        Self {
            page_limit: 50,
            max_page_bytes: 2 * 1024 * 1024,
            timeout: Duration::from_secs(15),
            allow_private: false,
        }
    }
}

/// A fetched page.
#[derive(Debug, Clone)]
pub struct Page {
    pub url: String,
    pub title: String,
    pub html: String,
}

/// The HTTP client a crawl uses: no automatic redirects (they are checked against the site first).
pub fn crawl_client(timeout: Duration) -> reqwest::Client {
    lianluo_models::install_tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent(concat!("Lianluo-Crawler/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with static settings")
}

/// Whether an http(s) address's host resolves to a private, loopback or link-local address (any of its
/// addresses); an address that cannot be read or resolved is an error.
pub async fn on_private_network(address: &str) -> Result<bool, String> {
    let url = Url::parse(address).map_err(|e| format!("the address {address} is not valid: {e}"))?;
    let host = url.host_str().ok_or("the address has no host")?.to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("{host} could not be resolved: {e}"))?;
    Ok(addrs.map(|a| a.ip()).any(lianluo_models::net::is_private))
}

/// Crawls from `start`; fails only when the start page itself cannot be read. `read` counts the pages
/// read so far, for a progress display.
pub async fn crawl(
    client: &reqwest::Client,
    start: &str,
    opts: &CrawlOptions,
    read: &std::sync::atomic::AtomicUsize,
) -> Result<Vec<Page>, ReadFailure> {
    let start = Url::parse(start).map_err(|e| format!("the address {start} is not valid: {e}"))?;
    if !matches!(start.scheme(), "http" | "https") {
        return Err("only http and https sites can be crawled".into());
    }
    let host = start.host_str().ok_or("the address has no host")?.to_string();
    if !opts.allow_private && on_private_network(start.as_str()).await.map_err(ReadFailure::transient)? {
        return Err(format!(
            "{host} is on a private network; crawling it is off (set knowledge.crawl_private_networks = true)"
        )
        .into());
    }
    let disallowed = robots(client, &start).await;
    let allowed = |u: &Url| !disallowed.iter().any(|p| u.path().starts_with(p.as_str()));

    let mut queue = VecDeque::from([start.clone()]);
    let mut seen: HashSet<String> = HashSet::from([key(&start)]);
    let mut pages = Vec::new();
    let mut fetched = 0usize;
    while let Some(url) = queue.pop_front() {
        if pages.len() >= opts.page_limit || fetched >= opts.page_limit * 3 {
            break;
        }
        if !allowed(&url) {
            if url == start {
                return Err("the site's robots.txt does not allow crawling the start page".into());
            }
            continue;
        }
        fetched += 1;
        let outcome = fetch(client, &url, opts).await;
        let (html, links) = match outcome {
            Ok(Fetched::Page(html)) => {
                let links = links(&html, &url);
                (Some(html), links)
            }
            Ok(Fetched::Redirect(to)) => (None, vec![to]),
            Ok(Fetched::Skip) => (None, Vec::new()),
            Err(e) if url == start => return Err(e),
            Err(e) => {
                tracing::debug!(url = %url, error = %e, "skipping a page that could not be read");
                (None, Vec::new())
            }
        };
        for link in links {
            if link.origin() == start.origin() && seen.insert(key(&link)) {
                queue.push_back(link);
            }
        }
        if let Some(html) = html {
            let title = title(&html).unwrap_or_else(|| url.path().to_string());
            pages.push(Page { url: url.to_string(), title, html });
            read.store(pages.len(), std::sync::atomic::Ordering::Relaxed);
        }
    }
    if pages.is_empty() {
        return Err("no HTML page could be read from the site".into());
    }
    Ok(pages)
}

enum Fetched {
    Page(String),
    Redirect(Url),
    Skip,
}

/// The same page whatever its fragment.
fn key(u: &Url) -> String {
    let mut u = u.clone();
    u.set_fragment(None);
    u.to_string()
}

async fn fetch(client: &reqwest::Client, url: &Url, opts: &CrawlOptions) -> Result<Fetched, ReadFailure> {
    let mut resp = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT_ENCODING, "gzip")
        .timeout(opts.timeout)
        .send()
        .await
        .map_err(|e| ReadFailure::transient(format!("{url} could not be fetched: {e}")))?;
    let status = resp.status();
    if status.is_redirection() {
        let to = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| url.join(l).ok());
        return to.map(Fetched::Redirect).ok_or_else(|| format!("{url} redirects nowhere").into());
    }
    if !status.is_success() {
        let reason = format!("{url} answered {status}");
        let busy = status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
        return Err(ReadFailure { reason, transient: busy });
    }
    let html = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .is_none_or(|c| c.starts_with("text/html") || c.starts_with("application/xhtml"));
    if !html {
        return Ok(Fetched::Skip);
    }
    let encoding = resp
        .headers()
        .get(reqwest::header::CONTENT_ENCODING)
        .and_then(|c| c.to_str().ok())
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| c != "identity");
    let mut body = Vec::new();
    while let Some(chunk) =
        resp.chunk().await.map_err(|e| ReadFailure::transient(format!("{url} could not be read: {e}")))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > opts.max_page_bytes {
            return Err(format!("{url} is larger than {} KiB", opts.max_page_bytes / 1024).into());
        }
    }
    let body = match encoding.as_deref() {
        None => body,
        Some("gzip" | "x-gzip") => decompress(flate2::read::GzDecoder::new(&body[..]), opts.max_page_bytes)
            .map_err(|e| format!("{url}: {e}"))?,
        Some("deflate") => decompress(flate2::read::ZlibDecoder::new(&body[..]), opts.max_page_bytes)
            .map_err(|e| format!("{url}: {e}"))?,
        // Never read compressed bytes as text.
        Some(other) => {
            return Err(format!("{url} is sent with the {other} encoding, which is not read").into());
        }
    };
    Ok(Fetched::Page(String::from_utf8_lossy(&body).into_owned()))
}

/// A compressed page, decompressed up to `max` bytes (a small file that inflates past it is refused).
fn decompress(reader: impl std::io::Read, max: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    reader
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("the compressed page could not be read: {e}"))?;
    if out.len() > max {
        return Err(format!("the page is larger than {} KiB once decompressed", max / 1024));
    }
    Ok(out)
}

/// Paths robots.txt disallows for every crawler (the `*` group).
async fn robots(client: &reqwest::Client, start: &Url) -> Vec<String> {
    let Ok(url) = start.join("/robots.txt") else { return Vec::new() };
    let Ok(resp) = client.get(url).send().await else { return Vec::new() };
    if !resp.status().is_success() {
        return Vec::new();
    }
    let text = resp.text().await.unwrap_or_default();
    let mut out = Vec::new();
    let mut applies = false;
    let mut in_agents = false;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some((field, value)) = line.split_once(':') else { continue };
        let (field, value) = (field.trim().to_ascii_lowercase(), value.trim());
        match field.as_str() {
            "user-agent" => {
                if !in_agents {
                    applies = false;
                }
                in_agents = true;
                applies |= value == "*" || value.to_ascii_lowercase().starts_with("lianluo");
            }
            "disallow" => {
                in_agents = false;
                if applies && !value.is_empty() {
                    out.push(value.to_string());
                }
            }
            _ => in_agents = false,
        }
    }
    out
}

/// The text of the page's `<title>`.
fn title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    let t = crate::parse::decode_entities(&html[open_end..close]);
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty()).then(|| t.chars().take(200).collect())
}

/// Absolute addresses of the page's links (`<a href>`), without fragments.
fn links(html: &str, base: &Url) -> Vec<Url> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = lower[from..].find("<a") {
        let at = from + p;
        let Some(end) = lower[at..].find('>').map(|e| at + e) else { break };
        from = end;
        let tag = &html[at..end];
        let tag_lower = &lower[at..end];
        let Some(h) = tag_lower.find("href=") else { continue };
        let rest = &tag[h + 5..];
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
            _ => rest.split(|c: char| c.is_whitespace()).next().unwrap_or(""),
        };
        let value = crate::parse::decode_entities(value.trim());
        if value.starts_with('#') || value.starts_with("mailto:") || value.starts_with("javascript:") {
            continue;
        }
        if let Ok(mut u) = base.join(&value) {
            u.set_fragment(None);
            if matches!(u.scheme(), "http" | "https") {
                out.push(u);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_against_the_page() {
        let base = Url::parse("http://shop.example/help/index.html").unwrap();
        let html = r#"<a href="returns.html#top">R</a> <A HREF='/help/ship.html'>S</A> <a href=faq>F</a>
            <a href="mailto:x@y">m</a> <a href="https://other.example/">o</a> <a name="x">n</a>"#;
        let got: Vec<String> = links(html, &base).iter().map(|u| u.to_string()).collect();
        assert_eq!(
            got,
            [
                "http://shop.example/help/returns.html",
                "http://shop.example/help/ship.html",
                "http://shop.example/help/faq",
                "https://other.example/"
            ]
        );
        assert_eq!(
            title("<html><TITLE> Returns &amp; refunds </TITLE>").as_deref(),
            Some("Returns & refunds")
        );
    }

    #[tokio::test]
    async fn private_sites_are_refused_unless_allowed() {
        let client = crawl_client(Duration::from_secs(2));
        let e = crawl(&client, "http://127.0.0.1:9/", &CrawlOptions::default(), &Default::default())
            .await
            .unwrap_err();
        assert!(e.reason.contains("private network") && !e.transient, "{e}");
        let e = crawl(
            &client,
            "http://169.254.169.254/latest/meta-data/",
            &CrawlOptions::default(),
            &Default::default(),
        )
        .await
        .unwrap_err();
        assert!(e.reason.contains("private network"), "{e}");
        let e = crawl(&client, "ftp://example.com/", &CrawlOptions::default(), &Default::default())
            .await
            .unwrap_err();
        assert!(e.reason.contains("http and https") && !e.transient, "{e}");
        let allowed = CrawlOptions { allow_private: true, ..CrawlOptions::default() };
        let e = crawl(&client, "http://127.0.0.1:9/", &allowed, &Default::default()).await.unwrap_err();
        assert!(e.reason.contains("could not be fetched"), "allowed, it is fetched: {e}");
        assert!(e.transient, "a site that does not answer may answer later");
    }
}

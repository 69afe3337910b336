//! Which addresses a workspace's model provider may be reached at: a workspace admin must not make the
//! server send requests, and the workspace's key, into the server's own network. The check is made when
//! a connection is opened, on the addresses the name resolves to then, so a name that resolved to a
//! public address when the settings were saved and to a private one later is still refused.

use std::net::{IpAddr, SocketAddr};

/// Private, loopback, link-local, unspecified, broadcast and carrier-grade NAT addresses, in IPv4 and
/// IPv6 (and IPv4 mapped into IPv6).
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Refuses an address whose host is a literal private IP address (names are checked when resolved).
pub(crate) fn refuse_private_literal(base_url: &str) -> crate::Result<()> {
    let host = reqwest::Url::parse(base_url).ok().and_then(|u| u.host_str().map(str::to_string));
    let ip = host.as_deref().and_then(|h| h.trim_matches(['[', ']']).parse::<IpAddr>().ok());
    if ip.is_some_and(is_private) {
        return Err(crate::ModelError::Provider(format!(
            "{base_url} is on a private network, which this provider may not use"
        )));
    }
    Ok(())
}

/// Resolves names to their public addresses only; a name with none is an error.
pub(crate) struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| !is_private(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} is on a private network, which this provider may not use").into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_recognised() {
        for ip in ["127.0.0.1", "10.1.2.3", "192.168.0.9", "169.254.169.254", "::1", "fd00::1", "100.64.0.1"]
        {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2001:4860::8888"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }
}

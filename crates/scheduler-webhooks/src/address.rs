//! Where webhooks may go: `http` or `https` URLs whose host is, and resolves to, public
//! addresses only, unless private ones are allowed. Checked when a subscription is made and
//! again at every send (the resolver refuses a name that now points inside), so that DNS
//! cannot be changed to aim the server at its own network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// The longest URL a subscription takes.
pub const MAX_URL_LEN: usize = 2048;

/// Why a URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL, or not one a webhook can use.
    #[error("url {0}")]
    Invalid(String),
    /// It is or resolves to an address inside a network.
    #[error(
        "url {url:?} reaches {address} ({kind} address): webhooks go to public addresses only"
    )]
    NotPublic {
        /// The URL.
        url: String,
        /// The address.
        address: IpAddr,
        /// What kind of address it is.
        kind: &'static str,
    },
    /// The host name does not resolve.
    #[error("url {url:?}: the host {host} does not resolve ({cause})")]
    Unresolved {
        /// The URL.
        url: String,
        /// The host.
        host: String,
        /// The resolver's words.
        cause: String,
    },
}

/// What kind of non-public address `ip` is; `None` for a public unicast address.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match () {
        _ if ip.is_unspecified() || a == 0 => "unspecified",
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_private() => "private",
        _ if ip.is_link_local() => "link-local",
        // Carrier-grade NAT: a provider's private network.
        _ if a == 100 && (64..128).contains(&b) => "private",
        // IETF protocol assignments, and benchmarking networks.
        _ if a == 192 && b == 0 && c == 0 => "reserved",
        _ if a == 198 && (b == 18 || b == 19) => "reserved",
        _ if ip.is_multicast() => "multicast",
        _ if a >= 240 => "reserved",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    // An IPv4 address inside an IPv6 one is judged as itself: mapped (::ffff:a.b.c.d),
    // translated (::ffff:0:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4
    // (2002:aabb:ccdd::).
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(v4) = ip.to_ipv4_mapped() {
        return non_public_v4(v4);
    }
    if segments[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback() {
        return non_public_v4(embedded(segments[6], segments[7]));
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || segments[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return non_public_v4(embedded(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        return non_public_v4(embedded(segments[1], segments[2]));
    }
    Some(match segments[0] {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        s if s & 0xfe00 == 0xfc00 => "private",
        s if s & 0xffc0 == 0xfe80 => "link-local",
        // Teredo: a tunnel whose far end is hidden in the address.
        s if s == 0x2001 && segments[1] == 0 => "reserved",
        // Site-local: deprecated, and private where still used.
        s if s & 0xffc0 == 0xfec0 => "private",
        s if s & 0xff00 == 0xff00 => "multicast",
        _ => return None,
    })
}

/// Reads a webhook URL: `http` or `https`, a host, no credentials and at most
/// [`MAX_URL_LEN`] characters; with `allow_private` false, a host that is an IP address must be
/// a public one (a name is checked by [`check_resolved`]).
pub fn parse_url(text: &str, allow_private: bool) -> Result<Url, UrlError> {
    let invalid = |why: &str| UrlError::Invalid(format!("{text:?} {why}"));
    if text.len() > MAX_URL_LEN {
        return Err(UrlError::Invalid(format!(
            "is longer than {MAX_URL_LEN} characters"
        )));
    }
    let url = Url::parse(text).map_err(|e| invalid(&format!("is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "must not carry credentials: receivers check the signature instead",
        ));
    }
    if url.fragment().is_some() {
        return Err(invalid("must not have a #fragment"));
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        Some(url::Host::Domain(_)) => None,
        None => return Err(invalid("has no host")),
    };
    if let (Some(ip), false) = (ip, allow_private) {
        if let Some(kind) = non_public(ip) {
            return Err(UrlError::NotPublic {
                url: text.to_owned(),
                address: ip,
                kind,
            });
        }
    }
    Ok(url)
}

/// With `allow_private` false: resolves the URL's host name and refuses it unless every
/// address it has is public (an IP literal was checked by [`parse_url`]).
pub async fn check_resolved(url: &Url, allow_private: bool) -> Result<(), UrlError> {
    let Some(url::Host::Domain(host)) = url.host() else {
        return Ok(());
    };
    if allow_private {
        return Ok(());
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| UrlError::Unresolved {
            url: url.to_string(),
            host: host.to_owned(),
            cause: e.to_string(),
        })?;
    for addr in addrs {
        if let Some(kind) = non_public(addr.ip()) {
            return Err(UrlError::NotPublic {
                url: url.to_string(),
                address: addr.ip(),
                kind,
            });
        }
    }
    Ok(())
}

/// The resolver of the deliverer's HTTP client: the system's, refusing a name any of whose
/// addresses is not public. So a name that resolved to a public address when the subscription
/// was made and points inside now is refused at send time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some((addr, kind)) = addrs
                .iter()
                .find_map(|a| non_public(a.ip()).map(|kind| (a.ip(), kind)))
            {
                return Err(format!(
                    "{host} resolves to {addr} ({kind} address): webhooks go to public addresses only"
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(address: &str, expected: Option<&str>) {
        let ip: IpAddr = address.parse().unwrap();
        assert_eq!(non_public(ip), expected, "{address}");
    }

    #[test]
    fn only_public_unicast_addresses_are_public() {
        for (address, kind) in [
            ("0.0.0.0", Some("unspecified")),
            ("0.1.2.3", Some("unspecified")),
            ("127.0.0.1", Some("loopback")),
            ("127.255.0.9", Some("loopback")),
            ("10.0.0.1", Some("private")),
            ("172.16.0.1", Some("private")),
            ("172.31.255.255", Some("private")),
            ("192.168.1.1", Some("private")),
            ("100.64.0.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("192.0.0.8", Some("reserved")),
            ("198.18.0.1", Some("reserved")),
            ("224.0.0.1", Some("multicast")),
            ("255.255.255.255", Some("reserved")),
            ("::", Some("unspecified")),
            ("::1", Some("loopback")),
            ("fc00::1", Some("private")),
            ("fd12:3456::1", Some("private")),
            ("fe80::1", Some("link-local")),
            ("fec0::1", Some("private")),
            ("ff02::1", Some("multicast")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:10.1.2.3", Some("private")),
            ("::169.254.169.254", Some("link-local")),
            ("64:ff9b::7f00:1", Some("loopback")),
            ("2002:c0a8:0101::1", Some("private")),
            ("::ffff:0:7f00:1", Some("loopback")),
            ("2001:0:4136:e378::1", Some("reserved")),
            ("8.8.8.8", None),
            ("172.32.0.1", None),
            ("100.128.0.1", None),
            ("1.1.1.1", None),
            ("2606:4700:4700::1111", None),
            ("2001:4860:4860::8888", None),
            ("::ffff:8.8.8.8", None),
            ("2002:0808:0808::1", None),
        ] {
            check(address, kind);
        }
    }

    #[test]
    fn urls_are_http_with_a_public_host() {
        for good in [
            "https://example.com/hooks",
            "http://example.com:8080/a?b=c",
            "https://8.8.8.8/x",
            "https://[2606:4700:4700::1111]/x",
        ] {
            assert!(parse_url(good, false).is_ok(), "{good}");
        }
        for bad in [
            "",
            "example.com",
            "ftp://example.com/",
            "file:///etc/passwd",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://10.0.0.5/",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert!(parse_url(bad, false).is_err(), "{bad}");
        }
        assert!(parse_url("http://127.0.0.1:8080/", true).is_ok());
        assert!(parse_url(&format!("https://e.com/{}", "a".repeat(2048)), true).is_err());
    }

    #[tokio::test]
    async fn names_that_resolve_inside_are_refused() {
        let url = parse_url("http://localhost:9/hook", false).unwrap();
        assert!(matches!(
            check_resolved(&url, false).await,
            Err(UrlError::NotPublic {
                kind: "loopback",
                ..
            })
        ));
        assert_eq!(check_resolved(&url, true).await, Ok(()));
        let url = parse_url("http://no-such-host.invalid/", false).unwrap();
        assert!(matches!(
            check_resolved(&url, false).await,
            Err(UrlError::Unresolved { .. })
        ));
    }
}

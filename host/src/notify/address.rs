//! Where webhooks may go. A member names the URL, so without a check a
//! webhook could reach services on the server's own network (a database's
//! HTTP port, a cloud metadata endpoint at 169.254.169.254) and report how
//! they answered in the delivery's last error.
//!
//! The check runs twice: when a URL is set, if its host is an IP literal;
//! and at every delivery, on the addresses the connection will use. For a
//! host name that is [`GuardedResolver`], the webhook client's resolver:
//! it resolves the name once and hands the connector only allowed
//! addresses, so a name that resolves to a public address when checked and
//! to a private one when connecting (DNS rebinding) has no second lookup to
//! exploit. IP-literal URLs never reach a resolver, so the delivery checks
//! them itself ([`WebhookPolicy::check_url`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The environment variable that lets webhooks reach private addresses.
pub const ALLOW_PRIVATE_VAR: &str = "BATON_WEBHOOK_ALLOW_PRIVATE";

/// What kind of address an IP is, as far as sending webhooks goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// Globally routable unicast.
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16) and IPv6 site-local fec0::/10.
    Private,
    /// 169.254/16, fe80::/10 (where cloud metadata services answer).
    LinkLocal,
    /// IPv6 unique-local fc00::/7.
    UniqueLocal,
    /// Carrier-grade NAT, 100.64/10 (RFC 6598).
    SharedNat,
    /// 0.0.0.0/8 and ::, which reach the host itself when connected to.
    Unspecified,
    /// 255.255.255.255.
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 224/4, ff00::/8.
    Multicast,
    /// Anything else not meant for hosts on the internet: 240/4, the IETF
    /// and benchmarking blocks, IPv6 outside 2000::/3.
    Reserved,
}

impl AddressKind {
    /// Classify an address. IPv6 forms that carry an IPv4 address
    /// (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`)
    /// are what that IPv4 address is, so `::ffff:127.0.0.1` is loopback.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::of_v4(v4),
            IpAddr::V6(v6) => Self::of_v6(v6),
        }
    }

    fn of_v4(ip: Ipv4Addr) -> Self {
        let [a, b, c, _] = ip.octets();
        match (a, b, c) {
            (0, _, _) => Self::Unspecified,
            (127, _, _) => Self::Loopback,
            (10, _, _) | (192, 168, _) => Self::Private,
            (172, b, _) if (16..32).contains(&b) => Self::Private,
            (169, 254, _) => Self::LinkLocal,
            (100, b, _) if (64..128).contains(&b) => Self::SharedNat,
            (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Self::Documentation,
            (192, 0, 0) | (198, 18 | 19, _) => Self::Reserved,
            _ if ip.is_broadcast() => Self::Broadcast,
            (224..=239, _, _) => Self::Multicast,
            (240..=255, _, _) => Self::Reserved,
            _ => Self::Public,
        }
    }

    fn of_v6(ip: Ipv6Addr) -> Self {
        if let Some(v4) = ip.to_ipv4_mapped() {
            return Self::of_v4(v4);
        }
        let s = ip.segments();
        let embedded = |hi: u16, lo: u16| {
            let [a, b] = hi.to_be_bytes();
            let [c, d] = lo.to_be_bytes();
            Ipv4Addr::new(a, b, c, d)
        };
        if ip.is_unspecified() {
            return Self::Unspecified;
        }
        if ip.is_loopback() {
            return Self::Loopback;
        }
        match s[0] {
            0x0064 if s[1] == 0xff9b && s[2..6] == [0; 4] => Self::of_v4(embedded(s[6], s[7])),
            // The embedded address decides where a 6to4 relay sends it.
            0x2002 => Self::of_v4(embedded(s[1], s[2])),
            0x2001 if s[1] == 0x0db8 => Self::Documentation,
            // IETF protocol assignments: Teredo, benchmarking, ORCHID...
            0x2001 if s[1] < 0x0200 => Self::Reserved,
            0x3fff if s[1] < 0x1000 => Self::Documentation,
            0xff00..=0xffff => Self::Multicast,
            0xfe80..=0xfebf => Self::LinkLocal,
            0xfec0..=0xfeff => Self::Private,
            0xfc00..=0xfdff => Self::UniqueLocal,
            0x2000..=0x3fff => Self::Public,
            _ => Self::Reserved,
        }
    }

    /// Whether this is one of the networks an operator may let webhooks
    /// reach (a receiver inside the same network as the server). The other
    /// refused kinds never name a webhook receiver and stay refused.
    fn is_private(self) -> bool {
        matches!(
            self,
            Self::Loopback | Self::Private | Self::LinkLocal | Self::UniqueLocal | Self::SharedNat
        )
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Public => "a public address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::LinkLocal => "a link-local address",
            Self::UniqueLocal => "a unique-local address",
            Self::SharedNat => "a carrier-grade NAT address",
            Self::Unspecified => "an unspecified address",
            Self::Broadcast => "the broadcast address",
            Self::Documentation => "a documentation address",
            Self::Multicast => "a multicast address",
            Self::Reserved => "a reserved address",
        }
    }
}

/// A webhook address the policy refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedAddress {
    pub ip: IpAddr,
    pub kind: AddressKind,
}

impl std::fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is {}; webhooks may not go to the server's own network",
            self.ip,
            self.kind.describe()
        )?;
        if self.kind.is_private() {
            write!(f, " (the operator allows it with {ALLOW_PRIVATE_VAR}=true)")?;
        }
        Ok(())
    }
}

impl std::error::Error for RefusedAddress {}

/// A host name none of whose addresses the policy allows.
#[derive(Debug, thiserror::Error)]
#[error("{name} resolves only to refused addresses: {first}")]
pub struct RefusedName {
    pub name: String,
    pub first: RefusedAddress,
}

/// Which addresses webhooks may be sent to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Let webhooks reach loopback, private, link-local, unique-local and
    /// carrier-grade NAT addresses (`BATON_WEBHOOK_ALLOW_PRIVATE=true`):
    /// for receivers inside the server's own network.
    pub allow_private: bool,
}

impl WebhookPolicy {
    /// Whether a webhook may be sent to `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), RefusedAddress> {
        let kind = AddressKind::of(ip);
        if kind == AddressKind::Public || (self.allow_private && kind.is_private()) {
            Ok(())
        } else {
            Err(RefusedAddress { ip, kind })
        }
    }

    /// Check a URL whose host is an IP literal (in any form the URL parser
    /// reads as one: `0x7f.1` and `2130706433` are 127.0.0.1). Host names
    /// pass here: they are checked when resolved, at each delivery. A URL
    /// that does not parse passes too; its syntax is checked elsewhere.
    pub fn check_url(&self, url: &str) -> Result<(), RefusedAddress> {
        let Ok(url) = reqwest::Url::parse(url) else {
            return Ok(());
        };
        // The parser has normalised an IPv4 literal to dotted decimal and
        // put an IPv6 one in brackets; anything else is a name.
        let host = url.host_str().unwrap_or_default();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        match host.parse::<IpAddr>() {
            Ok(ip) => self.check(ip),
            Err(_) => Ok(()),
        }
    }

    /// An HTTP client for webhooks under this policy: names resolve through
    /// [`GuardedResolver`], redirects are not followed (a redirect could
    /// point anywhere, including back inside), and no proxy from the
    /// environment is used (a proxy would resolve the name itself, out of
    /// the resolver's sight).
    pub fn client(&self, timeout: Duration) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { policy: *self }))
            .build()
    }
}

/// Resolves with tokio (the system resolver) and keeps only the addresses
/// the policy allows; with none left, the connection fails with
/// [`RefusedName`].
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    policy: WebhookPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut first_refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| match policy.check(addr.ip()) {
                    Ok(()) => true,
                    Err(refused) => {
                        first_refused.get_or_insert(refused);
                        false
                    }
                })
                .collect();
            match (allowed.is_empty(), first_refused) {
                (true, Some(first)) => Err(Box::new(RefusedName { name: host, first }) as _),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// The refusal inside a failed request's error chain, if that is why it failed.
pub fn refusal(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<RefusedName>() {
            return Some(refused.to_string());
        }
        if let Some(refused) = e.downcast_ref::<RefusedAddress>() {
            return Some(refused.to_string());
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressKind::*;

    #[test]
    fn addresses_are_classified() {
        let table: &[(&str, AddressKind)] = &[
            ("93.184.215.14", Public),
            ("8.8.8.8", Public),
            ("172.15.255.255", Public),
            ("172.32.0.1", Public),
            ("100.63.255.255", Public),
            ("100.128.0.1", Public),
            ("223.255.255.255", Public),
            ("2606:4700::1111", Public),
            ("2a00:1450:4001:80b::200e", Public),
            ("::ffff:93.184.215.14", Public),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("::1", Loopback),
            ("::ffff:127.0.0.1", Loopback),
            ("64:ff9b::7f00:1", Loopback),
            ("2002:7f00:1::", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("::ffff:10.1.2.3", Private),
            ("fec0::1", Private),
            ("169.254.169.254", LinkLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fc00::1", UniqueLocal),
            ("fd12:3456:789a::1", UniqueLocal),
            ("100.64.0.1", SharedNat),
            ("100.127.255.255", SharedNat),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("::", Unspecified),
            ("255.255.255.255", Broadcast),
            ("192.0.2.1", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.255", Documentation),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("ff02::1", Multicast),
            ("240.0.0.1", Reserved),
            ("192.0.0.8", Reserved),
            ("198.18.0.1", Reserved),
            ("2001::1", Reserved),
            ("::2", Reserved),
            ("100::1", Reserved),
        ];
        for (text, kind) in table {
            let ip: IpAddr = text.parse().expect(text);
            assert_eq!(AddressKind::of(ip), *kind, "{text}");
        }
    }

    #[test]
    fn the_policy_refuses_all_but_public_and_allows_private_networks_when_told() {
        let strict = WebhookPolicy::default();
        let open = WebhookPolicy {
            allow_private: true,
        };
        let ip = |t: &str| t.parse::<IpAddr>().expect(t);
        assert!(strict.check(ip("8.8.8.8")).is_ok());
        for private in [
            "127.0.0.1",
            "10.0.0.1",
            "169.254.169.254",
            "fd00::1",
            "100.64.0.1",
        ] {
            let refused = strict.check(ip(private)).expect_err(private);
            assert!(refused.to_string().contains(ALLOW_PRIVATE_VAR), "{refused}");
            assert!(open.check(ip(private)).is_ok(), "{private}");
        }
        // Never a receiver, whatever the setting.
        for never in ["0.0.0.0", "255.255.255.255", "192.0.2.1", "224.0.0.1", "::"] {
            let refused = open.check(ip(never)).expect_err(never);
            assert!(
                !refused.to_string().contains(ALLOW_PRIVATE_VAR),
                "{refused}"
            );
        }
    }

    #[test]
    fn ip_literal_urls_are_checked_in_every_form_the_url_parser_reads() {
        let strict = WebhookPolicy::default();
        for url in [
            "http://127.0.0.1:9/x",
            "http://0x7f.1/",
            "http://2130706433/",
            "http://017700000001/",
            "https://[::1]/hook",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/latest/meta-data/",
        ] {
            let refused = strict.check_url(url).expect_err(url);
            assert!(!refused.kind.eq(&Public), "{url}");
        }
        for url in [
            "https://hooks.slack.com/services/T0/B0/x",
            "http://localhost:9/x",
            "https://8.8.8.8/",
        ] {
            assert!(strict.check_url(url).is_ok(), "{url}");
        }
    }

    #[tokio::test]
    async fn the_resolver_hands_back_only_allowed_addresses() {
        let strict = GuardedResolver {
            policy: WebhookPolicy::default(),
        };
        let refused = match strict.resolve("localhost".parse().expect("name")).await {
            Ok(addrs) => panic!("localhost resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(error) => error,
        };
        let text = refusal(refused.as_ref()).expect("a refusal");
        assert!(text.contains("loopback"), "{text}");

        let open = GuardedResolver {
            policy: WebhookPolicy {
                allow_private: true,
            },
        };
        let addrs: Vec<SocketAddr> = open
            .resolve("localhost".parse().expect("name"))
            .await
            .expect("allowed")
            .collect();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }
}

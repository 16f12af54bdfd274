//! Which addresses image URLs may reach: the restricted ranges (private, loopback,
//! link-local...) and the `image_fetch.allow_private` list.

use super::*;

/// Why an address is not fetched unless `image_fetch.allow_private` allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestrictedRange {
    /// 10/8, 172.16/12, 192.168/16, IPv6 site-local fec0::/10, local NAT64 64:ff9b:1::/48.
    Private,
    /// 127/8, ::1.
    Loopback,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// 0/8 ("this network"), ::.
    Unspecified,
    /// 224/4, ff00::/8.
    Multicast,
    /// fc00::/7.
    UniqueLocal,
    /// 100.64/10 (carrier-grade NAT).
    SharedAddressSpace,
    /// 255.255.255.255.
    Broadcast,
    /// Special-purpose ranges (240/4, benchmarking, documentation, protocol assignments, Teredo,
    /// and IPv6 outside 2000::/3), which no public image server uses.
    Reserved,
}

impl fmt::Display for RestrictedRange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self {
            RestrictedRange::Private => "private",
            RestrictedRange::Loopback => "loopback",
            RestrictedRange::LinkLocal => "link-local",
            RestrictedRange::Unspecified => "unspecified",
            RestrictedRange::Multicast => "multicast",
            RestrictedRange::UniqueLocal => "unique-local",
            RestrictedRange::SharedAddressSpace => "shared (carrier-grade NAT)",
            RestrictedRange::Broadcast => "broadcast",
            RestrictedRange::Reserved => "reserved",
        };
        formatter.write_str(label)
    }
}

/// Returns the range that makes `address` off limits by default, or `None` for a public
/// address. IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged
/// by the IPv4 address they reach.
pub fn restricted_range(address: IpAddr) -> Option<RestrictedRange> {
    match address {
        IpAddr::V4(ipv4) => restricted_ipv4_range(ipv4),
        IpAddr::V6(ipv6) => restricted_ipv6_range(ipv6),
    }
}

pub(super) fn restricted_ipv4_range(address: Ipv4Addr) -> Option<RestrictedRange> {
    let [first, second, third, _fourth] = address.octets();
    let range = if first == 0 {
        RestrictedRange::Unspecified
    } else if address.is_loopback() {
        RestrictedRange::Loopback
    } else if address.is_private() {
        RestrictedRange::Private
    } else if address.is_link_local() {
        RestrictedRange::LinkLocal
    } else if first == 100 && (second & 0b1100_0000) == 64 {
        RestrictedRange::SharedAddressSpace
    } else if address.is_broadcast() {
        RestrictedRange::Broadcast
    } else if address.is_multicast() {
        RestrictedRange::Multicast
    } else if first >= 240
        || (first == 192 && second == 0 && (third == 0 || third == 2))
        || (first == 198 && (second & 0xFE) == 18)
        || (first == 198 && second == 51 && third == 100)
        || (first == 203 && second == 0 && third == 113)
    {
        RestrictedRange::Reserved
    } else {
        return None;
    };
    Some(range)
}

pub(super) fn restricted_ipv6_range(address: Ipv6Addr) -> Option<RestrictedRange> {
    if let Some(embedded) = embedded_ipv4(address) {
        return restricted_ipv4_range(embedded);
    }
    let segments = address.segments();
    let range = if address.is_unspecified() {
        RestrictedRange::Unspecified
    } else if address.is_loopback() {
        RestrictedRange::Loopback
    } else if (segments[0] & 0xFE00) == 0xFC00 {
        RestrictedRange::UniqueLocal
    } else if (segments[0] & 0xFFC0) == 0xFE80 {
        RestrictedRange::LinkLocal
    } else if (segments[0] & 0xFFC0) == 0xFEC0 {
        RestrictedRange::Private
    } else if (segments[0] & 0xFF00) == 0xFF00 {
        RestrictedRange::Multicast
    } else if segments[0] == 0x64 && segments[1] == 0xFF9B && segments[2] == 1 {
        RestrictedRange::Private
    } else if (segments[0] & 0xE000) != 0x2000
        || (segments[0] == 0x2001 && segments[1] == 0x0DB8)
        || (segments[0] == 0x2001 && segments[1] == 0)
    {
        // Outside global unicast, documentation, or Teredo (which tunnels to an IPv4 address
        // we cannot see).
        RestrictedRange::Reserved
    } else {
        return None;
    };
    Some(range)
}

/// The IPv4 address an IPv6 address reaches, for the forms that embed one.
pub(super) fn embedded_ipv4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = address.segments();
    let low_ipv4 = || Ipv4Addr::from((u32::from(segments[6]) << 16) | u32::from(segments[7]));
    let mapped = segments[..5] == [0; 5] && segments[5] == 0xFFFF;
    let translated = segments[..4] == [0; 4] && segments[4] == 0xFFFF && segments[5] == 0;
    // ::a.b.c.d (deprecated "compatible"); :: and ::1 have a zero seventh segment.
    let compatible = segments[..6] == [0; 6] && segments[6] != 0;
    let nat64 = segments[0] == 0x64 && segments[1] == 0xFF9B && segments[2..6] == [0; 4];
    if mapped || translated || compatible || nat64 {
        return Some(low_ipv4());
    }
    if segments[0] == 0x2002 {
        return Some(Ipv4Addr::from((u32::from(segments[1]) << 16) | u32::from(segments[2])));
    }
    None
}

/// `image_fetch.allow_private`: host names (`*.example.com` for subdomains), addresses and CIDRs.
#[derive(Debug, Clone, Default)]
pub(super) struct PrivateAllowList {
    networks: Vec<IpNet>,
    hosts: Vec<String>,
    /// Suffixes from `*.example.com` entries, stored as `.example.com`.
    host_suffixes: Vec<String>,
}

impl PrivateAllowList {
    pub(super) fn parse(entries: &[String]) -> Result<PrivateAllowList, ImageSourceError> {
        let mut allow_list = PrivateAllowList::default();
        for entry in entries {
            let invalid = |reason: &str| ImageSourceError::InvalidAllowPrivate {
                entry: entry.clone(),
                reason: reason.to_string(),
            };
            let trimmed = entry.trim();
            let unbracketed = trimmed.trim_start_matches('[').trim_end_matches(']');
            if let Ok(network) = IpNet::from_str(trimmed) {
                allow_list.networks.push(network.trunc());
            } else if let Ok(address) = IpAddr::from_str(unbracketed) {
                allow_list.networks.push(IpNet::from(address));
            } else if trimmed.contains('/') {
                return Err(invalid("not a valid CIDR range"));
            } else {
                let host = normalize_host(trimmed);
                let (is_wildcard, name) = match host.strip_prefix("*.") {
                    Some(suffix) => (true, suffix.to_string()),
                    None => (false, host),
                };
                let is_valid_name = !name.is_empty()
                    && name
                        .chars()
                        .all(|character| character.is_ascii_alphanumeric() || "-._".contains(character));
                if !is_valid_name {
                    return Err(invalid("expected a host name, an IP address or a CIDR range"));
                }
                if is_wildcard {
                    allow_list.host_suffixes.push(format!(".{name}"));
                } else {
                    allow_list.hosts.push(name);
                }
            }
        }
        Ok(allow_list)
    }

    pub(super) fn allows_host(&self, host: &str) -> bool {
        let normalized_host = normalize_host(host);
        self.hosts.contains(&normalized_host)
            || self
                .host_suffixes
                .iter()
                .any(|suffix| normalized_host.ends_with(suffix.as_str()))
    }

    pub(super) fn allows_address(&self, address: IpAddr) -> bool {
        let embedded_opt = match address {
            IpAddr::V6(ipv6) => embedded_ipv4(ipv6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.networks.iter().any(|network| {
            network.contains(&address) || embedded_opt.is_some_and(|embedded| network.contains(&embedded))
        })
    }

    /// Returns the first address that is restricted and not allowed, with its range.
    pub(super) fn first_refused<'a>(
        &self,
        host: &str,
        addresses: impl IntoIterator<Item = &'a IpAddr>,
    ) -> Option<(IpAddr, RestrictedRange)> {
        if self.allows_host(host) {
            return None;
        }
        addresses.into_iter().find_map(|address| {
            let range = restricted_range(*address)?;
            (!self.allows_address(*address)).then_some((*address, range))
        })
    }
}

pub(super) fn normalize_host(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

//! MAC addresses as the plan carries them: six bytes, chosen at plan time, written the way
//! `ip link` prints them (`02:5a:00:00:00:01`) wherever they are shown or serialized.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr([u8; 6]);

impl MacAddr {
    /// The all-zero address: an FDB entry for it floods broadcast and unknown unicast.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    pub const fn new(octets: [u8; 6]) -> MacAddr {
        MacAddr(octets)
    }

    pub const fn octets(self) -> [u8; 6] {
        self.0
    }

    /// Set by whoever assigns it rather than by a vendor (the second-lowest bit of the
    /// first octet), as every MAC routelab makes up is.
    pub const fn is_locally_administered(self) -> bool {
        self.0[0] & 0b10 != 0
    }

    /// Names one interface rather than a group (the lowest bit of the first octet clear).
    pub const fn is_unicast(self) -> bool {
        self.0[0] & 0b1 == 0
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// Text that is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a MAC address like 02:00:00:00:00:01")]
pub struct NotAMac(pub String);

/// Text as `ip link` writes it, six two-digit hexadecimal octets separated by `:`.
impl std::str::FromStr for MacAddr {
    type Err = NotAMac;

    fn from_str(text: &str) -> Result<MacAddr, NotAMac> {
        let bad = || NotAMac(text.to_string());
        let mut octets = [0u8; 6];
        let mut parts = text.split(':');
        for o in &mut octets {
            let part = parts.next().ok_or_else(bad)?;
            if part.len() != 2 {
                return Err(bad());
            }
            *o = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(MacAddr(octets))
    }
}

/// As its text, so a plan shows `02:5a:00:00:00:01` and not a list of numbers.
impl Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_what_it_prints() {
        let mac: super::MacAddr = "02:5a:00:0f:00:01".parse().unwrap();
        assert_eq!(mac.to_string(), "02:5a:00:0f:00:01");
        for bad in [
            "",
            "02:5a:00:0f:00",
            "02:5a:00:0f:00:01:02",
            "2:5a:00:0f:00:01",
            "zz:5a:00:0f:00:01",
        ] {
            assert!(bad.parse::<super::MacAddr>().is_err(), "{bad}");
        }
    }

    use super::*;

    #[test]
    fn written_and_serialized_as_ip_link_prints_it() {
        let mac = MacAddr::new([0x02, 0x5a, 0, 0, 0x0f, 0xa1]);
        assert_eq!(mac.to_string(), "02:5a:00:00:0f:a1");
        assert_eq!(
            serde_json::to_string(&mac).unwrap(),
            "\"02:5a:00:00:0f:a1\""
        );
        assert_eq!(MacAddr::ZERO.to_string(), "00:00:00:00:00:00");
    }

    #[test]
    fn address_kinds_come_from_the_first_octet() {
        let made_up = MacAddr::new([0x02, 0, 0, 0, 0, 1]);
        assert!(made_up.is_locally_administered() && made_up.is_unicast());
        let vendor_group = MacAddr::new([0x01, 0, 0x5e, 0, 0, 1]);
        assert!(!vendor_group.is_locally_administered() && !vendor_group.is_unicast());
    }
}

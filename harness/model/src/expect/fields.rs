//! Fields that several expectation kinds share, declared once: [`Common`] (every kind:
//! `deadline`, …) and [`Probe`] (kinds that send packets: `from`, `to`, `src`).
//!
//! A kind's spec is written flat in YAML (`- ping: { from: a, to: 10.0.0.1, size: 1400,
//! deadline: 5s }`), yet each shared group is a struct of its own. [`With`] reads such a
//! mapping: keys of the group go to the group, all others to the kind's own spec. Unknown
//! keys are refused with the list of every key accepted. Values are read by the YAML
//! reader itself, so `Spanned` fields keep their source locations (`#[serde(flatten)]`
//! would buffer them and lose them).

use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

/// A group of shared fields, filled key by key from a mapping.
pub trait FieldGroup: Default {
    /// The keys this group takes, in the order messages list them.
    fn keys() -> Vec<&'static str>;
    /// Reads the value of `key` (one of [`FieldGroup::keys`]) from `map`.
    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
    /// Called once the mapping is read: complain about required keys not given.
    fn finish<E: de::Error>(&self) -> Result<(), E> {
        Ok(())
    }
}

/// The group of an expectation kind: it always holds the fields every kind has.
pub trait ExpectationFields: FieldGroup {
    fn common(&self) -> &Common;
}

/// A spec `S` with the shared fields `G` read out of the same YAML mapping.
#[derive(Debug)]
pub struct With<G, S> {
    pub group: G,
    pub spec: S,
}

impl<G, S> std::ops::Deref for With<G, S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.spec
    }
}

impl<'de, G: FieldGroup, S: Deserialize<'de>> Deserialize<'de> for With<G, S> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<G, S>(PhantomData<(G, S)>);
        impl<'de, G: FieldGroup, S: Deserialize<'de>> Visitor<'de> for V<G, S> {
            type Value = With<G, S>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let mut group = G::default();
                let spec = S::deserialize(Split {
                    inner: map,
                    group: &mut group,
                    fields: &[],
                })?;
                group.finish()?;
                Ok(With { group, spec })
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// A mapping with the group's keys taken out as they come by. It is also the deserializer
/// the kind's spec reads itself from, which tells it the spec's own field names.
struct Split<'g, A, G> {
    inner: A,
    group: &'g mut G,
    fields: &'static [&'static str],
}

impl<'de, A: MapAccess<'de>, G: FieldGroup> MapAccess<'de> for Split<'_, A, G> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let known = Known {
            fields: self.fields,
            group: G::keys(),
        };
        while let Some(key) = self.inner.next_key_seed(&known)? {
            if known.group.contains(&key.as_str()) {
                self.group.read(&key, &mut self.inner)?;
                continue;
            }
            return seed.deserialize(key.into_deserializer()).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}

/// Reads a key, refusing one that neither the spec nor the group takes. The refusal is
/// made while the key is being read, so the YAML reader points at the key.
struct Known {
    fields: &'static [&'static str],
    group: Vec<&'static str>,
}

impl<'de> DeserializeSeed<'de> for &Known {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        let key = String::deserialize(d)?;
        if self.fields.contains(&key.as_str()) || self.group.contains(&key.as_str()) {
            return Ok(key);
        }
        let all: Vec<&str> = self.fields.iter().chain(&self.group).copied().collect();
        Err(de::Error::custom(format!(
            "unknown field `{key}`, expected one of {}",
            all.join(", ")
        )))
    }
}

impl<'de, A: MapAccess<'de>, G: FieldGroup> Deserializer<'de> for Split<'_, A, G> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.fields = fields;
        visitor.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// What every expectation kind may say besides its own fields; each falls back to the
/// scenario's `defaults`.
#[derive(Debug, Default)]
pub struct Common {
    /// How long a positive expectation may take to hold (`30s`).
    pub deadline: Option<Spanned<String>>,
    /// For a negative: how long its phase's routes and protocol states must be unchanged
    /// before it is judged.
    pub settle: Option<Spanned<String>>,
    /// For a negative: how long it must then stay true.
    pub hold: Option<Spanned<String>>,
}

impl FieldGroup for Common {
    fn keys() -> Vec<&'static str> {
        vec!["deadline", "settle", "hold"]
    }

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "deadline" => set_once(&mut self.deadline, "deadline", map),
            "settle" => set_once(&mut self.settle, "settle", map),
            "hold" => set_once(&mut self.hold, "hold", map),
            _ => unreachable!("only keys() are passed"),
        }
    }
}

impl ExpectationFields for Common {
    fn common(&self) -> &Common {
        self
    }
}

/// The endpoints of a kind that sends packets: from a node (or pod), to an address,
/// optionally from a given source address.
#[derive(Debug, Default)]
pub struct Probe {
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<IpAddr>>,
    /// Source address; the kernel picks one when omitted.
    pub src: Option<Spanned<IpAddr>>,
}

impl Probe {
    /// The sending node as written (present after a successful read).
    pub fn from(&self) -> &Spanned<String> {
        self.from.as_ref().expect("`from` is required when reading")
    }

    /// The destination as written (present after a successful read).
    pub fn to(&self) -> IpAddr {
        self.to
            .as_ref()
            .expect("`to` is required when reading")
            .value
    }

    pub fn src(&self) -> Option<IpAddr> {
        self.src.as_ref().map(|s| s.value)
    }
}

impl FieldGroup for Probe {
    fn keys() -> Vec<&'static str> {
        vec!["from", "to", "src"]
    }

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "from" => set_once(&mut self.from, "from", map),
            "to" => set_once(&mut self.to, "to", map),
            "src" => set_once(&mut self.src, "src", map),
            _ => unreachable!("only keys() are passed"),
        }
    }

    fn finish<E: de::Error>(&self) -> Result<(), E> {
        if self.from.is_none() {
            return Err(E::missing_field("from"));
        }
        if self.to.is_none() {
            return Err(E::missing_field("to"));
        }
        Ok(())
    }
}

/// The fields of a kind that sends packets: its endpoints and what every kind has.
#[derive(Debug, Default)]
pub struct Probing {
    pub probe: Probe,
    pub common: Common,
}

impl FieldGroup for Probing {
    fn keys() -> Vec<&'static str> {
        let mut keys = Probe::keys();
        keys.extend(Common::keys());
        keys
    }

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        if Probe::keys().contains(&key) {
            self.probe.read(key, map)
        } else {
            self.common.read(key, map)
        }
    }

    fn finish<E: de::Error>(&self) -> Result<(), E> {
        self.probe.finish()?;
        self.common.finish()
    }
}

impl ExpectationFields for Probing {
    fn common(&self) -> &Common {
        &self.common
    }
}

fn set_once<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    slot: &mut Option<T>,
    key: &'static str,
    map: &mut A,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(key));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sizes {
        size: Spanned<u16>,
    }

    fn read(text: &str) -> Result<With<Probing, Sizes>, String> {
        serde_saphyr::from_str(text).map_err(|e| e.without_snippet().to_string())
    }

    #[test]
    fn shared_and_own_fields_come_from_one_mapping_with_their_positions() {
        let w = read("{ from: a, size: 1400, to: 10.0.0.1, deadline: 5s }").unwrap();
        assert_eq!(w.group.probe.from().value, "a");
        assert_eq!(w.group.probe.to().to_string(), "10.0.0.1");
        assert_eq!(w.group.common.deadline.as_ref().unwrap().value, "5s");
        assert_eq!(w.spec.size.value, 1400);
        assert_eq!(w.spec.size.referenced.column(), 18);
    }

    #[test]
    fn unknown_missing_and_repeated_keys_are_refused() {
        let e = read("{ from: a, to: 10.0.0.1, size: 1, sise: 2 }").unwrap_err();
        assert!(
            e.contains(
                "unknown field `sise`, expected one of size, from, to, src, deadline, settle, hold"
            ),
            "{e}"
        );
        let e = read("{ to: 10.0.0.1, size: 1 }").unwrap_err();
        assert!(e.contains("missing field `from`"), "{e}");
        let e = read("{ from: a, from: b, to: 10.0.0.1, size: 1 }").unwrap_err();
        assert!(e.contains("from"), "{e}");
    }
}

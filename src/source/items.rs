//! A list's `items` streamed one element at a time, for both sources: each
//! element is parsed with its own seed and handed on before the next is
//! read, so only one object's tree exists at a time.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};

/// Streams an array: `seed()` parses each element, `each(index, element)`
/// takes it; an `Err` from `each` stops the stream with that message. With
/// `null_is_empty`, `null` is read as no items (as the API server may send).
pub struct EachItem<'a, S, F> {
    pub seed: S,
    pub each: &'a mut F,
    pub null_is_empty: bool,
    /// What the array is, for serde's type errors.
    pub expecting: &'static str,
}

impl<'de, S, D, F> DeserializeSeed<'de> for EachItem<'_, S, F>
where
    S: FnMut() -> D,
    D: DeserializeSeed<'de>,
    F: FnMut(usize, D::Value) -> Result<(), String>,
{
    type Value = ();

    fn deserialize<De: Deserializer<'de>>(self, d: De) -> Result<(), De::Error> {
        if self.null_is_empty {
            d.deserialize_option(self)
        } else {
            d.deserialize_seq(self)
        }
    }
}

impl<'de, S, D, F> Visitor<'de> for EachItem<'_, S, F>
where
    S: FnMut() -> D,
    D: DeserializeSeed<'de>,
    F: FnMut(usize, D::Value) -> Result<(), String>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<De: Deserializer<'de>>(self, d: De) -> Result<(), De::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while let Some(item) = seq.next_element_seed((self.seed)())? {
            (self.each)(i, item).map_err(de::Error::custom)?;
            i += 1;
        }
        Ok(())
    }
}

/// The seed that parses an element as its plain type.
pub fn plain<T>() -> PhantomData<T> {
    PhantomData
}

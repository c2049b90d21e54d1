//! A serde `Deserializer` over what the browser's `JSON.parse` returns, for the widget's decoding.
//!
//! It replaces `serde_wasm_bindgen::from_value` for reading JSON: its errors carry no message, so
//! none of serde's error formatting (type names, "invalid type: floating point `…`" with the whole
//! float printer) is linked into the wasm (measured: 12.5 KB brotli less). Nobody would read
//! the message: what does not decode is dropped. Serializing still goes through serde-wasm-bindgen.

use js_sys::{Array, Object, Reflect};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use wasm_bindgen::{JsCast, JsValue};

/// Decoding failed. No reason is kept: the caller drops the value either way.
#[derive(Debug)]
pub struct Error;

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the JSON value does not match the expected type")
    }
}

impl std::error::Error for Error {}

// Every constructor is overridden: the default ones format a message, which is the code this
// module exists to keep out.
impl de::Error for Error {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Error
    }
    fn invalid_type(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        Error
    }
    fn invalid_value(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        Error
    }
    fn invalid_length(_: usize, _: &dyn de::Expected) -> Self {
        Error
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        Error
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Error
    }
    fn missing_field(_: &'static str) -> Self {
        Error
    }
    fn duplicate_field(_: &'static str) -> Self {
        Error
    }
}

/// Deserializes a JS value produced by `JSON.parse` (so never `undefined`, a function or a
/// BigInt).
pub struct Deserializer(pub JsValue);

/// Largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

impl<'de> de::Deserializer<'de> for Deserializer {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = self.0;
        if let Some(b) = value.as_bool() {
            visitor.visit_bool(b)
        } else if let Some(n) = value.as_f64() {
            // Integers as integers, so every Rust integer type takes them (range-checked by serde).
            if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
                if n >= 0.0 {
                    visitor.visit_u64(n as u64)
                } else {
                    visitor.visit_i64(n as i64)
                }
            } else {
                visitor.visit_f64(n)
            }
        } else if let Some(s) = value.as_string() {
            visitor.visit_string(s)
        } else if value.is_null() || value.is_undefined() {
            visitor.visit_unit()
        } else if let Some(array) = value.dyn_ref::<Array>() {
            visitor.visit_seq(Items {
                array: array.clone(),
                next: 0,
            })
        } else if value.is_object() {
            visitor.visit_map(Entries {
                entries: Object::entries(value.unchecked_ref()),
                next: 0,
                value: None,
            })
        } else {
            Err(Error)
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.0.is_null() || self.0.is_undefined() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// Reads the struct's own fields by name (like serde-wasm-bindgen): other keys, such as the
    /// `type` tag of a frame, are never even listed.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if !self.0.is_object() {
            return Err(Error);
        }
        visitor.visit_map(Fields {
            object: self.0,
            fields: fields.iter(),
            value: None,
        })
    }

    /// `"variant"` for a unit variant, `{"variant": payload}` otherwise (serde's external tagging).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if let Some(tag) = self.0.as_string() {
            return visitor.visit_enum(Variant {
                tag,
                payload: JsValue::UNDEFINED,
            });
        }
        if !self.0.is_object() {
            return Err(Error);
        }
        let entries = Object::entries(self.0.unchecked_ref());
        if entries.length() != 1 {
            return Err(Error);
        }
        let entry: Array = entries.get(0).unchecked_into();
        let tag = entry.get(0).as_string().ok_or(Error)?;
        visitor.visit_enum(Variant {
            tag,
            payload: entry.get(1),
        })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map identifier
    }
}

/// The elements of a JS array.
struct Items {
    array: Array,
    next: u32,
}

impl<'de> de::SeqAccess<'de> for Items {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.next >= self.array.length() {
            return Ok(None);
        }
        let item = self.array.get(self.next);
        self.next += 1;
        seed.deserialize(Deserializer(item)).map(Some)
    }
}

/// The `[key, value]` pairs of `Object.entries`, for maps.
struct Entries {
    entries: Array,
    next: u32,
    value: Option<JsValue>,
}

impl<'de> de::MapAccess<'de> for Entries {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.next >= self.entries.length() {
            return Ok(None);
        }
        let entry: Array = self.entries.get(self.next).unchecked_into();
        self.next += 1;
        self.value = Some(entry.get(1));
        seed.deserialize(Deserializer(entry.get(0))).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(Deserializer(self.value.take().ok_or(Error)?))
    }
}

/// A struct's fields, looked up by name; a missing key is a missing field.
struct Fields {
    object: JsValue,
    fields: std::slice::Iter<'static, &'static str>,
    value: Option<JsValue>,
}

impl<'de> de::MapAccess<'de> for Fields {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        for &field in &mut self.fields {
            let value = Reflect::get(&self.object, &JsValue::from_str(field)).map_err(|_| Error)?;
            // `JSON.parse` never yields `undefined`, so it means the key is absent.
            if !value.is_undefined() {
                self.value = Some(value);
                return seed.deserialize(field.into_deserializer()).map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(Deserializer(self.value.take().ok_or(Error)?))
    }
}

/// An enum's variant name and its payload (`undefined` for a unit variant given as a string).
struct Variant {
    tag: String,
    payload: JsValue,
}

impl<'de> de::EnumAccess<'de> for Variant {
    type Error = Error;
    type Variant = Payload;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Payload), Error> {
        let tag = seed.deserialize(self.tag.into_deserializer())?;
        Ok((tag, Payload(self.payload)))
    }
}

struct Payload(JsValue);

impl<'de> de::VariantAccess<'de> for Payload {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(Deserializer(self.0))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(Deserializer(self.0), visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_struct(Deserializer(self.0), "", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    //! Run in Node by `cargo xtask test` (wasm-bindgen-test-runner): `JSON.parse` + this
    //! deserializer must read everything exactly as serde_json does.
    use protocol::{
        Author, Availability, ErrorCode, IndexManifest, Message, Saved, ServerFrame, SiteConfig,
    };
    use std::collections::BTreeMap;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn same_as_serde_json<T>(json: &str)
    where
        T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let expected: T = serde_json::from_str(json).unwrap();
        assert_eq!(crate::from_json::<T>(json), Some(expected), "{json}");
    }

    #[wasm_bindgen_test]
    fn reads_what_serde_json_reads() {
        same_as_serde_json::<SiteConfig>(
            r##"{"site":"acme","name":"Acme","color":"#112233","position":"left",
                "greeting":{"en":"Hi","pt":"Olá"},"languages":["en","pt"],
                "prechat_name":true,"prechat_email":false}"##,
        );
        same_as_serde_json::<IndexManifest>(
            r#"{"format":4,"version":"v1","default_language":"en","languages":{"en":
                {"index":"en-1.idx","chunked":"en-1.fdx","articles":"en-1.json","documents":12,"bytes":4096}}}"#,
        );
        same_as_serde_json::<BTreeMap<String, String>>(r#"{"en/a":"a-1.html","en/b":"b.html"}"#);
        same_as_serde_json::<Vec<Option<i64>>>("[1, -2, null, 9007199254740991]");
    }

    #[wasm_bindgen_test]
    fn rejects_what_serde_json_rejects() {
        for json in [
            r#"{"format":3.5,"version":"v","default_language":"en","languages":{}}"#,
            r#"{"format":-1,"version":"v","default_language":"en","languages":{}}"#,
            r#"{"format":3,"version":1,"default_language":"en","languages":{}}"#,
            r#"{"format":3,"version":"v","languages":{}}"#,
            "null",
        ] {
            assert!(
                serde_json::from_str::<IndexManifest>(json).is_err(),
                "{json}"
            );
            assert_eq!(crate::from_json::<IndexManifest>(json), None, "{json}");
        }
    }

    #[wasm_bindgen_test]
    fn server_frames_decode_as_the_server_wrote_them() {
        let frames = [
            ServerFrame::Welcome {
                v: 1,
                token: Some("t".into()),
                conversation: Some(4),
                last_seq: 3,
                availability: Availability {
                    agents_online: true,
                    open_now: false,
                    next_open: Some(1_700_000_000_000),
                },
                rate_pending: true,
            },
            ServerFrame::Message(Message {
                conversation: 4,
                seq: 5,
                id: "c1".into(),
                author: Author::Agent {
                    id: 2,
                    name: "Ana".into(),
                },
                body: "Olá **mundo**".into(),
                at: 6,
                attachments: vec![protocol::Attachment {
                    id: "f1".into(),
                    name: "tela.png".into(),
                    content_type: "image/png".into(),
                    size: 70,
                    width: Some(2),
                    height: None,
                }],
            }),
            ServerFrame::UploadToken {
                token: "1.2.ab".into(),
                expires: 9,
                max_bytes: 10,
            },
            ServerFrame::Availability(Availability::default()),
            ServerFrame::Saved {
                what: Saved::Contact,
            },
            ServerFrame::error(ErrorCode::RateLimited, "slow down"),
        ];
        for frame in frames {
            assert_eq!(crate::server_frame_from_json(&frame.to_json()), Some(frame));
        }
        for json in [
            r#"{"type":"conversation","id":1}"#,
            r#"{"type":"nope"}"#,
            r#"{"seq":1}"#,
            r#"{"type":"ack","id":"c1","conversation":4,"seq":1.5,"at":6}"#,
            "[]",
            "7",
        ] {
            assert_eq!(crate::server_frame_from_json(json), None, "{json}");
        }
    }
}

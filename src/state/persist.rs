//! The performance as a nice-plug persisted field (`#[persist = "performance"]`): the part of
//! the state code that knows the framework.
//!
//! nice-plug saves persisted fields as JSON strings inside its JSON state, on the host's main
//! thread (CLAP `state.save`/`state.load`, VST3 `getState`/`setState`), and on load only calls
//! `set` (no re-activation or reset follows). So the field's serde form is the binary container
//! in base64; saving serializes the session mirror, loading decodes it and hands it to the
//! engine. The base64 is decoded straight from the string `serde_json` parsed (borrowed from
//! nice-plug's copy of the state), never copied. A value that is not a string is also handed to
//! `set` (and refused there with a message), so a damaged field never passes silently.

use std::sync::Arc;

use nice_plug::params::persist::PersistentField;
use nice_plug::prelude::*;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::store::SessionStore;
use super::text;

/// The largest state nice-plug's CLAP wrapper loads is 256 MiB (`MAX_STATE_BYTES`); this leaves
/// a megabyte for the parameters and the rest of its JSON.
const HOST_STATE_LIMIT_BYTES: usize = 255 << 20;

/// The persisted field: a handle on the plugin's session store.
#[derive(Default)]
pub struct PerformanceField {
    /// The store saved from and loaded into.
    pub store: Arc<SessionStore>,
}

/// The field's serde form: base64 of the binary container when saved, and when loaded the bytes
/// it decodes to (or why it did not).
pub enum PerformanceText {
    /// Saving: the base64 text.
    Text(String),
    /// Loaded: the decoded container.
    Decoded(Vec<u8>),
    /// Loaded: a string, but not base64.
    NotBase64,
    /// Loaded: not a string.
    NotString,
}

impl Serialize for PerformanceText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(text) => serializer.serialize_str(text),
            // Only `map` serializes, and it gives the text.
            _ => serializer.serialize_str(""),
        }
    }
}

impl<'de> Deserialize<'de> for PerformanceText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

/// Decodes a string, and takes anything else as "not a string".
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = PerformanceText;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a base64 string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(match text::decode(v) {
            Ok(bytes) => PerformanceText::Decoded(bytes),
            Err(_) => PerformanceText::NotBase64,
        })
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(PerformanceText::NotString)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(PerformanceText::NotString)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(PerformanceText::NotString)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(PerformanceText::NotString)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(PerformanceText::NotString)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(PerformanceText::NotString)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(PerformanceText::NotString)
    }
}

impl PersistentField<'_, PerformanceText> for PerformanceField {
    fn set(&self, value: PerformanceText) {
        let bytes = match value {
            PerformanceText::Decoded(bytes) => bytes,
            PerformanceText::NotBase64 => {
                refuse(
                    &self.store,
                    "the saved performance is not valid base64".to_owned(),
                );
                return;
            }
            PerformanceText::Text(_) | PerformanceText::NotString => {
                refuse(
                    &self.store,
                    "the saved performance is not a string".to_owned(),
                );
                return;
            }
        };
        match self.store.load(bytes) {
            Ok(Some(warning)) => nice_warn!("Loopmate: {warning}"),
            Ok(None) => {}
            Err(error) => nice_error!("Loopmate: saved performance refused: {error}"),
        }
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&PerformanceText) -> R,
    {
        let (bytes, left_out) = self.store.save_reporting();
        if let Some(why) = &left_out {
            nice_warn!("Loopmate: {why}");
        }
        let text = text::encode(&bytes);
        if text.len() > HOST_STATE_LIMIT_BYTES {
            let why = format!(
                "the performance takes {:.0} MB in the host's project, more than nice-plug's \
                 CLAP loader accepts ({:.0} MB): it will not load back in a CLAP host. Export \
                 the loops as WAV files (or save a performance file) to keep them",
                text.len() as f64 / 1e6,
                HOST_STATE_LIMIT_BYTES as f64 / 1e6
            );
            nice_error!("Loopmate: {why}");
            self.store.say(format!("Warning: {why}."));
        }
        f(&PerformanceText::Text(text))
    }
}

fn refuse(store: &SessionStore, why: String) {
    nice_error!("Loopmate: saved performance refused: {why}");
    store.say(format!(
        "Saved performance refused: {why}. Nothing was loaded."
    ));
}

/// The performance in a file: the binary container itself, or a host state in nice-plug's JSON
/// (optionally behind CLAP's 8-byte length), whose `performance` field holds it.
pub fn performance_from_file(bytes: &[u8]) -> Result<super::format::Decoded, String> {
    let container = performance_container(bytes)?;
    super::format::decode_reporting(&container).map_err(|error| error.to_string())
}

/// The binary container of a performance file (see [`performance_from_file`]), undecoded.
pub fn performance_container(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    if bytes.starts_with(super::format::MAGIC) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let json = if bytes.len() > 8 && bytes[8] == b'{' {
        &bytes[8..]
    } else {
        bytes
    };
    let state: serde_json::Value = serde_json::from_slice(json)
        .map_err(|_| "neither a performance nor a host state".to_owned())?;
    let field = state["fields"]["performance"]
        .as_str()
        .ok_or("the host state holds no Loopmate performance")?;
    let text: String =
        serde_json::from_str(field).map_err(|_| "the performance is not a string")?;
    let binary = text::decode(&text).map_err(|_| "the performance is not valid base64")?;
    Ok(std::borrow::Cow::Owned(binary))
}

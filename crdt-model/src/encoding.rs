//! Encoding plain data: postcard for the wire and the store, JSON for values inside records.
//!
//! The types encoded here are plain data (strings, integers, byte arrays, vectors, structs and
//! enums of those): postcard and serde_json write them into a growable buffer and cannot fail. A
//! failure would be a bug in a type's definition, so it stops with a message rather than writing
//! empty bytes that a reader would take for a value (as `unwrap_or_default` did).

use serde::Serialize;

/// `value` as postcard bytes.
pub fn postcard_bytes<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value)
        .unwrap_or_else(|e| unreachable!("postcard cannot fail on plain data: {e}"))
}

/// `value` as a JSON string.
pub fn json_text<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|e| unreachable!("serde_json cannot fail on plain data: {e}"))
}

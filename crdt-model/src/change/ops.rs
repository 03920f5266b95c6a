//! What a change writes, read from its operations.
//!
//! Records are flat maps, so a valid change only puts scalars at, or deletes, root keys. Reading the
//! operations (not a diff of the document) sees every key a change touches, including writes that lose
//! a conflict, and costs microseconds.

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{Change, ScalarValue};

use crate::change::rejection::Rejection;

/// Most operations one change may carry: records have a few dozen fields.
pub const OPS_PER_CHANGE_MAX: usize = 4096;

/// One write at the root of a record.
#[derive(Clone, Debug, PartialEq)]
pub struct RootWrite {
    /// The key written.
    pub key: String,
    /// The value put, or `None` for a delete.
    pub value: Option<ScalarValue>,
}

/// The root writes of `change`.
///
/// # Errors
/// [`Rejection::Malformed`] when the change creates objects, writes below the root, counts, marks,
/// or cannot be decoded.
pub fn root_writes(change: &Change) -> Result<Vec<RootWrite>, Rejection> {
    // automerge's decoder asserts on some inconsistent inputs that `from_bytes` accepts; a peer's
    // bytes must never bring the node down, so a panic here is turned into a refusal. This relies on
    // the default `panic = "unwind"`, which the workspace keeps.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| change.decode()))
        .map_err(|_| Rejection::Malformed {
            reason: "the change's operations do not decode".into(),
        })?;
    if decoded.operations.len() > OPS_PER_CHANGE_MAX {
        return Err(Rejection::Malformed {
            reason: format!(
                "{} operations; at most {OPS_PER_CHANGE_MAX} are accepted",
                decoded.operations.len()
            ),
        });
    }
    let mut writes = Vec::with_capacity(decoded.operations.len());
    for op in decoded.operations {
        let key = match (&op.obj, &op.key) {
            (ObjectId::Root, Key::Map(key)) => key.to_string(),
            _ => {
                return Err(Rejection::Malformed {
                    reason: "writes below the root; records are flat maps".into(),
                })
            }
        };
        let value = match op.action {
            OpType::Put(value) => Some(value),
            OpType::Delete => None,
            _ => {
                return Err(Rejection::Malformed {
                    reason: format!("operation on `{key}` is not a put or delete"),
                })
            }
        };
        writes.push(RootWrite { key, value });
    }
    Ok(writes)
}

/// A field as text, as views show it: text, or an integer in decimal.
pub(crate) fn field_text(value: &automerge::ScalarValue) -> Option<String> {
    match value {
        automerge::ScalarValue::Str(t) => Some(t.to_string()),
        automerge::ScalarValue::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

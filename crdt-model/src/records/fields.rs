//! Declarative field tables: which root keys a record kind takes and what each holds.
//!
//! Every kind of record is a flat map (see DESIGN.md), so what a change may write is a table of
//! keys and value shapes. Each kind states its table once; one function checks a change's writes
//! against it, and the refusal names the kind and the key.

use automerge::ScalarValue;

use crate::calendar::Date;
use crate::change::ops::RootWrite;
use crate::change::rejection::Rejection;
use crate::hall::is_short_token;

/// What one field holds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Field {
    /// Text of at most this many characters.
    Text(usize),
    /// Text equal to the record's id part of this name (given to [`check_writes`]).
    Id(&'static str),
    /// A short token (ASCII letters, digits, '-') of at most this many characters.
    Token(usize),
    /// One of the first elements of a (value, label) list.
    OneOf(&'static [(&'static str, &'static str)]),
    /// Text accepted by a check.
    Checked(fn(&str) -> bool),
    /// A date, YYYY-MM-DD.
    Date,
    /// An integer in an inclusive range.
    Int(i64, i64),
    /// A boolean.
    Bool,
}

impl Field {
    fn accepts(self, value: &ScalarValue, ids: &[(&str, &str)]) -> bool {
        match (self, value) {
            (Field::Text(max), ScalarValue::Str(s)) => s.chars().count() <= max,
            (Field::Id(name), ScalarValue::Str(s)) => {
                ids.iter().any(|(n, v)| *n == name && *v == s.as_str())
            }
            (Field::Token(max), ScalarValue::Str(s)) => is_short_token(s, max),
            (Field::OneOf(list), ScalarValue::Str(s)) => list.iter().any(|(v, _)| *v == s.as_str()),
            (Field::Checked(check), ScalarValue::Str(s)) => check(s),
            (Field::Date, ScalarValue::Str(s)) => s.parse::<Date>().is_ok(),
            (Field::Int(lo, hi), ScalarValue::Int(n)) => (lo..=hi).contains(n),
            (Field::Bool, ScalarValue::Boolean(_)) => true,
            _ => false,
        }
    }
}

/// Decides a key a table does not list, and its value (`None`: a deletion).
pub(crate) type OtherKeys = fn(&str, Option<&ScalarValue>) -> bool;

/// A record kind's fields.
pub(crate) struct FieldTable {
    /// The kind, in refusals ("stationing field `x` …").
    pub label: &'static str,
    /// Each key and what it holds.
    pub fields: &'static [(&'static str, Field)],
}

impl FieldTable {
    /// The field `key` names, if the table has it.
    pub(crate) fn field(&self, key: &str) -> Option<Field> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, f)| *f)
    }

    /// Checks every write against the table (`ids`: the record's id parts, for [`Field::Id`]);
    /// `other` decides keys the table does not list (an item's materials), `None` refusing them.
    ///
    /// # Errors
    /// [`Rejection::Invalid`] (record shape) naming the first key that is not a field of this kind
    /// or holds a value of the wrong shape; a deletion unless `other` allows it.
    pub(crate) fn check_writes(
        &self,
        ids: &[(&str, &str)],
        writes: &[RootWrite],
        other: Option<OtherKeys>,
    ) -> Result<(), Rejection> {
        for write in writes {
            let ok = match (self.field(&write.key), &write.value) {
                (Some(field), Some(value)) => field.accepts(value, ids),
                (Some(_), None) => false,
                (None, value) => other.is_some_and(|decide| decide(&write.key, value.as_ref())),
            };
            if !ok {
                return Err(Rejection::shape(format!(
                    "{} field `{}` has a value of the wrong kind or is not a {} field",
                    self.label, write.key, self.label
                )));
            }
        }
        Ok(())
    }
}

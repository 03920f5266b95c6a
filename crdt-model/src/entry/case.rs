//! Opening a cross-region case (通办件): K11 and the applicant's id.

use crate::doc_id::{DocId, ItemCode};
use crate::entry::{applicant, EntryError};
use crate::hall::HallId;
use crate::identity::DeviceId;
use crate::records::case::{personal_place, Applicant, PERSONAL_KEY};
use crate::replica::Replica;
use crate::sync::scope::in_scope;
use crate::ScalarValue;

/// A case as the accepting hall opens it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseOpening<'a> {
    /// The accepting hall (this node's).
    pub accepting: &'a HallId,
    /// The hall that handles it.
    pub handling: &'a HallId,
    /// The item.
    pub item: &'a ItemCode,
    /// The case number.
    pub case_no: &'a str,
    /// The applicant's resident identity number, as typed.
    pub applicant_id: &'a str,
    /// The applicant's name (may be empty).
    pub applicant_name: &'a str,
}

/// The randomness of one opening (fresh for each: the node draws it from the OS, the simulator
/// from its seed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaseSecrets {
    /// The content key of the sealed personal part; also the key of the applicant reference, so
    /// only the parties (who can unwrap it) can compute or test a reference.
    pub content_key: [u8; 32],
    /// The sealing's ephemeral X25519 secret.
    pub ephemeral: [u8; 32],
}

/// What opening a case writes, and what this node could not check.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenedCase {
    /// The case's record.
    pub doc: DocId,
    /// The fields to write.
    pub writes: Vec<(String, ScalarValue)>,
    /// The sealed parts the fields name by address: keep them (see
    /// [`Replica::keep_own_parts`]) before the change is committed.
    pub parts: Vec<Vec<u8>>,
    /// Set when the handling hall's stationings are outside this node's scope, so whether it
    /// handles the item is checked there, on receipt.
    pub unchecked: Option<String>,
}

/// Checks a case opening against K11 on `replica`'s view (`me` is this node's device, whose scope
/// says which stationings it can see) and returns what to write. The applicant (id and name) is
/// sealed to the devices of both parties (D3); the reference for lookups is a keyed hash under the
/// sealing's content key, which only the parties can unwrap.
///
/// # Errors
/// The rule broken: an unknown item or hall, an item the handling hall does not station (when this
/// node holds its stationings), a cross-region scope that does not reach, a bad case number or
/// applicant id, a case that exists.
pub fn open(
    replica: &Replica,
    me: &DeviceId,
    case: &CaseOpening<'_>,
    secrets: &CaseSecrets,
) -> Result<OpenedCase, EntryError> {
    // What the person typed first, then what the network holds.
    let no = case.case_no;
    if no.is_empty() || no.len() > 40 || !no.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(EntryError::BadCaseNumber {
            case_no: no.chars().take(60).collect(),
        });
    }
    let id = applicant::normalise(case.applicant_id)?;
    let code = case.item.as_str();
    let item = replica.item(code).ok_or_else(|| EntryError::UnknownItem {
        item: code.to_string(),
    })?;
    if !replica.trust().halls().contains_key(case.handling) {
        return Err(EntryError::UnknownHall {
            hall: case.handling.to_string(),
        });
    }
    let scope = item.fields.cross_region;
    if case.accepting != case.handling && !scope.reaches_another_hall() {
        return Err(EntryError::OutsideCrossRegionScope {
            item: code.to_string(),
            scope: format!("{scope} ({})", scope.zh()),
            accepting: case.accepting.to_string(),
            handling: case.handling.to_string(),
        });
    }
    let station = DocId::station(case.handling, case.item);
    let unchecked = if in_scope(replica.trust(), &station, me) {
        let handled = replica
            .station(case.handling, case.item)
            .and_then(|s| s.effective_action)
            .is_some_and(crate::records::station::StationAction::offers);
        if !handled {
            return Err(EntryError::NotHandledThere {
                item: code.to_string(),
                hall: case.handling.to_string(),
            });
        }
        None
    } else {
        Some(format!(
            "K11: hall {}'s stationings are not held here; it checks that it handles item {code} when the case arrives",
            case.handling
        ))
    };
    let doc = DocId::case(case.accepting, case.handling, no);
    if replica.holds(&doc) {
        return Err(EntryError::CaseExists {
            case: doc.to_string(),
        });
    }
    let recipients = party_recipients(replica, case.accepting, case.handling, Every::Party)?;
    let person = Applicant {
        id: id.clone(),
        name: case.applicant_name.trim().chars().take(200).collect(),
    };
    let content = serde_json::to_vec(&person).map_err(|e| EntryError::Seal {
        reason: e.to_string(),
    })?;
    let sealed = crate::encoding::postcard_bytes(&seal_to(
        &content,
        &personal_place(doc.as_str()),
        &recipients,
        secrets,
    )?);
    let writes = vec![
        ("item".to_string(), ScalarValue::Str(code.into())),
        ("case_no".into(), ScalarValue::Str(no.into())),
        (
            "applicant_ref".into(),
            ScalarValue::Str(applicant::reference(&secrets.content_key, &id).into()),
        ),
        (
            PERSONAL_KEY.into(),
            ScalarValue::Bytes(crate::replica::parts::part_id(&sealed).to_vec()),
        ),
        // K6: the case keeps the limits of the item version it was taken in under.
        (
            "promised_days".into(),
            ScalarValue::Int(item.fields.promised_days),
        ),
        (
            "statutory_days".into(),
            ScalarValue::Int(item.fields.statutory_days),
        ),
        // K11: checked again by every receiver, on this value.
        (
            "cross_region".into(),
            ScalarValue::Str(scope.as_str().into()),
        ),
    ];
    Ok(OpenedCase {
        doc,
        writes,
        parts: vec![sealed],
        unchecked,
    })
}

/// What [`party_recipients`] requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    /// Every party has at least one key (an opening: a party without one could never read its case).
    Party,
    /// At least one device of either party has a key (a note: a party revoked since reads no more).
    Device,
}

/// The sealing keys of both parties' devices, as the trust record stands (a revoked device is not
/// among them).
///
/// # Errors
/// [`EntryError::NoSealingKey`] naming the party (or, for [`Every::Device`], the accepting hall)
/// left without a key.
pub fn party_recipients(
    replica: &Replica,
    accepting: &HallId,
    handling: &HallId,
    every: Every,
) -> Result<Vec<crate::seal::SealKey>, EntryError> {
    let mut recipients = Vec::new();
    for hall in [accepting, handling] {
        let (keys, _) = replica.trust().seal_recipients(hall);
        if keys.is_empty() && every == Every::Party {
            return Err(EntryError::NoSealingKey {
                hall: hall.to_string(),
            });
        }
        recipients.extend(keys);
    }
    if recipients.is_empty() {
        return Err(EntryError::NoSealingKey {
            hall: accepting.to_string(),
        });
    }
    recipients.sort();
    recipients.dedup();
    Ok(recipients)
}

/// Seals `content` at `place` to `recipients` with the opening's or step's randomness.
fn seal_to(
    content: &[u8],
    place: &str,
    recipients: &[crate::seal::SealKey],
    secrets: &CaseSecrets,
) -> Result<crate::seal::Sealed, EntryError> {
    crate::seal::seal(
        content,
        place.as_bytes(),
        recipients,
        secrets.content_key,
        secrets.ephemeral,
    )
    .map_err(|e| EntryError::Seal {
        reason: e.to_string(),
    })
}

/// Seals `transition`'s note to the case's parties (in place: `sealed_note` names the sealed part,
/// which is returned to keep beside the record), for the transition `signer` writes on case
/// `case`. A transition without a note is left as it is (`None`).
///
/// # Errors
/// [`EntryError::NoSealingKey`] when no device of either party has a key, or a note too large.
pub fn seal_note(
    replica: &Replica,
    case: &DocId,
    signer: &DeviceId,
    transition: &mut crate::records::case::Transition,
    secrets: &CaseSecrets,
) -> Result<Option<Vec<u8>>, EntryError> {
    if transition.note.is_empty() {
        return Ok(None);
    }
    let crate::doc_id::DocKind::Case(accepting, handling, _) = case.kind() else {
        return Err(EntryError::Seal {
            reason: format!("{case} is not a case"),
        });
    };
    // A note is sealed to whichever party devices stand now: a hall whose devices were all revoked
    // since the opening no longer reads what is written after (the writer's own hall stands).
    let recipients = party_recipients(replica, accepting, handling, Every::Device)?;
    let place = crate::records::case::note_place(case.as_str(), &transition.key(signer));
    let sealed = crate::encoding::postcard_bytes(&seal_to(
        transition.note.as_bytes(),
        &place,
        &recipients,
        secrets,
    )?);
    transition.sealed_note = Some(hex::encode(crate::replica::parts::part_id(&sealed)));
    transition.note.clear();
    Ok(Some(sealed))
}

/// The erasure of case `case`'s personal parts that hall `by` (a party) writes at `now_ms` (D1):
/// the case must be archived. Carriers and the other party erase the parts on applying it.
///
/// # Errors
/// [`EntryError::Erasure`] for a case not held, not archived, already erased, or not `by`'s.
pub fn erase(
    replica: &Replica,
    case: &DocId,
    by: &HallId,
    now_ms: i64,
) -> Result<Vec<(String, ScalarValue)>, EntryError> {
    let refuse = |reason: String| EntryError::Erasure {
        case: case.to_string(),
        reason,
    };
    let view = replica
        .case(case, None)
        .ok_or_else(|| refuse("the case is not held here".into()))?;
    if view.accepting != by.as_str() && view.handling != by.as_str() {
        return Err(refuse(format!(
            "hall {by} is not a party (accepting {}, handling {})",
            view.accepting, view.handling
        )));
    }
    if view.state != crate::records::case::CaseState::Archived {
        return Err(refuse(format!(
            "the case is {}, not archived: personal data is kept until the case is archived (YC 6.4)",
            view.state
        )));
    }
    if view.erased_at.is_some() {
        return Err(refuse("its personal data is already erased".into()));
    }
    Ok(vec![(
        crate::records::case::ERASED_KEY.to_string(),
        ScalarValue::Int(now_ms.max(0)),
    )])
}

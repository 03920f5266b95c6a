//! Applicants' resident identity numbers (GB 11643-1999): validated, normalised, and reduced to a
//! keyed hash for lookups, never stored in a form that enumeration reverses.
//!
//! An 18-character number is 6 digits of region, 8 of birth date, 3 of sequence and a check
//! character (ISO 7064 MOD 11-2, `X` for 10). There are few enough that an unsalted hash of one is
//! reversed in minutes, so the stored reference is an HMAC-SHA-256 under a key the caller holds (a
//! node's own lookup key; the parties' shared key with the privacy work of issue #14).

use sha2::{Digest, Sha256};

use crate::entry::EntryError;

/// Weights of the 17 digits in the check sum.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The check character for each remainder mod 11.
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The number in its one stored form (trimmed, upper-case `X`), after checking its shape, birth
/// date and check character.
///
/// # Errors
/// [`EntryError::BadApplicantId`] saying what is wrong.
pub fn normalise(text: &str) -> Result<String, EntryError> {
    let bad = |reason: &str| EntryError::BadApplicantId {
        reason: reason.into(),
    };
    let id: String = text.trim().to_uppercase();
    let chars: Vec<char> = id.chars().collect();
    if chars.len() != 18 {
        return Err(bad(&format!("has {} characters, not 18", chars.len())));
    }
    if !chars[..17].iter().all(char::is_ascii_digit) {
        return Err(bad("has a non-digit among its first 17 characters"));
    }
    let digit = |i: usize| chars[i].to_digit(10).unwrap_or(0);
    let month = digit(10) * 10 + digit(11);
    let day = digit(12) * 10 + digit(13);
    let year = (6..10).fold(0, |y, i| y * 10 + digit(i));
    if !(1900..=2100).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(bad("has no valid birth date in characters 7–14"));
    }
    let sum: u32 = (0..17).map(|i| digit(i) * WEIGHTS[i]).sum();
    // The index is below 11.
    if chars[17] != CHECK[(sum % 11) as usize] {
        return Err(bad("has a wrong check character: a digit was mistyped"));
    }
    Ok(id)
}

/// The reference stored for lookups: the first 16 bytes of HMAC-SHA-256 of the normalised number
/// under `key`, in hex. Without the key it reveals nothing, however few numbers there are.
pub fn reference(key: &[u8; 32], normalised: &str) -> String {
    hex::encode(&hmac_sha256(key, &[b"hallsync/applicant/v1\0", normalised.as_bytes()])[..16])
}

/// HMAC-SHA-256 (RFC 2104) of the concatenated `parts` under a 32-byte key (shorter than the
/// block, so used as is, zero-padded).
fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let mut inner = Sha256::new();
    inner.update(pad(0x36));
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(pad(0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2_shape() {
        // RFC 4231 case 2 uses the key "Jefe" (4 bytes); zero-padding it to 32 bytes is the same
        // key under HMAC, so the published digest must come out.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let mac = hmac_sha256(&key, &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn numbers_are_checked_and_x_is_one_character() {
        // A valid number from GB 11643's example: 11010519491231002X.
        assert_eq!(
            normalise(" 11010519491231002x ").unwrap(),
            "11010519491231002X"
        );
        assert!(normalise("11010519491231002X").is_ok());
        for bad in [
            "123",
            "110105194912310021",
            "11010519491331002X",
            "1101051949123100AX",
        ] {
            assert!(normalise(bad).is_err(), "{bad}");
        }
        let key = [7; 32];
        assert_eq!(
            reference(&key, &normalise("11010519491231002x").unwrap()),
            reference(&key, &normalise("11010519491231002X").unwrap())
        );
        assert_ne!(
            reference(&key, "11010519491231002X"),
            reference(&[8; 32], "11010519491231002X")
        );
    }
}

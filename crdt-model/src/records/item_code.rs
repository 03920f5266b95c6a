//! Item codes (C1, C2): the 12-character basic code, the 31-character implementation code and the
//! 33-character handling-item code of the national platform.
//!
//! ```text
//! basic (12)          = region (2 digits, or "00") ‖ item type (2 digits) ‖ main item (5 digits) ‖ sub item (3: "000", "00Y", 001–999)
//! implementation (31) = USCC (18, GB 32100 check character) ‖ exercise level (1–7) ‖ basic (12)
//! handling item (33)  = implementation (31) ‖ 2 digits
//! ```

/// The GB 32100 character set (no I, O, S, V, Z), in value order.
const USCC_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The two-digit province codes of GB/T 2260 (and Hong Kong, Macao, Taiwan), which the region part
/// of a basic item code and characters 3–4 of a credit code's division part carry; `00` is national.
pub const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

/// Why `code` is not a unified social credit code (GB 32100), or `None`: 18 characters of its set
/// (no I, O, S, V, Z), characters 3–8 the issuing body's six-digit division code (GB/T 2260), and
/// a valid check character. Lower-case letters are named as such, not as a bad check character.
pub fn uscc_problem(code: &str) -> Option<String> {
    if !code.is_ascii() || code.chars().count() != 18 {
        return Some(format!(
            "has {} characters; a unified social credit code has 18",
            code.chars().count()
        ));
    }
    if code.chars().any(|c| c.is_ascii_lowercase()) {
        return Some("has lower-case letters; write the code in capitals".into());
    }
    if let Some(c) = code.chars().find(|c| !USCC_CHARS.contains(*c)) {
        return Some(format!(
            "has `{c}`, which GB 32100 does not use (no I, O, S, V or Z)"
        ));
    }
    let division = &code[2..8];
    if !division.chars().all(|c| c.is_ascii_digit()) {
        return Some(format!(
            "characters 3–8 `{division}` must be the six-digit division code of the issuing body"
        ));
    }
    if !PROVINCES.contains(&&division[..2]) {
        return Some(format!(
            "characters 3–8 `{division}` do not start with a province code of GB/T 2260"
        ));
    }
    let values: Vec<u32> = code
        .chars()
        .filter_map(|c| USCC_CHARS.find(c).map(|i| i as u32))
        .collect();
    let sum: u32 = values[..17]
        .iter()
        .zip(USCC_WEIGHTS)
        .map(|(v, w)| v * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    (values[17] != check).then(|| "has a wrong check character: a character was mistyped".into())
}

/// True when `code` is a unified social credit code (see [`uscc_problem`]).
pub fn uscc_ok(code: &str) -> bool {
    uscc_problem(code).is_none()
}

/// Why a code breaks C1 or C2, or `None` when it is well formed. `type_code` is the two-digit
/// GB39046 code of the item's type, which the basic code must carry.
pub fn code_problem(code: &str, type_code: &str) -> Option<String> {
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let basic = |b: &str| -> Option<String> {
        let (region, kind, main, sub) = (&b[0..2], &b[2..4], &b[4..9], &b[9..12]);
        if region != "00" && !PROVINCES.contains(&region) {
            return Some(format!(
                "the region part `{region}` must be a province code of GB/T 2260, or 00 for national items (C1)"
            ));
        }
        if kind != type_code {
            return Some(format!(
                "the item-type part `{kind}` does not match the item's type, whose code is {type_code} (C1, GB39046 A.1)"
            ));
        }
        if !digits(main) {
            return Some(format!(
                "the main-item part `{main}` must be five digits (C1)"
            ));
        }
        if sub != "00Y" && !digits(sub) {
            return Some(format!(
                "the sub-item part `{sub}` must be 000, 00Y or 001–999 (C1)"
            ));
        }
        None
    };
    if !code.is_ascii() {
        return Some("an item code has only ASCII letters and digits (C1, C2)".into());
    }
    match code.len() {
        12 => basic(code),
        31 | 33 => {
            if let Some(problem) = uscc_problem(&code[..18]) {
                return Some(format!(
                    "the first 18 characters `{}` are not a unified social credit code: it {problem} (GB 32100; C2)",
                    &code[..18]
                ));
            }
            let level = &code[18..19];
            if !matches!(level, "1" | "2" | "3" | "4" | "5" | "6" | "7") {
                return Some(format!("the exercise level `{level}` must be 1–7 (C2, GB39046 A.2)"));
            }
            if code.len() == 33 && !digits(&code[31..33]) {
                return Some("a handling-item code ends in two digits (C2)".into());
            }
            basic(&code[19..31])
        }
        n => Some(format!(
            "an item code has 12 (basic), 31 (implementation) or 33 (handling item) characters, not {n} (C1, C2); import it as a legacy code to keep it"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A USCC whose check character is computed here, so the test does not depend on a real body.
    fn uscc(body17: &str) -> String {
        let sum: u32 = body17
            .chars()
            .map(|c| USCC_CHARS.find(c).unwrap() as u32)
            .zip(USCC_WEIGHTS)
            .map(|(v, w)| v * w)
            .sum();
        let check = ((31 - sum % 31) % 31) as usize;
        format!("{body17}{}", &USCC_CHARS[check..=check])
    }

    #[test]
    fn c1_basic_codes() {
        assert_eq!(code_problem("440100001000", "01"), None);
        assert_eq!(code_problem("000100002001", "01"), None);
        assert_eq!(code_problem("44010000100Y", "01"), None);
        assert!(code_problem("440700001000", "01").unwrap().contains("C1"));
        assert!(code_problem("4401000010AB", "01").is_some());
        assert!(code_problem("ab0100001000", "01").is_some());
    }

    #[test]
    fn c2_implementation_and_handling_codes() {
        let body = uscc("11440300MB2C0012");
        let body = uscc(&format!("{}1", &body[..16]));
        assert!(uscc_ok(&body));
        let implementation = format!("{body}3440100001000");
        assert_eq!(code_problem(&implementation, "01"), None);
        assert_eq!(code_problem(&format!("{implementation}01"), "01"), None);
        let mut bad = body.clone().into_bytes();
        bad[17] = if bad[17] == b'0' { b'1' } else { b'0' };
        let bad = String::from_utf8(bad).unwrap();
        assert!(code_problem(&format!("{bad}3440100001000"), "01")
            .unwrap()
            .contains("GB 32100"));
        assert!(code_problem(&format!("{body}8440100001000"), "01")
            .unwrap()
            .contains("exercise level"));
        assert!(code_problem("11440300MB2C001", "01")
            .unwrap()
            .contains("legacy"));
    }

    #[test]
    fn c1_c2_division_codes_provinces_and_lower_case_are_checked() {
        // Issue #11: letters in characters 3–8 were accepted (`911H0105GDC2Y2GHC6`), lower case was
        // called a bad check character, and any two digits passed as a region.
        let letters = uscc("911H0105GDC2Y2GHC");
        assert!(
            uscc_problem(&letters).unwrap().contains("division code"),
            "{letters}"
        );
        let good = uscc("91440300MA5FXXXX0");
        assert_eq!(uscc_problem(&good), None);
        assert!(uscc_problem(&good.to_lowercase())
            .unwrap()
            .contains("lower-case"));
        let no_province = uscc("91990300MA5FXXXX0");
        assert!(uscc_problem(&no_province).unwrap().contains("province"));
        assert!(code_problem("990100001000", "01")
            .unwrap()
            .contains("GB/T 2260"));
        assert_eq!(code_problem("000100001000", "01"), None);
    }

    #[test]
    fn uscc_charset_excludes_ambiguous_letters() {
        assert!(!uscc_ok("91440300MA5IOSVZ00"));
        assert!(!uscc_ok("short"));
    }
}

//! Phone numbers as a type that cannot leak: normalisation to E.164 and a redacting `Debug`.
//!
//! Callers say their number in every shape ("098765 43210", "+91-98765-43210", "0091…"). Hashing
//! and encryption only make sense on one canonical form, so everything goes through
//! [`PhoneNumber::parse`] first. The type has no `Display` and no `Serialize`: the only way to see
//! the digits is [`PhoneNumber::expose_e164`], which exists for the WhatsApp request body and for
//! hashing/encryption inside this crate.

use std::fmt;

/// A phone number normalised to E.164 (`+919876543210`).
///
/// **Invariant:** the digits never appear in `Debug` output, errors or logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

/// Why a phone number was rejected. Deliberately never echoes the input digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// The input was empty after removing separators.
    #[error("phone number is empty")]
    Empty,
    /// Something other than digits, spaces, `-`, `.`, `(`, `)` or a leading `+` appeared.
    #[error(
        "phone number contains a character that is not a digit or separator (position {position})"
    )]
    BadCharacter {
        /// 0-based character position, so a UI can point at it without us logging the input.
        position: usize,
    },
    /// An Indian number whose national part is not 10 digits or starts with 0.
    #[error(
        "Indian phone number has {digits} national digits; expected 10 (mobile, or STD code + landline) not starting with 0"
    )]
    BadIndianLength {
        /// How many national digits were found.
        digits: usize,
    },
    /// A non-Indian international number outside E.164's 8–15 digit range.
    #[error("international phone number has {digits} digits; E.164 allows 8 to 15")]
    BadInternationalLength {
        /// How many digits were found including the country code.
        digits: usize,
    },
}

impl PhoneNumber {
    /// Normalises an Indian (or explicit `+CC` international) number to E.164.
    ///
    /// Accepted: `9876543210`, `09876543210`, `919876543210`, `+91 98765 43210`,
    /// `+91-98765-43210`, `0091 98765 43210`, landlines with STD code (`0135 271 0000`,
    /// `+91 135 271 0000`). Other countries need an explicit `+` or `00` prefix.
    pub fn parse(input: &str) -> Result<PhoneNumber, PhoneError> {
        let mut digits = String::with_capacity(16);
        let mut plus = false;
        for (position, c) in input.trim().chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
                '+' if digits.is_empty() && !plus => plus = true,
                _ => return Err(PhoneError::BadCharacter { position }),
            }
        }
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        // International form: "+CC…" or "00CC…".
        let international = if plus {
            Some(digits.as_str())
        } else {
            digits.strip_prefix("00")
        };
        if let Some(intl) = international {
            return match intl.strip_prefix("91") {
                Some(national) => Self::indian(national),
                None => {
                    if (8..=15).contains(&intl.len()) && !intl.starts_with('0') {
                        Ok(PhoneNumber(format!("+{intl}")))
                    } else {
                        Err(PhoneError::BadInternationalLength { digits: intl.len() })
                    }
                }
            };
        }
        // National forms: trunk prefix 0, bare 10 digits, or 91 + 10 digits without '+'.
        if let Some(national) = digits.strip_prefix('0') {
            return Self::indian(national);
        }
        if digits.len() == 12
            && let Some(national) = digits.strip_prefix("91")
        {
            return Self::indian(national);
        }
        Self::indian(&digits)
    }

    fn indian(national: &str) -> Result<PhoneNumber, PhoneError> {
        if national.len() != 10 || national.starts_with('0') {
            return Err(PhoneError::BadIndianLength {
                digits: national.len(),
            });
        }
        Ok(PhoneNumber(format!("+91{national}")))
    }

    /// The E.164 string. Named `expose_…` so every use stands out in review: only the WhatsApp
    /// request body and the crypto in this crate should call it.
    pub fn expose_e164(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneNumber(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indian_mobile_shapes_normalise_to_one_form() {
        for input in [
            "098765 43210",
            "9876543210",
            "+91 98765 43210",
            "+91-98765-43210",
            "0091 98765 43210",
            "00919876543210",
            "919876543210",
            "+91 (98765) 43210",
            " +919876543210 ",
        ] {
            let phone = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(phone.expose_e164(), "+919876543210", "input {input:?}");
        }
    }

    #[test]
    fn landlines_with_std_code() {
        for input in [
            "+91 135 271 0000",
            "0135-2710000",
            "01352710000",
            "1352710000",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).unwrap().expose_e164(),
                "+911352710000",
                "input {input:?}"
            );
        }
    }

    #[test]
    fn international_needs_plus_or_00() {
        assert_eq!(
            PhoneNumber::parse("+44 20 7946 0958")
                .unwrap()
                .expose_e164(),
            "+442079460958"
        );
        assert_eq!(
            PhoneNumber::parse("0044 20 7946 0958")
                .unwrap()
                .expose_e164(),
            "+442079460958"
        );
    }

    #[test]
    fn junk_is_rejected_without_echoing_digits() {
        let cases = [
            ("", PhoneError::Empty),
            ("  - ", PhoneError::Empty),
            ("98765abc10", PhoneError::BadCharacter { position: 5 }),
            ("12345", PhoneError::BadIndianLength { digits: 5 }),
            ("+91 98765 4321", PhoneError::BadIndianLength { digits: 9 }),
            ("+91 0876543210", PhoneError::BadIndianLength { digits: 10 }),
            ("98765432101234", PhoneError::BadIndianLength { digits: 14 }),
            ("+1234", PhoneError::BadInternationalLength { digits: 4 }),
            ("9+876543210", PhoneError::BadCharacter { position: 1 }),
        ];
        for (input, expected) in cases {
            let err = PhoneNumber::parse(input).unwrap_err();
            assert_eq!(err, expected, "input {input:?}");
            assert!(!err.to_string().contains("98765"), "{err}");
        }
    }

    #[test]
    fn debug_redacts() {
        let phone = PhoneNumber::parse("9876543210").unwrap();
        let shown = format!("{phone:?}");
        assert_eq!(shown, "PhoneNumber(<redacted>)");
        assert!(!shown.contains("3210"));
    }
}

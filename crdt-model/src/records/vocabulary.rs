//! Closed vocabularies of the records: each value has one code (what records, JSON and the CLI
//! carry) and one Chinese label (what people read). One macro makes them all, so that parsing,
//! printing and the list in error messages cannot drift apart between kinds.

/// Declares a closed vocabulary: an enum whose variants carry a code and a Chinese label, with
/// `NOUN` (what a value is called), `ALL`, `as_str`, `zh`, `from_code` (records), `parse` (code or label, as people type them),
/// `codes` (for messages), `Display` as the code, and serde as the code.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($noun:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = ($code:literal, $zh:literal), )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $code)] $variant, )+
        }

        impl $name {
            /// What one value is called, in messages.
            pub const NOUN: &'static str = $noun;

            /// Every value, in the order the standard lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code in records, JSON and the CLI.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }

            /// The Chinese label.
            pub fn zh(self) -> &'static str {
                match self { $($name::$variant => $zh,)+ }
            }

            /// The value whose code is `code`: what a record holds.
            pub fn from_code(code: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == code)
            }

            /// The value named by its code or its Chinese label, as a person types it.
            pub fn parse(text: &str) -> Option<$name> {
                let text = text.trim();
                Self::ALL.iter().copied().find(|v| v.as_str() == text || v.zh() == text)
            }

            /// Every code with its label, for messages: `a (甲), b (乙)`.
            pub fn codes() -> String {
                Self::ALL
                    .iter()
                    .map(|v| format!("{} ({})", v.as_str(), v.zh()))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $name::parse(text).ok_or_else(|| {
                    format!(
                        "`{}` is not a {}: use one of {}",
                        text.chars().take(60).collect::<String>(),
                        $name::NOUN,
                        $name::codes()
                    )
                })
            }
        }
    };
}

pub(crate) use vocabulary;

//! Fuzzy menu item matching: "momo", "मोमोज़", "chicken wale momos", "thukpa", "chiken momo".
//!
//! Function words, numbers, dates and other known vocabulary are ignored. Every other word is
//! reduced to a comparable key: Devanagari is transliterated to Latin, then
//! [`skeleton`] removes spelling noise (vowel length, aspiration `h`, doubled letters, w/v,
//! z/j), and a plural `s` (momos) or `z` (मोमोज़) is dropped. Two keys match with their
//! Jaro-Winkler similarity when it is at least 0.88 (typos), or exactly.
//!
//! Score of an item = best over its names and aliases of the F1 of two coverages:
//! *recall* = matched share of the phrase's words, said within a window of the phrase's length
//! plus one word ("chicken wale momos"), *precision* = share of the caller's
//! menu-related words (words that occur in any item's names or aliases) that the phrase
//! explains. "chicken wale momos" scores 1.0 for "chicken momo", 0.8 for "chicken fried momo"
//! and 0.5 for "veg momo"; "momo" alone scores every momo equally. Items scoring at least 0.5
//! are returned, best first, ties in menu order.

use serde::{Deserialize, Serialize};

use crate::normalize::{Token, skeleton, tokenize};

/// One orderable item with the ways callers name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuEntry {
    /// Stable id from the business YAML (`chicken_steamed_momo`).
    pub id: String,
    /// Official names, any language ("Chicken Steamed Momo", "चिकन मोमो").
    #[serde(default)]
    pub names: Vec<String>,
    /// Other ways callers say it ("chicken momos", "nimbu soda").
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// Minimum score for an item to be returned.
const THRESHOLD: f32 = 0.5;
/// Minimum Jaro-Winkler similarity for two different keys to match.
const MIN_SIMILARITY: f64 = 0.88;

/// Items mentioned in `text`, best first, with scores in 0.0–1.0.
///
/// Builds a [`MenuIndex`] on every call; callers matching many utterances against the same
/// menu should build the index once.
pub fn match_menu_item(text: &str, items: &[MenuEntry]) -> Vec<(String, f32)> {
    MenuIndex::new(items).match_tokens(&tokenize(text))
}

/// A menu with every name and alias already reduced to comparable keys.
///
/// Words are interned into one vocabulary so that each caller word is compared with each
/// distinct menu word once per utterance, however many phrases share it.
#[derive(Debug, Clone, Default)]
pub struct MenuIndex {
    ids: Vec<String>,
    /// Distinct keys of all menu words.
    vocab: Vec<String>,
    /// Length in chars and first char of each vocabulary key (cheap pre-checks).
    meta: Vec<(usize, Option<char>)>,
    /// Per item, per name/alias, indexes into `vocab`.
    phrases: Vec<Vec<Vec<usize>>>,
}

impl MenuIndex {
    /// Precomputes the keys of every item's names and aliases.
    pub fn new(items: &[MenuEntry]) -> Self {
        let mut vocab: Vec<String> = Vec::new();
        let mut intern = |k: String| match vocab.iter().position(|v| *v == k) {
            Some(i) => i,
            None => {
                vocab.push(k);
                vocab.len() - 1
            }
        };
        let phrases = items
            .iter()
            .map(|it| {
                it.names
                    .iter()
                    .chain(&it.aliases)
                    .map(|p| {
                        tokenize(p)
                            .iter()
                            .filter(|t| !crate::language::is_marker_word(&t.text))
                            .map(|t| key(&t.text))
                            .filter(|k| !k.is_empty())
                            .map(&mut intern)
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let meta = vocab.iter().map(|w| meta(w)).collect();
        MenuIndex {
            ids: items.iter().map(|i| i.id.clone()).collect(),
            vocab,
            meta,
            phrases,
        }
    }

    /// Items mentioned in `text`, best first (see [`match_menu_item`]).
    pub fn match_text(&self, text: &str) -> Vec<(String, f32)> {
        self.match_tokens(&tokenize(text))
    }

    pub(crate) fn match_tokens(&self, toks: &[Token]) -> Vec<(String, f32)> {
        let v = self.vocab.len();
        // sims[u * v + w]: similarity of caller word u and menu word w; only rows of words
        // that match some menu word (the caller's menu words) are kept.
        let mut sims: Vec<f64> = Vec::new();
        // Token position of each kept row, for the nearness of a phrase's words.
        let mut pos: Vec<usize> = Vec::new();
        for (ti, t) in toks.iter().enumerate() {
            // Function words ("the", "table", "for") and vocabulary with another meaning
            // (numbers, dates, times, "log") are never dishes, however close their spelling
            // ("the" ≈ "टी", "table" ≈ "thali", "Sunday" ≈ "soda").
            if !is_food_word(t) {
                continue;
            }
            let k = key(&t.text);
            if k.is_empty() {
                continue;
            }
            let km = meta(&k);
            let row: Vec<f64> = self
                .vocab
                .iter()
                .zip(&self.meta)
                .map(|(w, wm)| similarity(w, *wm, &k, km))
                .collect();
            if row.iter().any(|s| *s > 0.0) {
                sims.extend(row);
                pos.push(ti);
            }
        }
        let n = sims.len().checked_div(v).unwrap_or(0);
        if n == 0 {
            return Vec::new();
        }
        let mut out: Vec<(usize, f32)> = Vec::new();
        for (idx, item_phrases) in self.phrases.iter().enumerate() {
            let mut best = 0.0f32;
            for phrase in item_phrases.iter().filter(|p| !p.is_empty()) {
                // A phrase's words must be said close together (within its length plus one
                // word, e.g. "chicken wale momos"): in "veg thukpa aur chicken momo" the words
                // of "chicken thukpa" are too far apart to count together.
                let matched: f64 = (0..n)
                    .map(|start| {
                        let window = |u: &usize| {
                            pos[*u] >= pos[start] && pos[*u] <= pos[start] + phrase.len()
                        };
                        phrase
                            .iter()
                            .map(|&w| {
                                (0..n)
                                    .filter(window)
                                    .map(|u| sims[u * v + w])
                                    .fold(0.0, f64::max)
                            })
                            .sum::<f64>()
                    })
                    .fold(0.0, f64::max);
                let recall = matched / phrase.len() as f64;
                let explained = (0..n)
                    .filter(|u| phrase.iter().any(|&w| sims[u * v + w] > 0.0))
                    .count();
                let precision = explained as f64 / n as f64;
                if recall > 0.0 && precision > 0.0 {
                    best = best.max((2.0 * recall * precision / (recall + precision)) as f32);
                }
            }
            if best >= THRESHOLD {
                out.push((idx, best));
            }
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.into_iter()
            .map(|(i, s)| (self.ids[i].clone(), (s * 1000.0).round() / 1000.0))
            .collect()
    }
}

/// Kinds of dish, each with the words that name it in Hindi, Hinglish and English. Used to
/// suggest something similar when a caller asks for a dish the menu does not have: "biryani" and
/// the menu's "dal bhat thali" are both `rice`, "cold coffee" and "masala chai" both `drink`.
#[rustfmt::skip]
const DISH_KINDS: &[(&str, &[&str])] = &[
    ("drink", &["drink", "drinks", "juice", "coffee", "lassi", "shake", "milkshake", "coke", "pepsi",
                "soda", "tea", "chai", "sharbat", "nimbu", "lemonade", "mocktail", "smoothie", "thanda",
                "ड्रिंक", "ड्रिंक्स", "जूस", "कॉफी", "लस्सी", "चाय", "सोडा", "शरबत"]),
    ("sweet", &["dessert", "desserts", "sweet", "sweets", "mithai", "icecream", "kulfi", "halwa",
                "rasgulla", "rasmalai", "jamun", "kheer", "pastry", "brownie", "pudding", "मिठाई",
                "आइसक्रीम", "कुल्फी", "हलवा", "खीर", "रसगुल्ला", "जामुन"]),
    ("noodle", &["noodle", "noodles", "chowmein", "chowmin", "maggi", "ramen", "pasta", "spaghetti",
                 "soup", "thukpa", "thenthuk", "hakka", "नूडल्स", "सूप", "चाउमीन", "मैगी", "थुकपा"]),
    ("dumpling", &["momo", "momos", "dimsum", "dumpling", "dumplings", "wonton", "मोमो", "मोमोज"]),
    ("rice", &["rice", "chawal", "biryani", "biriyani", "pulao", "bhat", "bhaat", "khichdi", "thali",
               "चावल", "बिरयानी", "पुलाव", "भात", "थाली", "खिचड़ी", "खिचडी"]),
    ("bread", &["roti", "naan", "paratha", "bread", "kulcha", "chapati", "puri", "रोटी", "नान", "पराठा"]),
    ("chicken", &["chicken", "murgh", "murga", "tandoori", "चिकन", "मुर्गा"]),
    ("paneer", &["paneer", "cottage", "पनीर"]),
    ("mutton", &["mutton", "lamb", "goat", "gosht", "मटन"]),
    ("fish", &["fish", "prawn", "prawns", "machli", "seafood", "मछली"]),
];

/// The kind of dish a word names (`"biryani"` → `rice`, `"कॉफी"` → `drink`), if it is one of
/// the kinds this crate knows; see [`DISH_KINDS`]. A plural `s` is ignored.
pub fn dish_kind(word: &str) -> Option<&'static str> {
    let w = crate::normalize::normalize(word);
    let w = w.trim();
    let singular = w.strip_suffix('s').unwrap_or(w);
    DISH_KINDS
        .iter()
        .find(|(_, words)| words.contains(&w) || words.contains(&singular))
        .map(|(kind, _)| *kind)
}

fn meta(w: &str) -> (usize, Option<char>) {
    (w.chars().count(), w.chars().next())
}

fn similarity(
    a: &str,
    (la, fa): (usize, Option<char>),
    b: &str,
    (lb, fb): (usize, Option<char>),
) -> f64 {
    if a == b {
        return 1.0;
    }
    // Typos keep the first letter and roughly the length; skip the costly comparison otherwise.
    if la < 3 || lb < 3 || la.abs_diff(lb) > 3 || fa != fb {
        return 0.0;
    }
    let s = strsim::jaro_winkler(a, b);
    if s >= MIN_SIMILARITY { s } else { 0.0 }
}

/// Comparable key of one word (see the module docs).
/// True when a caller's word may name food (see [`MenuIndex::match_tokens`]).
fn is_food_word(t: &Token) -> bool {
    !crate::language::is_marker_word(&t.text)
        && t.number().is_none()
        && crate::lexicon::canonical(&t.text).is_none()
}

pub(crate) fn key(word: &str) -> String {
    let latin = if word.chars().any(crate::normalize::is_devanagari_letter) {
        transliterate(word)
    } else {
        word.to_string()
    };
    let mut k = skeleton(&latin);
    if k.chars().count() > 3 && (k.ends_with('s') || k.ends_with('j')) {
        k.pop();
    }
    k
}

fn consonant(c: char) -> Option<&'static str> {
    Some(match c {
        'क' => "k",
        'ख' => "kh",
        'ग' => "g",
        'घ' => "gh",
        'ङ' => "n",
        'च' => "ch",
        'छ' => "chh",
        'ज' => "j",
        'झ' => "jh",
        'ञ' => "n",
        'ट' => "t",
        'ठ' => "th",
        'ड' => "d",
        'ढ' => "dh",
        'ण' => "n",
        'त' => "t",
        'थ' => "th",
        'द' => "d",
        'ध' => "dh",
        'न' => "n",
        'प' => "p",
        'फ' => "f",
        'ब' => "b",
        'भ' => "bh",
        'म' => "m",
        'य' => "y",
        'र' => "r",
        'ल' => "l",
        'व' => "v",
        'श' => "sh",
        'ष' => "sh",
        'स' => "s",
        'ह' => "h",
        'ळ' => "l",
        _ => return None,
    })
}

fn vowel_sign(c: char) -> Option<&'static str> {
    Some(match c {
        'ा' => "aa",
        'ि' => "i",
        'ी' => "ee",
        'ु' => "u",
        'ू' => "oo",
        'ृ' => "ri",
        'े' => "e",
        'ै' => "ai",
        'ो' => "o",
        'ौ' => "au",
        'ॅ' => "e",
        'ॉ' => "o",
        _ => return None,
    })
}

fn independent_vowel(c: char) -> Option<&'static str> {
    Some(match c {
        'अ' => "a",
        'आ' => "aa",
        'इ' => "i",
        'ई' => "ee",
        'उ' => "u",
        'ऊ' => "oo",
        'ऋ' => "ri",
        'ए' => "e",
        'ऐ' => "ai",
        'ओ' => "o",
        'औ' => "au",
        'ऑ' => "o",
        _ => return None,
    })
}

/// Rough Devanagari → Latin transliteration with schwa deletion: the inherent `a` is dropped at
/// the end of a word and before a consonant that carries a vowel sign (except in the first
/// syllable), so "थुकपा" → "thukpaa", "चिकन" → "chikan", "पनीर" → "paneer".
pub(crate) fn transliterate(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len() * 2);
    for (i, &c) in chars.iter().enumerate() {
        if let Some(cons) = consonant(c) {
            out.push_str(cons);
            let next = chars.get(i + 1).copied();
            let has_sign = next.is_some_and(|n| vowel_sign(n).is_some() || n == '्');
            if has_sign {
                continue;
            }
            let at_end = next.is_none()
                || next.is_some_and(|n| n == 'ं' || n == 'ः') && chars.get(i + 2).is_none();
            let next_cons_with_sign = next.is_some_and(|n| consonant(n).is_some())
                && chars.get(i + 2).is_some_and(|n2| vowel_sign(*n2).is_some());
            let first_syllable = i == 0;
            if !first_syllable && (at_end || next_cons_with_sign) {
                continue;
            }
            out.push('a');
        } else if let Some(v) = vowel_sign(c).or_else(|| independent_vowel(c)) {
            out.push_str(v);
        } else if c == 'ं' {
            out.push('n');
        } else if c == 'ः' {
            out.push('h');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu() -> Vec<MenuEntry> {
        let e = |id: &str, names: &[&str], aliases: &[&str]| MenuEntry {
            id: id.into(),
            names: names.iter().map(|s| s.to_string()).collect(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
        };
        vec![
            e("veg_steamed_momo", &["Veg Steamed Momo"], &["veg momo"]),
            e(
                "chicken_steamed_momo",
                &["Chicken Steamed Momo"],
                &["chicken momo"],
            ),
            e("chicken_fried_momo", &["Chicken Fried Momo"], &[]),
            e("veg_thukpa", &["Veg Thukpa"], &[]),
        ]
    }

    #[test]
    fn transliteration() {
        assert_eq!(transliterate("थुकपा"), "thukpaa");
        assert_eq!(transliterate("चिकन"), "chikan");
        assert_eq!(transliterate("पनीर"), "paneer");
        assert_eq!(transliterate("मोमोज"), "momoj");
    }

    #[test]
    fn ranking() {
        let m = menu();
        assert_eq!(
            match_menu_item("chicken wale momos", &m)[0].0,
            "chicken_steamed_momo"
        );
        assert_eq!(
            match_menu_item("chiken momo", &m)[0].0,
            "chicken_steamed_momo"
        );
        assert_eq!(match_menu_item("थुकपा", &m)[0].0, "veg_thukpa");
        let momo = match_menu_item("मोमोज़", &m);
        assert_eq!(momo.len(), 3);
        assert!(match_menu_item("what time do you open", &m).is_empty());
    }
}

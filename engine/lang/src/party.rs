//! Party size: "4 log", "chaar logon ke liye", "hum paanch hain", "family of six", "table for
//! two", "do adults aur do bachche" (4), "main akela"/"just me" (1), "hum do", "५ लोग".
//!
//! Only numbers tied to people count, so "kal 8 baje 4 log" is 4, never 8. Order of evidence:
//! adults + children counts (summed); a number before a people word ("4 log", "5 people"; if
//! children are also counted separately without "including"/"jisme", they are added); a
//! number after "table for"/"for"/"hum"/"we are"/"party of"/"family of", before "ke liye" or
//! "of us"; solo phrases (1); "couple"/"me and my wife" (2); finally an utterance that is
//! nothing but a number (confidence 0.6: the dialog asked "how many?"). Counting words count:
//! "paanch jane", "hum teen jan", "ek darjan"/"a dozen" (12), "do couples" (4).

use crate::lexicon::month_number;
use crate::normalize::{Token, tokenize};
use crate::{Extraction, span_of};

/// The number of people the caller wants to book for.
pub fn extract_party_size(text: &str) -> Option<u32> {
    extract_party_size_detail(text).map(|e| e.value)
}

#[rustfmt::skip]
const FILLER: &[&str] = &[
    "ji", "haan", "sir", "madam", "bas", "sirf", "only", "just", "please", "total", "people",
    "hain", "around", "about", "lagbhag", "kareeb", "approx", "we", "are", "hum", "log", "toh",
    "to", "so", "umm", "um", "hmm", "nahi", "no", "actually", "ok", "okay", "theek", "matlab",
    "hi", "honge", "jan",
    // Words of a correction: "make that 5", "4 no wait 5", "5 kar do", "chaar ki jagah paanch".
    "make", "it", "that", "wait", "sorry", "kar", "karo", "kijiye", "dijiye", "instead", "of",
    "matlab", "balki", "mean", "i", "rather", "oops", "not", "ruko", "jagah", "bajaye", "ke",
];

/// Twelve: "ek darjan", "a dozen".
const DOZEN: &[&str] = &["darjan", "darjen", "dozen", "dozens", "दर्जन"];
/// "half a dozen", "aadha darjan".
const HALF: &[&str] = &["half", "aadha", "adha", "aadhe", "आधा"];
/// Pairs of people: "do couples" (4), "teen jode" (6).
const COUPLES: &[&str] = &[
    "couple",
    "couples",
    "कपल",
    "कपल्स",
    "jode",
    "joda",
    "jodi",
    "जोडे",
    "जोडा",
    "जोडी",
];

#[rustfmt::skip]
const RELATIONS: &[&str] = &[
    "wife", "husband", "biwi", "patni", "pati", "dost", "friend", "girlfriend", "boyfriend",
    "mother", "father", "mummy", "papa", "maa", "mom", "dad", "beta", "beti", "son", "daughter",
    "partner", "bhai", "behen", "sister", "brother", "पत्नी", "पति", "दोस्त", "मम्मी", "पापा",
    "बीवी", "भाई", "बहन", "colleague",
];

/// A number of people as said. Zero is kept ("0 log", "zero people"): it is a size the caller
/// said, which the booking flow refuses *with the allowed range*, where dropping it would only
/// re-ask the question as if it had not been heard.
fn people_number(t: &Token) -> Option<u32> {
    t.number().filter(|n| (0..=500).contains(n))
}

/// True when token `i` is a number used for something else (time, date).
fn is_other_number(toks: &[Token], i: usize) -> bool {
    let next = toks.get(i + 1).map_or("", |t| t.canon.as_str());
    let next_text = toks.get(i + 1).map_or("", |t| t.text.as_str());
    let prev = if i > 0 {
        toks[i - 1].canon.as_str()
    } else {
        ""
    };
    let t = &toks[i];
    t.text.contains([':', '.', '/'])
        || matches!(
            next,
            "baje" | "tarikh" | "minute" | "subah" | "shaam" | "raat" | "dopahar"
        )
        || matches!(
            next_text,
            "pm" | "am" | "oclock" | "din" | "days" | "hours" | "ghante" | "baje"
        )
        || month_number(next).is_some()
        || month_number(prev).is_some()
        || matches!(prev, "saadhe" | "sawa" | "paune" | "at")
}

/// Number tokens the caller took back ("4 log nahi, 5 log", "chaar nahi paanch", "4 no wait
/// 5"): `true` at their index. Numbers of times and dates are left out of the comparison.
fn taken_back(toks: &[Token]) -> Vec<bool> {
    let spans: Vec<(usize, usize)> = (0..toks.len())
        .filter(|&i| {
            people_number(&toks[i]).is_some()
                && !is_other_number(toks, i)
                && !crate::correction::is_verb_do(toks, i)
        })
        .map(|i| {
            let unit = toks
                .get(i + 1)
                .is_some_and(|t| matches!(t.canon.as_str(), "log" | "adult" | "bachche"));
            (i, if unit { i + 1 } else { i })
        })
        .collect();
    let keep = crate::correction::settle(toks, &spans);
    let mut gone = vec![false; toks.len()];
    for (&(i, _), k) in spans.iter().zip(keep) {
        gone[i] = !k;
    }
    gone
}

/// [`extract_party_size`] with span and confidence.
pub fn extract_party_size_detail(text: &str) -> Option<Extraction<u32>> {
    let toks = tokenize(text);
    party_in(&toks)
}

/// Same as the public function, on tokens already made from `text`.
pub(crate) fn party_in(toks: &[Token]) -> Option<Extraction<u32>> {
    let c = |i: usize| toks.get(i).map_or("", |t| t.canon.as_str());
    let w = |i: usize| toks.get(i).map_or("", |t| t.text.as_str());
    let gone = taken_back(toks);
    let num_at = |i: usize| {
        toks.get(i)
            .filter(|_| !is_other_number(toks, i) && !gone[i])
            .and_then(people_number)
    };

    // Companions: "mere saath 4 log (aur) hain", "me and 3 friends", "with me 2 more" → N + 1.
    for i in 0..toks.len() {
        let Some(n) = num_at(i) else { continue };
        let unit = matches!(c(i + 1), "log")
            || matches!(
                w(i + 1),
                "friends" | "dost" | "others" | "more" | "colleagues" | "aur" | "और" | "दोस्त"
            );
        let back = |k: usize| i.checked_sub(k).map_or("", |j| w(j));
        let cue = (1..=3).any(|k| {
            (matches!(back(k), "saath" | "साथ") && c(i.saturating_sub(k + 1)) == "mera" && i > k)
                || (matches!(back(k), "and" | "aur" | "plus" | "और")
                    && matches!(back(k + 1), "me" | "main" | "i" | "मैं" | "mai"))
                || (back(k) == "me" && back(k + 1) == "with")
        });
        if unit && cue {
            return Some(Extraction {
                value: n + 1,
                span: span_of(toks, i, i + 1),
                confidence: 0.9,
            });
        }
    }

    // Dozens: "ek darjan", "a dozen", "do darjan log" (24), "half a dozen", "आधा दर्जन" (6).
    for i in 0..toks.len() {
        if !DOZEN.contains(&w(i)) {
            continue;
        }
        let half = i > 0 && HALF.contains(&w(i - 1)) || i > 1 && HALF.contains(&w(i - 2));
        let count = if half {
            Some(6)
        } else {
            i.checked_sub(1)
                .and_then(num_at)
                .map(|n| n.saturating_mul(12))
                .or_else(|| matches!(w(i.wrapping_sub(1)), "a" | "one" | "").then_some(12))
        };
        if let Some(value) = count {
            return Some(Extraction {
                value,
                span: span_of(toks, i.saturating_sub(1), i),
                confidence: 0.95,
            });
        }
    }

    // Adults and children, and "N log"; "do couples" is four adults.
    let (mut adults, mut kids, mut total) = (0u32, 0u32, None::<(u32, usize)>);
    let (mut first, mut last) = (usize::MAX, 0usize);
    for i in 0..toks.len() {
        let Some(n) = num_at(i) else { continue };
        // "4 log", "4 logon", "४ लोग", "3 adults", "2 bachche": the unit word follows directly.
        let unit = if COUPLES.contains(&w(i + 1)) {
            "couple"
        } else {
            c(i + 1)
        };
        match unit {
            "adult" => adults = adults.saturating_add(n),
            "couple" => adults = adults.saturating_add(n.saturating_mul(2)),
            "bachche" => kids = kids.saturating_add(n),
            "log" => {
                if total.is_none() {
                    total = Some((n, i));
                }
            }
            _ => continue,
        }
        first = first.min(i);
        last = last.max(i + 1);
    }
    let including = toks.iter().any(|t| {
        matches!(
            t.text.as_str(),
            "including" | "jisme" | "jismein" | "jinme" | "jinmein" | "जिसमें" | "inclusive"
        )
    });
    if adults > 0 {
        return Some(Extraction {
            value: adults.saturating_add(kids),
            span: span_of(toks, first, last),
            confidence: 1.0,
        });
    }
    if let Some((n, i)) = total {
        let value = if kids > 0 && !including {
            n.saturating_add(kids)
        } else {
            n
        };
        return Some(Extraction {
            value,
            span: span_of(toks, first.min(i), last.max(i + 1)),
            confidence: 1.0,
        });
    }

    // Cue words before or after the number.
    for i in 0..toks.len() {
        let Some(n) = num_at(i) else { continue };
        // "do"/"one" are numbers here only at the end or before a people/filler word: "hum do",
        // "do hi log", "table for one" — not "could we do 7 instead of 8".
        let weak = toks[i].is_weak_number()
            && (!matches!(toks[i].text.as_str(), "do" | "one")
                || toks.get(i + 1).is_some_and(|n| {
                    !matches!(
                        n.canon.as_str(),
                        "log" | "hain" | "ke" | "liye" | "bachche" | "adult"
                    ) && !matches!(
                        n.text.as_str(),
                        "hi" | "aur" | "jan" | "please" | "only" | "ही" | "और"
                    )
                }));
        if weak {
            continue;
        }
        let p1 = w(i.wrapping_sub(1));
        let p2 = w(i.wrapping_sub(2));
        let next = c(i + 1);
        // "for 4" / "party of 8" (but not "instead of 8", "for 2 hours").
        let cue_before = (p1 == "for"
            || p1 == "of" && matches!(p2, "party" | "family" | "group" | "team" | "batch"))
            && !matches!(w(i + 1), "nights" | "night" | "hours" | "minutes" | "mins")
            || c(i.wrapping_sub(1)) == "hum"
            || (matches!(p1, "are" | "re") && matches!(c(i.wrapping_sub(2)), "hum"))
            || p1 == "were"
            || (p1 == "be" && matches!(p2, "will" | "well" | "shall" | "gonna" | "would"))
            || (p1 == "log" && c(i.wrapping_sub(2)) == "hum")
            || (p1 == "total");
        let cue_after = (next == "ke" && c(i + 2) == "liye")
            || (next == "of" && w(i + 2) == "us")
            || next == "hain" && c(i.wrapping_sub(1)) == "hum";
        // "for 2" must not be "for 2 o'clock"; is_other_number covers that.
        if cue_before || cue_after {
            // "table for one" is fine; "do" needs its cue too, which it has here.
            return Some(Extraction {
                value: n,
                span: span_of(toks, i, i),
                confidence: 0.95,
            });
        }
    }

    // Solo: "main akela", "just me", "sirf main", "only me", "मैं अकेला", "akele aa raha hoon".
    let has = |s: &str| toks.iter().any(|t| t.canon == s || t.text == s);
    let solo = has("akela")
        || ((has("sirf") || has("bas")) && (has("main") || has("me") || has("myself")))
        || toks.windows(2).any(|p| {
            matches!(p[0].text.as_str(), "just" | "only")
                && matches!(p[1].text.as_str(), "me" | "myself")
        })
        || toks.windows(2).any(|p| {
            p[0].text == "for" && matches!(p[1].text.as_str(), "me" | "myself") && toks.len() <= 3
        });
    if solo {
        return Some(Extraction {
            value: 1,
            span: span_of(toks, 0, toks.len() - 1),
            confidence: 0.9,
        });
    }
    // Couples: "couple", "me and my wife", "main aur meri wife".
    if has("couple") || has("dono") && has("hum") {
        return Some(Extraction {
            value: 2,
            span: span_of(toks, 0, toks.len() - 1),
            confidence: 0.85,
        });
    }
    for i in 0..toks.len() {
        if matches!(c(i), "main") || matches!(w(i), "me" | "i" | "myself") {
            let conj = matches!(w(i + 1), "and" | "aur" | "और");
            let rel = (i + 2..toks.len().min(i + 4)).any(|j| RELATIONS.contains(&w(j)));
            let more_people = toks.iter().any(|t| t.number().is_some());
            if conj && rel && !more_people {
                return Some(Extraction {
                    value: 2,
                    span: span_of(toks, i, (i + 3).min(toks.len() - 1)),
                    confidence: 0.85,
                });
            }
        }
    }
    // Bare number answer ("chaar", "5 hi", "bas do", "4 nahi 5", "make that 5").
    let numbers: Vec<usize> = (0..toks.len())
        .filter(|&i| {
            toks[i].number().is_some() && !gone[i] && !crate::correction::is_verb_do(toks, i)
        })
        .collect();
    if numbers.len() == 1 {
        let i = numbers[0];
        let rest_is_filler = toks.iter().enumerate().all(|(j, t)| {
            j == i
                || gone[j]
                || crate::correction::is_verb_do(toks, j)
                || FILLER.contains(&t.text.as_str())
                || FILLER.contains(&t.canon.as_str())
        });
        if rest_is_filler
            && !is_other_number(toks, i)
            && let Some(n) = people_number(&toks[i])
        {
            return Some(Extraction {
                value: n,
                span: span_of(toks, i, i),
                confidence: 0.6,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples() {
        assert_eq!(extract_party_size("4 log"), Some(4));
        assert_eq!(extract_party_size("chaar logon ke liye"), Some(4));
        assert_eq!(extract_party_size("hum paanch hain"), Some(5));
        assert_eq!(extract_party_size("family of six"), Some(6));
        assert_eq!(extract_party_size("table for two"), Some(2));
        assert_eq!(extract_party_size("do adults aur do bachche"), Some(4));
        assert_eq!(extract_party_size("main akela"), Some(1));
        assert_eq!(extract_party_size("just me"), Some(1));
        assert_eq!(extract_party_size("hum do"), Some(2));
        assert_eq!(extract_party_size("kal 8 baje 4 log"), Some(4));
        assert_eq!(extract_party_size("पांच लोगों के लिए"), Some(5));
        assert_eq!(extract_party_size("kal 8 baje"), None);
        assert_eq!(extract_party_size("table for 8 pm"), None);
    }
}

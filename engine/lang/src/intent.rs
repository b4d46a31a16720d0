//! Intent classification: the flow's example phrases plus built-in repair intents.
//!
//! Order of decisions (first hit wins):
//! 1. **human** — "human", "manager", "insaan", "kisi se baat", "real person" …
//! 2. **cancel** (repair: abandon what we are doing) — "rehne do", "never mind", "chhodo",
//!    "forget it", "cancel karo"; but a cancel phrase next to a *task word* ("cancel my
//!    reservation", "booking cancel karni hai", "अपॉइंटमेंट रद्द करना है") is left to the flows
//!    (cancel_reservation, cancel_appointment). Task words come from the business's own trigger
//!    examples: the words that share an example with a cancel word ("appointment" in "kal ka
//!    appointment cancel kar do"), minus verbs, fillers and words the lexicon knows (dates,
//!    "mera"); a few general reservation words are always task words. When no flow matches
//!    such an utterance it is still a cancel ("booking rehne do").
//! 3. **repeat** — "phir se", "dobara", "repeat", "pardon", "kya bola", a lone "kya?"/"sorry?".
//! 4. **goodbye** — only when the whole utterance is thanks/bye/"bas"/"that's all" words, so
//!    "bas 2 log" is not a goodbye.
//! 5. **flow intents** — every example is compared with the utterance: words are reduced to
//!    their canonical form (numbers become `#`), common function words are ignored, and the
//!    score is a weighted Dice overlap `D = 2·Σw(matched) / (Σw(utterance) + Σw(example))`,
//!    raised to `(D + C) / 2` when the example's coverage `C = Σw(matched) / Σw(example)` is
//!    higher (long utterances that contain a whole example), where
//!    words match exactly or with Jaro-Winkler ≥ 0.9 for words of 5+ letters, and a word's
//!    weight is 1 / the number of intents whose examples use it (so "nahi", used by several
//!    intents, cannot pick one on its own); numbers never match (they are slot values); a
//!    single shared word counts only if no other intent uses it and the caller said more than
//!    that word, or both sides are that one word ("namaste"). An
//!    intent's score is its best example; the best intent wins if it scores at least 0.5 (ties:
//!    the earlier intent).
//! 6. **correction** — a marker ("nahi", "no", "actually", "I mean", "matlab", "galti se",
//!    "not") followed by more words, when no flow intent scored at least 0.75.

use serde::{Deserialize, Serialize};

use crate::normalize::{Token, tokenize};

/// A flow's intent with its example phrases (any language).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentExamples {
    /// Intent name as used in the flow files (`make_reservation`).
    pub intent: String,
    /// Example phrases.
    pub examples: Vec<String>,
}

/// The repair intents every flow understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepairIntent {
    /// Abandon the current task ("rehne do", "never mind").
    Cancel,
    /// Say that again ("kya? phir se boliye").
    Repeat,
    /// Transfer to a person ("manager se baat karao").
    Human,
    /// The caller corrects something just said ("nahi, 5 log", "actually 8:30").
    Correction,
    /// The caller is done ("bas, dhanyavaad", "that's all").
    Goodbye,
}

impl RepairIntent {
    /// Name used as [`IntentMatch::intent`].
    pub fn as_str(self) -> &'static str {
        match self {
            RepairIntent::Cancel => "cancel",
            RepairIntent::Repeat => "repeat",
            RepairIntent::Human => "human",
            RepairIntent::Correction => "correction",
            RepairIntent::Goodbye => "goodbye",
        }
    }
}

/// The classification of one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentMatch {
    /// The flow intent name, or the repair intent's [`RepairIntent::as_str`].
    pub intent: String,
    /// 0.0–1.0 (built-in repair matches are 1.0, corrections 0.8).
    pub score: f32,
    /// Set when this is a built-in repair intent.
    pub repair: Option<RepairIntent>,
}

#[rustfmt::skip]
const HUMAN_WORDS: &[&str] = &[
    "human", "insaan", "insan", "manager", "operator", "representative", "agent", "staff", "owner",
    "malik", "receptionist", "इंसान", "मैनेजर", "मालिक", "person",
];
#[rustfmt::skip]
const HUMAN_PHRASES: &[&[&str]] = &[
    &["kisi", "se", "baat"], &["किसी", "से", "बात"], &["talk", "to", "someone"], &["kisi", "aadmi"],
    &["asli", "aadmi"], &["किसी", "आदमी"],
    &["speak", "to", "someone"], &["real", "person"], &["call", "transfer"],
    &["transfer", "the", "call"], &["transfer", "karo"],
];
#[rustfmt::skip]
const CANCEL_PHRASES: &[&[&str]] = &[
    &["rehne", "do"], &["rahne", "do"], &["रहने", "दो"], &["रहने", "दीजिए"], &["rehne", "dijiye"], &["rahne", "dijiye"], &["rehne", "dijie"],
    &["never", "mind"], &["nevermind"], &["chhodo"], &["chodo"], &["छोडो"], &["छोडिए"],
    &["chhodiye"], &["forget", "it"], &["leave", "it"], &["cancel"], &["कैंसल"], &["stop", "it"],
    &["mat", "karo"], &["मत", "करो"], &["band", "karo"], &["nahi", "chahiye"], &["नहीं", "चाहिए"],
    &["koi", "zarurat", "nahi"],
];
#[rustfmt::skip]
const RESERVATION_WORDS: &[&str] = &[
    "reservation", "booking", "table", "reserve", "reserved", "appointment", "बुकिंग", "रिजर्वेशन",
    "टेबल", "book", "booked", "बुक",
];
/// Words in a cancel example that are not what is being cancelled: light verbs and fillers
/// ("kal ka appointment cancel *kar do*", "मेरा अपॉइंटमेंट रद्द *कर दीजिए*").
#[rustfmt::skip]
const CANCEL_FILLER: &[&str] = &[
    "kar", "karo", "karna", "karni", "karne", "kardo", "kariye", "karie", "kijiye", "kijie",
    "dijiye", "dijie", "dena", "dein", "de", "dijiyega", "wala", "wali", "wale", "please", "need",
    "tomorrow", "tonight", "today", "now", "this", "that", "our", "your", "will", "be", "have",
    "कर", "करो", "करना", "करनी", "करने", "कीजिए", "कीजिये", "दीजिए", "दीजिये", "देना", "दें", "दे",
    "वाला", "वाली", "वाले",
];
#[rustfmt::skip]
const REPEAT_PHRASES: &[&[&str]] = &[
    &["phir", "se"], &["fir", "se"], &["फिर", "से"], &["dobara"], &["dubara"], &["दोबारा"],
    &["repeat"], &["pardon"], &["come", "again"], &["say", "that", "again"], &["say", "again"],
    &["kya", "bola"], &["kya", "kaha"], &["क्या", "कहा"], &["क्या", "बोला"], &["didnt", "hear"],
    &["didnt", "catch"], &["sunai", "nahi"], &["सुनाई", "नहीं"], &["samajh", "nahi"],
    &["samjha", "nahi"], &["samjhi", "nahi"], &["समझ", "नहीं"], &["ek", "baar", "aur"],
    &["once", "more"], &["one", "more", "time"], &["didnt", "understand"], &["dont", "understand"],
];
#[rustfmt::skip]
const LONE_REPEAT: &[&str] = &[
    "kya", "what", "sorry", "pardon", "huh", "haan", "क्या", "जी", "hello", "ji",
];
#[rustfmt::skip]
const GOODBYE_CORE: &[&str] = &[
    "bye", "goodbye", "alvida", "bas", "dhanyavaad", "dhanyawad", "dhanyavad", "shukriya",
    "thanks", "thank", "thankyou", "धन्यवाद", "शुक्रिया", "बस", "अलविदा", "बाय", "all", "else",
];
#[rustfmt::skip]
const GOODBYE_FILLER: &[&str] = &[
    "ok", "okay", "ji", "haan", "theek", "hai", "you", "so", "much", "very", "thats", "that", "is",
    "itna", "hi", "ही", "इतना", "है", "जी", "ठीक", "nothing", "kuch", "nahi", "aur", "chahiye",
    "namaste", "नमस्ते", "good", "night", "day", "sir", "madam", "bhaiya", "aapka", "apka",
    "aapko", "bahut", "बहुत", "आपका", "it", "for", "now", "then", "abhi", "ke", "liye", "and",
    "और", "कुछ", "नहीं", "चाहिए",
    "no",
];
#[rustfmt::skip]
const CORRECTION_MARKERS: &[&str] = &[
    "nahi", "no", "actually", "matlab", "galti", "not", "sorry", "wait", "ruko", "नहीं", "मतलब",
    "गलती",
];
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "the", "a", "an", "is", "to", "i", "me", "my", "please", "hai", "ke", "ka", "ki", "ko", "ji",
    "can", "you", "do", "for", "of", "it", "am", "are", "we", "hain", "है", "के", "की", "का", "को",
    "जी", "mujhe", "मुझे", "would", "like", "want", "hum", "main", "se", "से", "kya", "what",
    // "your place": "aapke yahan X hai" is about X, not about the words around it.
    "aapke", "apke", "yahan", "yaha", "आपके", "यहां",
];

fn has_phrase(toks: &[Token], phrase: &[&str]) -> bool {
    toks.len() >= phrase.len()
        && (0..=toks.len() - phrase.len()).any(|i| {
            phrase
                .iter()
                .enumerate()
                .all(|(k, p)| toks[i + k].text == *p || toks[i + k].canon == *p)
        })
}

fn repair(r: RepairIntent, score: f32) -> Option<IntentMatch> {
    Some(IntentMatch {
        intent: r.as_str().to_string(),
        score,
        repair: Some(r),
    })
}

/// Classifies `text` against the built-in repair intents and the flow's `intents`.
///
/// Builds an [`IntentIndex`] on every call; a dialog engine classifying many utterances
/// against the same flows should build the index once.
pub fn classify_intent(text: &str, intents: &[IntentExamples]) -> Option<IntentMatch> {
    IntentIndex::new(intents).classify(text)
}

/// Flow intents with their examples already reduced to scoring words.
#[derive(Debug, Clone, Default)]
pub struct IntentIndex {
    /// Distinct example words.
    vocab: Vec<String>,
    /// Length in chars and first char of each vocabulary word.
    meta: Vec<(usize, Option<char>)>,
    /// Weight of each vocabulary word: 1 / number of intents whose examples use it.
    weight: Vec<f32>,
    /// Intent name and its examples as indexes into `vocab`.
    intents: Vec<(String, Vec<Vec<usize>>)>,
    /// What this business's callers cancel ("appointment", "table"): see the module docs.
    task_words: Vec<String>,
}

impl IntentIndex {
    /// Precomputes the words of every example, interned into one vocabulary so that each
    /// caller word is compared with each distinct example word once per utterance.
    pub fn new(intents: &[IntentExamples]) -> Self {
        let intents_in = intents;
        let mut vocab: Vec<String> = Vec::new();
        let mut lookup: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut intern = |w: String| {
            *lookup.entry(w.clone()).or_insert_with(|| {
                vocab.push(w);
                vocab.len() - 1
            })
        };
        let intents: Vec<(String, Vec<Vec<usize>>)> = intents
            .iter()
            .map(|it| {
                let examples = it
                    .examples
                    .iter()
                    .map(|e| words(&tokenize(e)).into_iter().map(&mut intern).collect())
                    .collect();
                (it.intent.clone(), examples)
            })
            .collect();
        let meta = vocab
            .iter()
            .map(|w| (w.chars().count(), w.chars().next()))
            .collect();
        // A word used by several intents says less about which one is meant ("nahi" is in
        // cancel_reservation and goodbye examples): weight = 1 / number of intents using it.
        let mut df = vec![0usize; vocab.len()];
        for (_, examples) in &intents {
            let mut seen: Vec<usize> = examples.iter().flatten().copied().collect();
            seen.sort_unstable();
            seen.dedup();
            for v in seen {
                df[v] += 1;
            }
        }
        let weight = df.iter().map(|&d| 1.0 / d.max(1) as f32).collect();
        let mut task_words: Vec<String> = intents_in
            .iter()
            .flat_map(|it| &it.examples)
            .map(|e| tokenize(e))
            .filter(|toks| has_cancel_phrase(toks))
            .flat_map(|toks| {
                toks.iter()
                    .filter(|t| is_task_word(t))
                    .map(|t| crate::menu::key(&t.text))
                    .collect::<Vec<_>>()
            })
            .filter(|k| !k.is_empty())
            .collect();
        task_words.sort();
        task_words.dedup();
        IntentIndex {
            vocab,
            meta,
            weight,
            intents,
            task_words,
        }
    }

    /// Classifies `text` (see [`classify_intent`]).
    pub fn classify(&self, text: &str) -> Option<IntentMatch> {
        classify_tokens(&tokenize(text), self)
    }

    /// The one intent a caller's *topic word* belongs to, for short questions that no example
    /// covers as a whole ("beer hai?", "wheelchair?", "UPI?"): a word of the utterance naming a
    /// thing (not a question, verb, function or marker word, not a number) equal to a word that only this intent's
    /// examples use. `None` when no such word is said, or when the words point at different
    /// intents. The score is 0.6, below any whole-example match, so it is a fallback only.
    pub fn topic(&self, text: &str) -> Option<IntentMatch> {
        let toks = tokenize(text);
        let mut owner: Option<usize> = None;
        for t in &toks {
            let w = t.text.as_str();
            // Only words naming a thing ("beer", "parking"), never a verb that happens to be
            // used by one intent alone ("serve", "होता").
            if STOPWORDS.contains(&w) || !crate::request::names_a_thing(t) {
                continue;
            }
            let key = if t.canon != t.text || crate::lexicon::canonical(w).is_some() {
                t.canon.clone()
            } else {
                crate::menu::key(w)
            };
            let Some(v) = self.vocab.iter().position(|x| *x == key) else {
                continue;
            };
            if self.weight[v] < 1.0 {
                continue;
            }
            let Some(i) = self
                .intents
                .iter()
                .position(|(_, examples)| examples.iter().any(|e| e.contains(&v)))
            else {
                continue;
            };
            match owner {
                Some(o) if o != i => return None,
                _ => owner = Some(i),
            }
        }
        owner.map(|i| IntentMatch {
            intent: self.intents[i].0.clone(),
            score: 0.6,
            repair: None,
        })
    }

    /// True when the caller names something the business's flows cancel ("अपॉइंटमेंट",
    /// "table"), or one of the general reservation words: then "cancel" is about that task, not
    /// "never mind".
    fn task_talk(&self, toks: &[Token]) -> bool {
        toks.iter().any(|t| {
            RESERVATION_WORDS.contains(&t.text.as_str())
                || matches!(t.canon.as_str(), "booking" | "table")
                || is_task_word(t) && {
                    let k = crate::menu::key(&t.text);
                    let n = k.chars().count();
                    self.task_words.iter().any(|w| {
                        *w == k
                            || n >= 5
                                && w.chars().count() >= 5
                                && strsim::jaro_winkler(w, &k) >= 0.9
                    })
                }
        })
    }
}

fn has_cancel_phrase(toks: &[Token]) -> bool {
    CANCEL_PHRASES.iter().any(|p| has_phrase(toks, p))
}

/// A word that may name what is cancelled: not part of a cancel phrase, not a function word,
/// verb or filler, not a number and not a word the lexicon knows (dates, times, "mera", "nahi").
fn is_task_word(t: &Token) -> bool {
    let text = t.text.as_str();
    !CANCEL_PHRASES
        .iter()
        .any(|p| p.contains(&text) || p.contains(&t.canon.as_str()))
        && !STOPWORDS.contains(&text)
        && !CANCEL_FILLER.contains(&text)
        && !GOODBYE_CORE.contains(&text)
        && !GOODBYE_FILLER.contains(&text)
        && t.number().is_none()
        && crate::lexicon::canonical(text).is_none()
}

pub(crate) fn classify_tokens(toks: &[Token], index: &IntentIndex) -> Option<IntentMatch> {
    if toks.is_empty() {
        return None;
    }
    let any = |list: &[&str]| toks.iter().any(|t| list.contains(&t.text.as_str()));
    if any(HUMAN_WORDS) && !any(&["momo", "thali"])
        || HUMAN_PHRASES.iter().any(|p| has_phrase(toks, p))
    {
        // "person" alone is ambiguous ("table for one person"): require talk/speak/baat.
        let only_person = !HUMAN_PHRASES.iter().any(|p| has_phrase(toks, p))
            && toks
                .iter()
                .filter(|t| HUMAN_WORDS.contains(&t.text.as_str()))
                .all(|t| t.text == "person");
        let talk = any(&[
            "talk",
            "speak",
            "baat",
            "बात",
            "connect",
            "transfer",
            "chahiye",
            "karao",
            "karwao",
            "se",
        ]);
        if !only_person || talk && !toks.iter().any(|t| t.number().is_some()) {
            return repair(RepairIntent::Human, 1.0);
        }
    }
    let cancel_phrase = has_cancel_phrase(toks);
    let cancel_task = cancel_phrase && index.task_talk(toks);
    if cancel_phrase && !cancel_task {
        return repair(RepairIntent::Cancel, 1.0);
    }
    // "booking rehne do": the task words found no flow, so it is still a never-mind.
    let or_cancel = |m: Option<IntentMatch>| match m {
        None if cancel_task => repair(RepairIntent::Cancel, 1.0),
        m => m,
    };
    if REPEAT_PHRASES.iter().any(|p| has_phrase(toks, p))
        || toks.len() <= 2
            && toks.iter().all(|t| LONE_REPEAT.contains(&t.text.as_str()))
            && toks.iter().any(|t| {
                matches!(
                    t.text.as_str(),
                    "kya" | "what" | "sorry" | "pardon" | "huh" | "क्या"
                )
            })
    {
        return repair(RepairIntent::Repeat, 1.0);
    }
    let goodbye_core = toks
        .iter()
        .any(|t| GOODBYE_CORE.contains(&t.text.as_str()) && t.text != "all" && t.text != "else")
        || has_phrase(toks, &["thats", "all"])
        || has_phrase(toks, &["nothing", "else"])
        || (has_phrase(toks, &["kuch", "nahi", "chahiye"])
            || has_phrase(toks, &["aur", "kuch", "nahi"])
            || has_phrase(toks, &["और", "कुछ", "नहीं"]))
            && toks.len() <= 4;
    if goodbye_core
        && toks.iter().all(|t| {
            GOODBYE_CORE.contains(&t.text.as_str()) || GOODBYE_FILLER.contains(&t.text.as_str())
        })
    {
        return repair(RepairIntent::Goodbye, 1.0);
    }
    let best = best_flow_intent(toks, index);
    let first = toks[0].text.as_str();
    let marker = CORRECTION_MARKERS.contains(&first)
        || has_phrase(toks, &["i", "mean"])
        || has_phrase(toks, &["i", "meant"])
        || has_phrase(toks, &["galti", "se"]);
    let content = toks
        .iter()
        .filter(|t| {
            !CORRECTION_MARKERS.contains(&t.text.as_str())
                && !matches!(
                    t.text.as_str(),
                    "i" | "mean" | "meant" | "se" | "ji" | "make" | "it"
                )
        })
        .count();
    // "sorry"/"wait" also open apologies ("sorry I am late"): they mark a correction only when
    // a value follows (a number or a date/time/people word).
    let weak_marker = matches!(first, "sorry" | "wait" | "ruko")
        && !has_phrase(toks, &["i", "mean"])
        && !has_phrase(toks, &["i", "meant"]);
    let has_value = toks.iter().any(|t| {
        t.number().is_some()
            || crate::lexicon::canonical(&t.text).is_some_and(|c| c != "hain" && c != "main")
    });
    if marker
        && content > 0
        && (!weak_marker || has_value)
        && best.as_ref().is_none_or(|b| b.score < 0.75)
    {
        return repair(RepairIntent::Correction, 0.8);
    }
    or_cancel(best)
}

fn words(toks: &[Token]) -> Vec<String> {
    toks.iter()
        .filter(|t| !STOPWORDS.contains(&t.text.as_str()) && !STOPWORDS.contains(&t.canon.as_str()))
        .map(|t| {
            if t.number().is_some() {
                "#".to_string()
            } else if t.canon != t.text || crate::lexicon::canonical(&t.text).is_some() {
                t.canon.clone()
            } else {
                // Unknown words are compared by spelling-insensitive key, so "मोमो" meets
                // "मोमोज़" and "booking" meets "bukking".
                crate::menu::key(&t.text)
            }
        })
        .collect()
}

/// Weighted Dice overlap of the caller's words (each given as the vocabulary words it matches)
/// with one example: `2·Σ weight(matched) / (Σ weight(utterance) + Σ weight(example))`.
fn dice(u: &[Vec<usize>], u_weight: &[f32], e: &[usize], weight: &[f32]) -> f32 {
    if u.is_empty() || e.is_empty() {
        return 0.0;
    }
    let mut used = vec![false; e.len()];
    let mut matched = 0.0f32;
    let mut count = 0usize;
    for set in u {
        if let Some(j) = (0..e.len()).find(|&j| !used[j] && set.contains(&e[j])) {
            used[j] = true;
            matched += weight[e[j]];
            count += 1;
        }
    }
    // One shared word is evidence only if it belongs to this intent alone and the caller said
    // more than that word ("do you have parking"), or both sides are that word ("namaste");
    // "nahi" alone picks no intent.
    let single_ok = (u.len() == 1 && e.len() == 1) || (u.len() >= 2 && matched >= 1.0);
    if count == 1 && !single_ok {
        return 0.0;
    }
    let e_total: f32 = e.iter().map(|&v| weight[v]).sum();
    let total: f32 = u_weight.iter().sum::<f32>() + e_total;
    if total <= 0.0 || e_total <= 0.0 {
        return 0.0;
    }
    // Dice alone punishes a long utterance that contains a whole example ("bhaiya kal 7 baje
    // ke liye 5 logon ka table book kar do"); averaging it with the example's coverage rescues
    // such utterances, and never lowers a tight match.
    let dice = 2.0 * matched / total;
    let coverage = matched / e_total;
    dice.max((dice + coverage) / 2.0)
}

fn best_flow_intent(toks: &[Token], index: &IntentIndex) -> Option<IntentMatch> {
    // Numbers ("#") are slot values and never match; they still count in the length.
    let u: Vec<Vec<usize>> = words(toks)
        .iter()
        .map(|w| {
            if w == "#" {
                Vec::new()
            } else {
                let (lw, fw) = (w.chars().count(), w.chars().next());
                (0..index.vocab.len())
                    .filter(|&v| {
                        let (lv, fv) = index.meta[v];
                        // Jaro-Winkler ≥ 0.9 needs a shared first letter and similar lengths in
                        // practice; checking that first keeps classification cheap.
                        *w == index.vocab[v]
                            || lw >= 5
                                && lv >= 5
                                && lw.abs_diff(lv) <= 2
                                && fw == fv
                                && strsim::jaro_winkler(w, &index.vocab[v]) >= 0.9
                    })
                    .collect()
            }
        })
        .collect();
    // A caller word weighs like the example word it matches (unknown words and numbers: 1).
    let u_weight: Vec<f32> = u
        .iter()
        .map(|set| {
            set.iter()
                .map(|&v| index.weight[v])
                .reduce(f32::max)
                .unwrap_or(1.0)
        })
        .collect();
    let mut best: Option<IntentMatch> = None;
    for (intent, examples) in &index.intents {
        let score = examples
            .iter()
            .map(|ex| dice(&u, &u_weight, ex, &index.weight))
            .fold(0.0f32, f32::max);
        if score >= 0.5 && best.as_ref().is_none_or(|b| score > b.score) {
            best = Some(IntentMatch {
                intent: intent.clone(),
                score: (score * 1000.0).round() / 1000.0,
                repair: None,
            });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flows() -> Vec<IntentExamples> {
        vec![
            IntentExamples {
                intent: "make_reservation".into(),
                examples: vec![
                    "table book karna hai".into(),
                    "I want to book a table".into(),
                ],
            },
            IntentExamples {
                intent: "cancel_reservation".into(),
                examples: vec![
                    "cancel my reservation".into(),
                    "booking cancel karni hai".into(),
                ],
            },
        ]
    }

    #[test]
    fn repairs_and_flows() {
        let f = flows();
        let i = |s: &str| classify_intent(s, &f).map(|m| m.intent);
        assert_eq!(i("rehne do").as_deref(), Some("cancel"));
        assert_eq!(
            i("cancel my reservation").as_deref(),
            Some("cancel_reservation")
        );
        assert_eq!(i("kya? phir se boliye").as_deref(), Some("repeat"));
        assert_eq!(i("manager se baat karao").as_deref(), Some("human"));
        assert_eq!(i("bas, dhanyavaad").as_deref(), Some("goodbye"));
        assert_eq!(i("bas 2 log").as_deref(), None);
        assert_eq!(i("nahi, 5 log").as_deref(), Some("correction"));
        assert_eq!(
            i("mujhe table book karna hai").as_deref(),
            Some("make_reservation")
        );
    }

    #[test]
    fn cancel_words_name_a_task_from_the_business_examples() {
        // A business whose cancel flow is about appointments: "अपॉइंटमेंट" is in none of the
        // built-in lists, it comes from the trigger examples.
        let f = vec![
            IntentExamples {
                intent: "book_appointment".into(),
                examples: vec!["अपॉइंटमेंट बुक करना है".into()],
            },
            IntentExamples {
                intent: "cancel_appointment".into(),
                examples: vec![
                    "कल का अपॉइंटमेंट रद्द करना है".into(),
                    "kal ka appointment cancel kar do".into(),
                ],
            },
        ];
        let index = IntentIndex::new(&f);
        let i = |s: &str| index.classify(s).map(|m| m.intent);
        assert_eq!(
            i("अपॉइंटमेंट रद्द करना है").as_deref(),
            Some("cancel_appointment")
        );
        assert_eq!(
            i("अपॉइंटमेंट कैंसल कर दीजिए").as_deref(),
            Some("cancel_appointment")
        );
        for never_mind in [
            "रद्द करो",
            "cancel",
            "cancel kar do",
            "rehne do",
            "nahi chahiye",
        ] {
            assert_eq!(i(never_mind).as_deref(), Some("cancel"), "{never_mind}");
        }
        // Named, but nothing matches: still a never-mind.
        assert_eq!(i("appointment rehne do").as_deref(), Some("cancel"));
        // Without the business's examples the word is unknown and "रद्द" is a never-mind.
        let restaurant = classify_intent("अपॉइंटमेंट रद्द करना है", &flows());
        assert_eq!(restaurant.map(|m| m.intent).as_deref(), Some("cancel"));
    }
}

//! A compiled business: facts, hours, reservation policy, menu, FAQs, voices and prompts.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveTime};
use chrono_tz::Tz;

use super::Lang;

/// A validated business. Built only by the loader; every invariant listed on the fields holds.
#[derive(Debug)]
pub struct Business {
    /// Stable id, equal to the file name (`himalayan_kitchen`).
    pub id: String,
    /// Name in English and Hindi.
    pub name: Names,
    /// Local time zone; all hours and dates are in it.
    pub timezone: Tz,
    /// Public phone number as written (international form).
    pub phone: String,
    /// Where "talk to a human" transfers go; `None` means the `transfer` action fails and flows
    /// take their `on_failure` path (e.g. a callback request).
    pub transfer_phone: Option<String>,
    /// Postal address.
    pub address: Address,
    /// Default and supported languages; the default is always among the supported.
    pub languages: Languages,
    /// Weekly opening windows; windows of a day are sorted and never overlap.
    pub hours: WeeklyHours,
    /// Dated exceptions, each replacing that day's weekly windows.
    pub exceptions: BTreeMap<NaiveDate, Exception>,
    /// Reservation rules.
    pub reservations: ReservationPolicy,
    /// Menu; item ids are unique across categories.
    pub menu: Menu,
    /// FAQs and policies; each has an answer for every supported language.
    pub faqs: Vec<Faq>,
    /// TTS voice for every supported language.
    pub voices: BTreeMap<Lang, String>,
    /// Prompt templates; every template a used flow needs exists for every supported language.
    pub prompts: super::prompts::Prompts,
    /// Flow ids in use, in file order.
    pub flows: Vec<String>,
    /// Flow every call starts in (one of `flows`).
    pub start_flow: String,
    /// Flow used when no trigger matches (one of `flows`).
    pub fallback_flow: String,
    /// Plugin ids in use.
    pub plugins: Vec<String>,
    /// WhatsApp follow-up settings.
    pub whatsapp: WhatsApp,
    /// Days to keep call records (default 90).
    pub retention_days: u32,
    /// What a caller hears when the server already runs `MAX_CONCURRENT_CALLS` calls.
    pub when_busy: WhenBusy,
}

/// What a call over the server's concurrent-call limit gets, instead of a bot that would make
/// every live call slower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenBusy {
    /// A short spoken "all lines are busy, please call again", then hang up (the default).
    #[default]
    Apologise,
    /// Connect the caller to `transfer_phone` (required when this is chosen).
    Transfer,
}

impl Business {
    /// The opening windows on a local date: the dated exception if any, else the weekday's
    /// windows. Empty means closed.
    pub fn windows_on(&self, date: NaiveDate) -> &[Window] {
        match self.exceptions.get(&date) {
            Some(e) => &e.windows,
            None => self.hours.on(date.weekday()),
        }
    }

    /// Whether the bot may speak `lang` for this business.
    pub fn supports(&self, lang: Lang) -> bool {
        self.languages.supported.contains(&lang)
    }
}

/// Text in English and Hindi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// English.
    pub en: String,
    /// Hindi (Devanagari).
    pub hi: String,
}

/// Postal address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// City.
    pub city: String,
    /// Postal (PIN) code, as text.
    pub postal_code: String,
    /// State.
    pub state: String,
    /// ISO 3166 two-letter country code (default `IN`).
    pub country: String,
    /// Optional landmark callers can find.
    pub landmark: Option<String>,
}

/// Languages of a business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Languages {
    /// The language the bot greets in.
    pub default: Lang,
    /// Every language it may answer in (contains `default`).
    pub supported: Vec<Lang>,
}

/// One opening window. Invariant: `open < close` and `open <= last_seating <= close`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Optional label (lunch, dinner).
    pub name: Option<String>,
    /// Opening time; reservation slots start here.
    pub open: NaiveTime,
    /// Closing time (same day).
    pub close: NaiveTime,
    /// Latest time a party may be seated.
    pub last_seating: NaiveTime,
}

/// Opening windows for each weekday.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    /// Indexed by `Weekday::num_days_from_monday()`.
    pub days: [Vec<Window>; 7],
}

impl WeeklyHours {
    /// Windows on a weekday (empty = closed).
    pub fn on(&self, day: chrono::Weekday) -> &[Window] {
        &self.days[day.num_days_from_monday() as usize]
    }
}

/// A dated exception to the weekly hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// The local date.
    pub date: NaiveDate,
    /// Why (spoken or shown to staff), if given.
    pub note: Option<String>,
    /// The day's windows; empty means closed all day.
    pub windows: Vec<Window>,
}

/// What to do with parties above `max_phone_party`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LargePartyHandling {
    /// Take name, date, time and size and create a callback request for the manager.
    Callback,
    /// Politely decline.
    Decline,
}

/// Reservation rules. Invariant: `party_min <= max_phone_party <= party_max <= capacity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationPolicy {
    /// Slots start every this many minutes from each window's opening.
    pub slot_minutes: u32,
    /// How long a table is held for a booking.
    pub hold_minutes: u32,
    /// Most covers whose holds may overlap at any moment.
    pub capacity: u32,
    /// Smallest party.
    pub party_min: u32,
    /// Largest party accepted at all.
    pub party_max: u32,
    /// Largest party the bot books itself.
    pub max_phone_party: u32,
    /// Handling of parties in `max_phone_party+1 ..= party_max`.
    pub large_party: LargePartyHandling,
    /// Minimum minutes between now and the booked time.
    pub min_lead_minutes: u32,
    /// Furthest day ahead that can be booked.
    pub max_days_ahead: u32,
    /// Minutes a table is held past the booked time.
    pub grace_minutes: u32,
}

/// The menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    /// Categories in file order.
    pub categories: Vec<Category>,
    /// Item ids suggested on request (each exists in `categories`).
    pub recommended: Vec<String>,
}

impl Menu {
    /// Every item, in menu order.
    pub fn items(&self) -> impl Iterator<Item = &MenuItem> {
        self.categories.iter().flat_map(|c| c.items.iter())
    }

    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&MenuItem> {
        self.items().find(|i| i.id == id)
    }
}

/// A menu category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// Unique id.
    pub id: String,
    /// Display names.
    pub name: Names,
    /// Items in file order.
    pub items: Vec<MenuItem>,
}

/// Dietary class of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diet {
    /// Vegetarian.
    Veg,
    /// Contains meat, fish or egg.
    NonVeg,
    /// No animal products (also vegetarian).
    Vegan,
}

/// Spice level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Spice {
    /// Not spicy at all.
    None,
    /// Mild.
    Mild,
    /// Medium.
    Medium,
    /// Hot.
    Hot,
}

/// A menu item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    /// Unique id across the menu.
    pub id: String,
    /// Names in English and Hindi.
    pub name: Names,
    /// Other ways callers say it.
    pub aliases: Vec<String>,
    /// Price in whole rupees (> 0).
    pub price_inr: u32,
    /// Dietary class; `None` for what is not food (a clinic's treatments), so a "veg" question
    /// never lists it.
    pub diet: Option<Diet>,
    /// Can be made Jain (no onion or garlic) on request.
    pub jain_on_request: bool,
    /// Spice level.
    pub spice: Spice,
    /// Allergens as lowercase names (`gluten`, `dairy`, …).
    pub allergens: Vec<String>,
    /// Whether it can be ordered today.
    pub available: bool,
}

/// A question the bot can answer, or a policy it can state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faq {
    /// Unique id.
    pub id: String,
    /// Example questions per language (for matching).
    pub questions: BTreeMap<Lang, Vec<String>>,
    /// Answer per language; present for every supported language.
    pub answer: BTreeMap<Lang, String>,
}

/// WhatsApp follow-up settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatsApp {
    /// Whether follow-ups are sent at all.
    pub enabled: bool,
    /// Approved template name (required when enabled).
    pub template: Option<String>,
    /// Send only when the caller agreed during the call (default true).
    pub requires_consent: bool,
}

//! Raw business file (`businesses/<id>.yaml`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// Text in English and Hindi.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Names {
    pub en: String,
    pub hi: String,
}

/// Text per language (any subset of hi/en/hinglish).
pub type PerLang<T> = BTreeMap<String, T>;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Business {
    pub id: String,
    pub name: Names,
    pub timezone: String,
    pub phone: String,
    #[serde(default)]
    pub transfer_phone: Option<String>,
    pub address: Address,
    pub languages: Languages,
    pub hours: BTreeMap<String, Vec<Window>>,
    #[serde(default)]
    pub exceptions: Vec<Exception>,
    pub reservations: Reservations,
    pub menu: Menu,
    #[serde(default)]
    pub faqs: Vec<Faq>,
    pub voices: PerLang<String>,
    pub prompts: PerLang<BTreeMap<String, String>>,
    pub flows: Vec<String>,
    pub start_flow: String,
    pub fallback_flow: String,
    #[serde(default)]
    pub plugins: Vec<String>,
    #[serde(default)]
    pub whatsapp: Option<WhatsApp>,
    #[serde(default)]
    pub retention_days: Option<u32>,
    #[serde(default)]
    pub when_busy: Option<WhenBusy>,
}

/// `when_busy`: what a caller hears when every line is taken.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenBusy {
    Apologise,
    Transfer,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub street: String,
    pub city: String,
    pub postal_code: serde_json::Value,
    pub state: String,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub landmark: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Languages {
    pub default: String,
    pub supported: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[serde(default)]
    pub name: Option<String>,
    pub open: String,
    pub close: String,
    pub last_seating: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    pub date: String,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub closed: Option<bool>,
    #[serde(default)]
    pub windows: Option<Vec<Window>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reservations {
    pub slot_minutes: u32,
    pub hold_minutes: u32,
    pub capacity: u32,
    pub party_min: u32,
    pub party_max: u32,
    pub max_phone_party: u32,
    pub large_party: String,
    pub min_lead_minutes: u32,
    pub max_days_ahead: u32,
    pub grace_minutes: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Menu {
    pub categories: Vec<Category>,
    #[serde(default)]
    pub recommended: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub id: String,
    pub name: Names,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    pub name: Names,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub price_inr: u32,
    #[serde(default)]
    pub diet: Option<String>,
    #[serde(default)]
    pub jain_on_request: bool,
    #[serde(default)]
    pub spice: Option<String>,
    #[serde(default)]
    pub allergens: Vec<String>,
    #[serde(default)]
    pub available: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faq {
    pub id: String,
    pub questions: PerLang<Vec<String>>,
    pub answer: PerLang<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsApp {
    pub enabled: bool,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub requires_consent: Option<bool>,
}

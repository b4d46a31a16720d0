//! [`StoreWorld`]: a dialogue's tool calls through [`StoreTools`] over a temporary store.
//!
//! Each dialogue gets a fresh redb database in a temporary folder (deleted with the world),
//! its `existing` reservations booked first — under the caller's number, or another number for
//! `other_caller` ones — and the caller's number as a call would give it. At the end the runner
//! reads back what the store holds: confirmed reservations, callback requests and jobs (the
//! WhatsApp confirmations among them), exactly what an owner would see after a real call.

use std::sync::Arc;

use chrono::{NaiveDateTime, NaiveTime};
use vartalaap_config::BusinessSnapshot;
use vartalaap_core::testing::{
    DialogueCallback, DialogueJob, DialogueReservation, DialogueWorld, OTHER_CALLER_NUMBER,
    WorldSetup,
};
use vartalaap_core::{ToolCall, ToolExecutor, ToolResult};
use vartalaap_store::{
    BookingRequest, CallbackFilter, HashPepper, JobFilter, PageRequest, PhoneCrypto, PhoneKey,
    PhoneNumber, ReservationFilter, ReservationStatus, Store, WHATSAPP_FOLLOWUP_KIND,
};

use crate::{StoreTools, capacity_rule, local_to_utc};

/// Why a dialogue's world could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// The temporary folder or database could not be created.
    #[error("cannot create the scratch store: {0}")]
    Scratch(String),
    /// The dialogue's caller number is not a phone number.
    #[error("caller_number {number:?} is not a phone number: {problem}")]
    BadNumber {
        /// What the dialogue said.
        number: String,
        /// Why it is refused.
        problem: String,
    },
    /// An `existing` reservation could not be booked (capacity, party size, …).
    #[error("existing reservation {name:?} on {date} at {time} could not be booked: {problem}")]
    Existing {
        /// Its name.
        name: String,
        /// Its date.
        date: chrono::NaiveDate,
        /// Its time.
        time: NaiveTime,
        /// The store's reason.
        problem: String,
    },
}

/// A dialogue's world: the calls' executor over a scratch store that lives as long as it.
pub struct StoreWorld {
    tools: StoreTools,
    /// Keeps the database's folder until the world is dropped.
    _dir: tempfile::TempDir,
}

/// Key material of scratch stores. They hold only a dialogue's made-up numbers and are deleted
/// when the dialogue ends, so a fixed key is enough (it never protects real data).
fn scratch_crypto() -> Result<PhoneCrypto, WorldError> {
    let key = PhoneKey::new("dialogue-scratch", [0x5a; 32])
        .map_err(|e| WorldError::Scratch(e.to_string()))?;
    let pepper = HashPepper::new(b"vartalaap-dialogue-scratch-pepper".to_vec())
        .map_err(|e| WorldError::Scratch(e.to_string()))?;
    Ok(PhoneCrypto::new(key, pepper))
}

fn number(text: &str) -> Result<PhoneNumber, WorldError> {
    PhoneNumber::parse(text).map_err(|e| WorldError::BadNumber {
        number: text.to_string(),
        problem: e.to_string(),
    })
}

impl StoreWorld {
    /// A scratch store holding `setup.existing`, with the caller's number.
    pub fn new(setup: &WorldSetup<'_>) -> Result<StoreWorld, WorldError> {
        let dir = tempfile::tempdir().map_err(|e| WorldError::Scratch(e.to_string()))?;
        let store = Store::open(dir.path().join("dialogue.redb"), scratch_crypto()?)
            .map_err(|e| WorldError::Scratch(e.to_string()))?;
        let store = Arc::new(store);
        let caller = setup.caller_number.map(number).transpose()?;
        let snapshot: &Arc<BusinessSnapshot> = setup.snapshot;
        let now_utc = local_to_utc(snapshot, setup.at);
        let rule = capacity_rule(snapshot);
        for r in setup.existing {
            let phone = if r.other_caller {
                Some(number(OTHER_CALLER_NUMBER)?)
            } else {
                caller.clone()
            };
            let refused = |problem: String| WorldError::Existing {
                name: r.name.clone(),
                date: r.date,
                time: r.time,
                problem,
            };
            let party = u8::try_from(r.party_size).map_err(|e| refused(e.to_string()))?;
            let request = BookingRequest {
                business_id: snapshot.business.id.clone(),
                call_id: None,
                customer_name: Some(r.name.clone()),
                phone,
                party_size: party,
                date: r.date,
                time: crate::time_of_day(r.time),
                language: None,
                notes: r.notes.clone(),
                whatsapp_consent: false,
                followup: None,
            };
            store
                .book(&request, &rule, now_utc)
                .map_err(|e| refused(e.to_string()))?;
        }
        Ok(StoreWorld {
            tools: StoreTools {
                store,
                snapshot: snapshot.clone(),
                caller,
                call_id: None,
                now_utc: local_to_utc,
                booked: Vec::new(),
            },
            _dir: dir,
        })
    }

    /// An empty scratch store for a call at `at` by [`vartalaap_core::testing::DEFAULT_CALLER_NUMBER`]
    /// (engine and LLM tests that need an executor but no dialogue file).
    pub fn empty(
        snapshot: &Arc<BusinessSnapshot>,
        at: NaiveDateTime,
    ) -> Result<StoreWorld, WorldError> {
        StoreWorld::new(&WorldSetup {
            snapshot,
            at,
            caller_number: Some(vartalaap_core::testing::DEFAULT_CALLER_NUMBER),
            existing: &[],
        })
    }

    /// The store the dialogue's tool calls write to.
    pub fn store(&self) -> &Arc<Store> {
        &self.tools.store
    }
}

/// The [`vartalaap_core::testing::WorldFactory`] every dialogue runner uses: a
/// [`StoreWorld`] per dialogue.
pub fn dialogue_world(setup: &WorldSetup<'_>) -> Result<Box<dyn DialogueWorld>, String> {
    StoreWorld::new(setup)
        .map(|w| Box::new(w) as Box<dyn DialogueWorld>)
        .map_err(|e| e.to_string())
}

impl ToolExecutor for StoreWorld {
    fn execute(&mut self, now: NaiveDateTime, call: &ToolCall) -> ToolResult {
        self.tools.execute(now, call)
    }
}

/// Every item of a paged listing.
fn all_pages<T>(
    mut page: impl FnMut(&PageRequest) -> Result<vartalaap_store::Page<T>, String>,
) -> Result<Vec<T>, String> {
    let mut request = PageRequest {
        after: None,
        limit: vartalaap_store::MAX_PAGE,
    };
    let mut all = Vec::new();
    loop {
        let p = page(&request)?;
        all.extend(p.items);
        match p.next_after {
            Some(after) => request.after = Some(after),
            None => return Ok(all),
        }
    }
}

impl DialogueWorld for StoreWorld {
    fn reservations(&self) -> Result<Vec<DialogueReservation>, String> {
        let store = &self.tools.store;
        let filter = ReservationFilter {
            business_id: Some(self.tools.snapshot.business.id.clone()),
            status: Some(ReservationStatus::Confirmed),
            ..ReservationFilter::default()
        };
        let rows = all_pages(|p| {
            store
                .list_reservations(&filter, p)
                .map_err(|e| e.to_string())
        })?;
        Ok(rows
            .into_iter()
            .map(|r| DialogueReservation {
                id: Some(r.id.to_string()),
                date: r.reservation_date,
                time: crate::naive_time(r.reservation_time),
                party_size: u32::from(r.party_size),
                name: r.customer_name.unwrap_or_default(),
                other_caller: false,
                notes: r.notes,
            })
            .collect())
    }

    fn callbacks(&self) -> Result<Vec<DialogueCallback>, String> {
        let store = &self.tools.store;
        let rows = all_pages(|p| {
            store
                .list_callbacks(&CallbackFilter::default(), p)
                .map_err(|e| e.to_string())
        })?;
        Ok(rows
            .into_iter()
            .map(|c| DialogueCallback {
                name: c.customer_name,
                date: c.requested_date,
                time: c.requested_time.map(crate::naive_time),
                party_size: c.party_size,
            })
            .collect())
    }

    fn jobs(&self) -> Result<Vec<DialogueJob>, String> {
        let store = &self.tools.store;
        let jobs = all_pages(|p| {
            store
                .list_jobs(&JobFilter::default(), p)
                .map_err(|e| e.to_string())
        })?;
        let mut out = Vec::new();
        for job in jobs {
            let mut described = DialogueJob {
                kind: job.kind.clone(),
                reservation_name: None,
                language: None,
            };
            if job.kind == WHATSAPP_FOLLOWUP_KIND
                && let Some(id) = job.payload.get("followup_id").and_then(|v| v.as_u64())
                && let Some(f) = store.get_followup(id).map_err(|e| e.to_string())?
            {
                described.language = Some(f.language.clone());
                described.reservation_name = store
                    .get_reservation(f.reservation_id)
                    .map_err(|e| e.to_string())?
                    .and_then(|r| r.customer_name);
            }
            out.push(described);
        }
        Ok(out)
    }
}

//! Reservations and the records hanging off them: WhatsApp follow-ups and manager callbacks.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{TimeOfDay, string_enum};
use crate::crypto::{EncryptedPhone, PhoneHash};

/// Lifecycle of a table booking. Only `confirmed` reservations hold covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// Holds covers.
    Confirmed,
    /// Released by the caller or staff.
    Cancelled,
    /// The party came and went.
    Completed,
    /// The party never came.
    NoShow,
}
string_enum!(ReservationStatus { Confirmed => "confirmed", Cancelled => "cancelled", Completed => "completed", NoShow => "no_show" });

/// A table booking (schemas/reservation.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    /// Store-assigned, increasing id (also the pagination cursor).
    pub id: u64,
    /// Business (tenant) id from the business config.
    pub business_id: String,
    /// The call that made the booking, if it came by phone.
    pub call_id: Option<u64>,
    /// Name the caller gave.
    pub customer_name: Option<String>,
    /// HMAC of the caller's number: the lookup key.
    pub phone_hash: Option<PhoneHash>,
    /// AES-GCM ciphertext of the caller's number; never plaintext.
    pub phone_encrypted: Option<EncryptedPhone>,
    /// Covers, 1–20 (larger parties become callback requests).
    pub party_size: u8,
    /// Business-local date.
    pub reservation_date: NaiveDate,
    /// Business-local `HH:MM`.
    pub reservation_time: TimeOfDay,
    /// Lifecycle state.
    pub status: ReservationStatus,
    /// Whether the confirmation reached the WhatsApp webhook.
    pub whatsapp_sent: bool,
    /// Whether the caller agreed to a WhatsApp confirmation. No consent, no message.
    pub whatsapp_consent: bool,
    /// Language of the booking conversation (`hi`, `en`, …).
    pub language: Option<String>,
    /// Free text from the caller or staff (purged with caller data).
    pub notes: Option<String>,
    /// When the booking was written.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Delivery state of one WhatsApp confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowupStatus {
    /// Waiting for (another) send attempt.
    Pending,
    /// Accepted by the webhook.
    Sent,
    /// The last attempt failed; the job may still retry.
    Failed,
    /// Not sent on purpose (reservation cancelled before sending).
    Skipped,
}
string_enum!(FollowupStatus { Pending => "pending", Sent => "sent", Failed => "failed", Skipped => "skipped" });

/// A WhatsApp confirmation for a reservation (schemas/whatsapp_followup.json). Written in the
/// booking transaction together with the job that sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatsappFollowup {
    /// Store-assigned id.
    pub id: u64,
    /// The reservation being confirmed; its current date/time/party size are sent.
    pub reservation_id: u64,
    /// Owning business.
    pub business_id: String,
    /// Approved template name.
    pub template: String,
    /// Template language code.
    pub language: String,
    /// Restaurant display name for the template.
    pub restaurant_name: String,
    /// Sent to the webhook so a retried send is harmless downstream.
    pub idempotency_key: String,
    /// Delivery state.
    pub status: FollowupStatus,
    /// HTTP attempts made.
    pub attempts: u32,
    /// Last failure, without phone numbers.
    pub last_error: Option<String>,
    /// Message id returned by the webhook, if any.
    pub provider_message_id: Option<String>,
    /// When the webhook accepted it.
    pub sent_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Why a manager should call back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackReason {
    /// Party larger than the phone bot may book.
    LargeParty,
    /// The caller asked for a manager.
    ManagerRequest,
    /// Anything else the flow decided needs a human.
    Other,
}
string_enum!(CallbackReason { LargeParty => "large_party", ManagerRequest => "manager_request", Other => "other" });

/// Progress of a callback request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    /// Nobody has called yet.
    Pending,
    /// A manager reached the caller.
    Contacted,
    /// Settled with a booking (made by staff, e.g. in the admin).
    Booked,
    /// Settled without one (the caller or the business said no).
    Declined,
}
string_enum!(CallbackStatus { Pending => "pending", Contacted => "contacted", Booked => "booked", Declined => "declined" });

/// A request for a manager to call the caller back (schemas/callback_request.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallbackRequest {
    /// Store-assigned id.
    pub id: u64,
    /// Owning business.
    pub business_id: String,
    /// The call that produced it.
    pub call_id: Option<u64>,
    /// Name the caller gave.
    pub customer_name: Option<String>,
    /// HMAC of the number to call back.
    pub phone_hash: Option<PhoneHash>,
    /// Ciphertext of the number to call back.
    pub phone_encrypted: Option<EncryptedPhone>,
    /// Requested covers (any size ≥ 1; large parties are the usual reason).
    pub party_size: Option<u32>,
    /// Wished date, if one was given.
    pub requested_date: Option<NaiveDate>,
    /// Wished time, if one was given.
    pub requested_time: Option<TimeOfDay>,
    /// Why a human is needed.
    pub reason: CallbackReason,
    /// Free text (purged with caller data).
    pub notes: Option<String>,
    /// Progress.
    pub status: CallbackStatus,
    /// What staff noted while working the request ("called, booking Sat 1 pm"); set through
    /// `PATCH /api/callbacks/{id}`. Absent in rows stored before it existed.
    #[serde(default)]
    pub staff_note: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

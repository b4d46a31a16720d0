//! Embedded storage (redb): reservations, calls, transcripts, privacy, migrations, durable jobs.

//! Offline language understanding and speaking for Hindi, English and Hinglish.

//! Command-line interface: one subcommand per job an owner or integrator does.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Vartalaap: a phone voice-bot for small businesses, driven by YAML.
#[derive(Debug, Parser)]
#[command(name = "vartalaap", version, about, long_about = None)]
pub struct Cli {
    /// Read settings from this file before the environment (default: ./.env if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (health, config status; later the Plivo webhooks and the API).
    ///
    /// Settings come from environment variables or .env (see .env.example). With no cloud
    /// keys the offline defaults are used. Business files hot-reload while it runs.
    Serve {
        /// Address to listen on (overrides BIND_ADDR).
        #[arg(long, value_name = "HOST:PORT")]
        bind: Option<String>,
        /// Folder holding businesses/, flows/ and plugins/ (overrides CONFIG_ROOT).
        #[arg(long, value_name = "DIR")]
        config_root: Option<PathBuf>,
    },
    /// Print the OpenAPI document the server serves at /openapi.json.
    ///
    /// The admin web app's API client is generated from it at build time (web/, `npm run
    /// build`), so the admin can only use what the document describes.
    Openapi,
    /// Check business, flow and plugin files and print every error with file:line:column.
    ///
    /// With no PATH, checks businesses/, flows/ and plugins/ under --root. Exits 1 when any
    /// error is found, 0 otherwise.
    Validate {
        /// Files or folders to check (default: everything under --root).
        paths: Vec<PathBuf>,
        /// Folder holding businesses/, flows/ and plugins/.
        #[arg(long, default_value = ".", value_name = "DIR")]
        root: PathBuf,
        /// Output format: human-readable lines or one JSON document for tools.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Talk to a business's bot in the terminal (text instead of a phone call).
    ///
    /// Type what a caller would say; an empty line is silence, a single digit is a keypad
    /// press. Bookings go to a scratch database unless --persist is given.
    Chat {
        /// Business id (the file name in businesses/ without .yaml).
        business: String,
        /// Pretend the conversation happens at this time (RFC 3339), e.g.
        /// 2026-12-01T18:00:00+05:30.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Print the flow, step and slots after every reply.
        #[arg(long)]
        show_state: bool,
        /// The caller's phone number (to find and change their reservations).
        #[arg(long, value_name = "PHONE")]
        caller: Option<String>,
        /// Write bookings to the real database in DATA_DIR (the server must be stopped).
        #[arg(long)]
        persist: bool,
        /// Folder holding businesses/, flows/ and plugins/.
        #[arg(long, default_value = ".", value_name = "DIR")]
        root: PathBuf,
    },
    /// Run scripted conversation tests (tests/conversations/*.yaml) and report coverage.
    ///
    /// Exits 1 if any dialogue fails. Prints every failure with file and turn, then which
    /// flows, steps, repair patterns and languages the dialogues exercised.
    ///
    /// `vartalaap test record <call_id>` saves a logged call as such a dialogue file.
    Test {
        /// Folder of dialogue files, or one dialogue file.
        #[arg(default_value = "tests/conversations", value_name = "PATH")]
        dir: PathBuf,
        /// Folder holding businesses/, flows/ and plugins/.
        #[arg(long, default_value = ".", value_name = "DIR")]
        root: PathBuf,
        #[command(subcommand)]
        action: Option<TestAction>,
    },
    /// Apply pending database migrations (serve also does this at start) and report them.
    ///
    /// Each migration runs in its own transaction: a failure leaves the database as it was.
    /// A database written by a newer vartalaap is refused. With DATABASE_URL set, the
    /// PostgreSQL database is migrated instead of the file in DATA_DIR.
    Migrate {
        /// Then copy every record of this redb file (e.g. data/vartalaap.redb) into the empty
        /// PostgreSQL database in DATABASE_URL, phone numbers still encrypted (same keys).
        #[arg(long, value_name = "FILE")]
        import_redb: Option<PathBuf>,
    },
    /// Print the ER diagram (Mermaid) of the PostgreSQL database in DATABASE_URL, read from
    /// the database itself; docs/STORAGE.md shows it (a test keeps the two in step).
    SchemaDiagram,
    /// Re-encrypt every stored phone number under PHONE_ENCRYPTION_KEY (run with the server
    /// stopped; a running server does the same in the background when
    /// PHONE_ENCRYPTION_OLD_KEYS is set). The previous key(s) must be in
    /// PHONE_ENCRYPTION_OLD_KEYS.
    RotateKeys,
    /// Write a consistent snapshot of the database to FILE, also while the server runs.
    ///
    /// With the server stopped the database is copied directly; while it runs, the server
    /// takes the snapshot (calls and bookings keep working) and this command signs in with a
    /// short-lived token from SESSION_SECRET, so run it with the server's .env. The file holds
    /// phone numbers encrypted: keep PHONE_ENCRYPTION_KEY and PHONE_HASH_PEPPER to restore it.
    Backup {
        /// Where to write the snapshot (replaced if it exists).
        file: PathBuf,
        /// The running server's local address (default: from BIND_ADDR).
        #[arg(long, value_name = "URL")]
        server: Option<String>,
    },
    /// Replace the database in DATA_DIR with a backup made by `vartalaap backup` (server
    /// stopped). The backup is checked row by row first; a replaced database is kept as
    /// vartalaap.redb.before-restore.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
    },
    /// Print fresh secure values for the secret settings, ready to paste into .env.
    ///
    /// Prints PHONE_ENCRYPTION_KEY, PHONE_HASH_PEPPER, SESSION_SECRET and an
    /// ADMIN_PASSWORD_HASH (for a generated password shown once, or for the password read
    /// from standard input with --admin-password-stdin).
    Keys {
        /// Hash the admin password read from the first line of standard input.
        #[arg(long)]
        admin_password_stdin: bool,
    },
}

/// What `vartalaap test` does besides running the dialogues.
#[derive(Debug, Subcommand)]
pub enum TestAction {
    /// Save a logged call as a dialogue file that `vartalaap test` replays: the caller's
    /// lines, the bot's replies, slots and actions, at the call's own date and time.
    ///
    /// Reads the database in DATA_DIR, so the server must be stopped (redb lets one process
    /// open it); while it runs, use the admin's "Save as test" button or
    /// `POST /api/calls/{id}/test`. The caller's phone number is never written. The replies
    /// are checked by replaying the call against the current configuration; where they
    /// differ, the file keeps what the call's bot said and says so in a comment.
    Record {
        /// The call's id (the call list: the admin's Calls page or GET /api/calls).
        call_id: u64,
        /// File name without .yaml: letters, digits, '_' and '-' (default: call_<id>).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Replace an existing file of that name.
        #[arg(long)]
        force: bool,
        /// Folder to write into (default: tests/conversations under --root).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Folder holding businesses/, flows/ and plugins/.
        #[arg(long, default_value = ".", value_name = "DIR")]
        root: PathBuf,
    },
}

/// How `validate` prints its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

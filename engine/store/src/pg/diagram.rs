//! The ER diagram of the PostgreSQL schema, read from the database itself
//! (`information_schema`), as a Mermaid `erDiagram` block: what `vartalaap schema-diagram`
//! prints and `docs/STORAGE.md` shows. A test regenerates it from a freshly migrated database
//! and fails when the document is out of date, so the picture cannot drift from the schema.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use postgres::{Client, NoTls};

use crate::error::StoreError;

/// Tables that are bookkeeping, not records.
const LEFT_OUT: &[&str] = &["write_probe"];

/// The Mermaid ER diagram of the public schema of the database at `url` (tables, columns with
/// their types and keys, and one relationship per foreign key).
pub fn schema_diagram(url: &str) -> Result<String, StoreError> {
    let unavailable = |e: postgres::Error| StoreError::Unavailable {
        reason: format!("cannot read the PostgreSQL schema: {e}; check DATABASE_URL"),
    };
    let mut db = Client::connect(url, NoTls).map_err(unavailable)?;
    let columns = db
        .query(
            "SELECT c.table_name::text, c.column_name::text, c.data_type::text
             FROM information_schema.columns c
             JOIN information_schema.tables t
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
             ORDER BY c.table_name, c.ordinal_position",
            &[],
        )
        .map_err(unavailable)?;
    let keys = db
        .query(
            "SELECT tc.table_name::text, kcu.column_name::text, tc.constraint_type::text
             FROM information_schema.table_constraints tc
             JOIN information_schema.key_column_usage kcu
               ON kcu.constraint_schema = tc.constraint_schema
              AND kcu.constraint_name = tc.constraint_name
             WHERE tc.table_schema = 'public'
               AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')",
            &[],
        )
        .map_err(unavailable)?;
    let references = db
        .query(
            "SELECT child.relname::text, parent.relname::text, a.attname::text
             FROM pg_constraint c
             JOIN pg_class child ON child.oid = c.conrelid
             JOIN pg_class parent ON parent.oid = c.confrelid
             JOIN pg_namespace n ON n.oid = child.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
             WHERE c.contype = 'f' AND n.nspname = 'public'
             ORDER BY parent.relname, child.relname, a.attname",
            &[],
        )
        .map_err(unavailable)?;

    let mut markers: BTreeMap<(String, String), Vec<&'static str>> = BTreeMap::new();
    for row in &keys {
        let marker = match row.get::<_, &str>(2) {
            "PRIMARY KEY" => "PK",
            "FOREIGN KEY" => "FK",
            _ => "UK",
        };
        let entry = markers.entry((row.get(0), row.get(1))).or_default();
        if !entry.contains(&marker) {
            entry.push(marker);
        }
    }
    let mut tables: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for row in &columns {
        let table: String = row.get(0);
        if LEFT_OUT.contains(&table.as_str()) {
            continue;
        }
        let column: String = row.get(1);
        let kind: String = row.get(2);
        tables
            .entry(table)
            .or_default()
            .push((column, mermaid_type(&kind)));
    }

    let mut out = String::from("erDiagram\n");
    for (parent, child, column) in references.iter().map(|r| {
        (
            r.get::<_, String>(1),
            r.get::<_, String>(0),
            r.get::<_, String>(2),
        )
    }) {
        let _ = writeln!(out, "    {parent} ||--o{{ {child} : \"{column}\"");
    }
    for (table, columns) in &tables {
        let _ = writeln!(out, "    {table} {{");
        for (column, kind) in columns {
            let keys = markers
                .get(&(table.clone(), column.clone()))
                .map(|m| {
                    let mut m = m.clone();
                    m.sort_by_key(|k| ["PK", "FK", "UK"].iter().position(|x| x == k));
                    format!(" {}", m.join(", "))
                })
                .unwrap_or_default();
            let _ = writeln!(out, "        {kind} {column}{keys}");
        }
        let _ = writeln!(out, "    }}");
    }
    Ok(out)
}

/// A Mermaid attribute type (one word) for an SQL type.
fn mermaid_type(sql: &str) -> String {
    match sql {
        "timestamp with time zone" => "timestamptz".to_string(),
        "character varying" => "varchar".to_string(),
        other => other.replace(' ', "_"),
    }
}

//! A view for people: per resource kind, one row per object with its
//! condition status, like `kubectl get`. `--wide` adds every condition and the
//! full message, then one table per metric with all its labels.
//!
//! Objects are told apart by their `cluster`, `namespace` and `name` labels;
//! conditions come from metrics that carry both a `type` and a `status` label.

use std::collections::HashMap;
use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use comfy_table::{ContentArrangement, Table, presets};

use crate::model::{Family, MetricSet, Sample};

/// How the table is laid out.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    pub wide: bool,
    /// Fit the terminal's width (stdout is a terminal).
    pub fit_terminal: bool,
    /// A fixed width to fit instead.
    pub width: Option<u16>,
    /// Seconds since the epoch, for the AGE column; now when `None`.
    pub now: Option<i64>,
}

/// Condition types that say whether an object is healthy, most telling first.
const HEALTH_TYPES: &[&str] = &["Ready", "Succeeded", "ReconcileSucceeded", "Healthy"];
const MESSAGE_WIDTH: usize = 60;
const MIN_MESSAGE: usize = 10;

/// One object as the tables see it.
#[derive(Default)]
pub(super) struct Row {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    created: Option<String>,
    /// (type, status, reason, message), first seen first, one per type.
    pub conditions: Vec<[String; 4]>,
    samples: u64,
}

pub fn render(set: &MetricSet, opts: &TableOptions, out: &mut dyn Write) -> io::Result<()> {
    let now = opts.now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    });
    let multi_cluster = set
        .families
        .iter()
        .flat_map(|f| &f.parts)
        .filter_map(|p| p.cluster.as_deref())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        > 1;
    headline(set, out)?;
    for (ri, res) in set.resources.iter().enumerate() {
        if res.objects > 0 {
            resource_table(out, set, ri, opts, now, multi_cluster)?;
        }
    }
    if opts.wide {
        for fam in &set.families {
            metric_table(out, fam)?;
        }
    }
    Ok(())
}

/// `89 objects of 21 kinds, 42 metrics, 277 samples`.
pub(super) fn headline(set: &MetricSet, out: &mut dyn Write) -> io::Result<()> {
    let objects: u64 = set.resources.iter().map(|r| r.objects).sum();
    writeln!(
        out,
        "{} of {}, {}, {}",
        count(objects, "object"),
        count(
            set.resources.iter().filter(|r| r.objects > 0).count() as u64,
            "kind"
        ),
        count(set.families.len() as u64, "metric"),
        count(set.sample_count(), "sample")
    )
}

/// The objects of config resource `ri`, one row each.
fn resource_table(
    out: &mut dyn Write,
    set: &MetricSet,
    ri: usize,
    opts: &TableOptions,
    now: i64,
    multi_cluster: bool,
) -> io::Result<()> {
    let res = &set.resources[ri];
    let rows = object_rows(set, ri)?;
    let group = if res.group.is_empty() {
        "core"
    } else {
        &res.group
    };
    writeln!(
        out,
        "\n{} ({}): {}",
        cell(&res.kind),
        cell(group),
        count(res.objects, "object")
    )?;
    if rows.is_empty() {
        return writeln!(out, "  no samples");
    }
    let cols = Columns {
        cluster: multi_cluster,
        conditions: rows.iter().any(|r| !r.conditions.is_empty()),
        wide: opts.wide,
    };
    let header = cols.header();
    let mut lines: Vec<Vec<String>> = rows.iter().map(|r| cols.cells(r, now)).collect();
    if cols.conditions && !opts.wide {
        fit_last_column(&header, &mut lines, target_width(opts));
    }
    let mut t = new_table();
    t.set_header(header);
    t.add_rows(lines);
    write_table(out, &mut t)
}

/// Which columns a resource's table has.
struct Columns {
    /// CLUSTER: several clusters were read.
    cluster: bool,
    /// READY, REASON and MESSAGE (and CONDITIONS with `wide`): some object has conditions.
    conditions: bool,
    wide: bool,
}

impl Columns {
    fn header(&self) -> Vec<&'static str> {
        let mut header = Vec::new();
        if self.cluster {
            header.push("CLUSTER");
        }
        header.extend(["NAMESPACE", "NAME"]);
        if self.conditions {
            header.extend(["READY", "REASON"]);
        }
        header.extend(["AGE", "SAMPLES"]);
        if self.conditions {
            if self.wide {
                header.push("CONDITIONS");
            }
            header.push("MESSAGE");
        }
        header
    }

    /// The cells of one object's row, in [`Columns::header`]'s order.
    fn cells(&self, r: &Row, now: i64) -> Vec<String> {
        let mut cells: Vec<String> = Vec::new();
        if self.cluster {
            cells.push(cell(&r.cluster));
        }
        cells.push(or_dash(&r.namespace));
        cells.push(or_dash(&r.name));
        let health = HEALTH_TYPES
            .iter()
            .find_map(|t| r.conditions.iter().find(|c| c[0] == *t))
            .or_else(|| r.conditions.first());
        if self.conditions {
            cells.push(health.map_or("-".into(), |c| cell(&c[1])));
            cells.push(health.map_or(String::new(), |c| cell(&c[2])));
        }
        cells.push(
            r.created
                .as_deref()
                .and_then(crate::shared::time::parse_rfc3339)
                .map_or("-".into(), |t| human_age(now - t)),
        );
        cells.push(r.samples.to_string());
        if self.conditions {
            if self.wide {
                let all: Vec<String> = r
                    .conditions
                    .iter()
                    .map(|c| format!("{}={}", cell(&c[0]), cell(&c[1])))
                    .collect();
                cells.push(all.join(" "));
            }
            // A message's line breaks are prose: they read as spaces.
            cells.push(health.map_or(String::new(), |c| cell(&c[3].replace('\n', " "))));
        }
        cells
    }
}

/// `--wide`: one table per metric with all its labels but KSM's forced ones.
fn metric_table(out: &mut dyn Write, fam: &Family) -> io::Result<()> {
    let names: Vec<String> = fam
        .label_names()
        .into_iter()
        .filter(|n| !n.starts_with("customresource_"))
        .collect();
    writeln!(
        out,
        "\n{} ({}): {} samples",
        fam.name,
        fam.metric_type.as_str(),
        fam.len()
    )?;
    if fam.is_empty() {
        return Ok(());
    }
    let mut t = new_table();
    let mut header: Vec<String> = names.iter().map(|n| n.to_uppercase()).collect();
    header.push("VALUE".into());
    t.set_header(header);
    fam.for_each_sample(|_, s| {
        let mut cells: Vec<String> = names
            .iter()
            .map(|n| cell(s.label(n).unwrap_or("")))
            .collect();
        cells.push(crate::shared::float::format_value(s.value));
        t.add_row(cells);
        Ok(())
    })?;
    write_table(out, &mut t)
}

/// One row per object of config resource `ri`, told apart by the `cluster`,
/// `namespace` and `name` labels, in first-seen order.
pub(super) fn object_rows(set: &MetricSet, ri: usize) -> io::Result<Vec<Row>> {
    let mut rows: Vec<Row> = Vec::new();
    let mut index: HashMap<(String, String, String), usize> = HashMap::new();
    for fam in &set.families {
        fam.for_each_sample(|part, s| {
            if part.resource != ri {
                return Ok(());
            }
            let key = (
                part.cluster.clone().unwrap_or_default(),
                s.label("namespace").unwrap_or("").to_string(),
                s.label("name").unwrap_or("").to_string(),
            );
            let i = *index.entry(key.clone()).or_insert_with(|| {
                rows.push(Row {
                    cluster: key.0,
                    namespace: key.1,
                    name: key.2,
                    ..Row::default()
                });
                rows.len() - 1
            });
            add_sample(&mut rows[i], &s);
            Ok(())
        })?;
    }
    Ok(rows)
}

pub(super) fn new_table() -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    // Rows stay one line each, as kubectl prints them; MESSAGE is cut instead.
    t.set_content_arrangement(ContentArrangement::Disabled);
    t
}

/// The width to fit: the one given, or the terminal's.
pub(super) fn target_width(opts: &TableOptions) -> Option<usize> {
    opts.width
        .or_else(|| {
            if opts.fit_terminal {
                Table::new().width()
            } else {
                None
            }
        })
        .map(usize::from)
}

/// Cuts the last column so that rows fit `width` (at least [`MIN_MESSAGE`]
/// characters are kept); without a width, to [`MESSAGE_WIDTH`].
pub(super) fn fit_last_column(header: &[&str], rows: &mut [Vec<String>], width: Option<usize>) {
    let Some(last) = header.len().checked_sub(1) else {
        return;
    };
    let room = match width {
        Some(w) => {
            let used: usize = (0..last)
                .map(|c| {
                    rows.iter()
                        .map(|r| r[c].chars().count())
                        .chain([header[c].len()])
                        .max()
                        .unwrap_or(0)
                        + 3
                })
                .sum();
            w.saturating_sub(used).max(MIN_MESSAGE)
        }
        None => MESSAGE_WIDTH,
    };
    for r in rows {
        r[last] = truncate(&r[last], room);
    }
}
/// kubectl's look: no borders, columns three spaces apart, no trailing blanks.
pub(super) fn write_table(out: &mut dyn Write, t: &mut Table) -> io::Result<()> {
    for c in t.column_iter_mut() {
        c.set_padding((0, 3));
    }
    for line in t.to_string().lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

pub(super) fn count(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn add_sample(row: &mut Row, s: &Sample) {
    row.samples += 1;
    if row.created.is_none()
        && let Some(c) = s.label("created_at")
    {
        row.created = Some(c.to_string());
    }
    if let (Some(ty), Some(status)) = (s.label("type"), s.label("status"))
        && !row.conditions.iter().any(|c| c[0] == ty)
    {
        row.conditions.push([
            ty.to_string(),
            status.to_string(),
            s.label("reason").unwrap_or("").to_string(),
            s.label("message").unwrap_or("").to_string(),
        ]);
    }
}

pub(super) fn or_dash(s: &str) -> String {
    if s.is_empty() { "-".into() } else { cell(s) }
}

/// Text from objects, control characters made visible: a row stays one line
/// and nothing reaches the terminal raw.
pub(super) fn cell(s: &str) -> String {
    crate::shared::text::visible(s).into_owned()
}

pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}

/// Ages as kubectl prints them: `45s`, `12m`, `5h`, `3d`, `2y`.
fn human_age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..120 => format!("{s}s"),
        120..10_800 => format!("{}m", s / 60),
        10_800..172_800 => format!("{}h", s / 3600),
        172_800..63_072_000 => format!("{}d", s / 86_400),
        _ => format!("{}y", s / 31_536_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_column_is_cut_to_the_room_left() {
        let header = ["NAME", "MESSAGE"];
        let long = "m".repeat(100);
        let mut rows = vec![
            vec!["abcdef".to_string(), long.clone()],
            vec!["a".to_string(), "short".to_string()],
        ];
        fit_last_column(&header, &mut rows, Some(40));
        // NAME takes 6 + 3 columns; 31 are left for the message.
        assert_eq!(rows[0][1].chars().count(), 31);
        assert!(rows[0][1].ends_with('…'));
        assert_eq!(rows[1][1], "short");
        let mut rows = vec![vec!["x".repeat(50), long.clone()]];
        fit_last_column(&header, &mut rows, Some(40));
        assert_eq!(rows[0][1].chars().count(), MIN_MESSAGE);
        let mut rows = vec![vec!["x".to_string(), long]];
        fit_last_column(&header, &mut rows, None);
        assert_eq!(rows[0][1].chars().count(), MESSAGE_WIDTH);
    }

    #[test]
    fn ages_and_truncation() {
        assert_eq!(human_age(5), "5s");
        assert_eq!(human_age(600), "10m");
        assert_eq!(human_age(4 * 3600), "4h");
        assert_eq!(human_age(3 * 86_400), "3d");
        assert_eq!(human_age(-3), "0s");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}

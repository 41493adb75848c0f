//! One screen for a person at 3 a.m.: per kind, how many objects are ready,
//! not ready or unknown; the not-ready ones with their reason; and, with the
//! TAP config, buildpack usage, CVE totals and workloads in live update or
//! debug mode. Fits 100 columns and needs no colour.
//!
//! Readiness is read from the condition labels (`type`, `status`) the way the
//! dashboards' PromQL reads them, so the counts agree with them: a `Ready`,
//! `Succeeded`, `ReconcileSucceeded` or `Healthy` condition that is `True` is
//! ready, `False` is not ready; a `ReconcileFailed` or `DeleteFailed`
//! condition that is `True` (how kapp-controller reports failures) is not
//! ready; anything else is unknown. Objects without conditions have no status.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use super::table::{
    Row, TableOptions, cell, count, fit_last_column, headline, new_table, object_rows, or_dash,
    target_width, truncate, write_table,
};
use crate::model::MetricSet;

/// Condition types whose `True` means healthy, most telling first.
const HEALTHY_WHEN_TRUE: &[&str] = &["Ready", "Succeeded", "ReconcileSucceeded", "Healthy"];
/// Condition types whose `True` means failed.
const FAILED_WHEN_TRUE: &[&str] = &["ReconcileFailed", "DeleteFailed"];
/// The widest the summary gets, even on a wider terminal.
const MAX_WIDTH: usize = 100;
/// Not-ready objects listed before "and N more".
const LISTED: usize = 10;
/// Buildpacks listed before "and N more".
const TOP_BUILDPACKS: usize = 5;
/// Workload names listed on one line before "and N more".
const TOP: usize = 10;

/// An object's state, as the summary counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    NotReady,
    Unknown,
    Ready,
    /// No condition at all.
    NoStatus,
}

/// The condition that decides `conditions`' health, and that health.
/// `conditions` are `[type, status, reason, message]`.
pub fn health(conditions: &[[String; 4]]) -> (Health, Option<&[String; 4]>) {
    let decisive = HEALTHY_WHEN_TRUE
        .iter()
        .chain(FAILED_WHEN_TRUE)
        .find_map(|t| conditions.iter().find(|c| c[0] == *t));
    let Some(c) = decisive.or_else(|| conditions.first()) else {
        return (Health::NoStatus, None);
    };
    let failure_type = FAILED_WHEN_TRUE.contains(&c[0].as_str());
    let health = match (HEALTHY_WHEN_TRUE.contains(&c[0].as_str()), failure_type) {
        (true, _) if c[1] == "True" => Health::Ready,
        (true, _) if c[1] == "False" => Health::NotReady,
        (_, true) if c[1] == "True" => Health::NotReady,
        _ => Health::Unknown,
    };
    (health, Some(c))
}

/// Writes the summary of `set`.
pub fn render(set: &MetricSet, opts: &TableOptions, out: &mut dyn Write) -> io::Result<()> {
    let width = target_width(opts).map_or(MAX_WIDTH, |w| w.min(MAX_WIDTH));
    headline(set, out)?;

    let mut kinds = Vec::new();
    let mut attention: Vec<(Health, String, Row)> = Vec::new();
    // A kind is named by its group only where two resources share the kind.
    let shared_kinds: BTreeSet<&str> = set
        .resources
        .iter()
        .enumerate()
        .filter(|(i, r)| set.resources[..*i].iter().any(|o| o.kind == r.kind))
        .map(|(_, r)| r.kind.as_str())
        .collect();
    for (ri, res) in set.resources.iter().enumerate() {
        if res.objects == 0 {
            continue;
        }
        let mut tally = [0u64; 3];
        let kind_name = res.kind.clone();
        for row in object_rows(set, ri)? {
            let (h, _) = health(&row.conditions);
            match h {
                Health::Ready => tally[0] += 1,
                Health::NotReady => tally[1] += 1,
                Health::Unknown => tally[2] += 1,
                Health::NoStatus => continue,
            }
            if h != Health::Ready {
                attention.push((h, kind_name.clone(), row));
            }
        }
        let kind = if shared_kinds.contains(res.kind.as_str()) {
            let group = if res.group.is_empty() {
                "core"
            } else {
                &res.group
            };
            format!("{} ({group})", res.kind)
        } else {
            res.kind.clone()
        };
        let no_status = res.objects.saturating_sub(tally.iter().sum());
        kinds.push(vec![
            truncate(&cell(&kind), 48),
            res.objects.to_string(),
            tally[0].to_string(),
            tally[1].to_string(),
            tally[2].to_string(),
            no_status.to_string(),
        ]);
    }
    if kinds.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    let mut t = new_table();
    t.set_header([
        "KIND",
        "OBJECTS",
        "READY",
        "NOT READY",
        "UNKNOWN",
        "NO STATUS",
    ]);
    t.add_rows(kinds);
    for c in 1..6 {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    write_table(out, &mut t)?;

    attention_list(out, attention, width)?;
    buildpacks(out, set)?;
    cves(out, set)?;
    workload_modes(out, set)?;
    Ok(())
}

/// Not-ready objects first, then unknown ones, each with its condition and
/// reason (messages are long; `-o table` shows them).
fn attention_list(
    out: &mut dyn Write,
    mut objects: Vec<(Health, String, Row)>,
    width: usize,
) -> io::Result<()> {
    if objects.is_empty() {
        return Ok(());
    }
    // Stable: within a state, config order then list order.
    objects.sort_by_key(|(h, _, _)| *h);
    let not_ready = objects
        .iter()
        .filter(|(h, _, _)| *h == Health::NotReady)
        .count();
    let unknown = objects.len() - not_ready;
    writeln!(
        out,
        "\nNeeds attention: {not_ready} not ready, {unknown} unknown{}",
        if objects.len() > LISTED {
            format!(" (the first {LISTED})")
        } else {
            String::new()
        }
    )?;
    let multi_cluster = objects
        .iter()
        .map(|(_, _, r)| &r.cluster)
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    let mut header = vec!["KIND"];
    if multi_cluster {
        header.push("CLUSTER");
    }
    header.extend(["NAMESPACE", "NAME", "CONDITION", "REASON"]);
    let mut lines = Vec::new();
    for (_, kind, row) in objects.iter().take(LISTED) {
        let (_, Some(c)) = health(&row.conditions) else {
            continue;
        };
        let mut cells = vec![truncate(&cell(kind), 24)];
        if multi_cluster {
            cells.push(truncate(&cell(&row.cluster), 20));
        }
        cells.extend([
            truncate(&or_dash(&row.namespace), 20),
            truncate(&or_dash(&row.name), 32),
            truncate(&cell(&format!("{}={}", c[0], c[1])), 24),
            or_dash(&c[2]),
        ]);
        lines.push(cells);
    }
    fit_last_column(&header, &mut lines, Some(width));
    let mut t = new_table();
    t.set_header(header);
    t.add_rows(lines);
    write_table(out, &mut t)?;
    if objects.len() > LISTED {
        writeln!(out, "and {} more", objects.len() - LISTED)?;
    }
    Ok(())
}

/// A sample as the summary reads it: its labels, and the cluster it came from.
struct Labeled {
    labels: BTreeMap<String, String>,
    cluster: Option<String>,
}

impl Labeled {
    fn get(&self, name: &str) -> Option<&String> {
        self.labels.get(name)
    }
}

/// Samples of the family `name`; empty when the config has no such family.
fn samples_of(set: &MetricSet, name: &str) -> io::Result<Vec<Labeled>> {
    let mut all = Vec::new();
    for fam in set.families.iter().filter(|f| f.name == name) {
        fam.for_each_sample(|part, s| {
            all.push(Labeled {
                labels: s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                cluster: part.cluster.clone(),
            });
            Ok(())
        })?;
    }
    Ok(all)
}

/// How many workloads use each buildpack version, as the TAP query
/// `count by (id) (count by (id, workload) (kpack_build_involved_buildpacks))`
/// counts them, per version.
fn buildpacks(out: &mut dyn Write, set: &MetricSet) -> io::Result<()> {
    let mut users: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for s in samples_of(set, "kpack_build_involved_buildpacks")? {
        let get = |k: &str| s.get(k).cloned().unwrap_or_default();
        users
            .entry((get("id"), get("version")))
            .or_default()
            .insert(get("workload"));
    }
    if users.is_empty() {
        return Ok(());
    }
    let mut by_use: Vec<_> = users.into_iter().collect();
    by_use.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    writeln!(out, "\nBuildpacks, by workloads using them:")?;
    let mut t = new_table();
    t.set_header(["BUILDPACK", "VERSION", "WORKLOADS"]);
    for ((id, version), workloads) in by_use.iter().take(TOP_BUILDPACKS) {
        t.add_row(vec![
            truncate(&or_dash(id), 60),
            truncate(&or_dash(version), 20),
            workloads.len().to_string(),
        ]);
    }
    write_table(out, &mut t)?;
    if by_use.len() > TOP_BUILDPACKS {
        writeln!(out, "and {} more", by_use.len() - TOP_BUILDPACKS)?;
    }
    Ok(())
}

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "unknown"];

/// CVE counts of the scans, summed by severity.
fn cves(out: &mut dyn Write, set: &MetricSet) -> io::Result<()> {
    let mut lines = Vec::new();
    for (family, what) in [
        ("scst_image_scan_info", "image scan"),
        ("scst_source_scan_info", "source scan"),
    ] {
        let scans = samples_of(set, family)?;
        if scans.is_empty() {
            continue;
        }
        let mut totals = [0u64; 5];
        for s in &scans {
            for (i, sev) in SEVERITIES.iter().enumerate() {
                let n = s
                    .get(&format!("{sev}_cve_count"))
                    .and_then(|v| v.parse::<u64>().ok());
                totals[i] += n.unwrap_or(0);
            }
        }
        let by_sev: Vec<String> = SEVERITIES
            .iter()
            .zip(totals)
            .map(|(sev, n)| format!("{sev} {n}"))
            .collect();
        lines.push(format!(
            "  {}: {}",
            count(scans.len() as u64, what),
            by_sev.join(", ")
        ));
    }
    if !lines.is_empty() {
        writeln!(out, "\nCVEs found by the latest scans:")?;
        for l in lines {
            writeln!(out, "{l}")?;
        }
    }
    Ok(())
}

/// Workloads with live update or remote debugging turned on.
fn workload_modes(out: &mut dyn Write, set: &MetricSet) -> io::Result<()> {
    let workloads = samples_of(set, "cartographer_workload_info")?;
    // Whatever --cluster-label calls it, a cluster is named when there are several.
    let multi_cluster = set
        .families
        .iter()
        .flat_map(|f| &f.parts)
        .filter_map(|p| p.cluster.as_deref())
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    for (label, what) in [
        ("live_update_enabled", "live update"),
        ("debug_enabled", "debugging"),
    ] {
        let names: Vec<String> = workloads
            .iter()
            .filter(|s| s.get(label).is_some_and(|v| v == "true"))
            .map(|s| {
                let get = |k: &str| s.get(k).map_or("", String::as_str);
                let at = match (&s.cluster, multi_cluster) {
                    (Some(c), true) => format!("{c}:"),
                    _ => String::new(),
                };
                cell(&format!("{at}{}/{}", get("namespace"), get("name")))
            })
            .collect();
        if names.is_empty() {
            continue;
        }
        let mut line = format!(
            "Workloads with {what} ({}): {}",
            names.len(),
            names
                .iter()
                .take(TOP)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        if names.len() > TOP {
            line.push_str(&format!(" and {} more", names.len() - TOP));
        }
        writeln!(out, "\n{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(t: &str, s: &str) -> [String; 4] {
        [t.into(), s.into(), String::new(), String::new()]
    }

    #[test]
    fn health_reads_conditions_as_the_dashboards_do() {
        assert_eq!(health(&[]).0, Health::NoStatus);
        assert_eq!(health(&[c("Ready", "True")]).0, Health::Ready);
        assert_eq!(health(&[c("Ready", "False")]).0, Health::NotReady);
        assert_eq!(health(&[c("Ready", "Unknown")]).0, Health::Unknown);
        // The telling condition wins over the first one.
        let both = [c("SupplyChainReady", "True"), c("Ready", "False")];
        let h = health(&both);
        assert_eq!(h.0, Health::NotReady);
        assert_eq!(h.1.unwrap()[0], "Ready");
        // kapp-controller reports failure as ReconcileFailed=True.
        assert_eq!(health(&[c("ReconcileFailed", "True")]).0, Health::NotReady);
        assert_eq!(health(&[c("Reconciling", "True")]).0, Health::Unknown);
        assert_eq!(health(&[c("Succeeded", "True")]).0, Health::Ready);
    }
}

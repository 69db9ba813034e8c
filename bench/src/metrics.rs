//! The Temporal server's own counters (its Prometheus endpoint): how many database operations
//! a unit of work costs the server, an exact profile where CPU time on a shared machine is not.

use std::collections::BTreeMap;

/// Counters worth a profile: the server's database operations, by kind.
const COUNTERS: [&str; 2] = ["persistence_requests", "visibility_persistence_requests"];

/// Reads the counters, summed by `metric/operation` across services and namespaces.
pub async fn scrape(url: &str) -> anyhow::Result<BTreeMap<String, f64>> {
    let text = reqwest::get(url).await?.text().await?;
    Ok(parse(&text))
}

fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, rest)) = line.split_once('{') else {
            continue;
        };
        if !COUNTERS.contains(&name) {
            continue;
        }
        let Some((labels, value)) = rest.rsplit_once('}') else {
            continue;
        };
        let operation = labels
            .split(',')
            .find_map(|l| l.strip_prefix("operation=\""))
            .map(|o| o.trim_end_matches('"'))
            .unwrap_or("?");
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        *out.entry(format!("{name}/{operation}")).or_insert(0.0) += value;
    }
    out
}

/// `after - before`, per counter, divided by `units`.
pub fn per_unit(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
    units: usize,
) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                (v - before.get(k).copied().unwrap_or(0.0)) / units as f64,
            )
        })
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_counters_by_operation() {
        let text = "# HELP x\n\
            persistence_requests{namespace=\"default\",operation=\"UpdateWorkflowExecution\",service_name=\"history\"} 3\n\
            persistence_requests{namespace=\"x\",operation=\"UpdateWorkflowExecution\",service_name=\"matching\"} 2\n\
            persistence_latency_count{operation=\"UpdateWorkflowExecution\"} 9\n";
        let m = parse(text);
        assert_eq!(m.len(), 1);
        assert_eq!(m["persistence_requests/UpdateWorkflowExecution"], 5.0);
    }
}

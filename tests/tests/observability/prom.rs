//! Just enough of the Prometheus text format to assert on samples.

use std::collections::BTreeMap;

pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

pub type Page = Vec<Sample>;

/// The samples of a `/metrics` page (comment lines skipped).
pub fn parse(text: &str) -> Page {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, labels(rest.strip_suffix('}')?)),
                None => (series, BTreeMap::new()),
            };
            Some(Sample {
                name: name.to_string(),
                labels,
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// `k="v",k2="v2"` (values without escaped quotes or commas, as orderflow's are).
fn labels(text: &str) -> BTreeMap<String, String> {
    text.split("\",")
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k.to_string(), v.trim_matches('"').to_string()))
        })
        .collect()
}

/// The sum of the samples named `name` whose labels include `want`; `None` if none match.
pub fn sample(page: &Page, name: &str, want: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = page
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            want.iter()
                .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
        })
        .map(|s| s.value)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

/// The metric family of a sample: its name without a histogram's suffix.
pub fn family(sample: &Sample) -> String {
    let name = sample.name.as_str();
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name)
        .to_string()
}

/// The `orderflow_…` and `temporal_…` metric names a query text mentions, histogram
/// suffixes removed.
pub fn metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for prefix in ["orderflow_", "temporal_"] {
        let mut rest = text;
        while let Some(at) = rest.find(prefix) {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            let name = &tail[..end];
            let name = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            names.push(name.to_string());
            rest = &tail[end..];
        }
    }
    names.sort();
    names.dedup();
    names
}

//! Minimal SVG line charts, so the plots in `docs/` come straight from a benchmark run with no
//! plotting toolchain.

use std::fmt::Write;

pub struct Series {
    pub name: String,
    pub color: &'static str,
    /// Dashed line (used for baselines).
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

const W: f64 = 640.0;
const H: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

/// A "nice" tick step (1, 2 or 5 × 10^k) giving about `count` ticks up to `max`.
fn tick_step(max: f64, count: f64) -> f64 {
    let raw = (max / count).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    let norm = raw / magnitude;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

fn label(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A line chart with a log2 x axis (concurrency levels) and a linear y axis from 0.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let (x_min, x_max) = xs
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
    let y_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0f64, f64::max)
        * 1.1;
    let y_step = tick_step(y_max.max(1e-9), 6.0);
    let y_top = (y_max / y_step).ceil().max(1.0) * y_step;
    let (lx0, lx1) = (x_min.max(1e-9).log2(), x_max.max(1e-9).log2());
    let span = if lx1 > lx0 { lx1 - lx0 } else { 1.0 };
    let px = |x: f64| LEFT + (x.max(1e-9).log2() - lx0) / span * (W - LEFT - RIGHT);
    let py = |y: f64| TOP + (1.0 - y / y_top) * (H - TOP - BOTTOM);

    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"##
    );
    let _ = writeln!(out, r##"<rect width="{W}" height="{H}" fill="white"/>"##);
    let _ = writeln!(
        out,
        r##"<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"##,
        W / 2.0,
        escape(title)
    );
    // Grid and y ticks.
    let mut y = 0.0;
    while y <= y_top + y_step / 2.0 {
        let yy = py(y);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            label(y)
        );
        y += y_step;
    }
    // X ticks at the measured levels.
    let mut levels = xs.clone();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    for x in &levels {
        let xx = px(*x);
        let _ = writeln!(
            out,
            r##"<line x1="{xx:.1}" y1="{}" x2="{xx:.1}" y2="{}" stroke="#eee"/><text x="{xx:.1}" y="{}" text-anchor="middle">{}</text>"##,
            TOP,
            H - BOTTOM,
            H - BOTTOM + 16.0,
            label(*x)
        );
    }
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT}" y1="{}" x2="{}" y2="{}" stroke="black"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{}" stroke="black"/>"##,
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    let _ = writeln!(
        out,
        r##"<text x="{}" y="{}" text-anchor="middle">{}</text>"##,
        (LEFT + W - RIGHT) / 2.0,
        H - 12.0,
        escape(x_label)
    );
    let _ = writeln!(
        out,
        r##"<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">{}</text>"##,
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0,
        escape(y_label)
    );
    for (i, s) in series.iter().enumerate() {
        let mut points = s.points.clone();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        let dash = if s.dashed {
            r##" stroke-dasharray="6 4""##
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r##"<polyline fill="none" stroke="{}" stroke-width="2"{dash} points="{}"/>"##,
            s.color,
            path.join(" ")
        );
        for (x, y) in &points {
            let _ = writeln!(
                out,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"/>"##,
                px(*x),
                py(*y),
                s.color
            );
        }
        // Legend, top left inside the plot.
        let ly = TOP + 14.0 + 18.0 * i as f64;
        let _ = writeln!(
            out,
            r##"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"##,
            LEFT + 10.0,
            LEFT + 34.0,
            s.color,
            LEFT + 40.0,
            ly + 4.0,
            escape(&s.name)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks() {
        assert_eq!(tick_step(100.0, 5.0), 20.0);
        assert_eq!(tick_step(7.0, 6.0), 2.0);
        assert_eq!(tick_step(0.3, 6.0), 0.05);
    }

    #[test]
    fn chart_has_a_line_per_series() {
        let svg = line_chart(
            "t",
            "x",
            "y",
            &[
                Series {
                    name: "a".into(),
                    color: "#000",
                    dashed: false,
                    points: vec![(1.0, 1.0), (2.0, 3.0)],
                },
                Series {
                    name: "b".into(),
                    color: "#f00",
                    dashed: true,
                    points: vec![(1.0, 2.0), (2.0, 2.0)],
                },
            ],
        );
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.starts_with("<svg"));
    }
}

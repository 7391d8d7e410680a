//! Figures, their one-line form, their targets, and `report.json`.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::Result;
use crate::machine::Machine;
use crate::measure::Pairs;

/// What a figure is held to (issue 7's table).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// Measured and watched, no target.
    None,
    /// SDK cost / baseline cost at most `max`.
    RatioAtMost {
        /// The largest acceptable ratio.
        max: f64,
    },
    /// As [`Target::RatioAtMost`], and the SDK's value at least `min` (a throughput floor).
    RatioAtMostValueAtLeast {
        /// The largest acceptable ratio.
        max: f64,
        /// The smallest acceptable value, in the figure's unit.
        min: f64,
    },
    /// The SDK's value strictly below `max` (peak memory).
    ValueBelow {
        /// The bound, in the figure's unit.
        max: f64,
    },
    /// The SDK's value exactly `value` (a count).
    Exactly {
        /// The required count.
        value: f64,
    },
}

impl Target {
    /// Whether `figure` meets the target (`None` when there is none).
    fn met(self, value: f64, ratio: f64) -> Option<bool> {
        match self {
            Target::None => None,
            Target::RatioAtMost { max } => Some(ratio <= max),
            Target::RatioAtMostValueAtLeast { max, min } => Some(ratio <= max && value >= min),
            Target::ValueBelow { max } => Some(value < max),
            Target::Exactly { value: want } => Some(value == want),
        }
    }

    fn describe(self, unit: &str) -> String {
        match self {
            Target::None => "no target".into(),
            Target::RatioAtMost { max } => format!("ratio <= {max:.2}"),
            Target::RatioAtMostValueAtLeast { max, min } => {
                format!("ratio <= {max:.2} and >= {} {unit}", num(min))
            }
            Target::ValueBelow { max } => format!("< {} {unit}", num(max)),
            Target::Exactly { value } => format!("exactly {}", num(value)),
        }
    }
}

/// One measured figure: the SDK's value, the baseline's, and their cost ratio.
#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    /// Short name, e.g. `read_call`.
    pub name: String,
    /// The SDK's value.
    pub value: f64,
    /// Unit of `value` and `baseline`.
    pub unit: &'static str,
    /// The baseline's value, measured in the same run.
    pub baseline: f64,
    /// SDK cost / baseline cost: lower is better, 1 is parity.
    pub ratio: f64,
    /// What the figure is held to.
    pub target: Target,
    /// Whether the target is met (`null` without a target, when skipped or failed, and in a
    /// quick run, whose sizes and rounds are not the ones the targets are set for).
    pub met: Option<bool>,
    /// Measured in a quick run: a smoke test of the figure, not a result to hold it to.
    pub quick: bool,
    /// For figures of interleaved rounds, the ratio of the two sides' medians, beside the
    /// median of the per-round ratios in `ratio`: the two differ when the rounds are noisy,
    /// and showing both keeps either from being picked after the fact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_of_medians: Option<f64>,
    /// Whether [`Figure::line`] prints `ratio_of_medians` too.
    #[serde(skip)]
    show_ratio_of_medians: bool,
    /// Why the figure was not measured (skipped or failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// What the figure measured, how, and the raw samples.
    pub detail: Value,
}

impl Figure {
    fn new(
        name: &str,
        unit: &'static str,
        value: f64,
        baseline: f64,
        ratio: f64,
        target: Target,
    ) -> Self {
        Self {
            name: name.to_owned(),
            value,
            unit,
            baseline,
            ratio,
            target,
            met: target.met(value, ratio),
            quick: false,
            ratio_of_medians: None,
            show_ratio_of_medians: false,
            skipped: None,
            detail: Value::Null,
        }
    }

    /// A cost figure (time, memory, count): the ratio is `sdk / baseline`.
    pub fn cost(name: &str, unit: &'static str, sdk: f64, baseline: f64, target: Target) -> Self {
        Self::new(name, unit, sdk, baseline, safe_div(sdk, baseline), target)
    }

    /// A cost figure from interleaved samples (one per round and side): the value and the
    /// baseline are the medians of each side, the ratio is the median of the per-round
    /// ratios (the ratio of the medians is kept beside it, in the report).
    pub fn times(name: &str, unit: &'static str, pairs: &Pairs<f64>, target: Target) -> Self {
        let (sdk, baseline) = pairs.medians(|v| *v);
        let mut figure = Self::new(
            name,
            unit,
            sdk,
            baseline,
            pairs.paired_ratio(|v| *v),
            target,
        );
        figure.ratio_of_medians = Some(safe_div(sdk, baseline));
        figure
    }

    /// A throughput figure from interleaved samples: medians of each side, and the median of
    /// the per-round `baseline / sdk` ratios (the ratio of the medians, `baseline median /
    /// sdk median`, is kept beside it, in the report).
    pub fn rates(name: &str, unit: &'static str, pairs: &Pairs<f64>, target: Target) -> Self {
        let (sdk, baseline) = pairs.medians(|v| *v);
        let ratio = crate::measure::median(
            pairs
                .sdk
                .iter()
                .zip(&pairs.baseline)
                .map(|(s, b)| safe_div(*b, *s)),
        );
        let mut figure = Self::new(name, unit, sdk, baseline, ratio, target);
        figure.ratio_of_medians = Some(safe_div(baseline, sdk));
        figure
    }

    /// A throughput figure against a baseline measured apart from the SDK's rounds (an
    /// external tool, such as `openssl speed`): the ratio is `baseline / sdk`, the cost ratio
    /// of two throughputs.
    pub fn rate_against(
        name: &str,
        unit: &'static str,
        sdk: f64,
        baseline: f64,
        target: Target,
    ) -> Self {
        Self::new(name, unit, sdk, baseline, safe_div(baseline, sdk), target)
    }

    /// Prints the ratio of the medians in the figure's line too (where the two ratios are
    /// the figure's headline and a reader must see both).
    pub fn showing_ratio_of_medians(mut self) -> Self {
        self.show_ratio_of_medians = true;
        self
    }

    /// Marks the figure as measured in a quick run: its line says so, and it gets no
    /// verdict against its target.
    pub fn quick(mut self) -> Self {
        self.quick = true;
        self.met = None;
        self
    }

    /// A figure that was not measured in this mode.
    pub fn skipped(name: &str, unit: &'static str, why: &str) -> Self {
        let mut figure = Self::new(name, unit, f64::NAN, f64::NAN, f64::NAN, Target::None);
        figure.skipped = Some(why.to_owned());
        figure
    }

    /// A figure group that failed to run.
    pub fn failed(name: &str, error: &str) -> Self {
        Self::skipped(name, "", &format!("failed: {error}"))
    }

    /// Attaches the detail.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }

    /// `bench <name>: <value> <unit> (baseline <value>, ratio <sdk/baseline>)`, with
    /// `; ratio of medians <r>` inside the brackets where it is shown, and ` (quick)` after
    /// them in a quick run.
    pub fn line(&self) -> String {
        let quick = if self.quick { " (quick)" } else { "" };
        if let Some(why) = &self.skipped {
            return format!("bench {}: skipped ({why}){quick}", self.name);
        }
        let of_medians = match self.ratio_of_medians {
            Some(r) if self.show_ratio_of_medians => format!("; ratio of medians {r:.2}"),
            _ => String::new(),
        };
        format!(
            "bench {}: {} {} (baseline {}, ratio {:.2}{of_medians}){quick}",
            self.name,
            num(self.value),
            self.unit,
            num(self.baseline),
            self.ratio
        )
    }
}

fn safe_div(a: f64, b: f64) -> f64 {
    if b == 0.0 { f64::NAN } else { a / b }
}

/// Three significant digits or so, without exponent notation; whole numbers stay whole.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let a = v.abs();
    // Whole numbers (counts) and anything from 100 up: no decimals.
    if (v.fract() == 0.0 && a < 1e15) || a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Everything `report.json` holds.
#[derive(Debug, Serialize)]
pub struct Report {
    /// `quick` or `full`.
    pub mode: &'static str,
    /// When the run ended (UTC, RFC 3339).
    pub date: String,
    /// How long the run took, in seconds.
    pub duration_s: f64,
    /// The machine.
    pub machine: Machine,
    /// How to read the ratios.
    pub ratio_meaning: &'static str,
    /// The figures, in the order printed.
    pub figures: Vec<Figure>,
}

impl Report {
    /// A report of this run.
    pub fn new(quick: bool, figures: Vec<Figure>, took: Duration) -> Self {
        Self {
            mode: if quick { "quick" } else { "full" },
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            duration_s: (took.as_secs_f64() * 10.0).round() / 10.0,
            machine: Machine::describe(),
            ratio_meaning: "SDK cost / baseline cost (time over time; for throughputs baseline over SDK): \
                            lower is better, 1.00 is parity. The two sides run in alternating rounds of the same \
                            run; value and baseline are the medians of each side's rounds, and the ratio is the \
                            median of the per-round ratios (each round pairs two runs made back to back, so the \
                            machine's drift cancels within the pair).",
            figures,
        }
    }

    /// One line per figure: its target met, missed, or only watched; in a quick run one line
    /// saying that no figure was judged (its sizes and rounds are too small to hold a
    /// figure to a target).
    pub fn target_summary(&self) -> Vec<String> {
        if self.mode == "quick" {
            return vec![
                "targets: not judged in a quick run (smaller sizes, fewer rounds); run without --quick for verdicts".into(),
            ];
        }
        self.figures
            .iter()
            .filter(|f| f.skipped.is_none())
            .map(|f| {
                let verdict = match f.met {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "watched",
                };
                format!(
                    "target {}: {verdict} ({})",
                    f.name,
                    f.target.describe(f.unit)
                )
            })
            .collect()
    }

    /// Writes the report as pretty JSON, creating the directory.
    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        std::fs::write(path, text)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_the_agreed_shape() {
        let f = Figure::cost(
            "read_call",
            "us",
            71.34,
            68.0,
            Target::RatioAtMost { max: 1.1 },
        );
        assert_eq!(
            f.line(),
            "bench read_call: 71.3 us (baseline 68, ratio 1.05)"
        );
        assert_eq!(f.met, Some(true));
        let pairs = Pairs {
            sdk: vec![2.0, 1.0, 3.0],
            baseline: vec![2.2, 1.0, 3.3],
        };
        let t = Figure::rates(
            "cipher_encrypt",
            "GB/s",
            &pairs,
            Target::RatioAtMost { max: 1.1 },
        );
        assert!((t.ratio - 1.1).abs() < 1e-9);
        assert_eq!((t.value, t.baseline), (2.0, 2.2));
        let r = Figure::cost(
            "renewals",
            "count",
            1.0,
            1.0,
            Target::Exactly { value: 1.0 },
        );
        assert_eq!(r.line(), "bench renewals: 1 count (baseline 1, ratio 1.00)");
        assert_eq!(
            Figure::skipped("cold_build", "s", "full mode only").line(),
            "bench cold_build: skipped (full mode only)"
        );
    }

    #[test]
    fn quick_figures_say_so_and_get_no_verdict() {
        // One target met and one missed in full mode: neither is judged in a quick run.
        let met = Figure::cost("a", "ms", 1.0, 1.0, Target::RatioAtMost { max: 1.1 });
        let missed = Figure::cost("b", "ms", 2.0, 1.0, Target::RatioAtMost { max: 1.1 });
        assert_eq!((met.met, missed.met), (Some(true), Some(false)));
        let full = Report::new(false, vec![met.clone(), missed.clone()], Duration::ZERO);
        assert_eq!(
            full.target_summary(),
            vec![
                "target a: met (ratio <= 1.10)",
                "target b: MISSED (ratio <= 1.10)"
            ]
        );

        let (met, missed) = (met.quick(), missed.quick());
        assert_eq!((met.met, missed.met), (None, None));
        assert_eq!(met.line(), "bench a: 1 ms (baseline 1, ratio 1.00) (quick)");
        assert_eq!(
            Figure::skipped("c", "s", "full mode only").quick().line(),
            "bench c: skipped (full mode only) (quick)"
        );
        let quick = Report::new(true, vec![met, missed], Duration::ZERO);
        assert_eq!(
            quick.target_summary(),
            vec![
                "targets: not judged in a quick run (smaller sizes, fewer rounds); run without --quick for verdicts"
            ]
        );
    }

    #[test]
    fn the_ratio_of_medians_is_kept_beside_the_median_of_ratios() {
        // Per-round baseline/sdk ratios 4, 0.5, 0.5 (median 0.5); medians 2 and 3 (ratio 1.5).
        let pairs = Pairs {
            sdk: vec![1.0, 2.0, 6.0],
            baseline: vec![4.0, 1.0, 3.0],
        };
        let rates = Figure::rates("s", "MiB/s", &pairs, Target::None);
        assert_eq!((rates.ratio, rates.ratio_of_medians), (0.5, Some(1.5)));
        assert_eq!(rates.line(), "bench s: 2 MiB/s (baseline 3, ratio 0.50)");
        assert_eq!(
            rates.showing_ratio_of_medians().line(),
            "bench s: 2 MiB/s (baseline 3, ratio 0.50; ratio of medians 1.50)"
        );
        // Times: per-round sdk/baseline 0.25, 2, 2 (median 2); medians 2 and 3.
        let times = Figure::times("t", "ms", &pairs, Target::None);
        assert_eq!(
            (times.ratio, times.ratio_of_medians),
            (2.0, Some(2.0 / 3.0))
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(num(0.01234), "0.012");
        assert_eq!(num(1.234), "1.23");
        assert_eq!(num(12.34), "12.3");
        assert_eq!(num(1234.4), "1234");
        assert_eq!(num(f64::NAN), "n/a");
        assert_eq!(num(-2.0), "-2");
    }
}

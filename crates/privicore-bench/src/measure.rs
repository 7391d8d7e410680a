//! Interleaved rounds and medians.
//!
//! The machine is shared (other builds run on the same two cores), so its speed drifts during
//! a run. Alternating SDK and baseline rounds exposes both sides to the same drift, flipping
//! the order every round cancels any advantage of going first or second (a warm pool, a
//! cache, a quiet moment), and medians ignore the rounds a burst of outside load spoiled.

use crate::Result;

/// The samples of both sides, one per round, in round order.
#[derive(Clone, Debug)]
pub struct Pairs<T> {
    /// The SDK's samples.
    pub sdk: Vec<T>,
    /// The baseline's samples.
    pub baseline: Vec<T>,
}

impl<T> Pairs<T> {
    /// The median of a quantity of the SDK's samples and of the baseline's.
    pub fn medians(&self, of: impl Fn(&T) -> f64) -> (f64, f64) {
        (
            median(self.sdk.iter().map(&of)),
            median(self.baseline.iter().map(&of)),
        )
    }

    /// The median of the per-round ratios `sdk / baseline` of a quantity. Each round's two
    /// samples ran back to back, so slow drift of the machine cancels within the pair.
    pub fn paired_ratio(&self, of: impl Fn(&T) -> f64) -> f64 {
        median(
            self.sdk
                .iter()
                .zip(&self.baseline)
                .map(|(s, b)| of(s) / of(b)),
        )
    }
}

/// Runs `rounds` rounds of each side, alternating which side goes first.
pub async fn interleave<T>(
    rounds: usize,
    mut sdk: impl AsyncFnMut() -> Result<T>,
    mut baseline: impl AsyncFnMut() -> Result<T>,
) -> Result<Pairs<T>> {
    let mut pairs = Pairs {
        sdk: Vec::with_capacity(rounds),
        baseline: Vec::with_capacity(rounds),
    };
    for round in 0..rounds {
        if round % 2 == 0 {
            pairs.sdk.push(sdk().await?);
            pairs.baseline.push(baseline().await?);
        } else {
            pairs.baseline.push(baseline().await?);
            pairs.sdk.push(sdk().await?);
        }
    }
    Ok(pairs)
}

/// The median (the mean of the two middle values for an even count; 0 for none).
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median([3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median([4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median([]), 0.0);
        assert_eq!(median([f64::NAN, 1.0]), 1.0);
    }

    #[test]
    fn rounds_alternate() {
        let order = std::cell::RefCell::new(Vec::new());
        let run = interleave(
            3,
            async || {
                order.borrow_mut().push('s');
                Ok(1.0)
            },
            async || {
                order.borrow_mut().push('b');
                Ok(2.0)
            },
        );
        let pairs = futures::executor::block_on(run).expect("no errors");
        assert_eq!(order.into_inner(), vec!['s', 'b', 'b', 's', 's', 'b']);
        assert_eq!(pairs.medians(|v| *v), (1.0, 2.0));
    }
}

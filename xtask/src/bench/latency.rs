//! Latency histogram: a fixed array of log-linear buckets, so a million
//! deliveries cost a few kilobytes instead of a million stored samples, and
//! per-thread histograms merge by adding counts.
//!
//! Values below [`SUB`] nanoseconds get a bucket each; above that, every power
//! of two is cut into `SUB / 2` equal buckets, so a reported quantile is within
//! `2 / SUB` (about 3 %) of the true value. The maximum is kept exactly.

use std::time::Duration;

/// log2 of the number of linear buckets at the start.
const SUB_BITS: u32 = 6;
/// Values below this get one bucket each.
const SUB: u64 = 1 << SUB_BITS;
/// Buckets per power of two above `SUB`.
const HALF: u64 = SUB / 2;
/// Enough buckets for any `u64`.
const BUCKETS: usize = bucket_of(u64::MAX) + 1;

/// Which bucket holds `nanos`.
const fn bucket_of(nanos: u64) -> usize {
    if nanos < SUB {
        return nanos as usize;
    }
    let msb = 63 - nanos.leading_zeros();
    // Keep the top SUB_BITS bits: `mantissa` lies in [HALF, SUB).
    let shift = msb + 1 - SUB_BITS;
    let mantissa = nanos >> shift;
    (shift as u64 * HALF + mantissa) as usize
}

/// The smallest value in `bucket` and the bucket's width.
fn bounds_of(bucket: usize) -> (u64, u64) {
    let bucket = bucket as u64;
    if bucket < SUB {
        return (bucket, 1);
    }
    let shift = bucket / HALF - 1;
    let mantissa = bucket - shift * HALF;
    (mantissa << shift, 1 << shift)
}

/// Counts of delivery latencies.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            max: 0,
        }
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.total)
            .field("p50", &self.quantile(0.5))
            .field("max", &self.max())
            .finish()
    }
}

impl Histogram {
    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.counts[bucket_of(nanos)] += 1;
        self.total += 1;
        self.max = self.max.max(nanos);
    }

    /// Adds every count of `other` to this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// How many latencies were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest latency recorded, exactly (zero when empty).
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max)
    }

    /// The latency below which a fraction `q` (0..=1) of the samples lie:
    /// the middle of the bucket that holds it, never above the maximum.
    /// `None` when nothing was recorded.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.total == 0 {
            return None;
        }
        // The rank of the sample we want, 1-based: p50 of 4 samples is the 2nd.
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let (low, width) = bounds_of(bucket);
                let middle = low + (width - 1) / 2;
                return Some(Duration::from_nanos(middle.min(self.max)));
            }
        }
        Some(self.max())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_ordered() {
        let mut previous = 0;
        for v in (0..100_000u64).chain([u64::MAX / 3, u64::MAX - 1, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= previous, "bucket of {v} went backwards");
            assert!(b <= previous + 1 || v > 100_000, "bucket skipped at {v}");
            let (low, width) = bounds_of(b);
            assert!(low <= v && v - low < width, "{v} not inside bucket {b}");
            previous = b;
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_are_within_the_promised_precision() {
        let mut h = Histogram::default();
        for micros in 1..=1000u64 {
            h.record(Duration::from_micros(micros));
        }
        assert_eq!(h.count(), 1000);
        let close = |got: Duration, want_micros: f64| {
            let got = got.as_nanos() as f64 / 1000.0;
            assert!(
                (got - want_micros).abs() <= want_micros * 0.035,
                "got {got} µs, want {want_micros} µs"
            );
        };
        close(h.quantile(0.5).unwrap(), 500.0);
        close(h.quantile(0.99).unwrap(), 990.0);
        assert_eq!(h.max(), Duration::from_micros(1000));
        assert!(h.quantile(1.0).unwrap() <= h.max());
    }

    #[test]
    fn small_values_are_exact_and_empty_has_no_quantile() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile(0.5), None);
        for n in [3, 5, 7] {
            h.record(Duration::from_nanos(n));
        }
        assert_eq!(h.quantile(0.5), Some(Duration::from_nanos(5)));
        assert_eq!(h.quantile(0.0), Some(Duration::from_nanos(3)));
    }

    #[test]
    fn merging_adds_counts_and_keeps_the_larger_max() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        a.record(Duration::from_millis(1));
        b.record(Duration::from_millis(9));
        b.record(Duration::from_millis(2));
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.max(), Duration::from_millis(9));
        let p50 = a.quantile(0.5).unwrap();
        assert!(p50 >= Duration::from_micros(1900) && p50 <= Duration::from_micros(2100));
    }
}

//! BUGGIFY-style fault points (FoundationDB's idea): places in the core where a rare
//! but legitimate timing or error path can be forced, so that the simulator explores
//! it far more often than production ever would.
//!
//! Each point is switched on per seed with some probability (so one seed stresses a
//! few points hard and leaves the others alone) and then fires with some probability
//! each time it is reached, all from a generator seeded by the simulator. A point
//! never does anything a correct peer, disk or clock could not do; the checkers must
//! hold with any of them on.
//!
//! Compiled only with the `sim-knobs` feature: the production binary has
//! [`Buggify::fires`] as a constant `false` and no generator.

#[cfg(feature = "sim-knobs")]
use rand::{Rng, SeedableRng};
#[cfg(feature = "sim-knobs")]
use rand_chacha::ChaCha8Rng;

/// The fault points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Point {
    /// A leader answers a follower's fetch with no records although it has some
    /// (as if they had not been written yet).
    ReplicaFetchEmpty,
    /// A follower's request is not sent (as if the network lost it); the follower
    /// resends after its timeout.
    ReplicaRequestLost,
    /// A group commit is skipped this round: the sync waits for the next flush tick
    /// (a slow disk queue).
    SyncDeferred,
    /// The Raft timer fires one tick early (a timer that runs fast).
    RaftTickEarly,
    /// A leader judges followers against a lag time ten times shorter (ISR churn).
    IsrLagShort,
}

impl Point {
    pub const ALL: [Point; 5] =
        [Point::ReplicaFetchEmpty, Point::ReplicaRequestLost, Point::SyncDeferred, Point::RaftTickEarly, Point::IsrLagShort];
}

/// Probability that a point is on for a seed.
#[cfg(feature = "sim-knobs")]
const ENABLED_PROBABILITY: f64 = 0.3;
/// Probability that an enabled point fires when reached.
#[cfg(feature = "sim-knobs")]
const FIRE_PROBABILITY: f64 = 0.05;

/// The fault points of one broker.
#[derive(Debug, Default)]
pub struct Buggify {
    #[cfg(feature = "sim-knobs")]
    state: Option<(Vec<Point>, ChaCha8Rng)>,
}

impl Buggify {
    /// Points drawn from `seed` (`None`: all off).
    #[cfg(feature = "sim-knobs")]
    pub fn new(seed: Option<u64>) -> Buggify {
        let state = seed.map(|seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let enabled = Point::ALL.into_iter().filter(|_| rng.gen_bool(ENABLED_PROBABILITY)).collect();
            (enabled, rng)
        });
        Buggify { state }
    }

    /// Whether `point` fires now.
    #[cfg(feature = "sim-knobs")]
    pub fn fires(&mut self, point: Point) -> bool {
        match &mut self.state {
            Some((enabled, rng)) if enabled.contains(&point) => rng.gen_bool(FIRE_PROBABILITY),
            _ => false,
        }
    }

    /// Production: never.
    #[cfg(not(feature = "sim-knobs"))]
    #[inline(always)]
    pub fn fires(&mut self, _point: Point) -> bool {
        false
    }

    /// The points on for this seed.
    #[cfg(feature = "sim-knobs")]
    pub fn enabled(&self) -> &[Point] {
        self.state.as_ref().map_or(&[], |(e, _)| e)
    }
}

#[cfg(all(test, feature = "sim-knobs"))]
mod tests {
    use super::*;

    /// Off without a seed; with seeds, some points on and some off, firing sometimes,
    /// the same way for the same seed.
    #[test]
    fn points_are_seeded() {
        let mut off = Buggify::new(None);
        assert!(Point::ALL.iter().all(|p| !off.fires(*p)));
        let on: Vec<usize> = (0..64).map(|s| Buggify::new(Some(s)).enabled().len()).collect();
        assert!(on.contains(&0) && on.iter().any(|n| *n >= 2), "{on:?}");
        let fires = |seed| {
            let mut b = Buggify::new(Some(seed));
            (0..2_000).filter(|i| b.fires(Point::ALL[i % Point::ALL.len()])).count()
        };
        let seed = (0..64).find(|s| !Buggify::new(Some(*s)).enabled().is_empty()).unwrap();
        assert!(fires(seed) > 0);
        assert_eq!(fires(seed), fires(seed));
    }
}

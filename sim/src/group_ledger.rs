//! What group members did and saw: the history the group checkers judge
//! (`check::offsets_monotonic`, `check::group_assignment`, `check::group_liveness`).
//!
//! Times are simulated nanoseconds since the Unix epoch of madsim's clock
//! ([`now_ns`]): "sent" is when the request left the member, "answered" when the
//! answer arrived, so one event happened before another when its answer
//! arrived no later than the other was sent.

/// An assignment a member received from SyncGroup with NONE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRecord {
    pub group: String,
    pub generation: i32,
    pub member_id: String,
    /// The member slot of the workload (a crashed member returns in the same slot with a new id).
    pub slot: usize,
    pub partitions: Vec<i32>,
    pub answered_ns: u64,
}

/// The member list of a generation, as its leader received it from JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationRecord {
    pub group: String,
    pub generation: i32,
    pub leader: String,
    pub members: Vec<String>,
    pub answered_ns: u64,
}

/// An offset commit acknowledged with NONE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRecord {
    pub group: String,
    pub slot: usize,
    pub member_id: String,
    pub generation: i32,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The client deliberately moved its position back (e.g. OFFSET_OUT_OF_RANGE):
    /// offsets may go back to this one.
    pub reset: bool,
    pub sent_ns: u64,
    pub answered_ns: u64,
}

/// One partition's committed offset as OffsetFetch returned it (-1: none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetReadRecord {
    pub group: String,
    pub slot: usize,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub sent_ns: u64,
    pub answered_ns: u64,
}

/// Everything the group workload recorded.
#[derive(Debug, Default, Clone)]
pub struct GroupHistory {
    pub assignments: Vec<AssignmentRecord>,
    pub generations: Vec<GenerationRecord>,
    pub commits: Vec<CommitRecord>,
    pub offset_reads: Vec<OffsetReadRecord>,
    /// Set by the group workload when it starts: what liveness expects at the end.
    pub expected: Option<GroupExpectation>,
    /// How often members met each error code (or "reconnect") on each API:
    /// evidence that the fault paths ran.
    pub events: std::collections::BTreeMap<String, u64>,
}

/// What the final, fault-free state of the group must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupExpectation {
    pub group: String,
    /// Members running at the end (every slot).
    pub members: usize,
    /// Partitions of the topic; every one must be assigned.
    pub partitions: i32,
    /// The group must be stable (its last generation complete) by this time.
    pub stable_by_ns: u64,
}

/// Simulated now, in ns since madsim's Unix epoch.
pub fn now_ns() -> u64 {
    madsim::time::TimeHandle::current().now_time().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

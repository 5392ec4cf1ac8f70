//! A consumer group in the simulator: members speaking Kafka's classic group
//! protocol through the sim [`Client`], recording into the ledger's
//! [`GroupHistory`](crate::group_ledger::GroupHistory).
//!
//! Each member (one workload *slot*) finds the coordinator (FindCoordinator),
//! joins (JoinGroup, answering MEMBER_ID_REQUIRED with the id it was given),
//! and, if it leads the generation, assigns the topic's partitions round-robin
//! over the sorted member ids and sends that in SyncGroup (the assignment bytes
//! are opaque to the broker: big-endian i32 partition numbers). With its
//! assignment it reads its committed offsets (OffsetFetch), fetches from there,
//! heartbeats, and commits what it processed (OffsetCommit). It rejoins on
//! REBALANCE_IN_PROGRESS (committing first, as a consumer does when its
//! partitions are revoked), ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID (forgetting
//! its id), and finds the coordinator again after a lost connection or a
//! coordinator error. Members talk to the coordinator's address for everything
//! (standalone: it leads every partition).
//!
//! Faults ([`MemberCmd`], from the fault schedule through [`MemberControls`]):
//! a *crash* aborts the member's task mid-whatever (its connection and state are
//! gone) and starts a fresh member in the same slot later; a *pause* aborts the
//! task too but keeps its state, and after the pause (longer than the session
//! timeout) a new task carries on with the old member id, generation and
//! uncommitted positions, so its first commit or heartbeat is refused
//! (UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION) and it must rejoin.
//!
//! Every loop is bounded in iterations and by the simulated instant
//! [`GroupCtx::until`], at which every member stops.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use chronik_core::protocol::error_code;
use chronik_core::protocol::messages::fetch::{FetchPartition, FetchRequest, FetchTopic};
use chronik_core::protocol::messages::find_coordinator::FindCoordinatorRequest;
use chronik_core::protocol::messages::heartbeat::HeartbeatRequest;
use chronik_core::protocol::messages::join_group::{JoinGroupRequest, JoinGroupRequestProtocol};
use chronik_core::protocol::messages::offset_commit::{OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use chronik_core::protocol::messages::offset_fetch::{OffsetFetchRequest, OffsetFetchRequestTopic};
use chronik_core::protocol::messages::sync_group::{SyncGroupRequest, SyncGroupRequestAssignment};
use chronik_core::protocol::messages::{Request, Response};
use madsim::time::{sleep, Instant};

use crate::client::Client;
use crate::faults::MEMBER_SESSION_TIMEOUT_MS;
use crate::group_ledger::{now_ns, AssignmentRecord, CommitRecord, GenerationRecord, GroupExpectation, OffsetReadRecord};
use crate::ledger::{Ledger, SharedLedger};
use crate::workload::{decode_records, CONNECT_TIMEOUT, FETCH_VERSION, REQUEST_TIMEOUT};

/// The group every member joins.
pub const GROUP_ID: &str = "sim-group";
const FIND_COORDINATOR_VERSION: i16 = 3;
const JOIN_GROUP_VERSION: i16 = 5;
const SYNC_GROUP_VERSION: i16 = 3;
const HEARTBEAT_VERSION: i16 = 3;
const OFFSET_COMMIT_VERSION: i16 = 7;
const OFFSET_FETCH_VERSION: i16 = 7;
const PROTOCOL_TYPE: &str = "consumer";
const PROTOCOL_NAME: &str = "roundrobin";
/// How long a rebalance may wait for members to rejoin.
pub const REBALANCE_TIMEOUT_MS: i32 = 6_000;
const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(MEMBER_SESSION_TIMEOUT_MS / 3);
const COMMIT_INTERVAL: Duration = Duration::from_millis(300);
/// A parked JoinGroup is answered within the rebalance timeout; some slack on top.
const JOIN_TIMEOUT: Duration = Duration::from_millis(REBALANCE_TIMEOUT_MS as u64 + 4_000);
const FETCH_MAX_WAIT_MS: i32 = 100;
const BACKOFF: Duration = Duration::from_millis(100);
/// How often a supervisor looks for a command.
const SUPERVISOR_TICK: Duration = Duration::from_millis(50);
/// Iteration bounds (`until` normally ends the loops first).
const MAX_STEPS: usize = 100_000;
const MAX_TICKS: usize = 100_000;

/// A fault for one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberCmd {
    Crash { restart_after_ms: u64 },
    Pause { resume_after_ms: u64 },
}

/// Commands from the fault schedule to the members, by slot.
#[derive(Debug, Clone, Default)]
pub struct MemberControls(Arc<Mutex<BTreeMap<usize, VecDeque<MemberCmd>>>>);

impl MemberControls {
    pub fn send(&self, slot: usize, cmd: MemberCmd) {
        self.0.lock().expect("controls lock").entry(slot).or_default().push_back(cmd);
    }

    fn take(&self, slot: usize) -> Option<MemberCmd> {
        self.0.lock().expect("controls lock").get_mut(&slot).and_then(|q| q.pop_front())
    }
}

/// Everything the group workload needs.
#[derive(Clone)]
pub struct GroupCtx {
    /// Bootstrap address (FindCoordinator goes there).
    pub addr: SocketAddr,
    pub topic: String,
    pub partitions: i32,
    pub members: usize,
    pub ledger: SharedLedger,
    pub controls: MemberControls,
    /// Every member stops at this instant; the group must be stable by then.
    pub until: Instant,
}

fn lock(ledger: &SharedLedger) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().expect("ledger lock")
}

/// Count one `what` (an API and an outcome) in the group history.
fn count(ctx: &GroupCtx, api: &str, code: i16) {
    if code != error_code::NONE {
        *lock(&ctx.ledger).groups.events.entry(format!("{api}:{code}")).or_default() += 1;
    }
}

/// Run every member until [`GroupCtx::until`].
pub async fn run_group(ctx: GroupCtx) {
    let left = ctx.until.saturating_duration_since(Instant::now());
    lock(&ctx.ledger).groups.expected = Some(GroupExpectation {
        group: GROUP_ID.to_string(),
        members: ctx.members,
        partitions: ctx.partitions,
        stable_by_ns: now_ns() + left.as_nanos() as u64,
    });
    let handles: Vec<_> = (0..ctx.members).map(|slot| madsim::task::spawn(supervise(ctx.clone(), slot))).collect();
    for h in handles {
        let _ = h.await;
    }
}

/// What a member knows; survives a pause, not a crash.
#[derive(Debug, Clone, Default)]
struct MemberState {
    member_id: String,
    /// -1: not in a generation (must join).
    generation: i32,
    assignment: Vec<i32>,
    /// Whether `positions` were read from the committed offsets of this assignment.
    positions_known: bool,
    /// Next offset to consume, per assigned partition.
    positions: BTreeMap<i32, i64>,
    /// Last offset known committed, per assigned partition.
    committed: BTreeMap<i32, i64>,
    /// Partitions whose position was moved back deliberately (the next commit is a reset).
    reset: Vec<i32>,
}

impl MemberState {
    fn fresh() -> MemberState {
        MemberState { generation: -1, ..Default::default() }
    }

    /// Leave the generation (the assignment is revoked); keep the id unless told to forget it.
    fn rejoin(&mut self, forget_id: bool) {
        if forget_id {
            self.member_id.clear();
        }
        self.generation = -1;
        self.assignment.clear();
        self.positions_known = false;
        self.positions.clear();
        self.committed.clear();
        self.reset.clear();
    }
}

/// Runs one slot's member, crashing and pausing it on command.
async fn supervise(ctx: GroupCtx, slot: usize) {
    let state = Arc::new(Mutex::new(MemberState::fresh()));
    let mut life = Some(madsim::task::spawn(member_life(ctx.clone(), slot, state.clone())));
    for _ in 0..MAX_TICKS {
        if Instant::now() >= ctx.until {
            break;
        }
        let Some(cmd) = ctx.controls.take(slot) else {
            sleep(SUPERVISOR_TICK).await;
            continue;
        };
        if let Some(l) = life.take() {
            l.abort();
        }
        let away = match cmd {
            MemberCmd::Crash { restart_after_ms } => {
                *state.lock().expect("state lock") = MemberState::fresh();
                restart_after_ms
            }
            MemberCmd::Pause { resume_after_ms } => resume_after_ms,
        };
        let back = (Instant::now() + Duration::from_millis(away)).min(ctx.until);
        madsim::time::sleep_until(back).await;
        // A fault aimed at a member that is away already is a no-op (as a crash of
        // a node that is down): queued, overlapping pauses would otherwise keep it
        // away for their sum, past the group's settle time (swarm seed 1371).
        while ctx.controls.take(slot).is_some() {}
        life = Some(madsim::task::spawn(member_life(ctx.clone(), slot, state.clone())));
    }
    if let Some(l) = life.take() {
        l.abort();
    }
}

/// What one step asks of the loop.
enum Next {
    Continue,
    /// Drop the connection, find the coordinator again after a pause.
    Reconnect,
    /// Wait a little and carry on.
    Backoff,
}

/// Whether a group error code means "find the coordinator again".
fn coordinator_moved(code: i16) -> bool {
    matches!(code, error_code::NOT_COORDINATOR | error_code::COORDINATOR_NOT_AVAILABLE | error_code::COORDINATOR_LOAD_IN_PROGRESS)
}

/// One incarnation of a member: from `shared` state, until aborted or `until`.
async fn member_life(ctx: GroupCtx, slot: usize, shared: Arc<Mutex<MemberState>>) {
    let mut st = shared.lock().expect("state lock").clone();
    let mut conn: Option<Client> = None;
    // A resumed member commits and heartbeats at once.
    let mut last_heartbeat = Instant::now() - HEARTBEAT_INTERVAL;
    let mut last_commit = Instant::now() - COMMIT_INTERVAL;
    for _ in 0..MAX_STEPS {
        if Instant::now() >= ctx.until {
            break;
        }
        let Some(c) = conn.as_mut() else {
            conn = find_and_connect(&ctx).await;
            if conn.is_none() {
                sleep(BACKOFF).await;
            }
            continue;
        };
        let next = if st.generation < 0 {
            join(&ctx, slot, c, &mut st).await
        } else if !st.positions_known {
            fetch_offsets(&ctx, slot, c, &mut st).await
        } else if last_commit.elapsed() >= COMMIT_INTERVAL && st.positions.iter().any(|(p, o)| st.committed.get(p) != Some(o)) {
            last_commit = Instant::now();
            commit(&ctx, slot, c, &mut st).await
        } else if last_heartbeat.elapsed() >= HEARTBEAT_INTERVAL {
            last_heartbeat = Instant::now();
            heartbeat(&ctx, slot, c, &mut st).await
        } else {
            fetch(&ctx, c, &mut st).await
        };
        *shared.lock().expect("state lock") = st.clone();
        match next {
            Next::Continue => {}
            Next::Reconnect => {
                *lock(&ctx.ledger).groups.events.entry("reconnect".into()).or_default() += 1;
                conn = None;
                sleep(BACKOFF).await;
            }
            Next::Backoff => sleep(BACKOFF).await,
        }
    }
}

/// FindCoordinator on the bootstrap address, then a connection to the coordinator.
async fn find_and_connect(ctx: &GroupCtx) -> Option<Client> {
    let mut boot = Client::connect(ctx.addr, CONNECT_TIMEOUT).await.ok()?;
    let req = Request::FindCoordinator(FindCoordinatorRequest { key: GROUP_ID.to_string(), key_type: 0, coordinator_keys: vec![] });
    let Ok(Response::FindCoordinator(r)) = boot.call(FIND_COORDINATOR_VERSION, req, REQUEST_TIMEOUT).await else { return None };
    if r.error_code != error_code::NONE {
        return None;
    }
    let addr: SocketAddr = format!("{}:{}", r.host, r.port).parse().ok()?;
    if addr == ctx.addr {
        return Some(boot);
    }
    Client::connect(addr, CONNECT_TIMEOUT).await.ok()
}

fn encode_assignment(partitions: &[i32]) -> Bytes {
    let mut b = BytesMut::with_capacity(partitions.len() * 4);
    for p in partitions {
        b.put_i32(*p);
    }
    b.freeze()
}

fn decode_assignment(bytes: &[u8]) -> Vec<i32> {
    bytes.chunks_exact(4).map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// Round-robin: partition p goes to the (p mod n)-th member in id order.
pub fn round_robin(members: &[String], partitions: i32) -> BTreeMap<String, Vec<i32>> {
    let mut sorted: Vec<&String> = members.iter().collect();
    sorted.sort();
    let mut out: BTreeMap<String, Vec<i32>> = sorted.iter().map(|m| ((*m).clone(), Vec::new())).collect();
    if sorted.is_empty() {
        return out;
    }
    for p in 0..partitions {
        out.get_mut(sorted[p as usize % sorted.len()]).expect("member").push(p);
    }
    out
}

/// JoinGroup then SyncGroup; on success the member is in a generation with an assignment.
async fn join(ctx: &GroupCtx, slot: usize, c: &mut Client, st: &mut MemberState) -> Next {
    let req = Request::JoinGroup(JoinGroupRequest {
        group_id: GROUP_ID.to_string(),
        session_timeout_ms: MEMBER_SESSION_TIMEOUT_MS as i32,
        rebalance_timeout_ms: REBALANCE_TIMEOUT_MS,
        member_id: st.member_id.clone(),
        group_instance_id: None,
        protocol_type: PROTOCOL_TYPE.to_string(),
        protocols: vec![JoinGroupRequestProtocol { name: PROTOCOL_NAME.to_string(), metadata: Bytes::from(ctx.topic.clone()) }],
        reason: None,
    });
    let resp = match c.call(JOIN_GROUP_VERSION, req, JOIN_TIMEOUT).await {
        Ok(Response::JoinGroup(r)) => r,
        _ => return Next::Reconnect,
    };
    count(ctx, "join", resp.error_code);
    match resp.error_code {
        error_code::NONE => {}
        error_code::MEMBER_ID_REQUIRED => {
            st.member_id = resp.member_id;
            return Next::Continue;
        }
        error_code::UNKNOWN_MEMBER_ID => {
            st.rejoin(true);
            return Next::Continue;
        }
        error_code::REBALANCE_IN_PROGRESS => return Next::Continue,
        code if coordinator_moved(code) => return Next::Reconnect,
        _ => return Next::Backoff,
    }
    st.member_id = resp.member_id.clone();
    let generation = resp.generation_id;
    let assignments = if resp.leader == st.member_id {
        let members: Vec<String> = resp.members.iter().map(|m| m.member_id.clone()).collect();
        lock(&ctx.ledger).groups.generations.push(GenerationRecord {
            group: GROUP_ID.to_string(),
            generation,
            leader: resp.leader.clone(),
            members: members.clone(),
            answered_ns: now_ns(),
        });
        round_robin(&members, ctx.partitions)
            .into_iter()
            .map(|(member_id, parts)| SyncGroupRequestAssignment { member_id, assignment: encode_assignment(&parts) })
            .collect()
    } else {
        Vec::new()
    };
    let req = Request::SyncGroup(SyncGroupRequest {
        group_id: GROUP_ID.to_string(),
        generation_id: generation,
        member_id: st.member_id.clone(),
        group_instance_id: None,
        protocol_type: Some(PROTOCOL_TYPE.to_string()),
        protocol_name: Some(PROTOCOL_NAME.to_string()),
        assignments,
    });
    let resp = match c.call(SYNC_GROUP_VERSION, req, JOIN_TIMEOUT).await {
        Ok(Response::SyncGroup(r)) => r,
        _ => return Next::Reconnect,
    };
    count(ctx, "sync", resp.error_code);
    match resp.error_code {
        error_code::NONE => {
            let partitions = decode_assignment(&resp.assignment);
            lock(&ctx.ledger).groups.assignments.push(AssignmentRecord {
                group: GROUP_ID.to_string(),
                generation,
                member_id: st.member_id.clone(),
                slot,
                partitions: partitions.clone(),
                answered_ns: now_ns(),
            });
            st.rejoin(false);
            st.generation = generation;
            st.assignment = partitions;
            Next::Continue
        }
        error_code::UNKNOWN_MEMBER_ID => {
            st.rejoin(true);
            Next::Continue
        }
        error_code::REBALANCE_IN_PROGRESS | error_code::ILLEGAL_GENERATION => Next::Continue,
        code if coordinator_moved(code) => Next::Reconnect,
        _ => Next::Backoff,
    }
}

/// Read the committed offsets of the assignment: the starting positions.
async fn fetch_offsets(ctx: &GroupCtx, slot: usize, c: &mut Client, st: &mut MemberState) -> Next {
    if st.assignment.is_empty() {
        st.positions_known = true;
        return Next::Continue;
    }
    let req = Request::OffsetFetch(OffsetFetchRequest {
        group_id: GROUP_ID.to_string(),
        topics: Some(vec![OffsetFetchRequestTopic { name: ctx.topic.clone(), partition_indexes: st.assignment.clone() }]),
        groups: vec![],
        require_stable: false,
    });
    let sent_ns = now_ns();
    let resp = match c.call(OFFSET_FETCH_VERSION, req, REQUEST_TIMEOUT).await {
        Ok(Response::OffsetFetch(r)) => r,
        _ => return Next::Reconnect,
    };
    let answered_ns = now_ns();
    if resp.error_code != error_code::NONE {
        return if coordinator_moved(resp.error_code) { Next::Reconnect } else { Next::Backoff };
    }
    let mut got = BTreeMap::new();
    for p in resp.topics.iter().filter(|t| t.name == ctx.topic).flat_map(|t| t.partitions.iter()) {
        if p.error_code == error_code::NONE && st.assignment.contains(&p.partition_index) {
            got.insert(p.partition_index, p.committed_offset);
        }
    }
    if got.len() != st.assignment.len() {
        return Next::Backoff;
    }
    let mut l = lock(&ctx.ledger);
    for (p, o) in got {
        l.groups.offset_reads.push(OffsetReadRecord {
            group: GROUP_ID.to_string(),
            slot,
            topic: ctx.topic.clone(),
            partition: p,
            offset: o,
            sent_ns,
            answered_ns,
        });
        st.positions.insert(p, o.max(0));
        if o >= 0 {
            st.committed.insert(p, o);
        }
    }
    st.positions_known = true;
    Next::Continue
}

/// Commit every position not yet committed.
async fn commit(ctx: &GroupCtx, slot: usize, c: &mut Client, st: &mut MemberState) -> Next {
    let todo: Vec<(i32, i64)> = st.positions.iter().filter(|(p, o)| st.committed.get(p) != Some(o)).map(|(p, o)| (*p, *o)).collect();
    let req = Request::OffsetCommit(OffsetCommitRequest {
        group_id: GROUP_ID.to_string(),
        generation_id_or_member_epoch: st.generation,
        member_id: st.member_id.clone(),
        group_instance_id: None,
        retention_time_ms: -1,
        topics: vec![OffsetCommitRequestTopic {
            name: ctx.topic.clone(),
            partitions: todo
                .iter()
                .map(|(p, o)| OffsetCommitRequestPartition {
                    partition_index: *p,
                    committed_offset: *o,
                    committed_leader_epoch: -1,
                    committed_metadata: None,
                })
                .collect(),
        }],
    });
    let sent_ns = now_ns();
    let resp = match c.call(OFFSET_COMMIT_VERSION, req, REQUEST_TIMEOUT).await {
        Ok(Response::OffsetCommit(r)) => r,
        _ => return Next::Reconnect,
    };
    let answered_ns = now_ns();
    let mut worst = error_code::NONE;
    let mut l = lock(&ctx.ledger);
    for p in resp.topics.iter().filter(|t| t.name == ctx.topic).flat_map(|t| t.partitions.iter()) {
        let Some((_, offset)) = todo.iter().find(|(q, _)| *q == p.partition_index) else { continue };
        if p.error_code != error_code::NONE {
            worst = p.error_code;
            continue;
        }
        let reset = st.reset.contains(&p.partition_index);
        st.reset.retain(|q| *q != p.partition_index);
        l.groups.commits.push(CommitRecord {
            group: GROUP_ID.to_string(),
            slot,
            member_id: st.member_id.clone(),
            generation: st.generation,
            topic: ctx.topic.clone(),
            partition: p.partition_index,
            offset: *offset,
            reset,
            sent_ns,
            answered_ns,
        });
        st.committed.insert(p.partition_index, *offset);
    }
    drop(l);
    count(ctx, "commit", worst);
    group_error(st, worst)
}

/// React to a group error code of a commit or heartbeat.
fn group_error(st: &mut MemberState, code: i16) -> Next {
    match code {
        error_code::NONE => Next::Continue,
        error_code::UNKNOWN_MEMBER_ID => {
            st.rejoin(true);
            Next::Continue
        }
        error_code::ILLEGAL_GENERATION | error_code::REBALANCE_IN_PROGRESS => {
            st.rejoin(false);
            Next::Continue
        }
        code if coordinator_moved(code) => Next::Reconnect,
        _ => Next::Backoff,
    }
}

async fn heartbeat(ctx: &GroupCtx, slot: usize, c: &mut Client, st: &mut MemberState) -> Next {
    let req = Request::Heartbeat(HeartbeatRequest {
        group_id: GROUP_ID.to_string(),
        generation_id: st.generation,
        member_id: st.member_id.clone(),
        group_instance_id: None,
    });
    let code = match c.call(HEARTBEAT_VERSION, req, REQUEST_TIMEOUT).await {
        Ok(Response::Heartbeat(r)) => r.error_code,
        _ => return Next::Reconnect,
    };
    count(ctx, "heartbeat", code);
    if code == error_code::REBALANCE_IN_PROGRESS && st.positions.iter().any(|(p, o)| st.committed.get(p) != Some(o)) {
        // Partitions are about to be revoked: commit what was processed first.
        if let Next::Reconnect = commit(ctx, slot, c, st).await {
            return Next::Reconnect;
        }
    }
    group_error(st, code)
}

/// Fetch the assigned partitions from their positions; "processing" is advancing the position.
async fn fetch(ctx: &GroupCtx, c: &mut Client, st: &mut MemberState) -> Next {
    if st.assignment.is_empty() {
        sleep(Duration::from_millis(FETCH_MAX_WAIT_MS as u64)).await;
        return Next::Continue;
    }
    let req = Request::Fetch(FetchRequest {
        max_wait_ms: FETCH_MAX_WAIT_MS,
        min_bytes: 1,
        max_bytes: 1 << 20,
        topics: vec![FetchTopic {
            topic: ctx.topic.clone(),
            partitions: st
                .positions
                .iter()
                .map(|(p, o)| FetchPartition { partition: *p, fetch_offset: *o, partition_max_bytes: 64 * 1024, ..Default::default() })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    });
    let resp = match c.call(FETCH_VERSION, req, REQUEST_TIMEOUT).await {
        Ok(Response::Fetch(r)) => r,
        _ => return Next::Reconnect,
    };
    let mut progressed = false;
    for pd in resp.responses.iter().filter(|t| t.topic == ctx.topic).flat_map(|t| t.partitions.iter()) {
        let Some(pos) = st.positions.get_mut(&pd.partition_index) else { continue };
        match pd.error_code {
            error_code::NONE => {
                let decoded = pd.records.as_deref().map(decode_records).unwrap_or_default();
                if let Some((last, _)) = decoded.records.iter().rev().find(|(o, _)| *o >= *pos) {
                    *pos = last + 1;
                    progressed = true;
                }
            }
            error_code::OFFSET_OUT_OF_RANGE => {
                // The committed position is past the log (lost unsynced data): start over.
                *pos = 0;
                if !st.reset.contains(&pd.partition_index) {
                    st.reset.push(pd.partition_index);
                }
            }
            _ => {}
        }
    }
    if !progressed {
        sleep(Duration::from_millis(10)).await;
    }
    Next::Continue
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves: round-robin gives every partition to exactly one member, in member-id order.
    #[test]
    fn round_robin_covers_disjointly() {
        let members = vec!["b".to_string(), "a".to_string(), "c".to_string()];
        let a = round_robin(&members, 7);
        assert_eq!(a["a"], vec![0, 3, 6]);
        assert_eq!(a["b"], vec![1, 4]);
        assert_eq!(a["c"], vec![2, 5]);
        assert!(round_robin(&[], 3).is_empty());
        assert_eq!(decode_assignment(&encode_assignment(&[3, 1, 2])), vec![3, 1, 2]);
    }
}
